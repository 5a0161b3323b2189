/* Deadlines: the timeouts of every connection on one libuv timer.
 *
 * A deadline sits in one of a few lists, each sorted by time. Each list is one kind of
 * timeout whose duration is the same for everybody (keep-alive idle, send, connect, ...),
 * and names the callback that runs when one of its deadlines expires, so any owner (a server
 * connection, an outbound client, a protocol) adds its own kinds. A new
 * deadline almost always goes at the tail and moving one is O(1): a busy connection re-arms
 * its timeout on every request without touching libuv's timer heap, and an idle one costs a
 * 24-byte link instead of a uv_timer_t. The timer is armed for the earliest head; when it
 * fires, every expired deadline is unlinked and its callback runs. */
#ifndef LS_DEADLINE_H
#define LS_DEADLINE_H

#include <stdint.h>
#include <uv.h>

#define LS_DEADLINE_LISTS 16

typedef struct ls_deadline {
    struct ls_deadline *prev, *next; /* NULL when not armed */
    uint64_t at : 56;                /* loop time (ms) */
    uint64_t kind : 8;               /* the list it is in, while armed */
} ls_deadline;

typedef void (*ls_deadline_fn)(ls_deadline *d);

/* Kinds are list numbers from 1; 0 (LS_DEADLINE_NONE) names no kind. */
#define LS_DEADLINE_NONE 0

typedef struct ls_deadlines {
    ls_deadline lists[LS_DEADLINE_LISTS]; /* circular, the element itself is the sentinel */
    ls_deadline_fn expired[LS_DEADLINE_LISTS]; /* each kind's callback */
    unsigned kinds;                            /* kinds added so far (list 0 is unused) */
    uv_timer_t timer;
    uint64_t due; /* when the timer fires; 0 while it is stopped */
} ls_deadlines;

void ls_deadlines_init(ls_deadlines *q, uv_loop_t *loop);
/* Adds a kind of deadline whose expiry calls fn (with the deadline unlinked already).
 * Returns the kind (1 ..), or LS_DEADLINE_NONE when every list is taken. */
unsigned ls_deadline_kind(ls_deadlines *q, ls_deadline_fn fn);
/* Closes the timer: cb runs as for uv_close, with the handle's data set to `data`. The
 * deadlines still armed are forgotten. */
void ls_deadlines_close(ls_deadlines *q, uv_close_cb cb, void *data);
/* Arms d (moving it if armed) to expire at loop time `at`, as a deadline of that kind. */
void ls_deadline_set(ls_deadlines *q, ls_deadline *d, unsigned kind, uint64_t at);
/* Disarms d; harmless when it is not armed. */
void ls_deadline_clear(ls_deadline *d);
static inline int ls_deadline_armed(const ls_deadline *d) { return d->next != NULL; }

#endif
