/* A PostgreSQL connection on the event loop (see pgconn.h). */
#include "pgconn.h"

#include "stats.h"

#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The handles live apart from the connection: uv_close ends later than the connection. */
struct ls_pg_poll {
    uv_poll_t h; /* data: the connection, NULL once it let go */
};
struct ls_pg_timer {
    uv_timer_t h;
};

/* A query asked for while a cancelled one drains: a copy of everything it needs. */
struct ls_pg_held {
    ls_pgconn_fn done;
    int nparams;
    char *sql;
    const char **values;
    int *lengths, *formats;
};

/* PQcancel, in the thread pool. c is cleared when the connection closes first. */
typedef struct ls_pg_cancel {
    uv_work_t req;
    PGcancel *cancel;
    ls_pgconn *c;
} ls_pg_cancel;


static size_t open_conns;

size_t ls_pgconn_open_count(void) { return open_conns; }

/* ---------------------------------------------------------------- errors */

static void set_error(ls_pgconn *c, const char *msg) {
    free(c->error);
    c->error = strdup(msg ? msg : "unknown error");
    if (!c->error)
        return;
    /* libpq's messages end in a newline, and may hold several lines: one line here */
    size_t n = strlen(c->error);
    while (n && (c->error[n - 1] == '\n' || c->error[n - 1] == ' '))
        c->error[--n] = '\0';
    for (char *p = c->error; *p; p++)
        if (*p == '\n' || *p == '\t')
            *p = ' ';
}

const char *ls_pgconn_error(const ls_pgconn *c) {
    return c->error ? c->error : "connection failed";
}

/* ---------------------------------------------------------------- handles */

static void poll_closed(uv_handle_t *h) { free((struct ls_pg_poll *)h); }
static void timer_closed(uv_handle_t *h) { free((struct ls_pg_timer *)h); }

static void on_poll(uv_poll_t *h, int status, int events);

static void watch(ls_pgconn *c, int events) {
    if (!c->poll || events == c->watching)
        return;
    c->watching = events;
    if (events)
        uv_poll_start(&c->poll->h, events, on_poll);
    else
        uv_poll_stop(&c->poll->h);
}

static void drop_poll(ls_pgconn *c) {
    if (!c->poll)
        return;
    c->poll->h.data = NULL;
    uv_close((uv_handle_t *)&c->poll->h, poll_closed);
    c->poll = NULL;
    c->watching = 0;
}

/* Follows libpq's socket, which a connect may change (another address, another try) and
 * a broken connection drops. Called after every libpq call that may do either, before the
 * loop runs again: the old descriptor's number is not reused in between. */
static int sync_fd(ls_pgconn *c) {
    int fd = PQsocket(c->pg);
    if (fd == c->fd)
        return 0;
    drop_poll(c);
    c->fd = fd;
    if (fd < 0)
        return 0;
    struct ls_pg_poll *p = malloc(sizeof *p);
    if (!p)
        return UV_ENOMEM;
    int r = uv_poll_init_socket(c->loop, &p->h, fd);
    if (r < 0) {
        free(p);
        c->fd = -1;
        return r;
    }
    p->h.data = c;
    c->poll = p;
    return 0;
}

static void on_timeout(uv_timer_t *h);

static void arm(ls_pgconn *c, uint64_t ms) {
    if (ms)
        uv_timer_start(&c->timer->h, on_timeout, ms, 0);
    else
        uv_timer_stop(&c->timer->h);
}

/* ---------------------------------------------------------------- outcomes */

static void finish(ls_pgconn *c, int status) {
    if (status != LS_PG_OK) /* an SQL error, a broken connection or a timeout */
        ls_stat_add(&ls_stats_self->pg_errors, 1);
    ls_pgconn_fn fn = c->done;
    c->done = NULL;
    if (fn)
        fn(c, status); /* may close c */
}

static void free_held(ls_pgconn *c) {
    free(c->held);
    c->held = NULL;
}

/* The connection is beyond use: whoever waits on it hears so. */
static void die(ls_pgconn *c, int status) {
    if (!c->error && !c->result)
        set_error(c, PQerrorMessage(c->pg));
    c->state = LS_PGCONN_DEAD;
    watch(c, 0);
    arm(c, 0);
    if (c->held) {
        c->done = c->held->done;
        free_held(c);
    }
    if (c->parked && !c->done) {
        c->lost(c);
        return;
    }
    finish(c, status);
}

static int is_error(const PGresult *r) {
    ExecStatusType st = PQresultStatus(r);
    return st == PGRES_FATAL_ERROR || st == PGRES_BAD_RESPONSE || st == PGRES_NONFATAL_ERROR;
}

/* ---------------------------------------------------------------- connect */

static void step_connect(ls_pgconn *c) {
    PostgresPollingStatusType st = PQconnectPoll(c->pg);
    /* A step may close the socket and open another for the next address, often with the
     * same number: the poll is registered anew after each step, so the kernel watches the
     * socket that is there now. */
    if (c->poll && c->watching) {
        uv_poll_stop(&c->poll->h);
        c->watching = 0;
    }
    if (sync_fd(c) < 0) {
        set_error(c, "cannot watch the connection's socket");
        die(c, LS_PG_CLOSED);
        return;
    }
    switch (st) {
    case PGRES_POLLING_READING:
        watch(c, UV_READABLE);
        return;
    case PGRES_POLLING_WRITING:
        watch(c, UV_WRITABLE);
        return;
    case PGRES_POLLING_OK:
        ls_stat_add(&ls_stats_self->pg_connects, 1);
        PQsetnonblocking(c->pg, 1);
        c->state = LS_PGCONN_IDLE;
        watch(c, UV_READABLE);
        arm(c, 0);
        finish(c, LS_PG_OK);
        return;
    default:
        set_error(c, PQerrorMessage(c->pg));
        die(c, LS_PG_CLOSED);
        return;
    }
}

/* libpq's notices (NOTICE, WARNING from the server) would go to stderr: the log has them. */
static void on_notice(void *arg, const char *message) {
    (void)arg;
    LS_LOG(LS_LOG_DEBUG, "postgres: %.*s", (int)strcspn(message, "\n"), message);
}

static void start_libpq(ls_pgconn *c) {
    c->pg = PQconnectStartParams((const char *const *)c->keys, (const char *const *)c->vals, 0);
    if (!c->pg) {
        set_error(c, "out of memory");
        c->state = LS_PGCONN_DEAD;
        arm(c, 0);
        finish(c, LS_PG_CLOSED);
        return;
    }
    if (PQstatus(c->pg) == CONNECTION_BAD) {
        set_error(c, PQerrorMessage(c->pg));
        die(c, LS_PG_CLOSED);
        return;
    }
    PQsetNoticeProcessor(c->pg, on_notice, NULL);
    c->state = LS_PGCONN_CONNECTING;
    if (sync_fd(c) < 0 || !c->poll) {
        set_error(c, PQerrorMessage(c->pg));
        die(c, LS_PG_CLOSED);
        return;
    }
    /* libpq's rule: the first step waits until the socket is writable */
    watch(c, UV_WRITABLE);
}

/* The parameters as libpq would take them with expand_dbname: a dbname holding a URL or
 * "key=value" words gives its parts; the pairs after it override them. Returns 0, or -1 with
 * the message in err. */
static int gather_params(ls_pgconn *c, const char *const *keys, const char *const *vals,
                         char *err, size_t errlen) {
    size_t cap = 0;
    for (size_t i = 0; keys[i]; i++)
        cap++;
    PQconninfoOption *defs = PQconndefaults();
    size_t nopts = 0;
    for (PQconninfoOption *o = defs; o && o->keyword; o++)
        nopts++;
    PQconninfoFree(defs);
    cap += nopts + 3;
    c->keys = calloc(cap, sizeof *c->keys);
    c->vals = calloc(cap, sizeof *c->vals);
    if (!c->keys || !c->vals) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    size_t n = 0;
    for (size_t i = 0; keys[i]; i++) {
        const char *k = keys[i], *v = vals[i];
        if (!v)
            continue;
        if (strcmp(k, "dbname") == 0 &&
            (strchr(v, '=') || strncmp(v, "postgresql://", 13) == 0 ||
             strncmp(v, "postgres://", 11) == 0)) {
            char *perr = NULL;
            PQconninfoOption *opts = PQconninfoParse(v, &perr);
            if (!opts) {
                snprintf(err, errlen, "%s", perr ? perr : "out of memory");
                PQfreemem(perr);
                size_t len = strlen(err);
                while (len && err[len - 1] == '\n')
                    err[--len] = '\0';
                return -1;
            }
            for (PQconninfoOption *o = opts; o->keyword; o++) {
                if (!o->val)
                    continue;
                size_t j = 0;
                while (j < n && strcmp(c->keys[j], o->keyword) != 0)
                    j++;
                if (j == n) {
                    if (n + 1 >= cap)
                        continue;
                    c->keys[n++] = strdup(o->keyword);
                } else {
                    free(c->vals[j]);
                }
                c->vals[j] = strdup(o->val);
            }
            PQconninfoFree(opts);
            continue;
        }
        size_t j = 0;
        while (j < n && strcmp(c->keys[j], k) != 0)
            j++;
        if (j == n) {
            if (n + 1 >= cap)
                continue;
            c->keys[n++] = strdup(k);
        } else {
            free(c->vals[j]);
        }
        c->vals[j] = strdup(v);
    }
    /* libpq would read PGHOST itself: as a parameter, its name can be looked up here */
    const char *env_host = getenv("PGHOST");
    int has_host = 0;
    for (size_t i = 0; i < n; i++)
        has_host |= strcmp(c->keys[i] ? c->keys[i] : "", "host") == 0;
    if (!has_host && env_host && *env_host && n + 1 < cap) {
        c->keys[n] = strdup("host");
        c->vals[n++] = strdup(env_host);
    }
    for (size_t i = 0; i < n; i++)
        if (!c->keys[i] || !c->vals[i]) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    return 0;
}

static char *param(ls_pgconn *c, const char *key) {
    for (size_t i = 0; c->keys[i]; i++)
        if (strcmp(c->keys[i], key) == 0)
            return c->vals[i];
    return NULL;
}

static void set_param(ls_pgconn *c, const char *key, char *val) {
    size_t i = 0;
    while (c->keys[i] && strcmp(c->keys[i], key) != 0)
        i++;
    if (c->keys[i]) {
        free(c->vals[i]);
    } else {
        c->keys[i] = strdup(key);
    }
    c->vals[i] = val;
}

/* The server's name, when it is one name that libpq would look up itself (not a socket
 * directory, not an address, not a list), and no address is given. */
static const char *name_to_resolve(ls_pgconn *c) {
    const char *host = param(c, "host");
    const char *hostaddr = param(c, "hostaddr");
    if (!hostaddr)
        hostaddr = getenv("PGHOSTADDR");
    if (!host || !*host || (hostaddr && *hostaddr))
        return NULL;
    if (host[0] == '/' || host[0] == '@' || strchr(host, ','))
        return NULL;
    struct in6_addr a6;
    struct in_addr a4;
    if (uv_inet_pton(AF_INET, host, &a4) == 0 || uv_inet_pton(AF_INET6, host, &a6) == 0)
        return NULL;
    return host;
}

static void on_resolved(void *ctx, int err, const ls_addrs *addrs) {
    ls_pgconn *c = ctx;
    c->lookup = NULL;
    const char *host = param(c, "host");
    if (err < 0 || addrs->n == 0) {
        char msg[512];
        snprintf(msg, sizeof msg, "could not translate host name \"%s\" to address: %s", host,
                 err < 0 ? uv_strerror(err) : "no address");
        set_error(c, msg);
        c->state = LS_PGCONN_DEAD;
        arm(c, 0);
        finish(c, LS_PG_CLOSED);
        return;
    }
    /* libpq tries each address in turn; each needs the name beside it */
    size_t hlen = strlen(host);
    char *hosts = malloc((size_t)addrs->n * (hlen + 1));
    char *list = malloc((size_t)addrs->n * 64);
    if (!hosts || !list) {
        free(hosts);
        free(list);
        set_error(c, "out of memory");
        c->state = LS_PGCONN_DEAD;
        arm(c, 0);
        finish(c, LS_PG_CLOSED);
        return;
    }
    char *hp = hosts, *lp = list;
    for (int i = 0; i < addrs->n; i++) {
        const struct sockaddr *sa = (const struct sockaddr *)&addrs->addr[i];
        char ip[64] = "";
        if (sa->sa_family == AF_INET6)
            uv_ip6_name((const struct sockaddr_in6 *)sa, ip, sizeof ip);
        else
            uv_ip4_name((const struct sockaddr_in *)sa, ip, sizeof ip);
        if (i) {
            *hp++ = ',';
            *lp++ = ',';
        }
        memcpy(hp, host, hlen);
        hp += hlen;
        size_t il = strlen(ip);
        memcpy(lp, ip, il);
        lp += il;
    }
    *hp = *lp = '\0';
    set_param(c, "hostaddr", list);
    set_param(c, "host", hosts);
    start_libpq(c);
}

ls_pgconn *ls_pgconn_connect(uv_loop_t *loop, ls_resolver *resolver, const char *const *keys,
                             const char *const *vals, uint64_t timeout_ms, ls_pgconn_fn done,
                             void *data, char *err, size_t errlen) {
    ls_pgconn *c = calloc(1, sizeof *c);
    struct ls_pg_timer *t = malloc(sizeof *t);
    if (!c || !t) {
        free(c);
        free(t);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->loop = loop;
    c->fd = -1;
    c->done = done;
    c->data = data;
    c->timer = t;
    uv_timer_init(loop, &t->h);
    t->h.data = c;
    open_conns++;
    if (gather_params(c, keys, vals, err, errlen) < 0) {
        ls_pgconn_close(c);
        return NULL;
    }
    c->state = LS_PGCONN_RESOLVING;
    c->op_ms = timeout_ms;
    const char *name = resolver ? name_to_resolve(c) : NULL;
    if (name) {
        const char *port = param(c, "port");
        ls_addrs addrs;
        int r = ls_resolve(resolver, name, port ? atoi(port) : 5432, &addrs, &c->lookup,
                           on_resolved, c);
        if (r == 0) {
            arm(c, timeout_ms);
            return c;
        }
        if (r == 1) {
            c->addrs = malloc(sizeof addrs);
            if (!c->addrs) {
                snprintf(err, errlen, "out of memory");
                ls_pgconn_close(c);
                return NULL;
            }
            *c->addrs = addrs;
        }
        if (r < 0) {
            char msg[512];
            snprintf(msg, sizeof msg, "could not translate host name \"%s\" to address: %s",
                     name, uv_strerror(r));
            set_error(c, msg);
            c->failed = 1;
        }
    }
    /* Nothing to wait for: the connect starts on the loop's next turn, so that done() never
     * runs inside this call. */
    c->deferred = 1;
    uv_timer_start(&c->timer->h, on_timeout, 0, 0);
    return c;
}

/* The deferred start of a connect. */
static void start_deferred(ls_pgconn *c) {
    c->deferred = 0;
    if (c->failed) {
        c->state = LS_PGCONN_DEAD;
        finish(c, LS_PG_CLOSED);
        return;
    }
    arm(c, c->op_ms);
    if (c->addrs) {
        ls_addrs *a = c->addrs;
        c->addrs = NULL;
        on_resolved(c, 0, a);
        free(a);
        return;
    }
    start_libpq(c);
}

/* ---------------------------------------------------------------- queries */

static void send_held(ls_pgconn *c);

/* A cancelled query is over once its results ended and the cancel request was delivered
 * (else it could stop the next query). */
static void drain_ended(ls_pgconn *c) {
    if (!c->drained || c->cancel)
        return;
    c->drained = 0;
    c->state = LS_PGCONN_IDLE;
    if (c->held) {
        send_held(c);
        return;
    }
    if (c->parked) {
        if (!ls_pgconn_reusable(c)) {
            c->lost(c);
            return;
        }
        watch(c, UV_READABLE);
        arm(c, c->idle_ms);
        return;
    }
    watch(c, UV_READABLE);
    arm(c, 0);
}

static void query_ended(ls_pgconn *c) {
    if (PQstatus(c->pg) == CONNECTION_BAD) {
        die(c, LS_PG_CLOSED);
        return;
    }
    if (c->state == LS_PGCONN_DRAINING) {
        c->drained = 1;
        watch(c, c->parked ? UV_READABLE : 0);
        drain_ended(c);
        return;
    }
    c->state = LS_PGCONN_IDLE;
    watch(c, UV_READABLE);
    arm(c, 0);
    finish(c, c->result && is_error(c->result) ? LS_PG_ERROR : LS_PG_OK);
}

/* Takes every result that is complete; ends the query when libpq has no more. */
static void collect(ls_pgconn *c) {
    for (int guard = 0; guard < 100000 && !PQisBusy(c->pg); guard++) {
        PGresult *r = PQgetResult(c->pg);
        sync_fd(c);
        if (!r) {
            query_ended(c);
            return;
        }
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH) {
            PQclear(r);
            set_error(c, "COPY is not supported: the connection is closed");
            PQclear(c->result);
            c->result = NULL;
            die(c, LS_PG_CLOSED);
            return;
        }
        if (c->state == LS_PGCONN_DRAINING || (c->result && is_error(c->result))) {
            PQclear(r);
            continue;
        }
        PQclear(c->result);
        c->result = r;
    }
}

/* Sends what libpq holds: 0, or -1 when the connection died (c may be freed). */
static int flush(ls_pgconn *c) {
    int r = PQflush(c->pg);
    sync_fd(c);
    if (r < 0) {
        die(c, LS_PG_CLOSED);
        return -1;
    }
    watch(c, r ? UV_READABLE | UV_WRITABLE : UV_READABLE);
    return 0;
}

static int send_query(ls_pgconn *c, const char *sql, int n, const char *const *values,
                      const int *lengths, const int *formats) {
    int ok = n < 0 ? PQsendQuery(c->pg, sql)
                   : PQsendQueryParams(c->pg, sql, n, NULL, values, lengths, formats, 0);
    sync_fd(c);
    if (!ok) {
        set_error(c, PQerrorMessage(c->pg));
        if (PQstatus(c->pg) == CONNECTION_BAD) {
            c->state = LS_PGCONN_DEAD;
            watch(c, 0);
        }
        return -1;
    }
    PQclear(c->result);
    c->result = NULL;
    free(c->error);
    c->error = NULL;
    c->state = LS_PGCONN_QUERY;
    int r = PQflush(c->pg);
    sync_fd(c);
    if (r < 0) {
        set_error(c, PQerrorMessage(c->pg));
        c->state = LS_PGCONN_DEAD;
        watch(c, 0);
        return -1;
    }
    watch(c, r ? UV_READABLE | UV_WRITABLE : UV_READABLE);
    return 0;
}

static void send_held(ls_pgconn *c) {
    struct ls_pg_held *h = c->held;
    c->held = NULL;
    c->done = h->done;
    int r = send_query(c, h->sql, h->nparams, h->values, h->lengths, h->formats);
    free(h);
    if (r < 0) {
        die(c, LS_PG_CLOSED);
        return;
    }
    /* its timeout runs on from when it was asked for */
}

static struct ls_pg_held *hold(const char *sql, int n, const char *const *values,
                               const int *lengths, const int *formats) {
    int np = n < 0 ? 0 : n;
    size_t size = sizeof(struct ls_pg_held) + (size_t)np * (sizeof(char *) + 2 * sizeof(int));
    size_t sqllen = strlen(sql) + 1;
    size += sqllen;
    for (int i = 0; i < np; i++)
        if (values[i])
            size += (formats && formats[i] ? (size_t)lengths[i] : strlen(values[i])) + 1;
    struct ls_pg_held *h = malloc(size);
    if (!h)
        return NULL;
    char *p = (char *)(h + 1);
    h->nparams = n;
    h->values = (const char **)p;
    p += (size_t)np * sizeof(char *);
    h->lengths = (int *)p;
    p += (size_t)np * sizeof(int);
    h->formats = (int *)p;
    p += (size_t)np * sizeof(int);
    h->sql = p;
    memcpy(p, sql, sqllen);
    p += sqllen;
    for (int i = 0; i < np; i++) {
        int bin = formats && formats[i];
        h->formats[i] = bin;
        h->lengths[i] = bin ? lengths[i] : 0;
        if (!values[i]) {
            h->values[i] = NULL;
            continue;
        }
        size_t len = bin ? (size_t)lengths[i] : strlen(values[i]);
        memcpy(p, values[i], len);
        p[len] = '\0';
        h->values[i] = p;
        p += len + 1;
    }
    return h;
}

int ls_pgconn_query(ls_pgconn *c, const char *sql, int nparams, const char *const *values,
                    const int *lengths, const int *formats, uint64_t timeout_ms,
                    ls_pgconn_fn done) {
    if (c->state == LS_PGCONN_DRAINING && !c->held) {
        c->held = hold(sql, nparams, values, lengths, formats);
        if (!c->held) {
            set_error(c, "out of memory");
            return -1;
        }
        c->held->done = done;
        c->op_ms = timeout_ms;
        arm(c, timeout_ms); /* (the drain's own limit gives way to this query's) */
        return 0;
    }
    if (c->state != LS_PGCONN_IDLE) {
        set_error(c, c->state == LS_PGCONN_DEAD ? ls_pgconn_error(c)
                                                : "the connection is busy with another query");
        return -1;
    }
    if (send_query(c, sql, nparams, values, lengths, formats) < 0)
        return -1;
    c->done = done;
    c->op_ms = timeout_ms;
    arm(c, timeout_ms);
    return 0;
}

PGresult *ls_pgconn_take_result(ls_pgconn *c) {
    PGresult *r = c->result;
    c->result = NULL;
    return r;
}

/* ---------------------------------------------------------------- cancel */

static void cancel_work(uv_work_t *req) {
    ls_pg_cancel *job = req->data;
    char errbuf[256];
    PQcancel(job->cancel, errbuf, sizeof errbuf);
}

static void cancel_done(uv_work_t *req, int status) {
    (void)status;
    ls_pg_cancel *job = req->data;
    ls_pgconn *c = job->c;
    PQfreeCancel(job->cancel);
    free(job);
    if (c) {
        c->cancel = NULL;
        if (c->state == LS_PGCONN_DRAINING)
            drain_ended(c);
    }
}

/* Asks the server to stop the query, from a thread. The connection drains meanwhile. */
static void start_cancel(ls_pgconn *c) {
    PGcancel *k = PQgetCancel(c->pg);
    if (!k)
        return;
    ls_pg_cancel *job = malloc(sizeof *job);
    if (!job) {
        PQfreeCancel(k);
        return;
    }
    job->cancel = k;
    job->c = c;
    job->req.data = job;
    if (uv_queue_work(c->loop, &job->req, cancel_work, cancel_done) < 0) {
        PQfreeCancel(k);
        free(job);
        return;
    }
    c->cancel = job;
}

/* ---------------------------------------------------------------- notifications */

PGnotify *ls_pgconn_notification(ls_pgconn *c) {
    if (c->state == LS_PGCONN_IDLE || c->state == LS_PGCONN_WAITING) {
        PQconsumeInput(c->pg);
        sync_fd(c);
    }
    return PQnotifies(c->pg);
}

int ls_pgconn_wait_notify(ls_pgconn *c, uint64_t timeout_ms, ls_pgconn_fn done) {
    if (c->state != LS_PGCONN_IDLE || !c->poll)
        return -1;
    c->state = LS_PGCONN_WAITING;
    c->done = done;
    watch(c, UV_READABLE);
    arm(c, timeout_ms);
    return 0;
}

static void notify_input(ls_pgconn *c) {
    int ok = PQconsumeInput(c->pg);
    sync_fd(c);
    if (!ok || PQstatus(c->pg) == CONNECTION_BAD) {
        set_error(c, PQerrorMessage(c->pg));
        die(c, LS_PG_CLOSED);
        return;
    }
    PGnotify *n = PQnotifies(c->pg);
    if (!n)
        return;
    c->notify = n;
    c->state = LS_PGCONN_IDLE;
    watch(c, UV_READABLE);
    arm(c, 0);
    finish(c, LS_PG_OK);
}

/* ---------------------------------------------------------------- pools */

int ls_pgconn_reusable(const ls_pgconn *c) {
    if (c->state != LS_PGCONN_IDLE && c->state != LS_PGCONN_DRAINING)
        return 0;
    if (PQstatus(c->pg) != CONNECTION_OK)
        return 0;
    return c->state == LS_PGCONN_DRAINING || PQtransactionStatus(c->pg) == PQTRANS_IDLE;
}

void ls_pgconn_park(ls_pgconn *c, uint64_t idle_ms, void (*lost)(ls_pgconn *c)) {
    c->parked = 1;
    c->lost = lost;
    c->idle_ms = idle_ms;
    if (c->state == LS_PGCONN_DRAINING)
        return; /* parked for real once drained */
    watch(c, UV_READABLE);
    arm(c, idle_ms);
}

void ls_pgconn_unpark(ls_pgconn *c) {
    c->parked = 0;
    c->lost = NULL;
    if (c->state == LS_PGCONN_DRAINING)
        return;
    watch(c, UV_READABLE);
    arm(c, 0);
}

static void parked_input(ls_pgconn *c) {
    int ok = PQconsumeInput(c->pg);
    sync_fd(c);
    PGnotify *n;
    while ((n = PQnotifies(c->pg)) != NULL)
        PQfreemem(n);
    if (!ok || PQstatus(c->pg) == CONNECTION_BAD) {
        set_error(c, PQerrorMessage(c->pg));
        c->state = LS_PGCONN_DEAD;
        watch(c, 0);
        arm(c, 0);
        c->lost(c);
    }
}

/* An open connection is watched for input all along (starting and stopping the watch
 * would cost two epoll_ctl calls a query): what the server sends between queries (a
 * notification, a notice, its goodbye before it closes) is read into libpq at once. */
static void idle_input(ls_pgconn *c) {
    int ok = PQconsumeInput(c->pg);
    sync_fd(c);
    if (!ok || PQstatus(c->pg) == CONNECTION_BAD) {
        set_error(c, PQerrorMessage(c->pg));
        c->state = LS_PGCONN_DEAD;
        watch(c, 0);
    }
}

/* ---------------------------------------------------------------- events */

static void on_poll(uv_poll_t *h, int status, int events) {
    ls_pgconn *c = h->data;
    if (!c)
        return;
    if (status < 0)
        events = UV_READABLE | UV_WRITABLE; /* libpq finds out what is wrong */
    switch (c->state) {
    case LS_PGCONN_CONNECTING:
        step_connect(c);
        return;
    case LS_PGCONN_QUERY:
    case LS_PGCONN_DRAINING:
        if ((events & UV_WRITABLE) && flush(c) < 0)
            return;
        if (events & UV_READABLE) {
            int ok = PQconsumeInput(c->pg);
            sync_fd(c);
            collect(c);
            (void)ok; /* a broken connection shows in its status, once results end */
        }
        return;
    case LS_PGCONN_WAITING:
        notify_input(c);
        return;
    case LS_PGCONN_IDLE:
        if (c->parked)
            parked_input(c);
        else
            idle_input(c);
        return;
    default:
        watch(c, 0);
        return;
    }
}

static void on_timeout(uv_timer_t *h) {
    ls_pgconn *c = h->data;
    switch (c->state) {
    case LS_PGCONN_RESOLVING:
        if (c->deferred) {
            start_deferred(c);
            return;
        }
        if (c->lookup)
            ls_lookup_cancel(c->lookup);
        c->lookup = NULL;
        set_error(c, "timeout");
        c->state = LS_PGCONN_DEAD;
        finish(c, LS_PG_TIMEOUT);
        return;
    case LS_PGCONN_CONNECTING:
        set_error(c, "timeout");
        c->state = LS_PGCONN_DEAD;
        watch(c, 0);
        finish(c, LS_PG_TIMEOUT);
        return;
    case LS_PGCONN_QUERY: {
        start_cancel(c);
        PQclear(c->result);
        c->result = NULL;
        c->state = LS_PGCONN_DRAINING;
        /* the drain may take as long as the query was allowed, and at least a second */
        uint64_t ms = c->op_ms > 1000 ? c->op_ms : 1000;
        arm(c, ms);
        finish(c, LS_PG_TIMEOUT);
        return;
    }
    case LS_PGCONN_DRAINING:
        /* the cancelled query will not end: nothing more can be sent on this connection */
        set_error(c, "timeout");
        die(c, LS_PG_TIMEOUT);
        return;
    case LS_PGCONN_WAITING:
        c->state = LS_PGCONN_IDLE;
        watch(c, UV_READABLE);
        finish(c, LS_PG_TIMEOUT);
        return;
    case LS_PGCONN_IDLE:
        if (c->parked)
            c->lost(c);
        return;
    default:
        return;
    }
}

/* ---------------------------------------------------------------- close */

void ls_pgconn_close(ls_pgconn *c) {
    if (!c)
        return;
    if (c->lookup)
        ls_lookup_cancel(c->lookup);
    /* A query still running would run on to its end: the server notices that its client is
     * gone only when it next writes to it. Cancelled (the request needs no connection), its
     * backend goes at once, and a pool that opens another is not left above its size. */
    if (c->state == LS_PGCONN_QUERY && c->pg && !c->cancel)
        start_cancel(c);
    if (c->cancel)
        c->cancel->c = NULL;
    free(c->addrs);
    drop_poll(c); /* before libpq closes the socket */
    if (c->timer) {
        uv_timer_stop(&c->timer->h);
        c->timer->h.data = NULL;
        uv_close((uv_handle_t *)&c->timer->h, timer_closed);
    }
    if (c->pg)
        PQfinish(c->pg);
    PQclear(c->result);
    if (c->notify)
        PQfreemem(c->notify);
    free_held(c);
    free(c->error);
    if (c->keys)
        for (size_t i = 0; c->keys[i]; i++) {
            free(c->keys[i]);
            free(c->vals[i]);
        }
    free(c->keys);
    free(c->vals);
    free(c);
    open_conns--;
}
