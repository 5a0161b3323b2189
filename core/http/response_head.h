/* The response head as bytes: status line, header fields, and the framing of the body.
 * Pure functions, no I/O: the connection decides, this writes. */
#ifndef LS_RESPONSE_HEAD_H
#define LS_RESPONSE_HEAD_H

#include <stddef.h>
#include <stdint.h>

typedef struct ls_header {
    const char *name;
    size_t nlen;
    const char *value;
    size_t vlen;
} ls_header;

typedef enum {
    LS_FRAME_NONE,    /* no body at all (HEAD, 1xx, 204, 205, 304) */
    LS_FRAME_LENGTH,  /* Content-Length */
    LS_FRAME_CHUNKED, /* Transfer-Encoding: chunked */
    LS_FRAME_CLOSE,   /* the body ends when the connection closes (HTTP/1.0 streams) */
} ls_framing;

typedef struct ls_framing_in {
    int status;
    int head_request;    /* the request method was HEAD */
    int http11;          /* the request was HTTP/1.1 or later */
    int ended;           /* the whole body was known when the head went out */
    uint64_t body_len;   /* its length, when ended */
    int64_t user_length; /* Content-Length set by the handler, or -1 */
} ls_framing_in;

typedef struct ls_framing_out {
    ls_framing framing;
    int send_length; /* write a Content-Length header with `length` */
    uint64_t length;
} ls_framing_out;

/* Whether a response with this status may carry content at all (RFC 9110 6.4.1, 15.3.6). */
int ls_status_allows_body(int status);
ls_framing_out ls_framing_decide(const ls_framing_in *in);

/* The standard reason phrase, or "" for an unknown status. */
const char *ls_reason_phrase(int status);

/* A field name is a non-empty token; a value or reason holds no control character but HTAB
 * (so no CR, LF or NUL: no response splitting). */
int ls_header_name_valid(const char *name, size_t len);
int ls_header_value_valid(const char *value, size_t len);

typedef struct ls_head {
    int status;
    const char *reason; /* NULL: the standard phrase */
    size_t rlen;
    const ls_header *headers; /* the handler's fields; framing and connection ones are skipped */
    size_t nheaders;
    ls_framing_out framing;
    int keepalive;
    unsigned keepalive_timeout_s; /* announced with Keep-Alive when keepalive */
    const char *date;             /* LS_DATE_LEN bytes, or NULL for none */
    int upgrade; /* a 101 that switches protocols: "Connection: Upgrade", no keep-alive */
} ls_head;

/* Writes the head into out (at most cap bytes) and returns its full size; when that is
 * larger than cap nothing useful was written and the caller retries with a larger buffer. */
size_t ls_head_serialize(const ls_head *h, char *out, size_t cap);

/* Case-insensitive comparison of a counted string with a lower-case literal. */
int ls_name_is(const char *name, size_t len, const char *lower);

#endif
