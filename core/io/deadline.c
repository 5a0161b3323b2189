#include "deadline.h"

static void on_timer(uv_timer_t *t);

static void arm(ls_deadlines *q, uint64_t at) {
    uint64_t now = uv_now(q->timer.loop);
    q->due = at;
    uv_timer_start(&q->timer, on_timer, at > now ? at - now : 1, 0);
}

/* The earliest armed deadline, or 0. */
static uint64_t earliest(const ls_deadlines *q) {
    uint64_t min = 0;
    for (unsigned i = 0; i < LS_DEADLINE_LISTS; i++) {
        const ls_deadline *head = &q->lists[i], *first = head->next;
        if (first != head && (!min || first->at < min))
            min = first->at;
    }
    return min;
}

static void on_timer(uv_timer_t *t) {
    ls_deadlines *q = t->data;
    uint64_t now = uv_now(t->loop);
    q->due = 0;
    /* A callback may arm or clear other deadlines: re-read each head after every call. */
    for (unsigned i = 0; i < LS_DEADLINE_LISTS; i++) {
        ls_deadline *head = &q->lists[i];
        while (head->next != head && head->next->at <= now) {
            ls_deadline *d = head->next;
            ls_deadline_clear(d);
            q->expired[i](d);
        }
    }
    uint64_t next = earliest(q);
    if (next && (!q->due || next < q->due))
        arm(q, next);
}

void ls_deadlines_init(ls_deadlines *q, uv_loop_t *loop) {
    for (unsigned i = 0; i < LS_DEADLINE_LISTS; i++) {
        q->lists[i].prev = q->lists[i].next = &q->lists[i];
        q->expired[i] = NULL;
    }
    q->kinds = 0;
    uv_timer_init(loop, &q->timer);
    q->timer.data = q;
    q->due = 0;
}

unsigned ls_deadline_kind(ls_deadlines *q, ls_deadline_fn fn) {
    if (q->kinds + 1 >= LS_DEADLINE_LISTS)
        return LS_DEADLINE_NONE;
    q->expired[++q->kinds] = fn;
    return q->kinds;
}

void ls_deadlines_close(ls_deadlines *q, uv_close_cb cb, void *data) {
    for (unsigned i = 0; i < LS_DEADLINE_LISTS; i++)
        while (q->lists[i].next != &q->lists[i])
            ls_deadline_clear(q->lists[i].next);
    q->due = 0;
    q->timer.data = data;
    uv_close((uv_handle_t *)&q->timer, cb);
}

void ls_deadline_clear(ls_deadline *d) {
    if (!d->next)
        return;
    d->prev->next = d->next;
    d->next->prev = d->prev;
    d->prev = d->next = NULL;
}

void ls_deadline_set(ls_deadlines *q, ls_deadline *d, unsigned list, uint64_t at) {
    /* list: the kind */
    if (d->next && d->at == at && d->kind == list)
        return; /* already in place */
    ls_deadline_clear(d);
    ls_deadline *head = &q->lists[list], *first = head->next, *last = head->prev, *after;
    if (first == head || at >= last->at) {
        after = last; /* the usual case: same duration, later start */
    } else if (at <= first->at) {
        after = head;
    } else if (at - first->at <= last->at - at) {
        after = head; /* nearer the front (a stop making every deadline soon): walk forward */
        while (after->next != head && after->next->at < at)
            after = after->next;
    } else {
        after = head->prev;
        while (after != head && after->at > at)
            after = after->prev;
    }
    d->at = at;
    d->kind = list;
    d->prev = after;
    d->next = after->next;
    after->next->prev = d;
    after->next = d;
    /* A timer already due earlier fires first and re-arms for what is then the earliest. */
    if (!q->due || at < q->due)
        arm(q, at);
}
