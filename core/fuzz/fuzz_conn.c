/* libFuzzer target: arbitrary bytes, split at arbitrary points, into a connection's input.
 *
 * A real server (the core, no Lua) listens on a loopback port inside this process; each input
 * opens one client connection, sends the bytes in the pieces the input chooses, half-closes,
 * and reads until the server closes. The handler reads the body, writes, and finishes, in
 * ways the input also chooses. Every input must end with every connection closed: a
 * connection left behind aborts the run. */
#include "conn.h"
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct {
    ls_conn *conn;
    int mode; /* what the handler does, from the request's target */
    size_t seen;
} fz_req;

static uv_loop_t loop;
static ls_server server;
static int port;

static void *fz_request(void *app, ls_conn *c) {
    (void)app;
    fz_req *r = calloc(1, sizeof *r);
    r->conn = c;
    const ls_request *q = ls_conn_request(c);
    r->mode = q->url_len > 1 ? (unsigned char)ls_request_url(q)[1] % 6 : 0;
    switch (r->mode) {
    case 0: /* answer at once, body unread */
        ls_conn_set_header(c, "X-Mode", 6, "0", 1, 1);
        ls_conn_finish(c, "done", 4, NULL, NULL);
        break;
    case 1: /* stream a head now, finish when the body is complete */
        ls_conn_write(c, "start;", 6, NULL, NULL);
        break;
    case 2: /* destroy at once */
        ls_conn_destroy(c);
        break;
    case 3: /* a handler error */
        ls_conn_respond_error(c, 500);
        break;
    case 4: /* no close */
        ls_conn_set_keepalive(c, 0);
        break;
    default: /* a header set by the client's words */
        if (ls_conn_set_header(c, ls_request_url(q), q->url_len, "v", 1, 1) < 0)
            ls_conn_set_status(c, 204);
        break;
    }
    return r;
}

static void fz_body(void *ud) {
    fz_req *r = ud;
    const char *p;
    size_t n = ls_conn_body(r->conn, &p);
    r->seen += n;
    ls_conn_body_take(r->conn, n);
    if (r->mode != 1 && n)
        ls_conn_write(r->conn, p, 0, NULL, NULL);
    if (ls_conn_body_complete(r->conn)) {
        char msg[32];
        int len = snprintf(msg, sizeof msg, "%zu", r->seen);
        ls_conn_finish(r->conn, msg, (size_t)len, NULL, NULL);
    }
}

static void fz_drain(void *ud) { (void)ud; }
static void fz_done(void *ud) { free(ud); }
static void fz_stopped(void *app) { (void)app; }

static const ls_app_iface iface = {fz_request, fz_body, fz_drain, fz_done, fz_done, NULL,
                                   fz_stopped};

static void setup(void) {
    uv_loop_init(&loop);
    ls_settings s;
    ls_settings_defaults(&s);
    s.port = 0;
    s.max_header = 2048;
    s.max_body = 4096;
    s.discard_limit = 1024;
    s.high_water = 512;
    s.max_requests = 8;
    ls_server_init(&server, &loop, &s, &iface, NULL);
    char addr[64];
    if (ls_server_listen(&server, addr, sizeof addr) != 0)
        abort();
    port = atoi(strrchr(addr, ':') + 1);
}

static int client(void) {
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int tries = 0; tries < 100; tries++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        /* Closed with a reset at the end: no TIME_WAIT, so millions of runs do not use up
         * the loopback's ephemeral ports. */
        struct linger lg = {1, 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
            fcntl(fd, F_SETFL, O_NONBLOCK);
            return fd;
        }
        close(fd);
        uv_run(&loop, UV_RUN_NOWAIT);
    }
    fprintf(stderr, "cannot connect to the server: %s\n", strerror(errno));
    abort();
}

/* Reads what the server sent; 1 once it closed. */
static int drain_client(int fd) {
    char buf[4096];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n > 0)
            continue;
        if (n == 0)
            return 1;
        return errno == EAGAIN ? 0 : 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int ready;
    if (!ready) {
        setup();
        ready = 1;
    }
    int fd = client();
    /* The first byte picks the piece size pattern. */
    size_t step = size ? (size_t)(data[0] % 16) + 1 : 1;
    size_t off = size ? 1 : 0;
    while (off < size) {
        size_t n = size - off < step ? size - off : step;
        if (send(fd, data + off, n, MSG_NOSIGNAL) < 0)
            break;
        off += n;
        uv_run(&loop, UV_RUN_NOWAIT);
        drain_client(fd);
        step = step * 7 % 61 + 1;
    }
    shutdown(fd, SHUT_WR);
    int closed = 0;
    for (int i = 0; i < 2000 && !closed; i++) {
        uv_run(&loop, UV_RUN_NOWAIT);
        closed = drain_client(fd);
    }
    close(fd);
    for (int i = 0; i < 2000 && server.nconns; i++)
        uv_run(&loop, UV_RUN_NOWAIT);
    if (!closed || server.nconns) {
        fprintf(stderr, "connection left open after the client half-closed\n");
        abort();
    }
    return 0;
}
