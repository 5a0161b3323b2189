#include "metrics.h"

#include "transport.h"

#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define NAME_MAX_LEN 96
#define HELP_MAX_LEN 192
#define LABEL_MAX_LEN 48
#define SERIES_LABELS_MAX 240 /* the series' label text: a="x",b="y" */

typedef struct metric_def {
    char name[NAME_MAX_LEN];
    char help[HELP_MAX_LEN];
    uint8_t type, nlabels, nbuckets;
    char labels[LS_METRICS_MAX_LABELS][LABEL_MAX_LEN];
    double buckets[LS_METRICS_MAX_BUCKETS];
} metric_def;

/* One series: a counter's or gauge's value (double bits) in v[0]; a histogram's counts per
 * bucket in v[0..nbuckets] (the last: +Inf; not cumulative) and its sum in v[SUM]. */
#define SUM (LS_METRICS_MAX_BUCKETS + 1)
typedef struct series {
    uint32_t metric;
    uint32_t used; /* set last, once the rest is written: readers skip a series not ready */
    char labels[SERIES_LABELS_MAX];
    uint64_t v[LS_METRICS_MAX_BUCKETS + 2];
} series;

typedef struct shm {
    int lock;
    uint32_t nslots;
    uint32_t nmetrics;
    uint32_t nseries, max_series;
    uint64_t worker_restarts;
    uint64_t series_errors;
    ls_stats slots[LS_METRICS_MAX_WORKERS];
    metric_def metrics[LS_METRICS_MAX_METRICS];
    series series[];
} shm;

static ls_stats local_stats;
ls_stats *ls_stats_self = &local_stats;
static shm *seg;

int ls_metrics_init(size_t max_series) {
    size_t size = sizeof(shm) + max_series * sizeof(series);
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return -errno;
    seg = p; /* zero pages: nothing is resident until it is used */
    seg->max_series = (uint32_t)max_series;
    seg->nslots = 1;
    ls_stats_self = &seg->slots[0];
    ls_stats_self->pid = (uint64_t)getpid();
    return 0;
}

void ls_metrics_enter_slot(int slot, int nslots) {
    if (!seg || slot < 0 || slot >= LS_METRICS_MAX_WORKERS)
        return;
    __atomic_store_n(&seg->nslots, (uint32_t)nslots, __ATOMIC_RELAXED);
    ls_stats_self = &seg->slots[slot];
    for (int i = 0; i < LS_CONN_STATES; i++)
        __atomic_store_n(&ls_stats_self->conns[i], 0, __ATOMIC_RELAXED);
    ls_stat_set(&ls_stats_self->lua_memory, 0);
    __atomic_store_n(&ls_stats_self->tcp_pool_idle, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&ls_stats_self->pg_pool_live, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&ls_stats_self->pg_pool_idle, 0, __ATOMIC_RELAXED);
    ls_stat_set(&ls_stats_self->pid, (uint64_t)getpid());
}

void ls_metrics_count_restart(void) {
    if (seg)
        __atomic_fetch_add(&seg->worker_restarts, 1, __ATOMIC_RELAXED);
}

/* ---------------------------------------------------------------- the registry */

static void lock(void) {
    while (__atomic_exchange_n(&seg->lock, 1, __ATOMIC_ACQUIRE))
        sched_yield();
}
static void unlock(void) { __atomic_store_n(&seg->lock, 0, __ATOMIC_RELEASE); }

/* [a-zA-Z_:][a-zA-Z0-9_:]* for metric names; without ':' for label names. */
static int valid_name(const char *s, int colon) {
    if (!*s || (*s >= '0' && *s <= '9'))
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || (colon && *s == ':')))
            return 0;
    return 1;
}

static int same_def(const metric_def *d, ls_metric_type type, const char *const *labels,
                    int nlabels, const double *buckets, int nbuckets) {
    if (d->type != type || d->nlabels != nlabels || d->nbuckets != nbuckets)
        return 0;
    for (int i = 0; i < nlabels; i++)
        if (strcmp(d->labels[i], labels[i]) != 0)
            return 0;
    for (int i = 0; i < nbuckets; i++)
        if (d->buckets[i] != buckets[i])
            return 0;
    return 1;
}

int ls_metrics_define(const char *name, const char *help, ls_metric_type type,
                      const char *const *labels, int nlabels, const double *buckets,
                      int nbuckets, const char **err) {
    if (!seg)
        return *err = "metrics are not available", -1;
    if (!valid_name(name, 1) || strlen(name) >= NAME_MAX_LEN || strncmp(name, "__", 2) == 0)
        return *err = "a metric name is [a-zA-Z_:][a-zA-Z0-9_:]* (at most 95 characters)", -1;
    if (strncmp(name, "lunaserve_", 10) == 0)
        return *err = "metric names starting with lunaserve_ are the server's own", -1;
    if (strlen(help) >= HELP_MAX_LEN)
        return *err = "help text longer than 191 bytes", -1;
    if (nlabels > LS_METRICS_MAX_LABELS)
        return *err = "more than 8 labels", -1;
    for (int i = 0; i < nlabels; i++) {
        if (!valid_name(labels[i], 0) || strlen(labels[i]) >= LABEL_MAX_LEN ||
            strncmp(labels[i], "__", 2) == 0)
            return *err = "a label name is [a-zA-Z_][a-zA-Z0-9_]*, not starting with __", -1;
        if (type == LS_METRIC_HISTOGRAM && strcmp(labels[i], "le") == 0)
            return *err = "a histogram cannot have a label named le", -1;
        for (int j = 0; j < i; j++)
            if (strcmp(labels[i], labels[j]) == 0)
                return *err = "a label name given twice", -1;
    }
    if (nbuckets > LS_METRICS_MAX_BUCKETS)
        return *err = "more than 16 buckets", -1;
    for (int i = 0; i < nbuckets; i++)
        if (!isfinite(buckets[i]) || (i && buckets[i] <= buckets[i - 1]))
            return *err = "buckets must be finite and ascending", -1;
    lock();
    int found = -1;
    uint32_t n = seg->nmetrics;
    for (uint32_t i = 0; i < n && found < 0; i++)
        if (strcmp(seg->metrics[i].name, name) == 0)
            found = (int)i;
    if (found >= 0) {
        int same = same_def(&seg->metrics[found], type, labels, nlabels, buckets, nbuckets);
        unlock();
        if (!same)
            return *err = "a metric of that name exists with another type, labels or buckets", -1;
        return found;
    }
    if (n >= LS_METRICS_MAX_METRICS) {
        unlock();
        return *err = "too many metrics (256)", -1;
    }
    metric_def *d = &seg->metrics[n];
    strcpy(d->name, name);
    strcpy(d->help, help);
    d->type = (uint8_t)type;
    d->nlabels = (uint8_t)nlabels;
    d->nbuckets = (uint8_t)nbuckets;
    for (int i = 0; i < nlabels; i++)
        strcpy(d->labels[i], labels[i]);
    for (int i = 0; i < nbuckets; i++)
        d->buckets[i] = buckets[i];
    __atomic_store_n(&seg->nmetrics, n + 1, __ATOMIC_RELEASE);
    unlock();
    return (int)n;
}

/* Appends a label value escaped as the exposition format wants; 0 if it does not fit. */
static int put_label_value(char *out, size_t *len, size_t cap, const char *v, size_t n) {
    for (size_t i = 0; i < n; i++) {
        const char *rep = v[i] == '\\' ? "\\\\" : v[i] == '"' ? "\\\"" : v[i] == '\n' ? "\\n" : NULL;
        size_t k = rep ? 2 : 1;
        if (*len + k >= cap)
            return 0;
        memcpy(out + *len, rep ? rep : v + i, k);
        *len += k;
    }
    return 1;
}

long ls_metrics_series(int m, const char *const *values, const size_t *lens, const char **err) {
    if (!seg || m < 0 || (uint32_t)m >= __atomic_load_n(&seg->nmetrics, __ATOMIC_ACQUIRE))
        return *err = "no such metric", -1;
    const metric_def *d = &seg->metrics[m];
    char text[SERIES_LABELS_MAX];
    size_t len = 0;
    for (int i = 0; i < d->nlabels; i++) {
        int k = snprintf(text + len, sizeof text - len, "%s%s=\"", i ? "," : "", d->labels[i]);
        if (k < 0 || (size_t)k >= sizeof text - len)
            return *err = "label values too long", -1;
        len += (size_t)k;
        if (!put_label_value(text, &len, sizeof text, values[i], lens[i]) || len + 2 >= sizeof text)
            return *err = "label values too long", -1;
        text[len++] = '"';
    }
    text[len] = '\0';
    lock();
    uint32_t n = seg->nseries;
    for (uint32_t i = 0; i < n; i++)
        if (seg->series[i].metric == (uint32_t)m && strcmp(seg->series[i].labels, text) == 0) {
            unlock();
            return (long)i;
        }
    if (n >= seg->max_series) {
        seg->series_errors++;
        unlock();
        return *err = "too many series (--metrics-max-series)", -1;
    }
    series *s = &seg->series[n];
    s->metric = (uint32_t)m;
    memcpy(s->labels, text, len + 1);
    __atomic_store_n(&s->used, 1, __ATOMIC_RELEASE);
    __atomic_store_n(&seg->nseries, n + 1, __ATOMIC_RELEASE);
    unlock();
    return (long)n;
}

static double bits_to_double(uint64_t b) {
    double v;
    memcpy(&v, &b, sizeof v);
    return v;
}
static uint64_t double_to_bits(double v) {
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    return b;
}

static void atomic_add_double(uint64_t *cell, double v) {
    uint64_t old = __atomic_load_n(cell, __ATOMIC_RELAXED), next;
    do
        next = double_to_bits(bits_to_double(old) + v);
    while (!__atomic_compare_exchange_n(cell, &old, next, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
}

void ls_metrics_add(long s, double v) { atomic_add_double(&seg->series[s].v[0], v); }

void ls_metrics_set(long s, double v) {
    __atomic_store_n(&seg->series[s].v[0], double_to_bits(v), __ATOMIC_RELAXED);
}

void ls_metrics_observe(long s, double v) {
    series *x = &seg->series[s];
    const metric_def *d = &seg->metrics[x->metric];
    int b = 0;
    while (b < d->nbuckets && !(v <= d->buckets[b]))
        b++;
    __atomic_fetch_add(&x->v[b], 1, __ATOMIC_RELAXED);
    atomic_add_double(&x->v[SUM], v);
}

double ls_metrics_value(long s) {
    return bits_to_double(__atomic_load_n(&seg->series[s].v[0], __ATOMIC_RELAXED));
}

/* ---------------------------------------------------------------- the text */

typedef struct text {
    char *p;
    size_t len, cap;
    int failed;
} text;

static void tput(text *t, const char *s, size_t n) {
    if (t->failed)
        return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 8192;
        while (cap < t->len + n + 1)
            cap *= 2;
        char *p = realloc(t->p, cap);
        if (!p) {
            t->failed = 1;
            return;
        }
        t->p = p, t->cap = cap;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = '\0';
}
static void tputs(text *t, const char *s) { tput(t, s, strlen(s)); }
static void tprintf(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tprintf(text *t, const char *fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n > 0)
        tput(t, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

/* A float as the exposition format writes it: the shortest text that reads back the same. */
static void format_double(char *out, size_t cap, double v) {
    if (isnan(v)) {
        snprintf(out, cap, "NaN");
    } else if (isinf(v)) {
        snprintf(out, cap, v > 0 ? "+Inf" : "-Inf");
    } else if (v == floor(v) && fabs(v) < 1e15) {
        snprintf(out, cap, "%.0f", v);
    } else {
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(out, cap, "%.*g", prec, v);
            if (strtod(out, NULL) == v)
                return;
        }
    }
}

static void header(text *t, const char *name, const char *help, const char *type) {
    tprintf(t, "# HELP %s ", name);
    for (const char *h = help; *h; h++)
        tputs(t, *h == '\\' ? "\\\\" : *h == '\n' ? "\\n" : (char[2]){*h, 0});
    tprintf(t, "\n# TYPE %s %s\n", name, type);
}

static const char *const method_names[LS_METHODS] = {"GET",    "HEAD",  "POST",    "PUT",
                                                     "DELETE", "PATCH", "OPTIONS", "other"};
static const double duration_bounds[LS_DURATION_BUCKETS - 1] = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
static const char *const conn_state_names[LS_CONN_STATES] = {"idle", "reading", "active",
                                                             "closing"};

/* The sum over the workers' slots of the counter at that offset in ls_stats. */
static uint64_t sum_slots(uint32_t nslots, size_t offset) {
    uint64_t sum = 0;
    for (uint32_t i = 0; i < nslots; i++)
        sum += __atomic_load_n((const uint64_t *)((const char *)&seg->slots[i] + offset),
                               __ATOMIC_RELAXED);
    return sum;
}
#define SUM_SLOTS(field) sum_slots(nslots, offsetof(ls_stats, field))

static void render_builtin(text *t) {
    uint32_t nslots = __atomic_load_n(&seg->nslots, __ATOMIC_RELAXED);
    if (nslots > LS_METRICS_MAX_WORKERS)
        nslots = LS_METRICS_MAX_WORKERS;
    header(t, "lunaserve_http_requests_total",
           "HTTP requests answered (499: the client left first), by method and status class.",
           "counter");
    for (int m = 0; m < LS_METHODS; m++)
        for (int c = 0; c < 5; c++) {
            uint64_t v = SUM_SLOTS(requests[m][c]);
            if (v)
                tprintf(t, "lunaserve_http_requests_total{method=\"%s\",status=\"%dxx\"} %llu\n",
                        method_names[m], c + 1, (unsigned long long)v);
        }
    header(t, "lunaserve_http_request_duration_seconds",
           "From a request's first byte to its response's last.", "histogram");
    uint64_t cum = 0;
    for (int b = 0; b < LS_DURATION_BUCKETS; b++) {
        cum += SUM_SLOTS(duration_buckets[b]);
        char le[32];
        format_double(le, sizeof le, b < LS_DURATION_BUCKETS - 1 ? duration_bounds[b] : INFINITY);
        tprintf(t, "lunaserve_http_request_duration_seconds_bucket{le=\"%s\"} %llu\n", le,
                (unsigned long long)cum);
    }
    char sum[40];
    format_double(sum, sizeof sum, (double)SUM_SLOTS(duration_us_sum) / 1e6);
    tprintf(t, "lunaserve_http_request_duration_seconds_sum %s\n", sum);
    tprintf(t, "lunaserve_http_request_duration_seconds_count %llu\n",
            (unsigned long long)SUM_SLOTS(duration_count));

    header(t, "lunaserve_connections", "Open client connections by state.", "gauge");
    for (int s = 0; s < LS_CONN_STATES; s++) {
        int64_t v = 0;
        for (uint32_t i = 0; i < nslots; i++)
            v += __atomic_load_n(&seg->slots[i].conns[s], __ATOMIC_RELAXED);
        tprintf(t, "lunaserve_connections{state=\"%s\"} %lld\n", conn_state_names[s],
                (long long)(v < 0 ? 0 : v));
    }
    header(t, "lunaserve_connections_closed_total",
           "Client connections closed, by why they closed.", "counter");
    for (int r = 0; r < LS_CLOSE_REASONS; r++)
        tprintf(t, "lunaserve_connections_closed_total{reason=\"%s\"} %llu\n",
                ls_close_reason_names[r], (unsigned long long)SUM_SLOTS(closes[r]));
    header(t, "lunaserve_received_bytes_total", "Bytes read from clients.", "counter");
    tprintf(t, "lunaserve_received_bytes_total %llu\n",
            (unsigned long long)SUM_SLOTS(bytes_in));
    header(t, "lunaserve_sent_bytes_total", "Bytes written to clients.", "counter");
    tprintf(t, "lunaserve_sent_bytes_total %llu\n", (unsigned long long)SUM_SLOTS(bytes_out));

    header(t, "lunaserve_lua_memory_bytes", "Memory the Lua states hold, per worker.", "gauge");
    for (uint32_t i = 0; i < nslots; i++)
        tprintf(t, "lunaserve_lua_memory_bytes{worker=\"%u\"} %llu\n", i + 1,
                (unsigned long long)__atomic_load_n(&seg->slots[i].lua_memory, __ATOMIC_RELAXED));
    header(t, "lunaserve_reloads_total", "Code reloads that took over.", "counter");
    tprintf(t, "lunaserve_reloads_total %llu\n", (unsigned long long)SUM_SLOTS(reloads));
    header(t, "lunaserve_reload_failures_total",
           "Reloads whose code did not load (the previous code kept serving).", "counter");
    tprintf(t, "lunaserve_reload_failures_total %llu\n",
            (unsigned long long)SUM_SLOTS(reload_failures));
    header(t, "lunaserve_worker_restarts_total", "Workers the master started again.", "counter");
    tprintf(t, "lunaserve_worker_restarts_total %llu\n",
            (unsigned long long)__atomic_load_n(&seg->worker_restarts, __ATOMIC_RELAXED));
    header(t, "lunaserve_handler_errors_total",
           "Handler and listener errors (500 or a closed connection).", "counter");
    tprintf(t, "lunaserve_handler_errors_total %llu\n",
            (unsigned long long)SUM_SLOTS(handler_errors));
    header(t, "lunaserve_handler_budget_kills_total",
           "Handlers stopped for running past --handler-budget without yielding.", "counter");
    tprintf(t, "lunaserve_handler_budget_kills_total %llu\n",
            (unsigned long long)SUM_SLOTS(budget_kills));
    header(t, "lunaserve_upstream_connects_total",
           "Outbound connections opened, by client (tcp: cosockets, with the HTTP and Redis "
           "clients on them; pg: PostgreSQL).",
           "counter");
    tprintf(t, "lunaserve_upstream_connects_total{client=\"tcp\"} %llu\n",
            (unsigned long long)SUM_SLOTS(outbound_connects));
    tprintf(t, "lunaserve_upstream_connects_total{client=\"pg\"} %llu\n",
            (unsigned long long)SUM_SLOTS(pg_connects));
    int64_t tcp_idle = 0, pg_live = 0, pg_idle = 0;
    for (uint32_t i = 0; i < nslots; i++) {
        tcp_idle += __atomic_load_n(&seg->slots[i].tcp_pool_idle, __ATOMIC_RELAXED);
        pg_live += __atomic_load_n(&seg->slots[i].pg_pool_live, __ATOMIC_RELAXED);
        pg_idle += __atomic_load_n(&seg->slots[i].pg_pool_idle, __ATOMIC_RELAXED);
    }
    header(t, "lunaserve_upstream_pool_connections",
           "Pooled outbound connections: idle cosockets kept for reuse (tcp), and lunaserve.pg "
           "pools' connections idle or in use (pg).",
           "gauge");
    tprintf(t, "lunaserve_upstream_pool_connections{client=\"tcp\",state=\"idle\"} %lld\n",
            (long long)(tcp_idle > 0 ? tcp_idle : 0));
    tprintf(t, "lunaserve_upstream_pool_connections{client=\"pg\",state=\"idle\"} %lld\n",
            (long long)(pg_idle > 0 ? pg_idle : 0));
    tprintf(t, "lunaserve_upstream_pool_connections{client=\"pg\",state=\"busy\"} %lld\n",
            (long long)(pg_live > pg_idle ? pg_live - pg_idle : 0));
    header(t, "lunaserve_upstream_errors_total",
           "Outbound connects, sends and receives that failed, by client.", "counter");
    tprintf(t, "lunaserve_upstream_errors_total{client=\"tcp\"} %llu\n",
            (unsigned long long)SUM_SLOTS(outbound_errors));
    tprintf(t, "lunaserve_upstream_errors_total{client=\"pg\"} %llu\n",
            (unsigned long long)SUM_SLOTS(pg_errors));
    header(t, "lunaserve_access_log_dropped_lines_total",
           "Access log lines lost because a write failed (a full disk) or could not keep up.",
           "counter");
    tprintf(t, "lunaserve_access_log_dropped_lines_total %llu\n",
            (unsigned long long)SUM_SLOTS(access_log_dropped));
    header(t, "lunaserve_metric_errors_total",
           "App metric updates refused (past --metrics-max-series).", "counter");
    tprintf(t, "lunaserve_metric_errors_total %llu\n",
            (unsigned long long)__atomic_load_n(&seg->series_errors, __ATOMIC_RELAXED));
}

static void render_app(text *t) {
    uint32_t nm = __atomic_load_n(&seg->nmetrics, __ATOMIC_ACQUIRE);
    uint32_t ns = __atomic_load_n(&seg->nseries, __ATOMIC_ACQUIRE);
    for (uint32_t m = 0; m < nm; m++) {
        const metric_def *d = &seg->metrics[m];
        static const char *const types[] = {"counter", "gauge", "histogram"};
        header(t, d->name, d->help, types[d->type]);
        for (uint32_t i = 0; i < ns; i++) {
            const series *s = &seg->series[i];
            if (s->metric != m || !__atomic_load_n(&s->used, __ATOMIC_ACQUIRE))
                continue;
            char num[40];
            const char *open = s->labels[0] ? "{" : "", *close = s->labels[0] ? "}" : "";
            if (d->type != LS_METRIC_HISTOGRAM) {
                format_double(num, sizeof num,
                              bits_to_double(__atomic_load_n(&s->v[0], __ATOMIC_RELAXED)));
                tprintf(t, "%s%s%s%s %s\n", d->name, open, s->labels, close, num);
                continue;
            }
            uint64_t cum = 0;
            for (int b = 0; b <= d->nbuckets; b++) {
                cum += __atomic_load_n(&s->v[b], __ATOMIC_RELAXED);
                char le[40];
                format_double(le, sizeof le, b < d->nbuckets ? d->buckets[b] : INFINITY);
                tprintf(t, "%s_bucket{%s%sle=\"%s\"} %llu\n", d->name, s->labels,
                        s->labels[0] ? "," : "", le, (unsigned long long)cum);
            }
            format_double(num, sizeof num,
                          bits_to_double(__atomic_load_n(&s->v[SUM], __ATOMIC_RELAXED)));
            tprintf(t, "%s_sum%s%s%s %s\n", d->name, open, s->labels, close, num);
            tprintf(t, "%s_count%s%s%s %llu\n", d->name, open, s->labels, close,
                    (unsigned long long)cum);
        }
    }
}

char *ls_metrics_render(size_t *len) {
    text t = {0};
    if (seg) {
        render_builtin(&t);
        render_app(&t);
    }
    tput(&t, "", 0);
    if (t.failed) {
        free(t.p);
        return NULL;
    }
    *len = t.len;
    return t.p;
}
