/* Unit tests for core/deadline.h: sorted lists of deadlines on one libuv timer. */
#include "check.h"

#include "deadline.h"

#include <stdint.h>

typedef struct item {
    ls_deadline d; /* first */
    int id;
    int rearm_list; /* >=0: the callback arms this item again in that list, 50 ms later */
} item;

static int fired[64];
static uint64_t fired_at[64];
static int nfired;
static ls_deadlines *the_q;

static void expired(ls_deadline *d) {
    item *it = (item *)d;
    if (nfired < 64) {
        fired_at[nfired] = uv_now(the_q->timer.loop);
        fired[nfired++] = it->id;
    }
    CHECK(!ls_deadline_armed(d)); /* unlinked before the callback */
    if (it->rearm_list >= 0) {
        int list = it->rearm_list;
        it->rearm_list = -1;
        ls_deadline_set(the_q, d, (unsigned)list, uv_now(the_q->timer.loop) + 50);
    }
}

static int closed;
static void on_closed(uv_handle_t *h) { closed = *(int *)h->data; }

static void test_order_and_moves(void) {
    uv_loop_t loop;
    uv_loop_init(&loop);
    ls_deadlines q;
    the_q = &q;
    ls_deadlines_init(&q, &loop, expired);
    uv_update_time(&loop);
    uint64_t t0 = uv_now(&loop);
    item it[6] = {{.id = 0}, {.id = 1}, {.id = 2}, {.id = 3}, {.id = 4}, {.id = 5}};
    for (int i = 0; i < 6; i++)
        it[i].rearm_list = -1;
    /* list 0: 40, 20 (inserted out of order: sorted on insertion), list 1: 30, list 2: 10 */
    ls_deadline_set(&q, &it[0].d, 0, t0 + 40);
    ls_deadline_set(&q, &it[1].d, 0, t0 + 20);
    ls_deadline_set(&q, &it[2].d, 1, t0 + 30);
    ls_deadline_set(&q, &it[3].d, 2, t0 + 10);
    /* armed then cleared: never fires */
    ls_deadline_set(&q, &it[4].d, 1, t0 + 5);
    CHECK(ls_deadline_armed(&it[4].d));
    ls_deadline_clear(&it[4].d);
    ls_deadline_clear(&it[4].d); /* twice is harmless */
    CHECK(!ls_deadline_armed(&it[4].d));
    /* moved later, then fires after the rest; its callback arms it again in list 3 */
    ls_deadline_set(&q, &it[5].d, 2, t0 + 1);
    ls_deadline_set(&q, &it[5].d, 3, t0 + 60);
    it[5].rearm_list = 3;
    uv_run(&loop, UV_RUN_DEFAULT); /* returns once no deadline is left armed */
    CHECK_EQ_INT(6, nfired);
    int order[] = {3, 1, 2, 0, 5, 5};
    for (int i = 0; i < 6 && i < nfired; i++)
        CHECK_EQ_INT(order[i], fired[i]);
    uint64_t when[] = {10, 20, 30, 40, 60, 110};
    for (int i = 0; i < 6 && i < nfired; i++) {
        CHECK(fired_at[i] >= t0 + when[i]);   /* never early */
        CHECK(fired_at[i] < t0 + when[i] + 30); /* and not much late */
    }
    CHECK(!ls_deadline_armed(&it[5].d));
    /* closing forgets what is still armed */
    ls_deadline_set(&q, &it[0].d, 0, uv_now(&loop) + 100000);
    int tag = 7;
    ls_deadlines_close(&q, on_closed, &tag);
    CHECK(!ls_deadline_armed(&it[0].d));
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_EQ_INT(7, closed);
    CHECK_EQ_INT(6, nfired);
    CHECK_EQ_INT(0, uv_loop_close(&loop));
}

/* Many deadlines of one duration re-armed in turn, as keep-alive connections do. */
static void test_many(void) {
    uv_loop_t loop;
    uv_loop_init(&loop);
    ls_deadlines q;
    the_q = &q;
    nfired = 0;
    ls_deadlines_init(&q, &loop, expired);
    static item its[1000];
    uv_update_time(&loop);
    uint64_t t0 = uv_now(&loop);
    for (int i = 0; i < 1000; i++) {
        its[i].id = i % 64, its[i].rearm_list = -1;
        ls_deadline_set(&q, &its[i].d, 4, t0 + 1000 + (uint64_t)i);
    }
    /* re-arm every other one much later, in the same list: they go to the tail */
    for (int i = 0; i < 1000; i += 2)
        ls_deadline_set(&q, &its[i].d, 4, t0 + 5000 + (uint64_t)i);
    ls_deadline *head = &q.lists[4];
    int n = 0, sorted = 1;
    for (ls_deadline *d = head->next; d != head; d = d->next, n++)
        if (d->next != head && d->next->at < d->at)
            sorted = 0;
    CHECK_EQ_INT(1000, n);
    CHECK(sorted);
    CHECK(((item *)head->next)->id == 1);
    int tag = 1;
    ls_deadlines_close(&q, on_closed, &tag);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_EQ_INT(0, nfired);
    CHECK_EQ_INT(0, uv_loop_close(&loop));
}

/* Deadlines set in a scrambled order, moved, cleared and set again to the same time: the list
 * stays sorted and complete, and setting the same time again leaves an entry where it is. */
static void test_scrambled(void) {
    uv_loop_t loop;
    uv_loop_init(&loop);
    ls_deadlines q;
    the_q = &q;
    nfired = 0;
    ls_deadlines_init(&q, &loop, expired);
    static item its[500];
    uv_update_time(&loop);
    uint64_t t0 = uv_now(&loop) + 100000, seed = 12345;
    for (int round = 0; round < 4; round++) {
        for (int i = 0; i < 500; i++) {
            seed = seed * 6364136223846793005u + 1442695040888963407u;
            its[i].rearm_list = -1;
            if (round == 3 && i % 3 == 0)
                ls_deadline_clear(&its[i].d);
            else
                ls_deadline_set(&q, &its[i].d, 2, t0 + (seed >> 33) % 1000);
        }
    }
    /* the same time again: no move */
    ls_deadline *before_prev = its[1].d.prev, *before_next = its[1].d.next;
    ls_deadline_set(&q, &its[1].d, 2, its[1].d.at);
    CHECK(its[1].d.prev == before_prev && its[1].d.next == before_next);
    /* many set to one earlier time, as a shutdown does */
    for (int i = 0; i < 500; i += 2)
        if (ls_deadline_armed(&its[i].d))
            ls_deadline_set(&q, &its[i].d, 2, t0 + 10);
    ls_deadline *head = &q.lists[2];
    int n = 0, sorted = 1, armed = 0;
    for (ls_deadline *d = head->next; d != head; d = d->next, n++)
        if (d->next != head && d->next->at < d->at)
            sorted = 0;
    for (int i = 0; i < 500; i++)
        armed += ls_deadline_armed(&its[i].d);
    CHECK(sorted);
    CHECK_EQ_INT(armed, n);
    CHECK_EQ_INT(500 - 167, armed);
    int tag = 2;
    ls_deadlines_close(&q, on_closed, &tag);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_EQ_INT(0, nfired);
    CHECK_EQ_INT(0, uv_loop_close(&loop));
}

int main(void) {
    test_scrambled();
    test_order_and_moves();
    test_many();
    return check_summary("test_deadline");
}
