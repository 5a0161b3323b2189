/* A file range as a response body, through the whole engine (server, HTTP/1 connection,
 * response framing, transport): a real ls_server serves one end of a socketpair, and this
 * test is the client on the other end, in the same thread. Two requests on one connection:
 * a streamed answer (chunked, with the file range between two memory pieces) and one with
 * the handler's Content-Length; the bodies must match the file byte for byte, and each
 * file range must be released once. */
#include "check.h"

#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define FILE_SIZE (1024u * 1024)
#define RANGE_AT 4096u
#define RANGE_LEN (FILE_SIZE - 8192u)

static int file_fd;
static char *content;
static int released, finished, stopped;

static void release_range(void *ctx) { (void)ctx, released++; }

static void *on_request(void *app, ls_conn *c) {
    (void)app;
    const ls_request *q = ls_conn_request(c);
    if (q->url_len == 7 && memcmp(ls_request_url(q), "/stream", 7) == 0) {
        CHECK_EQ_INT(1, ls_conn_write(c, "<", 1, NULL, NULL));
        ls_conn_write_file(c, file_fd, RANGE_AT, RANGE_LEN, release_range, NULL);
        CHECK_EQ_INT(1, ls_conn_finish(c, ">", 1, NULL, NULL));
    } else {
        char len[32];
        int n = snprintf(len, sizeof len, "%u", RANGE_LEN);
        CHECK_EQ_INT(LS_OK, ls_conn_set_header(c, "Content-Length", 14, len, (size_t)n, 1));
        ls_conn_write_file(c, file_fd, RANGE_AT, RANGE_LEN, release_range, NULL);
        CHECK_EQ_INT(1, ls_conn_finish(c, NULL, 0, NULL, NULL));
    }
    return c;
}
static void on_body(void *req) { (void)req; }
static void on_drain(void *req) { (void)req; }
static void on_finish(void *req) { (void)req, finished++; }
static void on_abort(void *req) { (void)req; }
static void on_stopped(void *app) { (void)app, stopped = 1; }
static const ls_app_iface iface = {on_request, on_body, on_drain, on_finish, on_abort,
                                   NULL,       on_stopped};

/* Reads from fd (non-blocking) while the loop runs, until `want` bytes or 10 s. */
static size_t read_while_serving(uv_loop_t *loop, int fd, char *buf, size_t want) {
    size_t got = 0;
    uint64_t until = uv_hrtime() + 10000000000ull;
    while (got < want && uv_hrtime() < until) {
        uv_run(loop, UV_RUN_NOWAIT);
        ssize_t n = recv(fd, buf + got, want - got, MSG_DONTWAIT);
        if (n > 0)
            got += (size_t)n;
        else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
            break;
    }
    return got;
}

/* Decodes a chunked body in place; returns its length, or -1 when it is malformed. */
static long dechunk(char *body, size_t len) {
    size_t in = 0, out = 0;
    for (;;) {
        char *end;
        unsigned long size = strtoul(body + in, &end, 16);
        if (end == body + in || (size_t)(end - body) + 2 > len || memcmp(end, "\r\n", 2) != 0)
            return -1;
        in = (size_t)(end - body) + 2;
        if (size == 0)
            return in + 2 == len && memcmp(body + in, "\r\n", 2) == 0 ? (long)out : -1;
        if (in + size + 2 > len || memcmp(body + in + size, "\r\n", 2) != 0)
            return -1;
        memmove(body + out, body + in, size);
        out += size, in += size + 2;
    }
}

int main(void) {
    char path[] = "/tmp/ls_test_conn_file_XXXXXX";
    file_fd = mkstemp(path);
    CHECK(file_fd >= 0);
    unlink(path);
    content = malloc(FILE_SIZE);
    for (size_t i = 0; i < FILE_SIZE; i++)
        content[i] = (char)('A' + (i * 13) % 26);
    CHECK_EQ_INT((int)FILE_SIZE, (int)write(file_fd, content, FILE_SIZE));

    uv_loop_t loop;
    uv_loop_init(&loop);
    ls_settings settings;
    ls_settings_defaults(&settings);
    ls_server server;
    CHECK_EQ_INT(0, ls_server_init(&server, &loop, &settings, &iface, NULL));
    int sv[2];
    CHECK_EQ_INT(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    ls_server_open_fd(&server, sv[1]);

    /* 1: chunked: "<", the range, ">" */
    const char *get = "GET /stream HTTP/1.1\r\nHost: t\r\n\r\n";
    CHECK_EQ_INT((int)strlen(get), (int)write(sv[0], get, strlen(get)));
    size_t cap = FILE_SIZE + 4096;
    char *buf = malloc(cap);
    /* head, then the chunks: "1\r\n<\r\n", the range's size line and data, "1\r\n>\r\n", end */
    char line[32];
    int ln = snprintf(line, sizeof line, "%x\r\n", RANGE_LEN);
    size_t body_wire = 6 + (size_t)ln + RANGE_LEN + 2 + 6 + 5;
    size_t got = read_while_serving(&loop, sv[0], buf, 150); /* the head and a little more */
    char *head_end = memmem(buf, got, "\r\n\r\n", 4);
    CHECK(head_end != NULL);
    if (head_end) {
        size_t head_len = (size_t)(head_end + 4 - buf);
        CHECK(memmem(buf, head_len, "Transfer-Encoding: chunked\r\n", 28) != NULL);
        CHECK(memmem(buf, head_len, "Connection: keep-alive\r\n", 24) != NULL);
        got += read_while_serving(&loop, sv[0], buf + got, head_len + body_wire - got);
        CHECK_EQ_INT((int)(head_len + body_wire), (int)got);
        long n = dechunk(buf + head_len, got - head_len);
        CHECK_EQ_INT((int)RANGE_LEN + 2, (int)n);
        CHECK(n == RANGE_LEN + 2 && buf[head_len] == '<' &&
              memcmp(buf + head_len + 1, content + RANGE_AT, RANGE_LEN) == 0 &&
              buf[head_len + 1 + RANGE_LEN] == '>');
    }
    for (int i = 0; i < 100 && finished < 1; i++)
        uv_run(&loop, UV_RUN_NOWAIT);
    CHECK_EQ_INT(1, finished);
    CHECK_EQ_INT(1, released);

    /* 2: the handler's Content-Length, the range alone, on the same connection */
    const char *get2 = "GET /length HTTP/1.1\r\nHost: t\r\n\r\n";
    CHECK_EQ_INT((int)strlen(get2), (int)write(sv[0], get2, strlen(get2)));
    got = read_while_serving(&loop, sv[0], buf, 150);
    head_end = memmem(buf, got, "\r\n\r\n", 4);
    CHECK(head_end != NULL);
    if (head_end) {
        size_t head_len = (size_t)(head_end + 4 - buf);
        char want_len[48];
        snprintf(want_len, sizeof want_len, "Content-Length: %u\r\n", RANGE_LEN);
        CHECK(memmem(buf, head_len, want_len, strlen(want_len)) != NULL);
        got += read_while_serving(&loop, sv[0], buf + got, head_len + RANGE_LEN - got);
        CHECK_EQ_INT((int)(head_len + RANGE_LEN), (int)got);
        CHECK(got == head_len + RANGE_LEN &&
              memcmp(buf + head_len, content + RANGE_AT, RANGE_LEN) == 0);
    }
    for (int i = 0; i < 100 && finished < 2; i++)
        uv_run(&loop, UV_RUN_NOWAIT);
    CHECK_EQ_INT(2, finished);
    CHECK_EQ_INT(2, released);

    /* the client leaves; the server closes and stops */
    close(sv[0]);
    for (int i = 0; i < 100 && server.nconns; i++)
        uv_run(&loop, UV_RUN_NOWAIT);
    CHECK_EQ_INT(0, (int)server.nconns);
    CHECK_EQ_INT(1, (int)server.io.closes[LS_CLOSE_IDLE]);
    ls_server_stop(&server, 1000);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_EQ_INT(1, stopped);
    ls_server_free(&server);
    CHECK_EQ_INT(0, uv_loop_close(&loop));
    free(buf);
    free(content);
    close(file_fd);
    return check_summary("test_conn_file");
}
