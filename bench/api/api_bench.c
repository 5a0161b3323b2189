/* api_bench: the cost of the Lua-facing API, measured through the real engine with no
 * network. A real ls_server (core/, llhttp) on its own libuv loop serves one end of an
 * AF_UNIX socketpair (ls_server_open_fd; nothing listens); this program is the client on the
 * other end, in the same thread: it writes DEPTH pipelined requests at once, runs the loop
 * and reads the answers until all DEPTH are in, checks every one, and does that again until
 * N handler calls have been timed.
 *
 * usage: api_bench [-v] [-d DEPTH] [-b LEN] [-a APP2] [-B LEN2] [APP [N]]
 *   APP   the app (default bench/app.lua), N the number of timed calls (default 1000000,
 *         rounded up to a multiple of DEPTH)
 *   -a    also run APP2, with the same N, in a Lua state and a server of its own
 *   -b/-B the expected body length of APP/APP2; default: the app table's
 *         bench_body_length, else 14 ("Hello, World!\n", what bench/app.lua answers)
 *   -d    requests written at once (pipelined) per batch (default 64)
 *   -v    print the first response of each app, byte for byte, and what the run used
 *
 * The request is always `GET /?a=1 HTTP/1.1` with Host, User-Agent and Accept, on
 * keep-alive connections. A connection carries whole batches, at most max_requests - 1
 * requests (the app's setting, 1000 by default; a batch shrinks to fit), so that no answer
 * says Connection: close; then the client closes its end and opens a new socketpair, as it
 * also does when the server ends a connection after a batch. Each response must be a 200
 * with the expected body (chunked framing decoded), and byte for byte the first one but for
 * the Date value; the binding must leave the main Lua stack empty after each batch. At the
 * end the app table's bench_check(calls), if any, must return true, the server must have
 * counted as many requests as there were answers, no request may still hold the Lua state,
 * Lua's memory may not have grown over the timed calls, no connection may have closed for
 * another reason than the client's close, a response that ended it or the shutdown, and
 * everything is stopped and freed (the server reports that it stopped, uv_loop_close must
 * succeed; ASan checks the rest). A batch that makes no progress for 10 s (a handler that
 * never finishes) fails too. Exits 1 on any failure.
 *
 * ns/call is wall time per handler call, so it includes the engine's work (llhttp, the
 * response head, the output queue, libuv) and both ends' socketpair syscalls: per call the
 * server's write of the answer, per batch the client's write and a few reads and
 * epoll_waits (TCP_CORK fails on a socketpair, once per connection). Callgrind's instructions per call count user space only. */
#include "binding.h"
#include "response_head.h" /* ls_name_is */

#include <llhttp.h>
#include "settings.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef API_BENCH_APP
#define API_BENCH_APP "bench/app.lua"
#endif

#define DEFAULT_BODY 14         /* bench/app.lua's "Hello, World!\n" */
#define DEFAULT_DEPTH 64        /* requests pipelined per batch */
#define MAX_DEPTH 4096
#define WARMUP 1000             /* untimed calls (at least) before the timed ones */
#define LUA_GROWTH_MAX (64 << 10) /* bytes Lua's memory may grow across the timed calls */
#define MAX_HEAD (64 << 10)     /* a response head longer than this is refused */
#define STALL_S 10              /* seconds a batch may go without progress */

static const char *const request_fields[] = {"Host",   "localhost:8080", "User-Agent",
                                             "api_bench", "Accept",     "*/*",
                                             NULL};

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Prints bytes readably: CRLF as a visible \r\n ending the line, other controls as \xNN. */
static void print_bytes(FILE *f, const char *p, size_t n) {
    int at_line_start = 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        at_line_start = 0;
        if (ch == '\r' && i + 1 < n && p[i + 1] == '\n') {
            fputs("\\r\\n\n", f);
            at_line_start = 1;
            i++;
        } else if (ch == '\n') {
            fputs("\\n", f);
        } else if (ch < 0x20 || ch >= 0x7f) {
            fprintf(f, "\\x%02x", ch);
        } else {
            fputc(ch, f);
        }
    }
    if (!at_line_start)
        fputc('\n', f);
}

/* ------------------------------------------------------------------ response parsing */

typedef struct {
    size_t len;      /* the whole response (head and framed body); 0: not all there yet */
    int status;
    size_t head_len;
    size_t body_len; /* decoded (chunked framing removed) */
    size_t date_at, date_end; /* the Date value's bytes, or 0, 0 */
} parsed;

/* Parsing a response with llhttp: what the callbacks note down. */
typedef struct {
    const char *base;
    parsed *out;
    int in_date; /* the field being read is Date */
    const char *why;
} rparse;

static int rp_field(llhttp_t *p, const char *at, size_t len) {
    rparse *r = p->data;
    r->in_date = ls_name_is(at, len, "date");
    return 0;
}

static int rp_value(llhttp_t *p, const char *at, size_t len) {
    rparse *r = p->data;
    if (r->in_date) {
        if (len != 29) {
            r->why = "a Date value that is not 29 bytes";
            return HPE_USER;
        }
        r->out->date_at = (size_t)(at - r->base);
        r->out->date_end = r->out->date_at + len;
    }
    return 0;
}

static int rp_body(llhttp_t *p, const char *at, size_t len) {
    (void)at;
    ((rparse *)p->data)->out->body_len += len;
    return 0;
}

static int rp_complete(llhttp_t *p) {
    (void)p;
    return HPE_PAUSED; /* stop right after this response */
}

/* Parses the HTTP/1.1 response at the start of p[0, n) with llhttp: NULL, or what is wrong
 * with it. out->len is 0 while it is not all there; eof says that no more bytes will come
 * (a body without a length then ends at n). */
static const char *parse_response(const char *p, size_t n, int eof, parsed *out) {
    static llhttp_settings_t settings;
    if (!settings.on_message_complete) {
        llhttp_settings_init(&settings);
        settings.on_header_field = rp_field;
        settings.on_header_value = rp_value;
        settings.on_body = rp_body;
        settings.on_message_complete = rp_complete;
    }
    memset(out, 0, sizeof *out);
    const char *end = memmem(p, n, "\r\n\r\n", 4);
    if (!end)
        return eof && n ? "no end of head" : n > MAX_HEAD ? "a head that does not end" : NULL;
    if (n < 9 || memcmp(p, "HTTP/1.1 ", 9) != 0)
        return "no HTTP/1.1 status line";
    out->head_len = (size_t)(end - p) + 4;
    rparse r = {.base = p, .out = out};
    llhttp_t parser;
    llhttp_init(&parser, HTTP_RESPONSE, &settings);
    parser.data = &r;
    llhttp_errno_t err = llhttp_execute(&parser, p, n);
    if (err == HPE_OK && eof)
        err = llhttp_finish(&parser); /* a body that the close ends */
    out->status = parser.status_code;
    if (err == HPE_PAUSED)
        out->len = (size_t)(llhttp_get_error_pos(&parser) - p);
    else if (err == HPE_OK && eof)
        out->len = n;
    else if (err != HPE_OK)
        return r.why ? r.why : llhttp_get_error_reason(&parser);
    return NULL;
}

/* ------------------------------------------------------------------ one app */

typedef struct {
    const char *path;
    long expect_body; /* -1: from the app table, else DEFAULT_BODY */
} app_opt;

/* One app's run: its Lua state, its server, and the client end of the current connection. */
typedef struct {
    ls_server server; /* first: it is large (its kits) */
    uv_loop_t *loop;
    uv_timer_t watchdog;     /* ticks once a second: a batch that stalls fails */
    int ticks;               /* ticks since the last progress */
    int watchdog_open;
    ls_vm *vm;
    const char *app;
    long expect;             /* the body length every response must have */
    int depth;               /* requests per batch */
    unsigned long per_conn;  /* requests a connection may carry (max_requests - 1) */
    int fd;                  /* the client end, or -1 */
    unsigned long conn_requests; /* requests sent on the current connection */
    unsigned long conns;     /* connections opened */
    char *req;               /* depth requests, back to back */
    size_t req_len;
    char *in;                /* what the client read and has not checked yet */
    size_t in_len, in_cap;
    char *ref;               /* the first response: every other one must match it */
    parsed ref_p;
    unsigned long long calls; /* handler calls answered so far */
} bench;

static int stopped; /* the server reported that it stopped (on_stopped) */

static void on_stopped(void *app) {
    ls_sleep_close_all(app); /* the app context is the vm: its lunaserve.sleep timers */
    stopped = 1;
}

/* The client closes its end; the server sees EOF and closes its own (an idle close). */
static void client_close(bench *b) {
    if (b->fd >= 0)
        close(b->fd);
    b->fd = -1;
}

/* A new connection: one end of a socketpair to the server, the other for the client. */
static int client_open(bench *b) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) {
        fprintf(stderr, "api_bench: socketpair: %s\n", strerror(errno));
        return -1;
    }
    size_t before = b->server.nconns;
    ls_server_open_fd(&b->server, sv[1]); /* the server owns sv[1] from here, even on failure */
    if (b->server.nconns != before + 1) {
        fprintf(stderr, "api_bench: the server did not take the connection\n");
        close(sv[0]);
        return -1;
    }
    b->fd = sv[0];
    b->conn_requests = 0;
    b->conns++;
    return 0;
}

static int fail_response(const bench *b, unsigned long long call, const char *why,
                         const char *out, size_t len) {
    fprintf(stderr, "api_bench: %s: call %llu: %s; it answered:\n", b->app, call, why);
    print_bytes(stderr, out, len);
    if (b->ref) {
        fprintf(stderr, "the first response was:\n");
        print_bytes(stderr, b->ref, b->ref_p.len);
    }
    return -1;
}

/* Takes the first response as the reference once it has been checked in full. */
static int set_reference(bench *b, const char *p, const parsed *pr, int verbose) {
    if (!(b->ref = malloc(pr->len))) {
        fprintf(stderr, "api_bench: out of memory\n");
        return -1;
    }
    memcpy(b->ref, p, pr->len);
    b->ref_p = *pr;
    if (verbose) {
        printf("api_bench: %s: first response (%zu bytes):\n", b->app, pr->len);
        print_bytes(stdout, b->ref, pr->len);
        fflush(stdout);
    }
    const char *bad = pr->status != 200                ? "a status other than 200"
                      : pr->body_len != (size_t)b->expect ? "a body of an unexpected length"
                                                          : NULL;
    if (bad) {
        fprintf(stderr, "api_bench: %s: the first response has %s (expected 200 and a %ld-byte "
                        "body):\n", b->app, bad, b->expect);
        print_bytes(stderr, b->ref, pr->len);
        return -1;
    }
    return 0;
}

/* Checks the whole responses at in[*off, in_len); got counts them. 0, or -1 after saying
 * why. */
static int take_responses(bench *b, size_t *off, int *got, int eof, int verbose) {
    const parsed *rp = &b->ref_p;
    while (*got < b->depth) {
        const char *p = b->in + *off;
        size_t avail = b->in_len - *off;
        /* Most of the time: the reference again, but for the Date value. */
        if (b->ref && avail >= rp->len && memcmp(p, b->ref, rp->date_at) == 0 &&
            memcmp(p + rp->date_end, b->ref + rp->date_end, rp->len - rp->date_end) == 0) {
            *off += rp->len;
            ++*got;
            continue;
        }
        parsed pr;
        unsigned long long call = b->calls + (unsigned long long)*got;
        const char *bad = parse_response(p, avail, eof, &pr);
        if (bad)
            return fail_response(b, call, bad, p, avail);
        if (pr.len == 0)
            return 0; /* more to read */
        if (b->ref)
            return fail_response(b, call, "the response differs from the first one", p, pr.len);
        if (set_reference(b, p, &pr, verbose) < 0)
            return -1;
        *off += pr.len;
        ++*got;
    }
    return 0;
}

/* Reads what the client end has; sets *eof when the server closed its end. */
static int client_read(bench *b, int *eof) {
    for (;;) {
        if (b->in_cap - b->in_len < 16384) {
            size_t cap = b->in_cap ? b->in_cap * 2 : 65536;
            char *in = realloc(b->in, cap);
            if (!in) {
                fprintf(stderr, "api_bench: out of memory\n");
                return -1;
            }
            b->in = in, b->in_cap = cap;
        }
        ssize_t r = read(b->fd, b->in + b->in_len, b->in_cap - b->in_len);
        if (r > 0) {
            b->in_len += (size_t)r;
        } else if (r == 0) {
            *eof = 1;
            return 0;
        } else if (errno == EAGAIN) {
            return 0;
        } else if (errno != EINTR) {
            fprintf(stderr, "api_bench: %s: read: %s\n", b->app, strerror(errno));
            return -1;
        }
    }
}

/* One batch: depth pipelined requests on the current connection (a new one when this one
 * would reach max_requests), then the loop runs until all the answers are in; every answer
 * is checked. 0, or -1 after saying why. */
static int run_batch(bench *b, int verbose) {
    if (b->fd >= 0 && b->conn_requests + (unsigned long)b->depth > b->per_conn)
        client_close(b);
    if (b->fd < 0 && client_open(b) < 0)
        return -1;
    size_t sent = 0, off = 0;
    int got = 0, eof = 0;
    b->in_len = 0;
    while (got < b->depth) {
        if (sent < b->req_len) {
            ssize_t w = write(b->fd, b->req + sent, b->req_len - sent);
            if (w > 0)
                sent += (size_t)w;
            else if (w < 0 && errno != EAGAIN && errno != EINTR) {
                fprintf(stderr, "api_bench: %s: write: %s\n", b->app, strerror(errno));
                return -1;
            }
        }
        /* Blocks only when the server has nothing to do at once: then it waits for a timer
         * (a handler's sleep, a server timeout, or at the latest the watchdog's tick).
         * Everything the client can read is written inside this call, and read right after
         * it, so no answer waits in the socket while the loop sleeps. */
        size_t had = sent + b->in_len;
        uv_run(b->loop, UV_RUN_ONCE);
        if (client_read(b, &eof) < 0 || take_responses(b, &off, &got, eof, verbose) < 0)
            return -1;
        if (sent + b->in_len != had || eof) {
            b->ticks = 0;
        } else if (b->ticks >= STALL_S) {
            fprintf(stderr, "api_bench: %s: no answer for %d s: %d of %d answers in (call %llu "
                            "does not complete)\n", b->app, STALL_S, got, b->depth,
                    b->calls + (unsigned long long)got);
            if (b->in_len > off)
                print_bytes(stderr, b->in + off, b->in_len - off);
            return -1;
        }
        if (off == b->in_len)
            b->in_len = off = 0;
        if (got < b->depth && eof) {
            fprintf(stderr, "api_bench: %s: the server closed the connection after %d of %d "
                            "answers (call %llu)\n", b->app, got, b->depth,
                    b->calls + (unsigned long long)got);
            if (b->in_len > off)
                print_bytes(stderr, b->in + off, b->in_len - off);
            return -1;
        }
    }
    b->calls += (unsigned long long)b->depth;
    b->conn_requests += (unsigned long)b->depth;
    if (b->in_len > off) {
        fprintf(stderr, "api_bench: %s: %zu bytes more than %d answers:\n", b->app,
                b->in_len - off, b->depth);
        print_bytes(stderr, b->in + off, b->in_len - off);
        return -1;
    }
    if (lua_gettop(b->vm->L) != 0) {
        /* Each value left there stays reachable (it is never collected) and the stack only
         * grows: Lua's stack limit then fails every later request. */
        fprintf(stderr, "api_bench: %s: calls %llu to %llu left %d value(s) on the main Lua "
                        "stack\n", b->app, b->calls - (unsigned long long)b->depth,
                b->calls - 1, lua_gettop(b->vm->L));
        return -1;
    }
    if (eof) /* the server ended the connection after the last answer: the next one is new */
        client_close(b);
    return 0;
}

/* The app table's bench_check(calls), if it has one: NULL, or its message. */
static const char *app_check(ls_vm *vm, unsigned long long calls) {
    static char msg[512];
    lua_State *L = vm->L;
    const char *err = NULL;
    int top = lua_gettop(L);
    lua_rawgeti(L, LUA_REGISTRYINDEX, vm->app_ref);
    if (lua_istable(L, -1) && lua_getfield(L, -1, "bench_check") == LUA_TFUNCTION) {
        lua_pushinteger(L, (lua_Integer)calls);
        if (lua_pcall(L, 1, 2, 0) != LUA_OK || !lua_toboolean(L, -2)) {
            const char *m = lua_tostring(L, -1);
            snprintf(msg, sizeof msg, "bench_check: %s", m ? m : "failed");
            err = msg;
        }
    }
    lua_settop(L, top);
    return err;
}

static long app_body_length(ls_vm *vm) {
    lua_State *L = vm->L;
    long n = DEFAULT_BODY;
    lua_rawgeti(L, LUA_REGISTRYINDEX, vm->app_ref);
    if (lua_istable(L, -1)) {
        lua_getfield(L, -1, "bench_body_length");
        if (lua_isinteger(L, -1))
            n = (long)lua_tointeger(L, -1);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return n;
}

static size_t lua_bytes(ls_vm *vm) {
    lua_gc(vm->L, LUA_GCCOLLECT);
    lua_gc(vm->L, LUA_GCCOLLECT);
    return vm->mem;
}

/* The requests of one batch: depth times the same request. */
static int make_requests(bench *b) {
    char one[512];
    int len = snprintf(one, sizeof one, "GET /?a=1 HTTP/1.1\r\n");
    for (const char *const *f = request_fields; *f; f += 2)
        len += snprintf(one + len, sizeof one - (size_t)len, "%s: %s\r\n", f[0], f[1]);
    len += snprintf(one + len, sizeof one - (size_t)len, "\r\n");
    b->req_len = (size_t)len * (size_t)b->depth;
    if (!(b->req = malloc(b->req_len)))
        return -1;
    for (int i = 0; i < b->depth; i++)
        memcpy(b->req + (size_t)i * (size_t)len, one, (size_t)len);
    return 0;
}

/* Every close but the client's (idle), a response that ended the connection (finish-close)
 * and the shutdown is a failure: NULL, or the first such reason. */
static const char *bad_close(const ls_server *s) {
    for (int i = 0; i < LS_CLOSE_REASONS; i++)
        if (s->io.closes[i] && i != LS_CLOSE_IDLE && i != LS_CLOSE_FINISH && i != LS_CLOSE_SHUTDOWN)
            return ls_close_reason_names[i];
    return NULL;
}

static void on_tick(uv_timer_t *t) {
    bench *b = t->data;
    b->ticks++;
}

/* Stops the server and runs the loop until it says it stopped; 0, or -1. */
static int server_shutdown(bench *b) {
    client_close(b);
    if (b->watchdog_open)
        uv_close((uv_handle_t *)&b->watchdog, NULL);
    b->watchdog_open = 0;
    stopped = 0;
    ls_server_stop(&b->server, b->server.settings.shutdown_timeout_ms);
    while (!stopped && uv_run(b->loop, UV_RUN_ONCE))
        ;
    uv_run(b->loop, UV_RUN_DEFAULT); /* the close callbacks queued by on_stopped */
    if (!stopped) {
        fprintf(stderr, "api_bench: %s: the server did not report that it stopped\n", b->app);
        return -1;
    }
    return 0;
}

static int run_app(uv_loop_t *loop, const app_opt *o, unsigned long long n, int depth,
                   int verbose) {
    static ls_app_iface iface;
    iface = ls_vm_iface;
    iface.on_stopped = on_stopped;
    bench *b = calloc(1, sizeof *b);
    if (!b) {
        fprintf(stderr, "api_bench: out of memory\n");
        return 1;
    }
    b->loop = loop;
    b->app = o->path;
    b->fd = -1;
    int rc = 1, server_up = 0;
    ls_settings settings;
    ls_settings_defaults(&settings);
    const char *err = NULL;
    if (!(b->vm = ls_vm_new(loop, &b->server)))
        err = "cannot create a Lua state";
    if (!err && ls_server_init(&b->server, loop, &settings, &iface, b->vm) != 0)
        err = "out of memory";
    if (!err && ls_vm_load(b->vm, o->path, &err) != 0 && !err)
        err = "the app waits while it loads (not supported here)";
    if (!err)
        err = ls_vm_app_settings(b->vm, &settings);
    if (!err)
        ls_server_configure(&b->server, &settings);
    if (err) {
        fprintf(stderr, "api_bench: %s\n", err);
        goto out;
    }
    server_up = 1;
    uv_timer_init(loop, &b->watchdog);
    b->watchdog.data = b;
    uv_timer_start(&b->watchdog, on_tick, 1000, 1000);
    b->watchdog_open = 1;
    /* The last request a connection may carry is answered with Connection: close; stop
     * before it. With max_requests 1 every answer says close: one request per connection. */
    b->per_conn = settings.max_requests > 1 ? (unsigned long)settings.max_requests - 1 : 1;
    b->depth = (unsigned long)depth < b->per_conn ? depth : (int)b->per_conn;
    b->expect = o->expect_body >= 0 ? o->expect_body : app_body_length(b->vm);
    if (make_requests(b) < 0) {
        fprintf(stderr, "api_bench: out of memory\n");
        goto out;
    }
    unsigned long long d = (unsigned long long)b->depth;
    unsigned long long warm = ((n < WARMUP ? n : WARMUP) + d - 1) / d;
    unsigned long long timed = (n + d - 1) / d;

    /* The first batch's first answer is the reference: parsed and checked in full. */
    if (run_batch(b, verbose) < 0)
        goto out;
    for (unsigned long long i = 0; i < warm; i++)
        if (run_batch(b, 0) < 0)
            goto out;
    size_t mem_before = lua_bytes(b->vm);
    unsigned long long calls_before = b->calls;

    double t0 = now_ns();
    for (unsigned long long i = 0; i < timed; i++)
        if (run_batch(b, 0) < 0)
            goto out;
    double t1 = now_ns();

    unsigned long long done = b->calls - calls_before;
    uv_run(loop, UV_RUN_NOWAIT); /* what the last calls closed (a finished sleep's timer) */
    size_t mem_after = lua_bytes(b->vm);
    if ((err = app_check(b->vm, b->calls))) {
        fprintf(stderr, "api_bench: %s: %s\n", o->path, err);
        goto out;
    }
    if (b->server.requests != b->calls) {
        fprintf(stderr, "api_bench: %s: the server counted %llu requests for %llu answers\n",
                o->path, (unsigned long long)b->server.requests, b->calls);
        goto out;
    }
    if (b->vm->refs != 0) {
        fprintf(stderr, "api_bench: %s: %d requests or sleeps still hold the Lua state\n",
                o->path, b->vm->refs);
        goto out;
    }
    if (mem_after > mem_before + LUA_GROWTH_MAX) {
        fprintf(stderr, "api_bench: %s: Lua memory grew from %zu to %zu bytes over %llu calls\n",
                o->path, mem_before, mem_after, done);
        goto out;
    }
    server_up = 0;
    if (server_shutdown(b) < 0)
        goto out;
    const char *why = bad_close(&b->server);
    if (why) {
        fprintf(stderr, "api_bench: %s: connections were closed (%s)\n", o->path, why);
        goto out;
    }
    double ns = done ? (t1 - t0) / (double)done : 0;
    printf("api_bench: %s: %llu handler calls, %.0f ns/call, %.0f calls/s, response %zu bytes "
           "(head %zu, body %zu)\n",
           o->path, done, ns, ns > 0 ? 1e9 / ns : 0, b->ref_p.len, b->ref_p.head_len,
           b->ref_p.len - b->ref_p.head_len);
    if (verbose) {
        printf("api_bench: %s: Lua memory %zu bytes before the timed calls, %zu after\n", o->path,
               mem_before, mem_after);
        printf("api_bench: %s: %llu calls in all, %d pipelined per batch, %lu connection(s) of "
               "at most %lu requests\n", o->path, b->calls, b->depth, b->conns, b->per_conn);
    }
    rc = 0;
out:
    if (server_up && server_shutdown(b) < 0)
        rc = 1;
    if (b->vm)
        ls_vm_free(b->vm);
    if (server_up || b->server.io.readbuf)
        ls_server_free(&b->server);
    free(b->req);
    free(b->in);
    free(b->ref);
    free(b);
    return rc;
}

static void usage(FILE *f) {
    fprintf(f, "usage: api_bench [-v] [-d DEPTH] [-b LEN] [-a APP2] [-B LEN2] [APP [N]]\n"
               "  APP   the app whose handler is called (default %s)\n"
               "  N     timed handler calls per app (default 1000000, rounded up to DEPTH)\n"
               "  -a    also run APP2 (its own Lua state and server, the same N)\n"
               "  -b -B expected body length of APP / APP2 (default: the app table's\n"
               "        bench_body_length, else %d)\n"
               "  -d    requests pipelined per batch (default %d)\n"
               "  -v    print the first response of each app\n",
            API_BENCH_APP, DEFAULT_BODY, DEFAULT_DEPTH);
}

static int parse_count(const char *s, unsigned long long *out) {
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (!*s || *end || s[0] == '-')
        return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv) {
    app_opt apps[2] = {{API_BENCH_APP, -1}, {NULL, -1}};
    unsigned long long n = 1000000, len;
    int verbose = 0, positional = 0, depth = DEFAULT_DEPTH;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "-v") == 0) {
            verbose = 1;
        } else if ((strcmp(a, "-a") == 0) && i + 1 < argc) {
            apps[1].path = argv[++i];
        } else if ((strcmp(a, "-b") == 0 || strcmp(a, "-B") == 0) && i + 1 < argc &&
                   parse_count(argv[i + 1], &len) == 0) {
            apps[a[1] == 'B'].expect_body = (long)len;
            i++;
        } else if (strcmp(a, "-d") == 0 && i + 1 < argc && parse_count(argv[i + 1], &len) == 0 &&
                   len >= 1 && len <= MAX_DEPTH) {
            depth = (int)len;
            i++;
        } else if (a[0] != '-' && positional == 0) {
            apps[0].path = a;
            positional++;
        } else if (a[0] != '-' && positional == 1 && parse_count(a, &n) == 0) {
            positional++;
        } else {
            usage(stderr);
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN); /* a write to a closed end fails with EPIPE instead */
    uv_loop_t loop;
    if (uv_loop_init(&loop) != 0) {
        fprintf(stderr, "api_bench: cannot make a loop\n");
        return 1;
    }
    int rc = 0;
    for (int k = 0; k < 2 && rc == 0; k++)
        if (apps[k].path)
            rc = run_app(&loop, &apps[k], n, depth, verbose);
    if (uv_loop_close(&loop) != 0) {
        fprintf(stderr, "api_bench: the loop still has handles open\n");
        rc = 1;
    }
    return rc;
}
