/* Deadlines: the timeouts of every connection on one libuv timer.
 *
 * A deadline sits in one of a few lists, each sorted by time. Each list is meant for one kind
 * of timeout whose duration is the same for everybody (keep-alive idle, send, ...), so a new
 * deadline almost always goes at the tail and moving one is O(1): a busy connection re-arms
 * its timeout on every request without touching libuv's timer heap, and an idle one costs a
 * 24-byte link instead of a uv_timer_t. The timer is armed for the earliest head; when it
 * fires, every expired deadline is unlinked and its callback runs. */
#ifndef LS_DEADLINE_H
#define LS_DEADLINE_H

#include <stdint.h>
#include <uv.h>

#define LS_DEADLINE_LISTS 8

typedef struct ls_deadline {
    struct ls_deadline *prev, *next; /* NULL when not armed */
    uint64_t at;                     /* loop time (ms) */
} ls_deadline;

typedef void (*ls_deadline_fn)(ls_deadline *d);

typedef struct ls_deadlines {
    ls_deadline lists[LS_DEADLINE_LISTS]; /* circular, the element itself is the sentinel */
    uv_timer_t timer;
    uint64_t due; /* when the timer fires; 0 while it is stopped */
    ls_deadline_fn expired;
} ls_deadlines;

void ls_deadlines_init(ls_deadlines *q, uv_loop_t *loop, ls_deadline_fn expired);
/* Closes the timer: cb runs as for uv_close, with the handle's data set to `data`. The
 * deadlines still armed are forgotten. */
void ls_deadlines_close(ls_deadlines *q, uv_close_cb cb, void *data);
/* Arms d (moving it if armed) to expire at loop time `at`, in list `list`. */
void ls_deadline_set(ls_deadlines *q, ls_deadline *d, unsigned list, uint64_t at);
/* Disarms d; harmless when it is not armed. */
void ls_deadline_clear(ls_deadline *d);
static inline int ls_deadline_armed(const ls_deadline *d) { return d->next != NULL; }

#endif
