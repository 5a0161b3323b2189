/* ws_load: a WebSocket echo load generator for bench/ws_echo.sh (issue 14's benchmark).
 *
 * N connections to 127.0.0.1:PORT each do the opening handshake, then keep K small masked
 * text messages in flight: every echoed message read is answered by one new message, so each
 * connection always has K messages on the way. Messages echoed during the D seconds after a
 * warm-up are counted (and checked byte for byte); the rate is printed at the end.
 *
 * Why a program of its own: the client must cost much less per message than the servers it
 * measures, so it is one epoll thread that reads everything a socket has and answers a whole
 * batch of echoes with one write (messages are prebuilt: no masking work per message).
 *
 * With -P PID it also reads that process's CPU time (utime + stime, /proc/PID/stat) at the
 * start and the end of the measured window, so the server's CPU per message covers exactly
 * the messages counted.
 *
 *   usage: ws_load -p PORT [-c CONNS] [-k IN_FLIGHT] [-s BYTES] [-d SECONDS] [-w SECONDS]
 *                  [-P PID] [-u PATH]
 *   output (one line): conns=N inflight=K size=S seconds=D messages=M rate=R client_cores=L
 *                      [server_cpu_s=C cpu_us_per_msg=U] failed_conns=F bad_echoes=B
 *   (client_cores: the CPU this client used in the window, in cores; near 1.00 means the
 *   client, not the server, was the limit)
 *
 * Build: cc -O2 -o ws_load bench/ws_load.c (Linux only: epoll).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RBUF 65536

enum { ST_HANDSHAKE, ST_OPEN };

struct conn {
    int fd;
    int state;
    unsigned char *rbuf; /* read buffer; bytes [0, rlen) are not parsed yet */
    size_t rlen;
    size_t owe;          /* messages echoed but not yet answered (write was short) */
    size_t wpos;         /* bytes of the current batch already written */
    size_t wlen;         /* bytes in the current batch (0: none) */
};

static int g_size = 32, g_inflight = 16;
static unsigned char *g_frames;  /* K prebuilt client frames, back to back */
static size_t g_frame_len;       /* one client frame's length */
static unsigned char *g_payload; /* the plain payload every echo must carry */
static size_t g_echo_hdr;        /* the server frame's header length for this size */
static int g_counting;
static unsigned long long g_count, g_bad;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what) {
    perror(what);
    exit(1);
}

/* utime + stime of process pid, in clock ticks; -1 if it cannot be read. */
static long long proc_ticks(int pid) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    if (!p)
        return -1;
    unsigned long long ut, st;
    /* after ")": state(3) ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime(14) stime(15) */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (long long)(ut + st);
}

/* Builds the K client frames: FIN + text, masked (a different key per frame, as a browser
 * would), payload g_size bytes of printable ASCII. */
static void build_frames(void) {
    size_t hdr = g_size < 126 ? 2 : 4;
    g_frame_len = hdr + 4 + (size_t)g_size;
    g_echo_hdr = hdr;
    g_payload = malloc((size_t)g_size);
    g_frames = malloc(g_frame_len * (size_t)g_inflight);
    if (!g_payload || !g_frames)
        die("malloc");
    for (int i = 0; i < g_size; i++)
        g_payload[i] = (unsigned char)('a' + i % 26);
    for (int k = 0; k < g_inflight; k++) {
        unsigned char *f = g_frames + (size_t)k * g_frame_len;
        f[0] = 0x81;
        if (hdr == 2) {
            f[1] = (unsigned char)(0x80 | g_size);
        } else {
            f[1] = 0x80 | 126;
            f[2] = (unsigned char)(g_size >> 8);
            f[3] = (unsigned char)(g_size & 255);
        }
        unsigned char *mask = f + hdr;
        for (int j = 0; j < 4; j++)
            mask[j] = (unsigned char)(0x5a + 17 * k + 31 * j);
        for (int i = 0; i < g_size; i++)
            f[hdr + 4 + i] = g_payload[i] ^ mask[i % 4];
    }
}

/* Writes what is owed: whole batches of up to K prebuilt frames, resuming a short write.
 * Returns -1 on a write error. */
static int flush_owed(struct conn *c) {
    for (;;) {
        if (c->wlen == 0) {
            if (c->owe == 0)
                return 0;
            size_t n = c->owe < (size_t)g_inflight ? c->owe : (size_t)g_inflight;
            c->wlen = n * g_frame_len;
            c->wpos = 0;
            c->owe -= n;
        }
        ssize_t w = write(c->fd, g_frames + c->wpos, c->wlen - c->wpos);
        if (w < 0) {
            if (errno == EAGAIN || errno == EINTR)
                return 0; /* EPOLLOUT resumes it */
            return -1;
        }
        c->wpos += (size_t)w;
        if (c->wpos == c->wlen)
            c->wlen = 0;
        else
            return 0;
    }
}

static const char *KEY = "dGhlIHNhbXBsZSBub25jZQ==";
static const char *ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/* Parses what was read: the 101 first, then server frames (each an echo, counted and
 * checked). Returns -1 when the connection must be given up. */
static int parse(struct conn *c) {
    size_t pos = 0;
    if (c->state == ST_HANDSHAKE) {
        unsigned char *end = memmem(c->rbuf, c->rlen, "\r\n\r\n", 4);
        if (!end)
            return c->rlen < RBUF ? 0 : -1;
        size_t hl = (size_t)(end - c->rbuf) + 4;
        if (c->rlen < 12 || memcmp(c->rbuf, "HTTP/1.1 101", 12) != 0 ||
            !memmem(c->rbuf, hl, ACCEPT, strlen(ACCEPT))) {
            fprintf(stderr, "ws_load: no 101: %.*s\n", (int)hl, (char *)c->rbuf);
            return -1;
        }
        c->state = ST_OPEN;
        pos = hl;
        c->owe += (size_t)g_inflight; /* the first K messages */
    }
    size_t echoes = 0;
    for (;;) {
        size_t left = c->rlen - pos;
        if (left < 2)
            break;
        unsigned char *p = c->rbuf + pos;
        size_t len = p[1] & 0x7f, hl = 2;
        if (len == 126) {
            if (left < 4)
                break;
            len = (size_t)p[2] << 8 | p[3];
            hl = 4;
        } else if (len == 127) {
            fprintf(stderr, "ws_load: unexpected 64-bit length\n");
            return -1;
        }
        if (left < hl + len)
            break;
        if ((p[0] & 0x0f) == 0x8) {
            fprintf(stderr, "ws_load: the server closed the WebSocket\n");
            return -1;
        }
        if (p[0] != 0x81 || len != (size_t)g_size || hl != g_echo_hdr ||
            memcmp(p + hl, g_payload, len) != 0)
            g_bad++;
        echoes++;
        pos += hl + len;
    }
    if (pos) {
        memmove(c->rbuf, c->rbuf + pos, c->rlen - pos);
        c->rlen -= pos;
    }
    if (g_counting)
        g_count += echoes;
    c->owe += echoes;
    return 0;
}

static void usage(void) {
    fprintf(stderr, "usage: ws_load -p PORT [-c CONNS] [-k IN_FLIGHT] [-s BYTES] [-d SECONDS] "
                    "[-w SECONDS] [-P PID] [-u PATH]\n");
    exit(2);
}

int main(int argc, char **argv) {
    int port = 0, conns = 50, pid = 0;
    double dur = 10, warm = 2;
    const char *path = "/";
    int opt;
    while ((opt = getopt(argc, argv, "p:c:k:s:d:w:P:u:")) != -1) {
        switch (opt) {
        case 'p': port = atoi(optarg); break;
        case 'c': conns = atoi(optarg); break;
        case 'k': g_inflight = atoi(optarg); break;
        case 's': g_size = atoi(optarg); break;
        case 'd': dur = atof(optarg); break;
        case 'w': warm = atof(optarg); break;
        case 'P': pid = atoi(optarg); break;
        case 'u': path = optarg; break;
        default: usage();
        }
    }
    if (port <= 0 || conns <= 0 || g_inflight <= 0 || g_size < 0 || g_size > 65535 || dur <= 0)
        usage();
    build_frames();

    char req[512];
    int reqlen = snprintf(req, sizeof req,
                          "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                          "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                          "Sec-WebSocket-Version: 13\r\n\r\n",
                          path, port, KEY);

    int ep = epoll_create1(0);
    if (ep < 0)
        die("epoll_create1");
    struct conn *cs = calloc((size_t)conns, sizeof *cs);
    if (!cs)
        die("calloc");
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* Connect and send the handshakes blocking (fast on loopback), then go non-blocking. */
    for (int i = 0; i < conns; i++) {
        struct conn *c = &cs[i];
        c->fd = socket(AF_INET, SOCK_STREAM, 0);
        if (c->fd < 0)
            die("socket");
        if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0)
            die("connect");
        int one = 1;
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (write(c->fd, req, (size_t)reqlen) != reqlen)
            die("write handshake");
        fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
        c->rbuf = malloc(RBUF);
        if (!c->rbuf)
            die("malloc");
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.ptr = c};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0)
            die("epoll_ctl");
    }

    double t_start = now_s(), t_count = t_start + warm, t_end = t_count + dur;
    double t_count_real = 0, t_end_real = 0;
    long long cpu0 = -1, cpu1 = -1, self0 = 0, self1 = 0;
    int failed = 0;
    struct epoll_event evs[256];
    for (;;) {
        double t = now_s();
        if (!g_counting && t >= t_count) {
            g_counting = 1;
            t_count_real = t;
            self0 = proc_ticks(getpid());
            if (pid)
                cpu0 = proc_ticks(pid);
        }
        if (g_counting && t >= t_end) {
            t_end_real = t;
            self1 = proc_ticks(getpid());
            if (pid)
                cpu1 = proc_ticks(pid);
            break;
        }
        int n = epoll_wait(ep, evs, 256, 50);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            die("epoll_wait");
        }
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (c->fd < 0)
                continue;
            int bad = 0;
            if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                for (;;) { /* edge-triggered: read until EAGAIN */
                    ssize_t r = read(c->fd, c->rbuf + c->rlen, RBUF - c->rlen);
                    if (r > 0) {
                        c->rlen += (size_t)r;
                        if (parse(c) < 0) {
                            bad = 1;
                            break;
                        }
                        continue;
                    }
                    if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
                        fprintf(stderr, "ws_load: connection %d ended (%s)\n", (int)(c - cs),
                                r == 0 ? "EOF" : strerror(errno));
                        bad = 1;
                    }
                    if (r < 0 && errno == EINTR)
                        continue;
                    break;
                }
            }
            if (!bad && c->state == ST_OPEN && flush_owed(c) < 0)
                bad = 1;
            if (bad) {
                close(c->fd);
                c->fd = -1;
                failed++;
            }
        }
    }
    double secs = t_end_real - t_count_real;
    printf("conns=%d inflight=%d size=%d seconds=%.3f messages=%llu rate=%.0f", conns,
           g_inflight, g_size, secs, g_count, (double)g_count / secs);
    long tck = sysconf(_SC_CLK_TCK);
    /* the client's own share of a core: near 1.00, the client was the limit */
    printf(" client_cores=%.2f", (double)(self1 - self0) / (double)tck / secs);
    if (pid) {
        if (cpu0 < 0 || cpu1 < 0) {
            printf(" server_cpu_s=? cpu_us_per_msg=?");
        } else {
            double cpu = (double)(cpu1 - cpu0) / (double)tck;
            printf(" server_cpu_s=%.2f cpu_us_per_msg=%.3f", cpu,
                   g_count ? cpu * 1e6 / (double)g_count : 0.0);
        }
    }
    printf(" failed_conns=%d bad_echoes=%llu\n", failed, g_bad);
    for (int i = 0; i < conns; i++)
        if (cs[i].fd >= 0)
            close(cs[i].fd);
    return (failed || g_bad || g_count == 0) ? 1 : 0;
}
