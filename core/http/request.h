/* A parsed request head: method, target, version and header fields, copied out of the input
 * so they outlive the read buffer. One per connection, reused for every request. */
#ifndef LS_REQUEST_H
#define LS_REQUEST_H

#include <stddef.h>
#include <stdint.h>

typedef struct ls_field {
    uint32_t name, nlen, value, vlen; /* offsets into the arena */
} ls_field;

/* Where ls_chunk_line_scan stopped in a chunk-size line that has not all arrived. */
typedef struct ls_chunk_scan {
    uint32_t off;    /* bytes of the line scanned */
    uint32_t hexlen; /* bytes of chunk-size at its start */
    uint8_t state;
} ls_chunk_scan;

typedef struct ls_request {
    char *arena; /* url, then field names and values, as received */
    size_t alen, acap;
    ls_field *fields;
    size_t nfields, fcap;
    uint32_t url_len; /* the url is the first thing in the arena */
    int last;         /* what the last data callback fed: 0 url, 1 name, 2 value */
    const char *method;
    int http_major, http_minor;
    int64_t content_length; /* -1 when not given */
    unsigned chunked : 1;
    unsigned expect_continue : 1;
    unsigned conn_close : 1;
    unsigned conn_keepalive : 1;
    unsigned unknown_coding : 1; /* Transfer-Encoding named a coding other than chunked */
    unsigned bad_expect : 1;     /* Expect named something other than 100-continue */
    unsigned hosts : 2;          /* Host fields seen, saturating at 2 */
    unsigned bad_host : 1;       /* a Host value that is not uri-host [ ":" port ] */
    unsigned bad_field : 1;      /* a field name that is not a token (RFC 9110 5.1) */
    unsigned has_te : 1;         /* a Transfer-Encoding field was present */
    unsigned is_head : 1;        /* the method is HEAD */
    unsigned is_connect : 1;     /* the method is CONNECT */
    unsigned head_done : 1;      /* the head is complete: fields fed from now on are trailers */
    unsigned body_done : 1;      /* the message is complete: body and trailer section */
    unsigned chunk_line : 1;     /* the input starts with a chunk-size line (see parse.c) */
    uint32_t nhead;              /* fields in the head, once head_done; the rest are trailers */
    uint32_t head_alen;          /* arena bytes of the head, once head_done */
    ls_chunk_scan chunk;
    uint64_t body_received;
} ls_request;

void ls_request_init(ls_request *r);
void ls_request_free(ls_request *r);
/* Forgets the previous request, keeping the memory. */
void ls_request_reset(ls_request *r);

/* Appends bytes to the url, a field name or a field value (by `part`: 0, 1, 2); consecutive
 * calls for the same part extend it. Returns -1 when out of memory. */
int ls_request_feed(ls_request *r, int part, const char *at, size_t len);
/* Called when a field value is complete: looks at the fields the engine cares about. A
 * trailer field is only checked for a valid name (bad_field): RFC 9110 6.5.1, trailers are
 * not merged into the head and say nothing about framing or the connection. */
void ls_request_field_done(ls_request *r);
/* The head is complete: the fields fed after this are the trailer section's. */
void ls_request_head_done(ls_request *r);

/* Scans a chunk-size line (RFC 9112 7.1, 7.1.1):
 *   1*HEXDIG *( BWS ";" BWS token [ BWS "=" BWS ( token / quoted-string ) ] ) CRLF
 * line[0..n) is what has arrived of it, from its first byte; the scan goes on where the last
 * call on s stopped (zero s for a new line). Returns the line's length (CRLF included) once
 * it is complete, 0 when more is needed, -1 when it is invalid (a bare CR among them). The
 * size is the first s->hexlen bytes; extensions are only checked, never interpreted. */
long ls_chunk_line_scan(ls_chunk_scan *s, const char *line, size_t n);

static inline const char *ls_request_url(const ls_request *r) { return r->arena; }
static inline const char *ls_field_name(const ls_request *r, const ls_field *f) {
    return r->arena + f->name;
}
static inline const char *ls_field_value(const ls_request *r, const ls_field *f) {
    return r->arena + f->value;
}
/* Bytes stored of the section being parsed (url, names, values): the head, or once the head
 * is done the trailer section (each has its own --max-header budget). */
static inline size_t ls_request_head_bytes(const ls_request *r) {
    return r->head_done ? r->alen - r->head_alen : r->alen;
}
/* Header fields are fields[0 .. ls_request_nheaders); trailer fields follow them. */
static inline size_t ls_request_nheaders(const ls_request *r) {
    return r->head_done ? r->nhead : r->nfields;
}
static inline size_t ls_request_ntrailers(const ls_request *r) {
    return r->head_done ? r->nfields - r->nhead : 0;
}


#endif
