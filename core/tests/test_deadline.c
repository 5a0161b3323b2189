/* Unit tests for core/io/deadline.h: sorted lists of deadlines on one libuv timer. */
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
        ls_deadline_set(the_q, d, (unsigned)list + 1, uv_now(the_q->timer.loop) + 50);
    }
}

static int closed;
static void on_closed(uv_handle_t *h) { closed = *(int *)h->data; }

/* The number of deadlines in a list, or -1 when it is not sorted by time. */
static int sorted_count(const ls_deadline *head) {
    int n = 0;
    for (const ls_deadline *d = head->next; d != head; d = d->next, n++)
        if (d->next != head && d->next->at < d->at)
            return -1;
    return n;
}

/* Starts a test on a new loop: q's callback records what expires. */
static void begin(uv_loop_t *loop, ls_deadlines *q) {
    uv_loop_init(loop);
    the_q = q;
    nfired = 0;
    ls_deadlines_init(q, loop);
    for (unsigned k = 1; k < LS_DEADLINE_LISTS; k++)
        CHECK_EQ_INT((int)k, (int)ls_deadline_kind(q, expired));
    CHECK_EQ_INT(LS_DEADLINE_NONE, (int)ls_deadline_kind(q, expired)); /* every list taken */
    uv_update_time(loop);
}

/* Closes q (what is armed is forgotten, nothing fires) and the loop. */
static void end(uv_loop_t *loop, ls_deadlines *q, int tag) {
    int fired_before = nfired;
    ls_deadlines_close(q, on_closed, &tag);
    uv_run(loop, UV_RUN_DEFAULT);
    CHECK_EQ_INT(tag, closed);
    CHECK_EQ_INT(fired_before, nfired);
    CHECK_EQ_INT(0, uv_loop_close(loop));
}

static void test_order_and_moves(void) {
    uv_loop_t loop;
    ls_deadlines q;
    begin(&loop, &q);
    uint64_t t0 = uv_now(&loop);
    item it[6] = {{.id = 0}, {.id = 1}, {.id = 2}, {.id = 3}, {.id = 4}, {.id = 5}};
    for (int i = 0; i < 6; i++)
        it[i].rearm_list = -1;
    /* list 0: 40, 20 (inserted out of order: sorted on insertion), list 1: 30, list 2: 10 */
    ls_deadline_set(&q, &it[0].d, 1, t0 + 40);
    ls_deadline_set(&q, &it[1].d, 1, t0 + 20);
    ls_deadline_set(&q, &it[2].d, 2, t0 + 30);
    ls_deadline_set(&q, &it[3].d, 3, t0 + 10);
    /* armed then cleared: never fires */
    ls_deadline_set(&q, &it[4].d, 2, t0 + 5);
    CHECK(ls_deadline_armed(&it[4].d));
    ls_deadline_clear(&it[4].d);
    ls_deadline_clear(&it[4].d); /* twice is harmless */
    CHECK(!ls_deadline_armed(&it[4].d));
    /* moved later, then fires after the rest; its callback arms it again in list 3 */
    ls_deadline_set(&q, &it[5].d, 3, t0 + 1);
    ls_deadline_set(&q, &it[5].d, 4, t0 + 60);
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
    ls_deadline_set(&q, &it[0].d, 1, uv_now(&loop) + 100000);
    end(&loop, &q, 7);
    CHECK(!ls_deadline_armed(&it[0].d));
    CHECK_EQ_INT(6, nfired);
}

/* Many deadlines of one duration re-armed in turn, as keep-alive connections do. */
static void test_many(void) {
    uv_loop_t loop;
    ls_deadlines q;
    begin(&loop, &q);
    static item its[1000];
    uint64_t t0 = uv_now(&loop);
    for (int i = 0; i < 1000; i++) {
        its[i].id = i % 64, its[i].rearm_list = -1;
        ls_deadline_set(&q, &its[i].d, 5, t0 + 1000 + (uint64_t)i);
    }
    /* re-arm every other one much later, in the same list: they go to the tail */
    for (int i = 0; i < 1000; i += 2)
        ls_deadline_set(&q, &its[i].d, 5, t0 + 5000 + (uint64_t)i);
    CHECK_EQ_INT(1000, sorted_count(&q.lists[5]));
    CHECK(((item *)q.lists[5].next)->id == 1);
    CHECK_EQ_INT(0, nfired);
    end(&loop, &q, 1);
}

/* Deadlines set in a scrambled order, moved, cleared and set again to the same time: the list
 * stays sorted and complete, and setting the same time again leaves an entry where it is. */
static void test_scrambled(void) {
    uv_loop_t loop;
    ls_deadlines q;
    begin(&loop, &q);
    static item its[500];
    uint64_t t0 = uv_now(&loop) + 100000, seed = 12345;
    for (int round = 0; round < 4; round++) {
        for (int i = 0; i < 500; i++) {
            seed = seed * 6364136223846793005u + 1442695040888963407u;
            its[i].rearm_list = -1;
            if (round == 3 && i % 3 == 0)
                ls_deadline_clear(&its[i].d);
            else
                ls_deadline_set(&q, &its[i].d, 3, t0 + (seed >> 33) % 1000);
        }
    }
    /* the same time again: no move */
    ls_deadline *before_prev = its[1].d.prev, *before_next = its[1].d.next;
    ls_deadline_set(&q, &its[1].d, 3, its[1].d.at);
    CHECK(its[1].d.prev == before_prev && its[1].d.next == before_next);
    /* many set to one earlier time, as a shutdown does */
    for (int i = 0; i < 500; i += 2)
        if (ls_deadline_armed(&its[i].d))
            ls_deadline_set(&q, &its[i].d, 3, t0 + 10);
    int armed = 0;
    for (int i = 0; i < 500; i++)
        armed += ls_deadline_armed(&its[i].d);
    CHECK_EQ_INT(500 - 167, armed);
    CHECK_EQ_INT(armed, sorted_count(&q.lists[3])); /* sorted (not -1) and complete */
    CHECK_EQ_INT(0, nfired);
    end(&loop, &q, 2);
}

/* Each kind calls its own callback. */
static int kind_a, kind_b;
static void expired_a(ls_deadline *d) { (void)d, kind_a++; }
static void expired_b(ls_deadline *d) { (void)d, kind_b++; }

static void test_kinds(void) {
    uv_loop_t loop;
    ls_deadlines q;
    uv_loop_init(&loop);
    ls_deadlines_init(&q, &loop);
    unsigned a = ls_deadline_kind(&q, expired_a), b = ls_deadline_kind(&q, expired_b);
    CHECK(a != LS_DEADLINE_NONE && b != LS_DEADLINE_NONE && a != b);
    ls_deadline d[3] = {{0}};
    uint64_t t0 = uv_now(&loop);
    ls_deadline_set(&q, &d[0], a, t0 + 5);
    ls_deadline_set(&q, &d[1], b, t0 + 10);
    ls_deadline_set(&q, &d[2], b, t0 + 15);
    ls_deadline_set(&q, &d[2], a, t0 + 15); /* same time, other kind: its callback changes */
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_EQ_INT(2, kind_a);
    CHECK_EQ_INT(1, kind_b);
    int tag = 7;
    ls_deadlines_close(&q, on_closed, &tag);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_EQ_INT(0, uv_loop_close(&loop));
}

int main(void) {
    test_kinds();
    test_scrambled();
    test_order_and_moves();
    test_many();
    return check_summary("test_deadline");
}
