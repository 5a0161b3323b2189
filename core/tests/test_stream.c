/* Unit tests for core/client (the cosocket in C) over real loopback sockets: a name's
 * addresses are tried in order (the first refuses, the second answers), answers come from the
 * resolver's cache, every address failing gives the last error, and a connected stream sends
 * and receives. The Lua-facing behaviour is in spec/tcp_*_spec.lua. */
#include "check.h"

#include "client.h"
#include "connpool.h"
#include "stream.h"

#include <arpa/inet.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

static uv_loop_t *loop;
static ls_io io;
static ls_client client;
static uv_tcp_t listener;
static int port, accepted;
static uv_tcp_t *peers[8];

static struct {
    int connected, err, inputs, sent;
} seen;

static void on_peer_alloc(uv_handle_t *h, size_t n, uv_buf_t *buf) {
    (void)h;
    static char space[4096];
    *buf = uv_buf_init(space, n < sizeof space ? (unsigned)n : (unsigned)sizeof space);
}

/* The peer echoes what it reads, upper-cased. */
static void on_peer_write(uv_write_t *w, int status) {
    (void)status;
    free(w->data);
    free(w);
}

static void on_peer_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf) {
    if (n <= 0)
        return;
    char *copy = malloc((size_t)n);
    for (ssize_t i = 0; i < n; i++)
        copy[i] = (char)(buf->base[i] >= 'a' && buf->base[i] <= 'z' ? buf->base[i] - 32
                                                                      : buf->base[i]);
    uv_write_t *w = malloc(sizeof *w);
    w->data = copy;
    uv_buf_t out = uv_buf_init(copy, (unsigned)n);
    uv_write(w, st, &out, 1, on_peer_write);
}

static void on_accept(uv_stream_t *l, int status) {
    CHECK_EQ_INT(0, status);
    uv_tcp_t *c = malloc(sizeof *c);
    uv_tcp_init(loop, c);
    CHECK_EQ_INT(0, uv_accept(l, (uv_stream_t *)c));
    uv_read_start((uv_stream_t *)c, on_peer_alloc, on_peer_read);
    if (accepted < 8)
        peers[accepted] = c;
    accepted++;
}

static void ev_connected(ls_stream *s, int err) {
    (void)s;
    seen.connected++;
    seen.err = err;
}
static void ev_input(ls_stream *s, int status) {
    (void)s, (void)status;
    seen.inputs++;
}
static void ev_sent(ls_stream *s, int err) {
    (void)s, (void)err;
    seen.sent++;
}
static void ev_closed(ls_stream *s) { (void)s; }
static const ls_stream_events events = {ev_connected, ev_input, ev_sent, ev_closed};

static void run_until(int *counter, int target) {
    for (int i = 0; i < 2000 && *counter < target; i++)
        uv_run(loop, UV_RUN_ONCE);
}

/* Caches host as these IPv4 addresses, in this order. */
static void remember(const char *host, const char *a, const char *b) {
    ls_addrs addrs;
    memset(&addrs, 0, sizeof addrs);
    const char *ips[2] = {a, b};
    for (int i = 0; i < 2 && ips[i]; i++)
        uv_ip4_addr(ips[i], 0, (struct sockaddr_in *)&addrs.addr[addrs.n++]);
    ls_resolver_remember(&client.resolver, host, &addrs);
}

static void connect_name(ls_stream *s, const char *host) {
    memset(&seen, 0, sizeof seen);
    ls_stream_init(s, &client, &events, NULL);
    s->connect_ms = s->send_ms = s->read_ms = 2000;
    char key[64];
    snprintf(key, sizeof key, "%s:%d", host, port);
    CHECK_EQ_INT(0, ls_stream_connect(s, host, port, key, 4, 0));
    run_until(&seen.connected, 1);
    CHECK_EQ_INT(1, seen.connected);
}

static void test_order(void) {
    ls_stream s;
    /* 127.0.0.2 is loopback too, but nothing listens there: refused, then the next address */
    remember("second.test", "127.0.0.2", "127.0.0.1");
    connect_name(&s, "second.test");
    CHECK_EQ_INT(0, seen.err);
    CHECK_EQ_INT(1, accepted);
    CHECK_EQ_STR("127.0.0.1", ls_transport_peer(s.t));

    /* the stream works: what it sends comes back upper-cased */
    ls_outq_append(ls_stream_outq(&s), "ping\n", 5);
    int r = ls_stream_send(&s);
    CHECK(r == 1 || r == 0);
    if (r == 0)
        run_until(&seen.sent, 1);
    ls_stream_want(&s);
    size_t len = 0;
    for (int i = 0; i < 2000 && len < 5; i++) {
        uv_run(loop, UV_RUN_ONCE);
        ls_stream_data(&s, &len);
    }
    const char *data = ls_stream_data(&s, &len);
    CHECK_MEM("PING\n", 5, data, len);
    ls_stream_consume(&s, len);
    ls_stream_unwant(&s);
    ls_stream_close(&s, 0);

    /* first address answers: one connect */
    remember("first.test", "127.0.0.1", "127.0.0.2");
    connect_name(&s, "first.test");
    CHECK_EQ_INT(0, seen.err);
    CHECK_EQ_INT(2, accepted);
    ls_stream_close(&s, 0);

    /* every address refuses: the error of the last one */
    remember("none.test", "127.0.0.2", "127.0.0.3");
    connect_name(&s, "none.test");
    CHECK_EQ_INT(UV_ECONNREFUSED, seen.err);
    CHECK(s.t == NULL);
    CHECK_EQ_INT(2, accepted);
}

/* A connect that waited in its pool's line (pool_size 1, backlog 1) and fails once it gets
 * room (a Unix socket that is not there) no longer counts in the pool: the next connect
 * starts at once instead of waiting for room that never comes. */
static void on_unix_connection(uv_stream_t *l, int status) { (void)l, (void)status; }

static void test_queued_unix_failure(void) {
    char dir[] = "/tmp/test_stream.XXXXXX", path[64], missing[64];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/s", dir);
    snprintf(missing, sizeof missing, "%s/missing", dir);
    uv_pipe_t unix_listener;
    uv_pipe_init(loop, &unix_listener, 0);
    CHECK_EQ_INT(0, uv_pipe_bind(&unix_listener, path));
    CHECK_EQ_INT(0, uv_listen((uv_stream_t *)&unix_listener, 16, on_unix_connection));
    ls_connpool *pool = ls_connpool_get(&client, "u");

    ls_stream a, b, c;
    memset(&seen, 0, sizeof seen);
    ls_stream_init(&a, &client, &events, NULL);
    ls_stream_init(&b, &client, &events, NULL);
    ls_stream_init(&c, &client, &events, NULL);
    a.connect_ms = b.connect_ms = c.connect_ms = 2000;
    CHECK_EQ_INT(1, ls_stream_connect(&a, path, -1, "u", 1, 1));
    CHECK_EQ_INT(1, (int)ls_connpool_live(pool));
    CHECK_EQ_INT(0, ls_stream_connect(&b, missing, -1, "u", 1, 1)); /* in line */
    ls_stream_close(&a, 0);
    run_until(&seen.connected, 1);
    CHECK_EQ_INT(1, seen.connected);
    CHECK_EQ_INT(UV_ENOENT, seen.err);
    CHECK_EQ_INT(0, (int)ls_connpool_live(pool));
    CHECK_EQ_INT(1, ls_stream_connect(&c, path, -1, "u", 1, 1));
    ls_stream_close(&c, 0);
    ls_stream_close(&b, 0);
    CHECK_EQ_INT(0, (int)ls_connpool_live(pool));

    uv_close((uv_handle_t *)&unix_listener, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    unlink(path);
    rmdir(dir);
}

static void on_closed_handle(uv_handle_t *h) {
    if (h != (uv_handle_t *)&listener)
        free(h);
}

int main(void) {
    loop = uv_default_loop();
    CHECK_EQ_INT(0, ls_io_init(&io, loop));
    ls_client_init(&client, &io, 60000);
    struct sockaddr_in sa;
    uv_ip4_addr("127.0.0.1", 0, &sa);
    uv_tcp_init(loop, &listener);
    CHECK_EQ_INT(0, uv_tcp_bind(&listener, (struct sockaddr *)&sa, 0));
    CHECK_EQ_INT(0, uv_listen((uv_stream_t *)&listener, 16, on_accept));
    struct sockaddr_storage ss;
    int sl = sizeof ss;
    uv_tcp_getsockname(&listener, (struct sockaddr *)&ss, &sl);
    port = ntohs(((struct sockaddr_in *)&ss)->sin_port);

    test_order();
    test_queued_unix_failure();

    for (int i = 0; i < accepted && i < 8; i++)
        uv_close((uv_handle_t *)peers[i], on_closed_handle);
    uv_close((uv_handle_t *)&listener, on_closed_handle);
    ls_client_close(&client, NULL, NULL);
    ls_io_close(&io, NULL, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    ls_client_free(&client);
    ls_io_free(&io);
    CHECK_EQ_INT(0, uv_loop_close(loop));
    return check_summary("test_stream");
}
