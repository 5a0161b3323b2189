/* The request parse glue: llhttp's callbacks fill an ls_request and enforce the limits and
 * the strict points llhttp 8.1 leaves open; the connection sees events instead (a message
 * begins, body bytes, the head is complete, the message is complete, an error with the
 * status to answer). */
#ifndef LS_PARSE_H
#define LS_PARSE_H

#include "request.h"

#include <llhttp.h>
#include <stddef.h>

typedef struct ls_parse_events {
    /* A new message starts: the request must be ready to be filled. */
    void (*on_begin)(void *ctx);
    /* Body bytes of the current message. Returns 0, or a status to fail with (413), or -1
     * when out of memory. */
    int (*on_body)(void *ctx, const char *at, size_t len);
} ls_parse_events;

typedef struct ls_parse_limits {
    size_t max_header; /* request line and header block -> 431 */
    size_t max_url;    /* request target -> 414 */
} ls_parse_limits;

/* The state of parsing one connection's messages, llhttp's own included. Lent from the pool
 * (core/http/pool.h) while a connection parses, so an idle connection holds none of it. */
typedef struct ls_parse {
    llhttp_t parser;
    ls_request *req;
    const ls_parse_events *events;
    void *ctx;
    ls_parse_limits limits;
    int error_status;     /* the status an error answers with (0: from llhttp's error) */
    int pause;            /* why llhttp paused: the head or the message is complete */
    size_t head_bytes;    /* raw bytes of the request head so far */
    const char *head_mark; /* where this execute's head bytes start */
    const char *exec_start, *exec_end; /* the input llhttp is executing */
    unsigned in_head : 1;      /* between a request's first method byte and its head's end */
    unsigned in_trailers : 1;  /* between the last chunk's line and the trailer section's end */
    unsigned cr_pending : 1;   /* the head or trailer bytes checked so far end with a CR */
    unsigned crlf_check : 2;   /* bytes of the CRLF after chunk data still to verify */
    unsigned value_at_end : 1; /* the last field value piece ended with the input */
} ls_parse;

enum {
    LS_PARSE_MORE,  /* every byte was used: more input is needed */
    LS_PARSE_HEAD,  /* a request head is complete (req is filled) */
    LS_PARSE_END,   /* the message is complete; ls_parse_resume before the next one */
    LS_PARSE_ERROR, /* the input is malformed or over a limit: answer error_status */
};

/* Starts parsing requests into req (whatever p held before is forgotten). */
void ls_parse_start(ls_parse *p, ls_request *req, const ls_parse_events *events, void *ctx,
                    ls_parse_limits limits);
/* Parses len bytes (len may be 0 right after a head: a message without a body completes
 * there). Stops after a head, after a message, at an error, or when the input is used up;
 * *used says how many bytes were taken. */
int ls_parse_execute(ls_parse *p, const char *data, size_t len, size_t *used);
/* Goes on after LS_PARSE_END. */
void ls_parse_resume(ls_parse *p);
/* llhttp's words for the last error (for the log). */
const char *ls_parse_error_text(const ls_parse *p);

#endif
