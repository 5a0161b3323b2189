/* Whether a connection stays open after a response (DESIGN.md, lifecycle point 3). */
#ifndef LS_KEEPALIVE_H
#define LS_KEEPALIVE_H

#include <stdint.h>

/* What HTTP says before any server state counts: HTTP/1.1 persists unless the request's
 * Connection field has "close"; HTTP/1.0 persists only with "keep-alive". */
int ls_keepalive_initial(int http_major, int http_minor, int conn_close, int conn_keepalive);

typedef struct ls_keepalive_in {
    int wanted;             /* res.shouldKeepAlive as the handler left it */
    int shutting_down;      /* the server is stopping */
    int at_request_limit;   /* this is the last request the connection may serve */
    int unread_body_over;   /* the request body is unread beyond the discard limit */
    int protocol_error;     /* the input can no longer be trusted */
    int close_delimited;    /* the body ends with the connection (HTTP/1.0 stream) */
    int peer_done;          /* the client half-closed its side */
} ls_keepalive_in;

/* The final answer, to be said in the response head. */
int ls_keepalive_decide(const ls_keepalive_in *in);

/* How long an idle keep-alive connection is kept open: the timeout it was announced with
 * (Keep-Alive: timeout=S) plus a margin of a quarter of it, at most 1 s (Node.js's
 * keepAliveTimeoutBuffer). A client counts S from when it got the response, which is later
 * than the server's count starts (the loop's cached time, the delivery, the client's own
 * scheduling); without the margin a request sent just before S could cross the FIN and be
 * lost. */
uint64_t ls_keepalive_idle_ms(uint64_t timeout_ms);

#endif
