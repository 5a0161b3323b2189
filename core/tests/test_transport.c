/* Unit tests for core/io/transport.h over a real socketpair: input handed to the protocol and
 * kept between reads, output of memory and file ranges (sendfile, and the piece written by
 * hand when the socket is full) arriving byte for byte, then a lingering close that ends when
 * the peer closes. */
#include "check.h"

#include "transport.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define FILE_SIZE (3u * 1024 * 1024)
#define RANGE_AT 1000u
#define RANGE_LEN (FILE_SIZE - 2000u)

static struct {
    char got_in[64]; /* what on_data saw last, as from_in:bytes */
    int datas, sent, closed, released;
    ls_close_reason closed_as;
} seen;

static void on_data(ls_transport *t, const char *data, size_t len, int from_in) {
    seen.datas++;
    snprintf(seen.got_in, sizeof seen.got_in, "%d:%.*s", from_in, (int)len, data);
    /* the first time, keep the last two bytes for the next read */
    size_t keep = seen.datas == 1 && len >= 2 ? 2 : 0;
    CHECK_EQ_INT(0, ls_transport_keep(t, data + len - keep, keep, from_in));
}
static void on_eof(ls_transport *t, int err) {
    CHECK_EQ_INT(0, err);
    ls_transport_close(t, LS_CLOSE_IDLE, 0);
}
static void on_sent(ls_transport *t) { (void)t, seen.sent++; }
static void on_deferred(ls_transport *t) { (void)t; }
static void on_closed(ls_transport *t) {
    seen.closed++;
    seen.closed_as = (ls_close_reason)t->close_reason;
}
static const ls_proto proto = {on_data, on_eof, on_sent, on_deferred, on_closed, NULL};

static void release(void *ctx) { (void)ctx, seen.released++; }

/* A second protocol the transport is handed to (as an upgrade would). */
static char upgraded[16];
static void on_data_upgraded(ls_transport *t, const char *data, size_t len, int from_in) {
    snprintf(upgraded, sizeof upgraded, "%s:%.*s", (const char *)t->ctx, (int)len, data);
    ls_transport_keep(t, data, 0, from_in);
}
static const ls_proto proto_upgraded = {on_data_upgraded, on_eof, on_sent, on_deferred,
                                        on_closed, NULL};

/* The peer: reads everything into a buffer until EOF. */
static struct {
    uv_pipe_t pipe;
    char *buf;
    size_t len, cap;
    int eof;
    ls_transport *t;
} peer;

static void peer_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b) {
    (void)h, (void)suggested;
    if (peer.cap - peer.len < 65536) {
        peer.cap = peer.cap ? peer.cap * 2 : 1 << 20;
        peer.buf = realloc(peer.buf, peer.cap);
    }
    *b = uv_buf_init(peer.buf + peer.len, (unsigned)(peer.cap - peer.len));
}

static void peer_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
    (void)b;
    if (n > 0) {
        peer.len += (size_t)n;
        /* everything arrived: the transport may linger now (FIN after the last byte) */
        if (peer.len == 5 + RANGE_LEN + 5 && !peer.t->lingering)
            ls_transport_linger(peer.t, LS_CLOSE_FINISH);
    } else if (n == UV_EOF) {
        peer.eof = 1;
        uv_read_stop(s);
        uv_close((uv_handle_t *)s, NULL); /* the transport sees EOF and ends its lingering */
    }
}

int main(void) {
    uv_loop_t loop;
    uv_loop_init(&loop);
    ls_io io;
    CHECK_EQ_INT(0, ls_io_init(&io, &loop));
    io.send_timeout_ms = io.linger_time_ms = io.linger_idle_ms = 10000;

    int sv[2];
    CHECK_EQ_INT(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    int small = 16384; /* the socket fills up early: the piece path runs too */
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    ls_transport *t = ls_transport_open_fd(&io, sv[0]);
    CHECK(t != NULL);
    ls_transport_set_proto(t, &proto, NULL);
    peer.t = t;

    /* input: delivered from the shared buffer, then from the transport's own with what was
     * kept in front */
    ls_transport_read(t, 1);
    CHECK_EQ_INT(4, (int)write(sv[1], "ping", 4));
    for (int i = 0; i < 100 && seen.datas < 1; i++)
        uv_run(&loop, UV_RUN_NOWAIT);
    CHECK_EQ_STR("0:ping", seen.got_in);
    CHECK_EQ_INT(2, (int)t->in_len);
    CHECK_EQ_INT(1, (int)write(sv[1], "!", 1));
    for (int i = 0; i < 100 && seen.datas < 2; i++)
        uv_run(&loop, UV_RUN_NOWAIT);
    CHECK_EQ_STR("1:ng!", seen.got_in);
    ls_transport_keep(t, NULL, 0, 1);

    /* handed to another protocol: the next input is its own, with its context */
    ls_transport_set_proto(t, &proto_upgraded, "ws");
    CHECK_EQ_INT(2, (int)write(sv[1], "up", 2));
    for (int i = 0; i < 100 && !upgraded[0]; i++)
        uv_run(&loop, UV_RUN_NOWAIT);
    CHECK_EQ_STR("ws:up", upgraded);
    CHECK_EQ_INT(2, seen.datas); /* the first protocol saw nothing of it */
    ls_transport_set_proto(t, &proto, NULL);

    /* output: memory, a file range, memory */
    char path[] = "/tmp/ls_test_transport_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    unlink(path);
    char *content = malloc(FILE_SIZE);
    for (size_t i = 0; i < FILE_SIZE; i++)
        content[i] = (char)('a' + (i * 7) % 26);
    CHECK_EQ_INT((int)FILE_SIZE, (int)write(fd, content, FILE_SIZE));
    CHECK_EQ_INT(0, ls_outq_append(&t->out, "head:", 5));
    CHECK_EQ_INT(0, ls_outq_append_file(&t->out, fd, RANGE_AT, RANGE_LEN, release, NULL));
    CHECK_EQ_INT(0, ls_outq_append(&t->out, ":tail", 5));
    uv_pipe_init(&loop, &peer.pipe, 0);
    uv_pipe_open(&peer.pipe, sv[1]);
    uv_read_start((uv_stream_t *)&peer.pipe, peer_alloc, peer_read);
    ls_transport_flush(t);
    uv_run(&loop, UV_RUN_DEFAULT);

    size_t want = 5 + RANGE_LEN + 5;
    CHECK_EQ_INT((int)want, (int)peer.len);
    CHECK(peer.len == want && memcmp(peer.buf, "head:", 5) == 0 &&
          memcmp(peer.buf + 5, content + RANGE_AT, RANGE_LEN) == 0 &&
          memcmp(peer.buf + 5 + RANGE_LEN, ":tail", 5) == 0);
    CHECK(seen.sent > 0); /* the socket was full at least once: written asynchronously */
    CHECK_EQ_INT(1, seen.released);
    CHECK_EQ_INT(1, peer.eof); /* FIN after the last byte */
    CHECK_EQ_INT(1, seen.closed);
    CHECK_EQ_INT(LS_CLOSE_FINISH, seen.closed_as); /* lingering ended by the peer's close */
    CHECK_EQ_INT(1, (int)io.closes[LS_CLOSE_FINISH]);

    ls_io_close(&io, NULL, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    ls_io_free(&io);
    CHECK_EQ_INT(0, uv_loop_close(&loop));
    close(fd);
    free(content);
    free(peer.buf);
    return check_summary("test_transport");
}
