/* api_bench: the cost of the Lua-facing API alone. Calls an app's handler N times through
 * the binding (the lua/ files) on a fake connection (fake_conn.c: no socket, no parser, no
 * timers), the response head built by the real core/response_head.c, and checks every
 * response.
 *
 * usage: api_bench [-v] [-b LEN] [-a APP2] [-B LEN2] [APP [N]]
 *   APP   the app (default bench/app.lua), N the number of timed calls (default 1000000)
 *   -a    also run APP2, with the same N, in a Lua state of its own
 *   -b/-B the expected body length of APP/APP2; default: the app table's
 *         bench_body_length, else 14 ("Hello, World!\n", what bench/app.lua answers)
 *   -v    print the first response of each app, byte for byte
 *
 * The request is always `GET /?a=1 HTTP/1.1` with Host, User-Agent and Accept; every call
 * is the first request of a keep-alive connection. Each response must be a 200 with the
 * expected body, and byte for byte the first one but for the Date value; the binding must
 * leave the main Lua stack empty after each call. At the end the app table's
 * bench_check(calls), if any, must return true, no request may still hold the Lua state,
 * Lua's memory may not have grown, and everything is freed (uv_loop_close must succeed;
 * ASan checks the rest). Exits 1 on any failure. */
#include "binding.h"
#include "fake_conn.h"
#include "settings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef API_BENCH_APP
#define API_BENCH_APP "bench/app.lua"
#endif

#define DEFAULT_BODY 14         /* bench/app.lua's "Hello, World!\n" */
#define WARMUP 1000             /* untimed calls before the timed ones */
#define LUA_GROWTH_MAX (64 << 10) /* bytes Lua's memory may grow across the timed calls */

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
    int status;
    size_t head_len;
    size_t body_len; /* decoded (chunked framing removed) */
    size_t date_at, date_end; /* the Date value's bytes, or 0, 0 */
} parsed;

static int name_is(const char *p, size_t n, const char *lower) {
    size_t i = 0;
    for (; i < n && lower[i]; i++) {
        char ch = p[i];
        if (ch >= 'A' && ch <= 'Z')
            ch = (char)(ch + 32);
        if (ch != lower[i])
            return 0;
    }
    return i == n && lower[i] == 0;
}

/* Decodes a chunked body that must end exactly at end; returns its length or -1. */
static long dechunk(const char *p, const char *end) {
    long total = 0;
    for (;;) {
        long size = 0;
        int digits = 0;
        for (; p < end && *p != '\r'; p++, digits++) {
            int v = *p >= '0' && *p <= '9' ? *p - '0'
                  : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10
                  : *p >= 'A' && *p <= 'F' ? *p - 'A' + 10
                                           : -1;
            if (v < 0 || digits > 12)
                return -1;
            size = size * 16 + v;
        }
        if (!digits || end - p < 2 || p[1] != '\n')
            return -1;
        p += 2;
        if (size == 0)
            return end - p == 2 && p[0] == '\r' && p[1] == '\n' ? total : -1;
        if (end - p < size + 2 || p[size] != '\r' || p[size + 1] != '\n')
            return -1;
        p += size + 2;
        total += size;
    }
}

/* Parses a whole HTTP/1.1 response; NULL, or what is wrong with it. */
static const char *parse_response(const char *p, size_t n, parsed *out) {
    memset(out, 0, sizeof *out);
    if (n < 13 || memcmp(p, "HTTP/1.1 ", 9) != 0 || p[12] != ' ')
        return "no HTTP/1.1 status line";
    for (int i = 9; i < 12; i++) {
        if (p[i] < '0' || p[i] > '9')
            return "a status that is not 3 digits";
        out->status = out->status * 10 + (p[i] - '0');
    }
    const char *end = memmem(p, n, "\r\n\r\n", 4);
    if (!end)
        return "no end of head";
    out->head_len = (size_t)(end - p) + 4;
    long length = -1;
    int chunked = 0;
    const char *line = memchr(p, '\n', n) + 1;
    while (line < end + 2) {
        const char *eol = memmem(line, (size_t)(end + 2 - line), "\r\n", 2);
        const char *colon = memchr(line, ':', (size_t)(eol - line));
        if (!colon)
            return "a header line without a colon";
        const char *v = colon + 1;
        while (v < eol && *v == ' ')
            v++;
        size_t nlen = (size_t)(colon - line), vlen = (size_t)(eol - v);
        if (name_is(line, nlen, "content-length")) {
            length = 0;
            for (size_t i = 0; i < vlen; i++) {
                if (v[i] < '0' || v[i] > '9')
                    return "a bad Content-Length";
                length = length * 10 + (v[i] - '0');
            }
        } else if (name_is(line, nlen, "transfer-encoding")) {
            chunked = name_is(v, vlen, "chunked");
        } else if (name_is(line, nlen, "date")) {
            if (vlen != 29)
                return "a Date value that is not 29 bytes";
            out->date_at = (size_t)(v - p);
            out->date_end = out->date_at + vlen;
        }
        line = eol + 2;
    }
    if (length >= 0 && chunked)
        return "both Content-Length and chunked";
    size_t rest = n - out->head_len;
    if (chunked) {
        long b = dechunk(p + out->head_len, p + n);
        if (b < 0)
            return "a bad chunked body";
        out->body_len = (size_t)b;
    } else if (length >= 0) {
        if (rest != (size_t)length)
            return "a body whose length is not the Content-Length";
        out->body_len = rest;
    } else {
        out->body_len = rest; /* delimited by the close */
    }
    return NULL;
}

/* ------------------------------------------------------------------ one app */

typedef struct {
    const char *path;
    long expect_body; /* -1: from the app table, else DEFAULT_BODY */
} app_opt;

typedef struct {
    char *bytes;
    size_t len;
    parsed p;
} reference;

/* Serves one call and compares it with the reference; 0, or -1 after saying why. */
static int call_once(lua_State *L, ls_conn *c, const reference *ref, const char *app,
                     unsigned long long i) {
    fake_result r = fake_conn_serve(c);
    size_t len;
    const char *out = fake_conn_output(c, &len);
    if (lua_gettop(L) != 0) {
        /* Each value left there stays reachable (it is never collected) and the stack only
         * grows: Lua's stack limit then fails every later request. */
        fprintf(stderr, "api_bench: %s: call %llu left %d value(s) on the main Lua stack\n",
                app, i, lua_gettop(L));
        return -1;
    }
    if (r == FAKE_FINISHED && len == ref->len &&
        memcmp(out, ref->bytes, ref->p.date_at) == 0 &&
        memcmp(out + ref->p.date_end, ref->bytes + ref->p.date_end, len - ref->p.date_end) == 0)
        return 0;
    fprintf(stderr, "api_bench: %s: call %llu: %s; it answered:\n", app, i,
            r == FAKE_PENDING  ? "the response did not complete"
            : r == FAKE_ABORTED ? "the request was aborted"
                                : "the response differs from the first one");
    print_bytes(stderr, out, len);
    fprintf(stderr, "the first response was:\n");
    print_bytes(stderr, ref->bytes, ref->len);
    return -1;
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

static int run_app(uv_loop_t *loop, const app_opt *o, unsigned long long n, int verbose) {
    static ls_server server; /* large (its kits); only settings and the pending list are used */
    ls_settings settings;
    ls_settings_defaults(&settings);
    ls_vm *vm = ls_vm_new(loop, &server);
    if (!vm) {
        fprintf(stderr, "api_bench: cannot create a Lua state\n");
        return 1;
    }
    const char *err = ls_vm_load(vm, o->path);
    if (!err)
        err = ls_vm_app_settings(vm, &settings);
    if (err) {
        fprintf(stderr, "api_bench: %s\n", err);
        ls_vm_free(vm);
        return 1;
    }
    fake_server_init(&server, loop, &settings, &ls_vm_iface, vm);
    long expect = o->expect_body >= 0 ? o->expect_body : app_body_length(vm);
    ls_conn *c = fake_conn_new(&server, "GET", "/?a=1", 1, request_fields);
    reference ref = {0};
    int rc = 1;
    if (!c) {
        fprintf(stderr, "api_bench: cannot make the fake connection\n");
        goto out;
    }

    /* The first call is the reference: parsed and checked in full. */
    fake_result r = fake_conn_serve(c);
    const char *bytes = fake_conn_output(c, &ref.len);
    if (lua_gettop(vm->L) != 0) {
        fprintf(stderr, "api_bench: %s: call 0 left %d value(s) on the main Lua stack\n",
                o->path, lua_gettop(vm->L));
        goto out;
    }
    if (r != FAKE_FINISHED) {
        fprintf(stderr, "api_bench: %s: the first response %s\n", o->path,
                r == FAKE_PENDING ? "did not complete" : "was aborted");
        goto out;
    }
    if (!(ref.bytes = malloc(ref.len ? ref.len : 1)))
        goto out;
    memcpy(ref.bytes, bytes, ref.len);
    if (verbose) {
        printf("api_bench: %s: first response (%zu bytes):\n", o->path, ref.len);
        print_bytes(stdout, ref.bytes, ref.len);
    }
    fflush(stdout);
    const char *bad = parse_response(ref.bytes, ref.len, &ref.p);
    if (!bad && ref.p.status != 200)
        bad = "a status other than 200";
    if (!bad && ref.p.body_len != (size_t)expect)
        bad = "a body of an unexpected length";
    if (bad) {
        fprintf(stderr, "api_bench: %s: the first response has %s (expected 200 and a %ld-byte "
                        "body):\n", o->path, bad, expect);
        print_bytes(stderr, ref.bytes, ref.len);
        goto out;
    }

    unsigned long long calls = 1, warm = n < WARMUP ? n : WARMUP;
    for (unsigned long long i = 0; i < warm; i++, calls++)
        if (call_once(vm->L, c, &ref, o->path, calls) < 0)
            goto out;
    size_t mem_before = lua_bytes(vm);

    double t0 = now_ns();
    for (unsigned long long i = 0; i < n; i++, calls++)
        if (call_once(vm->L, c, &ref, o->path, calls) < 0)
            goto out;
    double t1 = now_ns();

    size_t mem_after = lua_bytes(vm);
    if ((err = app_check(vm, calls))) {
        fprintf(stderr, "api_bench: %s: %s\n", o->path, err);
        goto out;
    }
    if (vm->refs != 0) {
        fprintf(stderr, "api_bench: %s: %d requests or sleeps still hold the Lua state\n",
                o->path, vm->refs);
        goto out;
    }
    if (mem_after > mem_before + LUA_GROWTH_MAX) {
        fprintf(stderr, "api_bench: %s: Lua memory grew from %zu to %zu bytes over %llu calls\n",
                o->path, mem_before, mem_after, n);
        goto out;
    }
    if (server.closes[LS_CLOSE_DESTROY] || server.closes[LS_CLOSE_LIMIT]) {
        fprintf(stderr, "api_bench: %s: connections were destroyed\n", o->path);
        goto out;
    }
    double ns = n ? (t1 - t0) / (double)n : 0;
    printf("api_bench: %s: %llu handler calls, %.0f ns/call, %.0f calls/s, response %zu bytes "
           "(head %zu, body %zu)\n",
           o->path, n, ns, ns > 0 ? 1e9 / ns : 0, ref.len, ref.p.head_len,
           ref.len - ref.p.head_len);
    if (verbose)
        printf("api_bench: %s: Lua memory %zu bytes before the timed calls, %zu after\n", o->path,
               mem_before, mem_after);
    rc = 0;
out:
    free(ref.bytes);
    fake_conn_free(c);
    ls_vm_free(vm);
    return rc;
}

static void usage(FILE *f) {
    fprintf(f, "usage: api_bench [-v] [-b LEN] [-a APP2] [-B LEN2] [APP [N]]\n"
               "  APP   the app whose handler is called (default %s)\n"
               "  N     timed handler calls per app (default 1000000)\n"
               "  -a    also run APP2 (its own Lua state, the same N)\n"
               "  -b -B expected body length of APP / APP2 (default: the app table's\n"
               "        bench_body_length, else %d)\n"
               "  -v    print the first response of each app\n",
            API_BENCH_APP, DEFAULT_BODY);
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
    int verbose = 0, positional = 0;
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
    uv_loop_t loop;
    if (uv_loop_init(&loop) != 0) {
        fprintf(stderr, "api_bench: cannot make a loop\n");
        return 1;
    }
    int rc = 0;
    for (int k = 0; k < 2 && rc == 0; k++)
        if (apps[k].path)
            rc = run_app(&loop, &apps[k], n, verbose);
    if (uv_loop_close(&loop) != 0) {
        fprintf(stderr, "api_bench: the loop still has handles open\n");
        rc = 1;
    }
    return rc;
}
