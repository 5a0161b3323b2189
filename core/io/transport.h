/* The transport: one connected stream socket with its input buffer, its output queue (memory
 * and file ranges), cork and flush, shutdown plus lingering close, the close reason, and its
 * deadline. It knows nothing of HTTP: a protocol sits on it through ls_proto (data arrived,
 * output sent, the peer's end of input, deferred work, closed), and can hand the transport
 * to another protocol (an upgrade) with ls_transport_set_proto.
 *
 * Memory: the transport is freed in its handle's close callback, right after the protocol's
 * on_closed, so a protocol object may be freed there too. Nothing is freed while a caller
 * could still be on the stack: closing only starts the handle's close. */
#ifndef LS_TRANSPORT_H
#define LS_TRANSPORT_H

#include "deadline.h"
#include "outq.h"

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* Why a connection closed; each close is counted under exactly one. */
typedef enum {
    LS_CLOSE_FINISH,   /* a response that ended the connection */
    LS_CLOSE_IDLE,     /* keep-alive idle timeout, or the client closed between requests */
    LS_CLOSE_HEADER_TIMEOUT,
    LS_CLOSE_BODY_TIMEOUT,
    LS_CLOSE_SEND_TIMEOUT,
    LS_CLOSE_LIMIT,    /* output over max_output */
    LS_CLOSE_DESTROY,  /* the application destroyed it */
    LS_CLOSE_PEER,     /* the peer reset or left mid-exchange */
    LS_CLOSE_PROTOCOL, /* malformed input */
    LS_CLOSE_SHUTDOWN,
    LS_CLOSE_CLOSE_TIMEOUT, /* a WebSocket peer that never answered our close frame */
    LS_CLOSE_PING_TIMEOUT,  /* a WebSocket peer silent after our ping */
    LS_CLOSE_REASONS
} ls_close_reason;

extern const char *const ls_close_reason_names[LS_CLOSE_REASONS];

typedef struct ls_transport ls_transport;

/* What the transports of one event loop share: the loop, the deadline timer, one read
 * buffer, the deferred-work and cork lists, the transport's bounds and the close counts. */
typedef struct ls_io {
    uv_loop_t *loop;
    ls_deadlines deadlines;
    unsigned kind_send, kind_linger; /* the transport's own deadline kinds */
    char *readbuf; /* shared by all reads that start with no leftover input */
    size_t readbuf_size;
    ls_transport *pending; /* transports with deferred work */
    ls_transport *corked;  /* sockets holding back small writes until that work is done */
    uv_idle_t idle;        /* runs deferred work left over for the next loop turn */
    int depth;             /* >0 while deferred work runs */
    int stopping;          /* lingering is kept short: the process is about to exit */
    uint64_t send_timeout_ms;  /* no write progress while output waits */
    uint64_t linger_time_ms;   /* lingering close: the whole time ... */
    uint64_t linger_idle_ms;   /* ... and the longest silence */
    uint64_t closes[LS_CLOSE_REASONS];
    int uncounted; /* not in the metrics (the metrics listener's own connections) */
} ls_io;

/* The protocol on a transport. Every callback comes from a libuv callback or from deferred
 * work, never from inside a call the protocol made, except on_closed (from the loop). */
typedef struct ls_proto {
    /* Input arrived: len bytes at data. from_in: data lies in the transport's own input
     * buffer (what ls_transport_keep left there, then the new bytes); otherwise in the shared
     * read buffer, valid only during the call. The protocol keeps what it did not use with
     * ls_transport_keep. */
    void (*on_data)(ls_transport *t, const char *data, size_t len, int from_in);
    /* The peer ended its input (err 0: FIN) or the read failed (a libuv error). */
    void (*on_eof)(ls_transport *t, int err);
    /* An asynchronous write completed: the kernel took more of the queue (and the transport
     * has started writing what is left). */
    void (*on_sent)(ls_transport *t);
    /* Deferred work (ls_transport_defer), before the loop waits again. */
    void (*on_deferred)(ls_transport *t);
    /* The handle is closed; the transport's memory goes right after this returns. */
    void (*on_closed)(ls_transport *t);
    /* An outbound connect (ls_transport_connect) ended: status 0 or a libuv error. */
    void (*on_connected)(ls_transport *t, int status);
} ls_proto;

struct ls_transport {
    uv_tcp_t tcp;
    ls_io *io;
    const ls_proto *proto;
    void *ctx;            /* the protocol's object */
    ls_deadline deadline; /* the one bound in force, of kind dl_kind */
    struct ls_ioreq *ioreq; /* a write or shutdown in flight, lingering: made on first need */
    ls_outq out;
    size_t inflight; /* bytes handed to uv_write and not yet confirmed */
    char *in;        /* input kept for later (pipelined, or a partial message) */
    size_t in_len, in_cap;
    uint64_t wire_bytes; /* bytes the kernel took */
    ls_transport *next_pending, *next_corked;
    uint8_t peer_family;   /* AF_INET or AF_INET6 (0: unknown) */
    uint8_t peer_addr[16]; /* the peer's address, formatted when asked */
    uint8_t close_reason;
    uint8_t dl_kind;
    unsigned reading : 1;
    unsigned lingering : 1;
    unsigned closing : 1;
    unsigned peer_eof : 1;
    unsigned shutdown_sent : 1;
    unsigned no_cork : 1;
    unsigned corked : 1;
    unsigned pending : 1;
    unsigned outbound : 1;       /* we connected it: not counted in io->closes */
    unsigned read_progress : 1;  /* bytes arrived since the deadline was armed */
    unsigned write_progress : 1; /* the kernel took bytes since the deadline was armed */
};

/* Sets up io on loop; the io's own handles close with ls_io_close. Returns 0 or UV_ENOMEM. */
int ls_io_init(ls_io *io, uv_loop_t *loop);
/* Runs the deferred work now (then uncorks); every libuv callback that may have deferred some
 * calls it before returning. Harmless while it already runs. */
void ls_io_run_pending(ls_io *io);
/* Closes the timer and the idle handle; cb runs for each of the two, with data. */
void ls_io_close(ls_io *io, uv_close_cb cb, void *data);
void ls_io_free(ls_io *io);

/* A transport for a socket accepted from listener, or for an open socket fd (taken over:
 * closed on failure). NULL on failure. The protocol is set with ls_transport_start. */
ls_transport *ls_transport_accept(ls_io *io, uv_stream_t *listener);
ls_transport *ls_transport_open_fd(ls_io *io, int fd);
/* A transport for an outbound connection, with no socket yet: ls_transport_connect or
 * ls_transport_connect_unix gives it one. NULL when out of memory. */
ls_transport *ls_transport_new_outbound(ls_io *io, const ls_proto *proto, void *ctx);
/* Starts connecting to addr; proto->on_connected tells the outcome. 0 or a libuv error (then
 * nothing was started). */
int ls_transport_connect(ls_transport *t, const struct sockaddr *addr);
/* Connects to a Unix-domain stream socket at once (local: no waiting); 0 or a libuv error. */
int ls_transport_connect_unix(ls_transport *t, const char *path);
/* Puts proto on t (also to hand t over to another protocol: an upgrade). */
void ls_transport_set_proto(ls_transport *t, const ls_proto *proto, void *ctx);

/* Reading on or off (off while the protocol cannot take more). */
void ls_transport_read_set(ls_transport *t, int want);
static inline void ls_transport_read(ls_transport *t, int want) {
    want = want && !t->peer_eof && !t->closing;
    if (want != (int)t->reading)
        ls_transport_read_set(t, want);
}
/* Keeps len unused bytes (from on_data; from_in as given there) at the start of t->in. */
int ls_transport_keep(ls_transport *t, const char *data, size_t len, int from_in);

/* Hands queued output to the kernel: a direct write first, else one asynchronous write. */
void ls_transport_flush(ls_transport *t);
/* Holds small writes back (TCP_CORK) until the deferred work in progress is done. */
void ls_transport_cork(ls_transport *t);
/* Schedules the protocol's on_deferred before the loop waits again. */
void ls_transport_defer(ls_transport *t);

/* Arms the deadline: the transport's own bounds come first (lingering; send while output
 * waits), else the protocol's: kind (LS_DEADLINE_NONE for none) at loop time `at`. A deadline
 * of the same kind is moved only when the progress it measures happened (progress_read:
 * input counts, else output), so busy connections do not move it on every event. */
void ls_transport_arm(ls_transport *t, unsigned kind, uint64_t at, int progress_read);
/* Whether ls_transport_arm(t, kind, ..., progress_read) would leave the deadline as it is
 * (the common case, checked before the protocol works out a time). */
static inline int ls_transport_armed_as(const ls_transport *t, unsigned kind, int progress_read) {
    return !t->lingering && !t->out.bytes && !t->inflight && kind == t->dl_kind &&
           !(progress_read && t->read_progress) &&
           (kind == LS_DEADLINE_NONE || t->deadline.next != NULL);
}

/* The exchange is over: FIN after the last queued byte, then input is read and thrown away
 * for at most the lingering time (a silence of linger_idle ends it sooner), then the close.
 * A peer that already ended its input is closed at once. */
void ls_transport_linger(ls_transport *t, ls_close_reason why);
/* The one way a transport ends. reset: RST instead of FIN (data unsent or unread). Queued
 * output is dropped. Harmless when closing already. */
void ls_transport_close(ls_transport *t, ls_close_reason why, int reset);

/* The transport whose deadline expired (in a deadline kind's callback). */
static inline ls_transport *ls_transport_of_deadline(ls_deadline *d) {
    return (ls_transport *)((char *)d - offsetof(ls_transport, deadline));
}
/* The peer's address as text (a static buffer, valid until the next call). */
const char *ls_transport_peer(const ls_transport *t);
static inline int ls_transport_busy(const ls_transport *t) {
    return t->out.bytes || t->inflight;
}
static inline uint64_t ls_io_now(const ls_io *io) { return io->loop->time; /* uv_now */ }

#endif
