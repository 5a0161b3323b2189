/* Response body framing: the head and the body bytes of a response put into the output queue
 * with the framing the head announced (Content-Length, chunked, close-delimited, or none).
 * Functions over the response and the queue only: the connection decides when, these decide
 * which bytes. */
#ifndef LS_RESPONSE_BODY_H
#define LS_RESPONSE_BODY_H

#include "outq.h"
#include "response.h"
#include "response_head.h"

#include <stddef.h>

/* Whether len more body bytes go on the wire: 1 yes; 0 no, the response has no body (they
 * are counted, for a HEAD's Content-Length, and released); LS_ELENGTH, more than the
 * Content-Length the handler set (released). */
int ls_body_admit(ls_response *res, int head_request, size_t len, ls_release_fn rel,
                  void *ctx);
/* Appends admitted body bytes: to res->pre while the head is not out, else to out with the
 * response's framing. With rel the bytes are used in place and rel(ctx) runs once they are
 * no longer needed (also on failure); else they are copied. Returns LS_OK or LS_ENOMEM. */
int ls_body_append(ls_response *res, ls_outq *out, const char *data, size_t len,
                   ls_release_fn rel, void *ctx);
/* The same for len bytes of the open file fd from offset pos (sent with sendfile). */
int ls_body_append_file(ls_response *res, ls_outq *out, int fd, int64_t pos, size_t len,
                        ls_release_fn rel, void *ctx);
/* Queues the head h, then the body held back so far (res->pre), then data (the last piece of
 * a response that ends now, already counted in body_bytes), then the end of the body when
 * the response has ended. Marks the head sent. Returns LS_OK or LS_ENOMEM (rel(ctx) has run
 * either way). */
int ls_body_emit_head(ls_response *res, ls_outq *out, const ls_head *h, const char *data,
                      size_t len, ls_release_fn rel, void *ctx);
/* Queues the end of the body once, after the head (the last chunk when chunked). Returns 1
 * when the body is complete, 0 when it is shorter than its Content-Length: the connection
 * must then end for the client to see the truncation. */
int ls_body_end(ls_response *res, ls_outq *out);

#endif
