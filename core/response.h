/* The response a handler is building: status, reason, header fields, and the flags that say
 * how far it has gone. Data only; the connection writes it. */
#ifndef LS_RESPONSE_H
#define LS_RESPONSE_H

#include "outq.h"
#include "response_head.h"

#include <stddef.h>
#include <stdint.h>

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
    unsigned frozen : 1;  /* writeHead was called: status and fields are final */
    unsigned head_sent : 1;
    unsigned ended : 1;   /* finish was called */
    unsigned keepalive : 1; /* res.shouldKeepAlive */
    unsigned user_close : 1; /* the handler set "Connection: close" */
    ls_framing_out framing; /* valid once head_sent */
    ls_outq pre;            /* body written before the head went out, unframed */
} ls_response;

void ls_response_init(ls_response *r);
void ls_response_free(ls_response *r);
void ls_response_reset(ls_response *r, int keepalive);

/* Field operations. Names compare case-insensitively. Return 0, or -1 when out of memory. */
int ls_response_add_header(ls_response *r, const char *name, size_t nlen, const char *value,
                           size_t vlen);
void ls_response_remove_header(ls_response *r, const char *name, size_t nlen);
/* The index of the n-th (from 0) field with that name, or -1. */
long ls_response_find_header(const ls_response *r, const char *name, size_t nlen, size_t n);
int ls_response_set_reason(ls_response *r, const char *reason, size_t len);

#endif
