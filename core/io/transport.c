#include "transport.h"

#include "stats.h"

#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

const char *const ls_close_reason_names[LS_CLOSE_REASONS] = {
    "finish-close", "idle",  "header-timeout", "body-timeout",   "send-timeout",
    "limit",        "destroy", "peer-reset",   "protocol-error", "shutdown",
    "close-timeout", "ping-timeout",
};

/* What only some transports need, made on first need: most output goes out whole through
 * uv_try_write, and most connections never linger. A write and a shutdown are never in
 * flight together (the shutdown waits for an empty queue), so they share the space. */
struct ls_ioreq {
    union {
        uv_write_t write;
        uv_shutdown_t shutdown;
        uv_connect_t connect; /* an outbound connect, before any write */
    };
    char *piece;              /* a file range's bytes read to wait for the socket (flush) */
    uint64_t linger_deadline; /* lingering ends by then */
};

static struct ls_ioreq *ioreq(ls_transport *t) {
    if (!t->ioreq && (t->ioreq = malloc(sizeof *t->ioreq)) != NULL)
        t->ioreq->piece = NULL;
    return t->ioreq;
}

#define MAX_IOV 64
#define MIN_READ 16384    /* room offered to a read into the transport's own buffer */
#define PIECE (64 * 1024) /* a file range read to wait for the socket */
#define STOP_WAIT_MS 500  /* lingering while the process stops */
#define PENDING_ROUNDS 8  /* deferred work that defers more runs again at most this often per
                             turn: past that it waits, so one busy transport cannot starve
                             the rest */

static void on_write(uv_write_t *w, int status);

/* ---------------------------------------------------------------- the shared io state */

static void on_idle(uv_idle_t *idle) { ls_io_run_pending(idle->data); }

static void on_send_timeout(ls_deadline *d) {
    ls_transport *t = ls_transport_of_deadline(d);
    ls_io *io = t->io;
    LS_LOG(LS_LOG_DEBUG, "%s: send timeout", ls_transport_peer(t));
    ls_transport_close(t, LS_CLOSE_SEND_TIMEOUT, 1);
    ls_io_run_pending(io);
}

static void on_linger_timeout(ls_deadline *d) {
    ls_transport *t = ls_transport_of_deadline(d);
    ls_io *io = t->io;
    ls_transport_close(t, (ls_close_reason)t->close_reason, 0);
    ls_io_run_pending(io);
}

int ls_io_init(ls_io *io, uv_loop_t *loop) {
    memset(io, 0, sizeof *io);
    io->loop = loop;
    io->readbuf_size = 64 * 1024;
    io->readbuf = malloc(io->readbuf_size);
    if (!io->readbuf)
        return UV_ENOMEM;
    ls_deadlines_init(&io->deadlines, loop);
    io->kind_send = ls_deadline_kind(&io->deadlines, on_send_timeout);
    io->kind_linger = ls_deadline_kind(&io->deadlines, on_linger_timeout);
    uv_idle_init(loop, &io->idle);
    io->idle.data = io;
    return 0;
}

void ls_io_close(ls_io *io, uv_close_cb cb, void *data) {
    if (uv_is_closing((uv_handle_t *)&io->idle))
        return;
    io->idle.data = data;
    uv_close((uv_handle_t *)&io->idle, cb);
    ls_deadlines_close(&io->deadlines, cb, data);
}

void ls_io_free(ls_io *io) {
    free(io->readbuf);
    io->readbuf = NULL;
}

void ls_transport_defer(ls_transport *t) {
    ls_io *io = t->io;
    if (t->pending || t->closing)
        return;
    t->pending = 1;
    t->next_pending = io->pending;
    io->pending = t;
    if (!uv_is_closing((uv_handle_t *)&io->idle))
        uv_idle_start(&io->idle, on_idle);
}

void ls_io_run_pending(ls_io *io) {
    if (io->depth)
        return;
    io->depth++;
    for (int round = 0; round < PENDING_ROUNDS && io->pending; round++) {
        ls_transport *list = io->pending;
        io->pending = NULL;
        while (list) {
            ls_transport *t = list;
            list = t->next_pending;
            t->next_pending = NULL;
            t->pending = 0;
            if (!t->closing)
                t->proto->on_deferred(t);
        }
    }
    /* Small writes held back while the work ran leave now, in as few packets as they fit. */
    while (io->corked) {
        ls_transport *t = io->corked;
        io->corked = t->next_corked;
        t->next_corked = NULL;
        t->corked = 0;
        uv_os_fd_t fd;
        int zero = 0;
        if (!t->closing && uv_fileno((uv_handle_t *)&t->tcp, &fd) == 0)
            setsockopt(fd, IPPROTO_TCP, TCP_CORK, &zero, sizeof zero);
    }
    io->depth--;
    if (!io->pending && !uv_is_closing((uv_handle_t *)&io->idle))
        uv_idle_stop(&io->idle);
}

/* ---------------------------------------------------------------- open and close */

static void unlink_from(ls_transport **head, ls_transport *t, size_t link) {
    for (ls_transport **p = head; *p; p = (ls_transport **)((char *)*p + link))
        if (*p == t) {
            *p = *(ls_transport **)((char *)t + link);
            return;
        }
}

static void on_closed(uv_handle_t *h) {
    ls_transport *t = h->data;
    ls_io *io = t->io;
    if (t->proto) {
        if (!t->outbound) {
            io->closes[t->close_reason]++;
            if (!io->uncounted)
                ls_stat_add(&ls_stats_self->closes[t->close_reason], 1);
        }
        if (t->pending)
            unlink_from(&io->pending, t, offsetof(ls_transport, next_pending));
        if (t->corked)
            unlink_from(&io->corked, t, offsetof(ls_transport, next_corked));
        t->proto->on_closed(t);
    }
    ls_outq_free(&t->out);
    free(t->in);
    if (t->ioreq)
        free(t->ioreq->piece);
    free(t->ioreq);
    free(t);
    ls_io_run_pending(io);
}

static ls_transport *transport_new(ls_io *io) {
    ls_transport *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->io = io;
    ls_outq_init(&t->out);
    uv_tcp_init(io->loop, &t->tcp);
    t->tcp.data = t;
    return t;
}

/* An accepted socket: no Nagle delay (responses are written whole), and the peer's address. */
static ls_transport *transport_started(ls_transport *t) {
    uv_tcp_nodelay(&t->tcp, 1);
    struct sockaddr_storage ss;
    int len = sizeof ss;
    if (uv_tcp_getpeername(&t->tcp, (struct sockaddr *)&ss, &len) == 0) {
        t->peer_family = (uint8_t)ss.ss_family;
        if (ss.ss_family == AF_INET6)
            memcpy(t->peer_addr, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
        else
            memcpy(t->peer_addr, &((struct sockaddr_in *)&ss)->sin_addr, 4);
    }
    return t;
}

ls_transport *ls_transport_accept(ls_io *io, uv_stream_t *listener) {
    ls_transport *t = transport_new(io);
    if (!t)
        return NULL;
    if (uv_accept(listener, (uv_stream_t *)&t->tcp) != 0) {
        uv_close((uv_handle_t *)&t->tcp, on_closed);
        return NULL;
    }
    return transport_started(t);
}

ls_transport *ls_transport_open_fd(ls_io *io, int fd) {
    ls_transport *t = transport_new(io);
    if (!t || uv_tcp_open(&t->tcp, fd) != 0) {
        close(fd);
        if (t)
            uv_close((uv_handle_t *)&t->tcp, on_closed);
        return NULL;
    }
    return transport_started(t);
}

ls_transport *ls_transport_new_outbound(ls_io *io, const ls_proto *proto, void *ctx) {
    ls_transport *t = transport_new(io);
    if (!t)
        return NULL;
    t->outbound = 1;
    t->no_cork = 1; /* requests go out whole, one write each */
    t->proto = proto;
    t->ctx = ctx;
    return t;
}

static void on_connect(uv_connect_t *req, int status) {
    ls_transport *t = req->data;
    if (status == UV_ECANCELED || t->closing)
        return;
    if (status == 0)
        transport_started(t);
    if (status == 0) /* (failures are counted where the caller hears of them: lua/tcp.c) */
        ls_stat_add(&ls_stats_self->outbound_connects, 1);
    t->proto->on_connected(t, status);
    ls_io_run_pending(t->io);
}

int ls_transport_connect(ls_transport *t, const struct sockaddr *addr) {
    if (!ioreq(t))
        return UV_ENOMEM;
    t->ioreq->connect.data = t;
    return uv_tcp_connect(&t->ioreq->connect, &t->tcp, addr, on_connect);
}

int ls_transport_connect_unix(ls_transport *t, const char *path) {
    struct sockaddr_un sun;
    if (strlen(path) >= sizeof sun.sun_path)
        return UV_ENAMETOOLONG;
    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    strcpy(sun.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return uv_translate_sys_error(errno);
    /* A local connect completes at once, or fails (EAGAIN: the listener's backlog is full). */
    if (connect(fd, (struct sockaddr *)&sun, sizeof sun) != 0) {
        int err = uv_translate_sys_error(errno);
        close(fd);
        return err;
    }
    int r = uv_tcp_open(&t->tcp, fd); /* any stream socket: libuv only reads and writes it */
    if (r != 0)
        close(fd);
    return r;
}

void ls_transport_set_proto(ls_transport *t, const ls_proto *proto, void *ctx) {
    t->proto = proto;
    t->ctx = ctx;
}

void ls_transport_close(ls_transport *t, ls_close_reason why, int reset) {
    if (t->closing)
        return;
    LS_LOG(LS_LOG_DEBUG, "%s: close (%s%s)", ls_transport_peer(t), ls_close_reason_names[why],
           reset && !t->shutdown_sent ? ", reset" : "");
    t->closing = 1;
    t->close_reason = (uint8_t)why;
    t->reading = 0;
    ls_outq_clear(&t->out);
    if (!reset || t->shutdown_sent || uv_tcp_close_reset(&t->tcp, on_closed) != 0)
        uv_close((uv_handle_t *)&t->tcp, on_closed);
    ls_deadline_clear(&t->deadline);
}

/* Formatted when asked (logs, req.remoteAddress) rather than kept in every transport. */
const char *ls_transport_peer(const ls_transport *t) {
    static char name[64];
    if ((t->peer_family != AF_INET && t->peer_family != AF_INET6) ||
        !inet_ntop(t->peer_family, t->peer_addr, name, sizeof name))
        strcpy(name, "?");
    return name;
}

/* ---------------------------------------------------------------- reading */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    (void)suggested;
    ls_transport *t = h->data;
    ls_io *io = t->io;
    if (t->in_len == 0 || t->lingering) {
        *buf = uv_buf_init(io->readbuf, (unsigned)io->readbuf_size);
        return;
    }
    if (t->in_cap - t->in_len < MIN_READ) {
        size_t cap = t->in_cap ? t->in_cap * 2 : 2 * MIN_READ;
        while (cap - t->in_len < MIN_READ)
            cap *= 2;
        char *in = realloc(t->in, cap);
        if (!in) {
            *buf = uv_buf_init(NULL, 0); /* libuv reports UV_ENOBUFS */
            return;
        }
        t->in = in, t->in_cap = cap;
    }
    *buf = uv_buf_init(t->in + t->in_len, (unsigned)(t->in_cap - t->in_len));
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
    ls_transport *t = stream->data;
    ls_io *io = t->io;
    if (nread == 0 || t->closing)
        return;
    if (nread < 0) {
        if (nread == UV_EOF)
            t->peer_eof = 1;
        if (t->lingering) /* what lingering waited for */
            ls_transport_close(t, nread == UV_EOF ? (ls_close_reason)t->close_reason
                                                  : LS_CLOSE_PEER, nread != UV_EOF);
        else
            t->proto->on_eof(t, nread == UV_EOF ? 0 : (int)nread);
        ls_io_run_pending(io);
        return;
    }
    t->read_progress = 1;
    if (!t->outbound && !io->uncounted)
        ls_stat_add(&ls_stats_self->bytes_in, (uint64_t)nread);
    if (t->lingering) {
        ls_transport_arm(t, LS_DEADLINE_NONE, 0, 1); /* thrown away; the silence starts again */
        return;
    }
    if (buf->base == io->readbuf) {
        t->proto->on_data(t, buf->base, (size_t)nread, 0);
    } else {
        t->in_len += (size_t)nread;
        t->proto->on_data(t, t->in, t->in_len, 1);
    }
    ls_io_run_pending(io);
}

void ls_transport_read_set(ls_transport *t, int want) {
    if (want && !t->reading)
        uv_read_start((uv_stream_t *)&t->tcp, on_alloc, on_read);
    else if (!want && t->reading)
        uv_read_stop((uv_stream_t *)&t->tcp);
    t->reading = want ? 1 : 0;
}

int ls_transport_keep(ls_transport *t, const char *data, size_t len, int from_in) {
    if (len == 0) {
        t->in_len = 0;
        return 0;
    }
    if (from_in) {
        if (data != t->in)
            memmove(t->in, data, len);
        t->in_len = len;
        return 0;
    }
    if (len > t->in_cap) {
        size_t cap = len < 2 * MIN_READ ? 2 * MIN_READ : len;
        char *in = realloc(t->in, cap);
        if (!in)
            return -1;
        t->in = in, t->in_cap = cap;
    }
    memcpy(t->in, data, len);
    t->in_len = len;
    return 0;
}

/* ---------------------------------------------------------------- writing */

void ls_transport_cork(ls_transport *t) {
    uv_os_fd_t fd;
    int one = 1;
    if (t->corked || t->no_cork || t->closing)
        return;
    if (uv_fileno((uv_handle_t *)&t->tcp, &fd) == 0 &&
        setsockopt(fd, IPPROTO_TCP, TCP_CORK, &one, sizeof one) == 0) {
        t->corked = 1;
        t->next_corked = t->io->corked;
        t->io->corked = t;
    } else {
        t->no_cork = 1; /* not TCP (a socket handed over by a test): never try again */
    }
}

static void took(ls_transport *t, size_t n) {
    ls_outq_consume(&t->out, n);
    t->wire_bytes += n;
    if (!t->outbound && !t->io->uncounted)
        ls_stat_add(&ls_stats_self->bytes_out, n);
    t->write_progress = 1;
}

/* Starts one asynchronous write of bufs; its completion (on_write) resumes flushing. */
static int write_async(ls_transport *t, uv_buf_t *bufs, size_t n) {
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += bufs[i].len;
    if (!ioreq(t)) {
        ls_transport_close(t, LS_CLOSE_LIMIT, 1);
        return -1;
    }
    t->ioreq->write.data = t;
    if (uv_write(&t->ioreq->write, (uv_stream_t *)&t->tcp, bufs, (unsigned)n, on_write) < 0) {
        ls_transport_close(t, LS_CLOSE_PEER, 1);
        return -1;
    }
    t->inflight = total;
    return 0;
}

/* Sends from the file range at the front with sendfile, from the loop (no thread-pool round
 * trip per piece). When the socket is full, the next piece is read into memory and written
 * asynchronously instead: its completion says the socket has room again (libuv offers no
 * other way to wait for a stream to become writable). Returns 1 to go on, 0 to stop. */
static int flush_file(ls_transport *t, const ls_seg *f) {
    uv_os_fd_t sock;
    if (uv_fileno((uv_handle_t *)&t->tcp, &sock) != 0)
        return 0;
    size_t left = f->len - f->off;
    off_t pos = (off_t)(f->pos + (int64_t)f->off);
    ssize_t r = sendfile(sock, f->fd, &pos, left > LS_OUTQ_MAX_BUF ? LS_OUTQ_MAX_BUF : left);
    if (r > 0) {
        took(t, (size_t)r);
        return 1;
    }
    if (r < 0 && errno != EAGAIN && errno != EINVAL && errno != ENOSYS) {
        ls_transport_close(t, LS_CLOSE_PEER, 1);
        return 0;
    }
    if (r == 0) {
        LS_LOG(LS_LOG_WARN, "%s: file ended before the bytes queued from it", ls_transport_peer(t));
        ls_transport_close(t, LS_CLOSE_LIMIT, 1);
        return 0;
    }
    /* The socket is full (or the file cannot be sent with sendfile): one piece by hand. */
    size_t n = left < PIECE ? left : PIECE;
    if (!ioreq(t) || (!t->ioreq->piece && !(t->ioreq->piece = malloc(PIECE)))) {
        ls_transport_close(t, LS_CLOSE_LIMIT, 1);
        return 0;
    }
    ssize_t got = pread(f->fd, t->ioreq->piece, n, (off_t)(f->pos + (int64_t)f->off));
    if (got <= 0) {
        LS_LOG(LS_LOG_WARN, "%s: cannot read a queued file range: %s", ls_transport_peer(t),
               got < 0 ? strerror(errno) : "end of file");
        ls_transport_close(t, LS_CLOSE_LIMIT, 1);
        return 0;
    }
    uv_buf_t buf = uv_buf_init(t->ioreq->piece, (unsigned)got);
    write_async(t, &buf, 1);
    return 0;
}

/* As uv_try_write, for memory a file range follows (a response head before its file): on
 * TCP with MSG_MORE, so that the head leaves in the file's first packet rather than in one of
 * its own (sendfile, which comes next, pushes; if it cannot, the ACKs of what is in flight or
 * the write that waits for room do). */
static int write_more(ls_transport *t, uv_buf_t *bufs, size_t n) {
    uv_os_fd_t fd;
    if ((t->peer_family != AF_INET && t->peer_family != AF_INET6) ||
        uv_fileno((uv_handle_t *)&t->tcp, &fd) != 0)
        return uv_try_write((uv_stream_t *)&t->tcp, bufs, (unsigned)n);
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = (struct iovec *)bufs; /* uv_buf_t is laid out as struct iovec on Unix */
    msg.msg_iovlen = n;
    ssize_t r;
    do
        r = sendmsg(fd, &msg, MSG_MORE | MSG_DONTWAIT | MSG_NOSIGNAL);
    while (r < 0 && errno == EINTR);
    if (r >= 0)
        return (int)r;
    return errno == EAGAIN || errno == EWOULDBLOCK ? UV_EAGAIN : uv_translate_sys_error(errno);
}

void ls_transport_flush(ls_transport *t) {
    uv_buf_t bufs[MAX_IOV];
    while (!t->inflight && t->out.bytes && !t->closing) {
        const ls_seg *f = ls_outq_front_file(&t->out);
        if (f) {
            if (!flush_file(t, f))
                return;
            continue;
        }
        size_t n = ls_outq_bufs(&t->out, bufs, MAX_IOV);
        int r = ls_outq_file_follows(&t->out) ? write_more(t, bufs, n)
                                              : uv_try_write((uv_stream_t *)&t->tcp, bufs, (unsigned)n);
        if (r > 0) {
            took(t, (size_t)r);
        } else if (r < 0 && r != UV_EAGAIN) {
            ls_transport_close(t, LS_CLOSE_PEER, 1);
            return;
        }
        if (!t->out.bytes || ls_outq_front_file(&t->out))
            continue;
        n = ls_outq_bufs(&t->out, bufs, MAX_IOV);
        write_async(t, bufs, n);
        return;
    }
}

static void on_write(uv_write_t *w, int status) {
    ls_transport *t = w->data;
    size_t n = t->inflight;
    t->inflight = 0;
    free(t->ioreq->piece);
    t->ioreq->piece = NULL;
    if (status == UV_ECANCELED || t->closing)
        return;
    if (status < 0) {
        ls_transport_close(t, LS_CLOSE_PEER, 1);
    } else {
        took(t, n);
        ls_transport_flush(t); /* the rest of the queue, if the socket takes it */
        if (!t->closing)
            t->proto->on_sent(t);
    }
    ls_io_run_pending(t->io);
}

/* ---------------------------------------------------------------- deadlines and lingering */

void ls_transport_arm(ls_transport *t, unsigned kind, uint64_t at, int progress_read) {
    if (t->closing)
        return;
    ls_io *io = t->io;
    uint64_t now = ls_io_now(io);
    int progress = progress_read ? t->read_progress : 0;
    if (t->lingering) {
        kind = io->kind_linger;
        at = t->ioreq->linger_deadline;
        if (at > now + io->linger_idle_ms)
            at = now + io->linger_idle_ms;
        progress = t->read_progress;
    } else if (t->out.bytes || t->inflight) {
        kind = io->kind_send;
        at = now + io->send_timeout_ms;
        progress = t->write_progress;
    }
    if (kind == t->dl_kind && !progress &&
        (kind == LS_DEADLINE_NONE || ls_deadline_armed(&t->deadline)))
        return;
    t->dl_kind = (uint8_t)kind;
    t->read_progress = t->write_progress = 0;
    if (kind == LS_DEADLINE_NONE)
        ls_deadline_clear(&t->deadline);
    else
        ls_deadline_set(&io->deadlines, &t->deadline, kind, at > now ? at : now + 1);
}

static void on_shutdown(uv_shutdown_t *req, int status) {
    ls_transport *t = req->data;
    if (status < 0 && status != UV_ECANCELED && !t->closing)
        ls_transport_close(t, LS_CLOSE_PEER, 0);
}

void ls_transport_linger(ls_transport *t, ls_close_reason why) {
    if (t->closing || t->lingering)
        return;
    t->close_reason = (uint8_t)why;
    if (t->peer_eof) {
        ls_transport_close(t, why, 0);
        return;
    }
    t->lingering = 1;
    t->in_len = 0;
    if (!ioreq(t)) {
        ls_transport_close(t, why, 0);
        return;
    }
    t->ioreq->shutdown.data = t;
    if (uv_shutdown(&t->ioreq->shutdown, (uv_stream_t *)&t->tcp, on_shutdown) < 0) {
        ls_transport_close(t, why, 0);
        return;
    }
    t->shutdown_sent = 1;
    uint64_t now = uv_now(t->io->loop);
    t->ioreq->linger_deadline = now + t->io->linger_time_ms;
    if (t->io->stopping && t->io->linger_time_ms > STOP_WAIT_MS)
        t->ioreq->linger_deadline = now + STOP_WAIT_MS; /* exit is not held up for long */
    ls_transport_read(t, 1);
    ls_transport_arm(t, LS_DEADLINE_NONE, 0, 0);
}
