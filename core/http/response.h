/* The response a handler is building: status, reason, header fields, and the flags that say
 * how far it has gone. Data only; the connection writes it. */
#ifndef LS_RESPONSE_H
#define LS_RESPONSE_H

#include "outq.h"
#include "response_head.h"

#include <stddef.h>
#include <stdint.h>

/* What the response calls return besides success. */
enum {
    LS_OK = 0,
    LS_ECLOSED = -1,       /* the connection is gone */
    LS_EENDED = -2,        /* finish() was called already */
    LS_ELENGTH = -3,       /* more body than the Content-Length the handler set */
    LS_EHEADERS_SENT = -4, /* the head is final */
    LS_EBADNAME = -5,      /* not a valid header field name */
    LS_EBADVALUE = -6,     /* a header value (or reason) with CR, LF, NUL or another control */
    LS_ENOMEM = -7,
    LS_EBADSTATUS = -8,    /* a status outside 100..999 */
    LS_EBADLENGTH = -9,    /* a Content-Length that is not a decimal number */
};
const char *ls_strerror(int err);

typedef struct ls_response {
    int status;
    char *reason; /* NULL: the standard phrase */
    size_t rlen;
    ls_header *headers; /* pointers into `strings`, fixed up when it moves */
    size_t nheaders, hcap;
    char *strings;
    size_t slen, scap;
    int64_t user_length;  /* Content-Length the handler set, or -1 */
    uint64_t body_bytes;  /* body bytes the handler has written */
    size_t head_len;      /* bytes of the serialized head, once head_sent */
    unsigned frozen : 1;  /* writeHead was called: status and fields are final */
    unsigned head_sent : 1;
    unsigned ended : 1;   /* finish was called */
    unsigned end_queued : 1; /* the end of the body is in the output queue */
    unsigned user_close : 1; /* the handler set "Connection: close" */
    ls_framing_out framing; /* valid once head_sent */
    ls_outq pre;            /* body written before the head went out, unframed */
} ls_response;

void ls_response_init(ls_response *r);
void ls_response_free(ls_response *r);
void ls_response_reset(ls_response *r);

/* Field operations. Names compare case-insensitively. Return 0, or -1 when out of memory. */
int ls_response_add_header(ls_response *r, const char *name, size_t nlen, const char *value,
                           size_t vlen);
void ls_response_remove_header(ls_response *r, const char *name, size_t nlen);
/* The index of the n-th (from 0) field with that name, or -1. */
long ls_response_find_header(const ls_response *r, const char *name, size_t nlen, size_t n);
int ls_response_set_reason(ls_response *r, const char *reason, size_t len);
/* Reads a Content-Length value (decimal, optional blanks around); 0, or -1 if it is not one. */
int ls_response_parse_length(const char *v, size_t n, int64_t *out);
/* Brings user_length and user_close in step with the fields (after any field change). */
void ls_response_refresh_special(ls_response *r);

#endif
