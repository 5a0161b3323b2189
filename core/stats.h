/* The counters one process keeps about itself for the metrics (core/metrics/): requests,
 * their durations, connections by state and by close reason, bytes, and what the Lua layer
 * reports (memory, reloads, handler errors). Each process writes only its own ls_stats (a
 * worker's lives in the slot the master mapped for it before the fork, so that any worker can
 * read every worker's), with relaxed atomic loads and stores: no locked instruction on the
 * request path, and a reader never sees a torn value. */
#ifndef LS_STATS_H
#define LS_STATS_H

#include <stdint.h>

enum { LS_METHOD_GET, LS_METHOD_HEAD, LS_METHOD_POST, LS_METHOD_PUT, LS_METHOD_DELETE,
       LS_METHOD_PATCH, LS_METHOD_OPTIONS, LS_METHOD_OTHER, LS_METHODS };
enum { LS_CONN_IDLE, LS_CONN_READING, LS_CONN_ACTIVE, LS_CONN_CLOSING, LS_CONN_STATES };
#define LS_DURATION_BUCKETS 12 /* the request-duration histogram's bounds (metrics.c) */
#define LS_STATS_CLOSE_REASONS 16 /* room for ls_close_reason's values */

typedef struct ls_stats {
    uint64_t pid;
    uint64_t requests[LS_METHODS][5]; /* by method and status class (1xx..5xx) */
    uint64_t duration_buckets[LS_DURATION_BUCKETS]; /* not cumulative: one count per bucket */
    uint64_t duration_us_sum, duration_count;
    int64_t conns[LS_CONN_STATES]; /* open connections by state (a gauge) */
    uint64_t closes[LS_STATS_CLOSE_REASONS];
    uint64_t bytes_in, bytes_out;
    uint64_t lua_memory;
    uint64_t reloads, reload_failures;
    uint64_t handler_errors, budget_kills;
    uint64_t outbound_connects, outbound_errors; /* cosocket (and the clients on it) */
    uint64_t pg_connects, pg_errors;
    uint64_t access_log_dropped;         /* lines the access log could not write */
    int64_t tcp_pool_idle;               /* idle pooled cosocket connections (a gauge) */
    int64_t pg_pool_live, pg_pool_idle;  /* lunaserve.pg pools' connections (gauges) */
} ls_stats;

/* This process's counters (a worker's slot once metrics are mapped, else a static one). */
extern ls_stats *ls_stats_self;

static inline void ls_stat_add(uint64_t *c, uint64_t n) {
    __atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}
static inline void ls_stat_gauge_add(int64_t *g, int64_t n) {
    __atomic_store_n(g, __atomic_load_n(g, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}
static inline void ls_stat_set(uint64_t *c, uint64_t v) {
    __atomic_store_n(c, v, __ATOMIC_RELAXED);
}
static inline uint64_t ls_stat_get(const uint64_t *c) {
    return __atomic_load_n(c, __ATOMIC_RELAXED);
}

#endif
