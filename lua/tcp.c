/* lunaserve.tcp(): the cosocket, with the names, arguments and results of OpenResty's
 * ngx.socket.tcp, so that code and libraries written for it run here. It is a weak handle
 * on an ls_stream (core/client/stream.h), which C owns: the connection lives on the
 * event loop, and a call that must wait (connect, send, receive) suspends the calling
 * coroutine through the generic waiter.
 *
 * Errors are returned, never raised: nil and a message ("timeout", "closed", "connection
 * refused", ...). A read timeout leaves the socket usable; every other error closes it.
 * One reader and one writer at a time.
 *
 * A connection belongs to the root coroutine that connected it (a handler, a timer), or to
 * the state for one made while the app loads: it is closed when its owner ends, when the
 * handler's client goes away, or when the state retires, unless it went back to its pool
 * before. */
#include "binding.h"
#include "stats.h"

#include "log.h"
#include "stream.h"

#include <stdlib.h>
#include <string.h>

#define LS_TCP_MT "lunaserve.tcp"
#define SEND_DEPTH_MAX 32 /* nested arrays in sock:send() */

enum { OP_NONE, OP_BYTES, OP_LINE, OP_ALL, OP_ANY, OP_UNTIL };

typedef struct ls_tcp {
    ls_stream s;
    ls_vm *vm;
    ls_owned owned;   /* on its owner's list while it has a connection */
    ls_waiter reader; /* receive */
    ls_waiter writer; /* connect, send */
    struct ls_tcp *prev, *next; /* vm->tcps: every socket with a connection */
    uint64_t connect_ms, send_ms, read_ms;
    char *host;          /* the name of the last connect, for its error message */
    size_t pool_size;    /* connect's pool_size option (0: none): the pool's bound */
    /* the receive in progress */
    int op;
    size_t n;            /* OP_BYTES: bytes; OP_ANY: at most */
    const char *pat;     /* OP_UNTIL: the pattern (the iterator's upvalue keeps it) */
    size_t patlen, size; /* size: OP_UNTIL's chunk size (0: whole) */
    int inclusive;
    lua_Integer iters;      /* receiveuntil iterators made: each has its number */
    lua_Integer until_iter; /* the iterator of the receive in progress */
    lua_Integer until_done; /* an inclusive chunked iterator returned its pattern: its next
                               call returns the end (0: none) */
    int status;          /* how the receive ends: 0, or the error to report */
    int connect_err;     /* the connect's outcome, for the waiting call */
    int send_err;
    size_t sent;         /* bytes of the send in progress */
    unsigned in_list : 1;
} ls_tcp;

typedef struct ls_tcp_list {
    ls_tcp *head;
} ls_tcp_list;

/* ---------------------------------------------------------------- helpers */

/* The message for a failed connect, send or receive; every failure but the peer's ordinary
 * close counts in lunaserve_upstream_errors_total{client="tcp"}. */
static const char *errstr(lua_State *L, int err, const char *host) {
    if (err != UV_EOF && err != UV_ENOTCONN && err != UV_ECANCELED)
        ls_stat_add(&ls_stats_self->outbound_errors, 1);
    switch (err) {
    case UV_ETIMEDOUT:
        return "timeout";
    case UV_EOF:
    case UV_ENOTCONN:
    case UV_ECANCELED:
        return "closed";
    case UV_ECONNREFUSED:
        return "connection refused";
    case UV_ECONNRESET:
        return "connection reset by peer";
    case UV_EPIPE:
        return "broken pipe";
    case UV_ENOBUFS:
    case UV_E2BIG:
        return "receive limit exceeded";
    case LS_EBACKLOG:
        return "too many waiting connect operations";
    default:
        break;
    }
    if (err <= UV_EAI_ADDRFAMILY && err >= UV_EAI_SOCKTYPE && host)
        return lua_pushfstring(L, "%s could not be resolved (%s)", host, uv_strerror(err));
    return uv_strerror(err);
}

/* The socket at index 1. Its __gc may have run already (a finalizer of another object can
 * bring the object back): that is a clear error, not a freed socket. */
static ls_tcp *check_tcp(lua_State *L) {
    ls_tcp **box = luaL_checkudata(L, 1, LS_TCP_MT);
    if (!*box)
        luaL_error(L, "lunaserve.tcp: the socket object was collected (used after its __gc)");
    return *box;
}

static int fail(lua_State *L, const char *msg) {
    luaL_pushfail(L);
    lua_pushstring(L, msg);
    return 2;
}

/* The server's client, once the server runs (not while the app first loads). */
static ls_client *client_of(ls_vm *vm) {
    return vm->server && vm->server->client.io ? &vm->server->client : NULL;
}

static void list_add(ls_tcp *tcp) {
    if (tcp->in_list)
        return;
    ls_tcp **head = &tcp->vm->tcps;
    tcp->prev = NULL;
    tcp->next = *head;
    if (*head)
        (*head)->prev = tcp;
    *head = tcp;
    tcp->in_list = 1;
}

static void list_remove(ls_tcp *tcp) {
    if (!tcp->in_list)
        return;
    if (tcp->prev)
        tcp->prev->next = tcp->next;
    else
        tcp->vm->tcps = tcp->next;
    if (tcp->next)
        tcp->next->prev = tcp->prev;
    tcp->prev = tcp->next = NULL;
    tcp->in_list = 0;
}

/* The connection is gone or was never made: nothing owns the socket any more. */
static void detached(ls_tcp *tcp) {
    ls_disown(&tcp->owned);
    list_remove(tcp);
}

static void push_closed(lua_State *L, void *ctx) {
    (void)ctx;
    luaL_pushfail(L);
    lua_pushliteral(L, "closed");
}

static void tcp_free(ls_tcp *tcp) {
    free(tcp->host);
    free(tcp);
}

/* Ends the waits on tcp with "closed", the reader's first. Both are taken off tcp before
 * either runs: the reader's code may let the socket be collected (the writer's coroutine does
 * not always keep it: a failed reload's load abandons its timers' calls), so tcp is not
 * touched after it. */
static void wake_both_closed(ls_tcp *tcp) {
    ls_root *reader = ls_wait_take(&tcp->reader), *writer = ls_wait_take(&tcp->writer);
    if (reader)
        ls_root_wake(reader, push_closed, NULL);
    if (writer)
        ls_root_wake(writer, push_closed, NULL);
}

/* Closes the connection, or gives up connecting; a wait on it (another coroutine's: the
 * caller's own calls check they do not wait) ends now with "closed". */
static void close_stream(ls_tcp *tcp, int reset) {
    ls_stream_close(&tcp->s, reset);
    detached(tcp);
    tcp->op = OP_NONE;
    wake_both_closed(tcp);
}

/* ---------------------------------------------------------------- events */

static void push_connect(lua_State *L, void *ctx) {
    ls_tcp *tcp = ctx;
    if (tcp->connect_err == 0) {
        lua_pushinteger(L, 1);
        return;
    }
    luaL_pushfail(L);
    lua_pushstring(L, errstr(L, tcp->connect_err, tcp->host));
}

static void push_sent(lua_State *L, void *ctx) {
    ls_tcp *tcp = ctx;
    if (tcp->send_err == 0) {
        lua_pushinteger(L, (lua_Integer)tcp->sent);
        return;
    }
    luaL_pushfail(L);
    lua_pushstring(L, errstr(L, tcp->send_err, NULL));
}

static void push_receive(lua_State *L, void *ctx);
static int receive_ready(ls_tcp *tcp, int status);

static void ev_connected(ls_stream *s, int err) {
    ls_tcp *tcp = s->ctx;
    tcp->connect_err = err;
    if (err)
        detached(tcp);
    ls_wake(&tcp->writer, push_connect, tcp);
}

static void ev_input(ls_stream *s, int status) {
    ls_tcp *tcp = s->ctx;
    if (tcp->op == OP_NONE)
        return;
    if (receive_ready(tcp, status)) {
        ls_stream_unwant(s);
        ls_wake(&tcp->reader, push_receive, tcp);
    }
}

static void ev_sent(ls_stream *s, int err) {
    ls_tcp *tcp = s->ctx;
    tcp->send_err = err;
    if (!err) {
        ls_wake(&tcp->writer, push_sent, tcp);
        return;
    }
    /* The send timed out and the stream closed: a reader waiting meanwhile (another
     * coroutine) ends with "closed" too, since no input or read timeout can reach it now.
     * (Both taken first, as in wake_both_closed.) */
    ls_root *writer = ls_wait_take(&tcp->writer), *reader = ls_wait_take(&tcp->reader);
    detached(tcp);
    tcp->op = OP_NONE;
    if (writer)
        ls_root_wake(writer, push_sent, tcp); /* (push_sent reads tcp before any code runs) */
    if (reader)
        ls_root_wake(reader, push_closed, NULL);
}

static void ev_closed(ls_stream *s) {
    ls_tcp *tcp = s->ctx;
    detached(tcp);
    tcp->op = OP_NONE;
    wake_both_closed(tcp);
}

static const ls_stream_events tcp_events = {ev_connected, ev_input, ev_sent, ev_closed};

/* Its owner ended (or its client left, or the state retires). */
static void on_release(ls_owned *o) {
    ls_tcp *tcp = (ls_tcp *)((char *)o - offsetof(ls_tcp, owned));
    close_stream(tcp, 1);
}

/* ---------------------------------------------------------------- make and collect */

/* lunaserve.tcp() (upvalue 1: the vm) */
static int l_tcp(lua_State *L) {
    ls_vm *vm = lua_touserdata(L, lua_upvalueindex(1));
    ls_tcp **box = lua_newuserdatauv(L, sizeof *box, 0);
    *box = NULL;
    ls_tcp *tcp = calloc(1, sizeof *tcp);
    if (!tcp)
        return luaL_error(L, "out of memory");
    *box = tcp;
    luaL_setmetatable(L, LS_TCP_MT);
    ls_stream_init(&tcp->s, NULL, &tcp_events, tcp);
    tcp->vm = vm;
    tcp->owned.release = on_release;
    return 1;
}

static int l_gc(lua_State *L) {
    ls_tcp **box = luaL_checkudata(L, 1, LS_TCP_MT);
    ls_tcp *tcp = *box;
    if (!tcp)
        return 0;
    *box = NULL;
    ls_waiter_cancel(&tcp->reader);
    ls_waiter_cancel(&tcp->writer);
    close_stream(tcp, 1);
    tcp_free(tcp);
    return 0;
}

/* Every socket of the state is closed (the server stops, or the state is freed): waits on
 * them end with "closed". */
void ls_tcp_close_all(ls_vm *vm) {
    while (vm->tcps) {
        ls_tcp *tcp = vm->tcps;
        list_remove(tcp);
        close_stream(tcp, 1);
    }
}

/* ---------------------------------------------------------------- connect */

/* The socket's timeouts (0: the settings' defaults) for its stream. */
static void apply_timeouts(ls_tcp *tcp) {
    const ls_settings *set = &tcp->vm->server->settings;
    tcp->s.connect_ms = tcp->connect_ms ? tcp->connect_ms : set->socket_connect_timeout_ms;
    tcp->s.send_ms = tcp->send_ms ? tcp->send_ms : set->socket_send_timeout_ms;
    tcp->s.read_ms = tcp->read_ms ? tcp->read_ms : set->socket_read_timeout_ms;
}

/* sock:connect(host, port[, opts]) or sock:connect("unix:/path"[, opts]) */
static int l_connect(lua_State *L) {
    ls_tcp *tcp = check_tcp(L);
    const char *host = luaL_checkstring(L, 2);
    int port = -1, opts = 0;
    if (strncmp(host, "unix:", 5) == 0) {
        opts = lua_istable(L, 3) ? 3 : 0;
    } else {
        lua_Integer p = luaL_checkinteger(L, 3);
        luaL_argcheck(L, p > 0 && p < 65536, 3, "port out of range");
        port = (int)p;
        opts = lua_istable(L, 4) ? 4 : 0;
    }
    if (ls_waiting(&tcp->writer))
        return fail(L, "socket busy connecting");
    if (ls_waiting(&tcp->reader))
        return fail(L, "socket busy reading");
    ls_wait_check(L, "sock:connect()");
    ls_client *client = client_of(tcp->vm);
    if (!client)
        return fail(L, "no event loop yet");
    tcp->s.client = client;
    size_t pool_size = tcp->vm->server->settings.socket_pool_size, backlog = 0;
    const char *key = NULL;
    tcp->pool_size = 0;
    if (opts) {
        lua_getfield(L, opts, "pool");
        if (!lua_isnil(L, -1))
            key = luaL_checkstring(L, -1);
        lua_getfield(L, opts, "pool_size");
        if (!lua_isnil(L, -1)) {
            lua_Integer n = luaL_checkinteger(L, -1);
            luaL_argcheck(L, n > 0, opts, "pool_size must be positive");
            pool_size = tcp->pool_size = (size_t)n;
        }
        lua_getfield(L, opts, "backlog");
        if (!lua_isnil(L, -1)) {
            lua_Integer n = luaL_checkinteger(L, -1);
            luaL_argcheck(L, n >= 0, opts, "backlog must not be negative");
            backlog = (size_t)n;
        }
        lua_pop(L, 3);
    }
    if (!key)
        key = port < 0 ? host : lua_pushfstring(L, "%s:%d", host, port);
    /* A connected socket drops its connection first, as OpenResty's does. */
    if (tcp->s.state != LS_STREAM_NONE)
        close_stream(tcp, 1);
    free(tcp->host);
    tcp->host = port < 0 ? NULL : strdup(host); /* (NULL: an error without the name) */
    apply_timeouts(tcp);
    int r = ls_stream_connect(&tcp->s, port < 0 ? host + 5 : host, port, key, pool_size,
                              backlog);
    if (r < 0) {
        detached(tcp);
        luaL_pushfail(L);
        lua_pushstring(L, errstr(L, r, host));
        return 2;
    }
    ls_disown(&tcp->owned);
    ls_own(ls_owner_of(L), &tcp->owned);
    list_add(tcp);
    if (r == 1) {
        lua_pushinteger(L, 1);
        return 1;
    }
    return ls_wait(L, &tcp->writer, "sock:connect()");
}

/* ---------------------------------------------------------------- timeouts and options */

static uint64_t check_ms(lua_State *L, int i) {
    if (lua_isnoneornil(L, i))
        return 0;
    lua_Number ms = luaL_checknumber(L, i);
    luaL_argcheck(L, ms >= 0 && ms < 1e12, i, "timeout out of range");
    return (uint64_t)ms;
}

/* sock:settimeout(ms): connect, send and receive; 0 keeps the setting's default */
static int l_settimeout(lua_State *L) {
    ls_tcp *tcp = check_tcp(L);
    uint64_t ms = check_ms(L, 2);
    tcp->connect_ms = tcp->send_ms = tcp->read_ms = ms;
    if (tcp->s.client)
        apply_timeouts(tcp);
    return 0;
}

/* sock:settimeouts(connect_ms, send_ms, read_ms) */
static int l_settimeouts(lua_State *L) {
    ls_tcp *tcp = check_tcp(L);
    tcp->connect_ms = check_ms(L, 2);
    tcp->send_ms = check_ms(L, 3);
    tcp->read_ms = check_ms(L, 4);
    if (tcp->s.client)
        apply_timeouts(tcp);
    return 0;
}

/* sock:setoption(name, value): keepalive, tcp-nodelay (OpenResty's name; also tcp_nodelay),
 * sndbuf, rcvbuf. Another name is an error returned, as in OpenResty. */
static int l_setoption(lua_State *L) {
    ls_tcp *tcp = check_tcp(L);
    const char *name = luaL_checkstring(L, 2);
    ls_transport *t = tcp->s.t;
    if (!t || tcp->s.state != LS_STREAM_OPEN)
        return fail(L, "closed");
    int r;
    if (strcmp(name, "keepalive") == 0) {
        r = uv_tcp_keepalive(&t->tcp, lua_toboolean(L, 3), 60);
    } else if (strcmp(name, "tcp-nodelay") == 0 || strcmp(name, "tcp_nodelay") == 0) {
        r = uv_tcp_nodelay(&t->tcp, lua_toboolean(L, 3));
    } else if (strcmp(name, "sndbuf") == 0 || strcmp(name, "rcvbuf") == 0) {
        int v = (int)luaL_checkinteger(L, 3);
        luaL_argcheck(L, v > 0, 3, "must be positive");
        r = name[0] == 's' ? uv_send_buffer_size((uv_handle_t *)&t->tcp, &v)
                           : uv_recv_buffer_size((uv_handle_t *)&t->tcp, &v);
    } else {
        luaL_pushfail(L);
        lua_pushfstring(L, "unsupported option %s", name);
        return 2;
    }
    if (r < 0)
        return fail(L, uv_strerror(r));
    lua_pushboolean(L, 1);
    return 1;
}

/* ---------------------------------------------------------------- send */

static int append(lua_State *L, ls_outq *q, int idx, int depth, size_t *total) {
    int t = lua_type(L, idx);
    if (t == LUA_TSTRING || t == LUA_TNUMBER) {
        size_t len;
        lua_pushvalue(L, idx);
        const char *p = lua_tolstring(L, -1, &len);
        int r = len ? ls_outq_append(q, p, len) : 0;
        lua_pop(L, 1);
        *total += len;
        return r;
    }
    if (t != LUA_TTABLE)
        return luaL_error(L, "sock:send(): bad data: %s (strings, numbers or arrays of them)",
                          luaL_typename(L, idx));
    if (depth >= SEND_DEPTH_MAX)
        return luaL_error(L, "sock:send(): arrays nested too deeply");
    luaL_checkstack(L, 4, "sock:send()");
    lua_Integer n = luaL_len(L, idx);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, idx, i);
        int r = append(L, q, lua_gettop(L), depth + 1, total);
        lua_pop(L, 1);
        if (r)
            return r;
    }
    return 0;
}

/* Checks what send() is given before anything is queued (a bad argument raises and leaves
 * nothing behind). */
static void check_data(lua_State *L, int idx, int depth) {
    int t = lua_type(L, idx);
    if (t == LUA_TSTRING || t == LUA_TNUMBER)
        return;
    if (t != LUA_TTABLE)
        luaL_error(L, "sock:send(): bad data: %s (strings, numbers or arrays of them)",
                   luaL_typename(L, idx));
    if (depth >= SEND_DEPTH_MAX)
        luaL_error(L, "sock:send(): arrays nested too deeply");
    luaL_checkstack(L, 4, "sock:send()");
    lua_Integer n = luaL_len(L, idx);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, idx, i);
        check_data(L, lua_gettop(L), depth + 1);
        lua_pop(L, 1);
    }
}

/* bytes, err = sock:send(data) */
static int l_send(lua_State *L) {
    ls_tcp *tcp = check_tcp(L);
    luaL_checkany(L, 2);
    check_data(L, 2, 0);
    if (ls_waiting(&tcp->writer))
        return fail(L, tcp->s.state == LS_STREAM_OPEN ? "socket busy writing"
                                                       : "socket busy connecting");
    ls_outq *q = ls_stream_outq(&tcp->s);
    if (!q || tcp->s.state != LS_STREAM_OPEN)
        return fail(L, "closed");
    ls_wait_check(L, "sock:send()");
    size_t total = 0;
    if (append(L, q, 2, 0, &total) != 0) {
        close_stream(tcp, 1);
        return fail(L, "out of memory");
    }
    int r = ls_stream_send(&tcp->s);
    if (r < 0) {
        close_stream(tcp, 1);
        return fail(L, errstr(L, r, NULL));
    }
    if (r == 1) {
        lua_pushinteger(L, (lua_Integer)total);
        return 1;
    }
    tcp->sent = total;
    return ls_wait(L, &tcp->writer, "sock:send()");
}

/* ---------------------------------------------------------------- receive */

/* Where the pattern of receiveuntil ends in the input, or NULL. */
static const char *find(const char *data, size_t len, const char *pat, size_t patlen) {
    return memmem(data, len, pat, patlen);
}

/* Whether the receive in progress can end now, given its input and status (0: more may
 * come; else the input's end, an error, or the read timeout). */
static int receive_ready(ls_tcp *tcp, int status) {
    size_t len;
    const char *data = ls_stream_data(&tcp->s, &len);
    if (tcp->s.rerr && !status)
        status = tcp->s.rerr;
    tcp->status = 0;
    switch (tcp->op) {
    case OP_BYTES:
        if (len >= tcp->n)
            return 1;
        break;
    case OP_LINE:
        if (len && memchr(data, '\n', len))
            return 1;
        break;
    case OP_ANY:
        if (len)
            return 1;
        break;
    case OP_ALL:
        if (status == UV_EOF)
            return 1;
        break;
    case OP_UNTIL:
        if (len && find(data, len, tcp->pat, tcp->patlen))
            return 1;
        if (tcp->size && len >= tcp->patlen && len - (tcp->patlen - 1) > 0)
            return 1; /* a chunk that cannot hold the start of the pattern */
        break;
    default:
        return 1;
    }
    if (status) {
        tcp->status = status;
        return 1;
    }
    if (len >= tcp->vm->server->settings.socket_max_receive) {
        tcp->status = UV_E2BIG; /* bounded: a peer cannot make us hold more */
        return 1;
    }
    return 0;
}

/* Pushes the receive's results and takes what they hold from the input. */
static void push_receive(lua_State *L, void *ctx) {
    ls_tcp *tcp = ctx;
    size_t len;
    const char *data = ls_stream_data(&tcp->s, &len);
    int op = tcp->op, status = tcp->status;
    tcp->op = OP_NONE;
    if (status) { /* nil, err, partial: what came is handed over */
        luaL_pushfail(L);
        lua_pushstring(L, errstr(L, status, NULL));
        if (op == OP_LINE) { /* the partial line without its CRs */
            luaL_Buffer b;
            luaL_buffinit(L, &b);
            for (size_t i = 0; i < len; i++)
                if (data[i] != '\r')
                    luaL_addchar(&b, data[i]);
            luaL_pushresult(&b);
        } else if (op != OP_ANY) { /* (receiveany: nil, err only, as OpenResty's) */
            lua_pushlstring(L, data ? data : "", len);
        }
        ls_stream_consume(&tcp->s, len);
        if (status != UV_ETIMEDOUT)
            close_stream(tcp, 1);
        return;
    }
    switch (op) {
    case OP_BYTES:
        lua_pushlstring(L, data, tcp->n);
        ls_stream_consume(&tcp->s, tcp->n);
        break;
    case OP_LINE: {
        const char *nl = memchr(data, '\n', len);
        size_t n = (size_t)(nl - data);
        luaL_Buffer b;
        luaL_buffinit(L, &b);
        for (size_t i = 0; i < n; i++)
            if (data[i] != '\r') /* every CR is ignored, as OpenResty's '*l' does */
                luaL_addchar(&b, data[i]);
        luaL_pushresult(&b);
        ls_stream_consume(&tcp->s, n + 1);
        break;
    }
    case OP_ANY: {
        size_t n = len < tcp->n ? len : tcp->n;
        lua_pushlstring(L, data, n);
        ls_stream_consume(&tcp->s, n);
        break;
    }
    case OP_ALL:
        lua_pushlstring(L, data ? data : "", len);
        ls_stream_consume(&tcp->s, len);
        break;
    case OP_UNTIL: {
        const char *at = find(data, len, tcp->pat, tcp->patlen);
        size_t before = at ? (size_t)(at - data) : len - (tcp->patlen - 1);
        if (tcp->size && before > tcp->size) {
            lua_pushlstring(L, data, tcp->size);
            ls_stream_consume(&tcp->s, tcp->size);
        } else if (tcp->size && before > 0) {
            /* the rest before the pattern; the next call meets the pattern */
            lua_pushlstring(L, data, before);
            ls_stream_consume(&tcp->s, before);
        } else if (at) {
            size_t n = before + (tcp->inclusive ? tcp->patlen : 0);
            if (tcp->size && n == 0) { /* the pattern itself: this stream is over */
                lua_pushnil(L);
                lua_pushnil(L);
                lua_pushnil(L);
            } else {
                lua_pushlstring(L, data, n);
                if (tcp->size) /* the pattern went with it: the end comes next call */
                    tcp->until_done = tcp->until_iter;
            }
            ls_stream_consume(&tcp->s, before + tcp->patlen);
        }
        break;
    }
    }
}

/* Starts the receive set up in tcp->op: its results now, or a wait for them. */
static int receive(lua_State *L, ls_tcp *tcp, const char *call) {
    if (!tcp->s.t || tcp->s.state != LS_STREAM_OPEN) {
        tcp->op = OP_NONE;
        return fail(L, "closed");
    }
    if (receive_ready(tcp, 0)) {
        int top = lua_gettop(L);
        push_receive(L, tcp);
        return lua_gettop(L) - top;
    }
    ls_wait_check(L, call);
    ls_stream_want(&tcp->s);
    return ls_wait(L, &tcp->reader, call);
}

static int busy_reading(lua_State *L, ls_tcp *tcp) {
    if (ls_waiting(&tcp->reader))
        return fail(L, "socket busy reading");
    if (tcp->s.state == LS_STREAM_QUEUED || tcp->s.state == LS_STREAM_RESOLVING ||
        tcp->s.state == LS_STREAM_CONNECTING)
        return fail(L, "socket busy connecting");
    return 0;
}

/* data, err, partial = sock:receive([pattern]) */
static int l_receive(lua_State *L) {
    ls_tcp *tcp = check_tcp(L);
    int r = busy_reading(L, tcp);
    if (r)
        return r;
    if (lua_isnumber(L, 2)) { /* a number, or a string that looks like one (OpenResty) */
        lua_Integer n = luaL_checkinteger(L, 2);
        luaL_argcheck(L, n >= 0, 2, "bad pattern argument");
        if (n == 0) {
            lua_pushliteral(L, "");
            return 1;
        }
        tcp->op = OP_BYTES;
        tcp->n = (size_t)n;
    } else {
        const char *p = luaL_optstring(L, 2, "*l");
        if (p[0] == '*')
            p++;
        if (p[0] == 'l' && !p[1])
            tcp->op = OP_LINE;
        else if (p[0] == 'a' && !p[1])
            tcp->op = OP_ALL;
        else
            return luaL_argerror(L, 2, "bad pattern argument (a number, '*l' or '*a')");
    }
    return receive(L, tcp, "sock:receive()");
}

/* data, err = sock:receiveany(max) */
static int l_receiveany(lua_State *L) {
    ls_tcp *tcp = check_tcp(L);
    lua_Integer max = luaL_checkinteger(L, 2);
    luaL_argcheck(L, max > 0, 2, "bad max argument");
    int r = busy_reading(L, tcp);
    if (r)
        return r;
    tcp->op = OP_ANY;
    tcp->n = (size_t)max;
    return receive(L, tcp, "sock:receiveany()");
}

/* The iterator of receiveuntil: upvalues the socket, the pattern, inclusive, its number. */
static int until_iter(lua_State *L) {
    ls_tcp **box = lua_touserdata(L, lua_upvalueindex(1));
    ls_tcp *tcp = *box;
    if (!tcp)
        return fail(L, "closed");
    size_t size = 0;
    if (!lua_isnoneornil(L, 1)) {
        lua_Integer n = luaL_checkinteger(L, 1);
        luaL_argcheck(L, n > 0, 1, "bad size argument");
        size = (size_t)n;
    }
    int r = busy_reading(L, tcp);
    if (r)
        return r;
    lua_Integer id = lua_tointeger(L, lua_upvalueindex(4));
    if (tcp->until_done == id) {
        tcp->until_done = 0;
        lua_pushnil(L);
        lua_pushnil(L);
        lua_pushnil(L);
        return 3;
    }
    tcp->op = OP_UNTIL;
    tcp->pat = lua_tolstring(L, lua_upvalueindex(2), &tcp->patlen);
    tcp->inclusive = lua_toboolean(L, lua_upvalueindex(3));
    tcp->size = size;
    tcp->until_iter = id;
    return receive(L, tcp, "sock:receiveuntil() iterator");
}

/* iter = sock:receiveuntil(pattern[, {inclusive = true}]) */
static int l_receiveuntil(lua_State *L) {
    ls_tcp *tcp = check_tcp(L);
    size_t len;
    luaL_checklstring(L, 2, &len);
    luaL_argcheck(L, len > 0, 2, "pattern is empty");
    int inclusive = 0;
    if (lua_istable(L, 3)) {
        lua_getfield(L, 3, "inclusive");
        inclusive = lua_toboolean(L, -1);
        lua_pop(L, 1);
    }
    lua_pushvalue(L, 1);
    lua_pushvalue(L, 2);
    lua_pushboolean(L, inclusive);
    lua_pushinteger(L, ++tcp->iters); /* its own state, even with the same pattern */
    lua_pushcclosure(L, until_iter, 4);
    return 1;
}

/* ---------------------------------------------------------------- pool and close */

/* ok, err = sock:setkeepalive([idle_ms[, pool_size]]) */
static int l_setkeepalive(lua_State *L) {
    ls_tcp *tcp = check_tcp(L);
    const ls_settings *set = &tcp->vm->server->settings;
    uint64_t idle = set->socket_keepalive_timeout_ms;
    if (!lua_isnoneornil(L, 2)) {
        lua_Number ms = luaL_checknumber(L, 2);
        luaL_argcheck(L, ms >= 0 && ms < 1e12, 2, "timeout out of range");
        idle = (uint64_t)ms; /* 0: kept until the peer or the pool's size closes it */
    }
    /* connect's pool_size wins over this size, as in OpenResty, where it made the pool */
    size_t size = (size_t)set->socket_pool_size;
    if (!lua_isnoneornil(L, 3)) {
        lua_Integer n = luaL_checkinteger(L, 3);
        luaL_argcheck(L, n > 0, 3, "pool size must be positive");
        size = (size_t)n;
    }
    if (tcp->pool_size)
        size = tcp->pool_size;
    if (ls_waiting(&tcp->reader))
        return fail(L, "socket busy reading");
    if (ls_waiting(&tcp->writer))
        return fail(L, "socket busy writing");
    int r = ls_stream_keepalive(&tcp->s, idle, size);
    if (r == UV_EBUSY)
        return fail(L, "socket busy");
    if (r == UV_EAGAIN) /* as OpenResty: refused, and the socket stays usable */
        return fail(L, "unread data in buffer");
    if (r < 0) { /* no connection, or one its peer ended: not pooled, and closed now (it
                    would stay open and counted in its pool while the object lives) */
        close_stream(tcp, 1);
        return fail(L, "closed");
    }
    detached(tcp); /* the pool has it now, or it was closed */
    lua_pushinteger(L, 1);
    return 1;
}

static int l_getreusedtimes(lua_State *L) {
    ls_tcp *tcp = check_tcp(L);
    if (tcp->s.state != LS_STREAM_OPEN)
        return fail(L, "closed");
    lua_pushinteger(L, tcp->s.reused);
    return 1;
}

static int l_close(lua_State *L) {
    ls_tcp *tcp = check_tcp(L);
    if (tcp->s.state == LS_STREAM_NONE)
        return fail(L, "closed");
    close_stream(tcp, 1);
    lua_pushinteger(L, 1);
    return 1;
}

static int l_tostring(lua_State *L) {
    ls_tcp *tcp = *(ls_tcp **)luaL_checkudata(L, 1, LS_TCP_MT);
    lua_pushfstring(L, "lunaserve.tcp (%s)", tcp && tcp->s.state == LS_STREAM_OPEN ? "connected"
                                                                            : "not connected");
    return 1;
}

/* Adds lunaserve.tcp to the module at index `module` (from ls_open_lunaserve: upvalue 1 is
 * the vm). */
void ls_tcp_open(lua_State *L, int module) {
    static const luaL_Reg methods[] = {
        {"connect", l_connect},
        {"settimeout", l_settimeout},
        {"settimeouts", l_settimeouts},
        {"setoption", l_setoption},
        {"send", l_send},
        {"receive", l_receive},
        {"receiveany", l_receiveany},
        {"receiveuntil", l_receiveuntil},
        {"setkeepalive", l_setkeepalive},
        {"getreusedtimes", l_getreusedtimes},
        {"close", l_close},
        {NULL, NULL},
    };
    module = lua_absindex(L, module);
    if (luaL_newmetatable(L, LS_TCP_MT)) {
        luaL_newlib(L, methods);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, l_gc);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, l_close);
        lua_setfield(L, -2, "__close");
        lua_pushcfunction(L, l_tostring);
        lua_setfield(L, -2, "__tostring");
    }
    lua_pop(L, 1);
    lua_pushvalue(L, lua_upvalueindex(1)); /* the vm */
    lua_pushcclosure(L, l_tcp, 1);
    lua_setfield(L, module, "tcp");
}
