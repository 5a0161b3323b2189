/* The pool of per-request buffers: a request's head arena and field table, the response's
 * header strings and table, the output queue's segment table and first block, and the parse
 * state (llhttp's included). A connection borrows a kit when a request starts and gives it back when it goes
 * idle, so an idle keep-alive connection holds almost nothing, and a busy server does not
 * malloc and free them per request. */
#ifndef LS_POOL_H
#define LS_POOL_H

#include "outq.h"
#include "parse.h"
#include "request.h"
#include "response.h"

#include <stddef.h>

typedef struct ls_kit {
    char *arena;
    size_t acap;
    ls_field *fields;
    size_t fcap;
    char *strings;
    size_t scap;
    ls_header *headers;
    size_t hcap;
    ls_seg *segs;
    size_t segcap;
    char *block; /* an output block of LS_OUTQ_BLOCK bytes */
    ls_parse *parse;
} ls_kit;

#define LS_POOL_KITS 256

typedef struct ls_pool {
    ls_kit kits[LS_POOL_KITS];
    size_t n;
} ls_pool;

/* Lends req, res and out the buffers they lack, from a spare kit (if there is one). */
void ls_pool_take(ls_pool *p, ls_request *req, ls_response *res, ls_outq *out);
/* Parse state: the spare kit's, or a new one (NULL when out of memory); ls_parse_start it. */
ls_parse *ls_pool_parse(ls_pool *p);
/* Takes back the buffers of an idle (or closing) connection and its parse state (may be NULL):
 * to a spare kit while there is room and they are small, else to free(). Nothing may be
 * queued in out or res->pre. */
void ls_pool_give(ls_pool *p, ls_request *req, ls_response *res, ls_outq *out,
                  ls_parse *parse);
/* Frees every spare kit. */
void ls_pool_free(ls_pool *p);

#endif
