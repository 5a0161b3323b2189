/* Whether a connection serves another request after this one: one flag per request that
 * starts as HTTP says and can only be lowered, each time with the reason the connection will
 * be closed under (the close reasons that are counted). Every input goes through here:
 * the HTTP version and the Connection field (ls_keepalive_begin), then the handler, server
 * stop, the request limit, an unread body over the discard limit, a protocol error, a final
 * status below 200, a 2xx to CONNECT, a body shorter than announced, a close-delimited body
 * and the client's end of input (ls_keepalive_lower at each site). The head announces the
 * flag; when the response ends, the connection reads it once to go on or to close. */
#ifndef LS_KEEPALIVE_H
#define LS_KEEPALIVE_H

#include "transport.h"

#include <stdint.h>

typedef struct ls_keepalive {
    uint8_t on;     /* another request may follow on this connection */
    uint8_t reason; /* once lowered: the ls_close_reason of the first cause */
} ls_keepalive;

/* What HTTP says before any server state counts (RFC 9112 9.3): HTTP/1.1 persists unless the
 * request's Connection field has "close"; HTTP/1.0 persists only with "keep-alive". */
void ls_keepalive_begin(ls_keepalive *k, int http_major, int http_minor, int conn_close,
                        int conn_keepalive);
/* Lowers the flag; the reason of the first lowering is kept. */
void ls_keepalive_lower(ls_keepalive *k, ls_close_reason why);
static inline int ls_keepalive_on(const ls_keepalive *k) { return k->on; }
static inline ls_close_reason ls_keepalive_reason(const ls_keepalive *k) {
    return (ls_close_reason)k->reason;
}

/* How long an idle keep-alive connection is kept open: the timeout it was announced with
 * (Keep-Alive: timeout=S) plus a margin of a quarter of it, at most 1 s (Node.js's
 * keepAliveTimeoutBuffer). A client counts S from when it got the response, which is later
 * than the server's count starts (the loop's cached time, the delivery, the client's own
 * scheduling); without the margin a request sent just before S could cross the FIN and be
 * lost. */
uint64_t ls_keepalive_idle_ms(uint64_t timeout_ms);

#endif
