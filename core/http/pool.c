#include "pool.h"

#include <stdlib.h>

/* Buffers past these sizes are not kept for others: a kit stays small. */
#define KIT_MAX_ARENA 8192
#define KIT_MAX_TABLE 64

static void kit_free(ls_kit *k) {
    free(k->arena), free(k->fields), free(k->strings), free(k->headers), free(k->segs);
    free(k->block), free(k->parse);
}

void ls_pool_take(ls_pool *p, ls_request *req, ls_response *res, ls_outq *out) {
    if (req->arena || !p->n)
        return;
    ls_kit *k = &p->kits[--p->n];
    req->arena = k->arena, req->acap = k->acap;
    req->fields = k->fields, req->fcap = k->fcap;
    k->arena = NULL, k->fields = NULL;
    if (!res->strings && !res->headers) {
        res->strings = k->strings, res->scap = k->scap;
        res->headers = k->headers, res->hcap = k->hcap;
        k->strings = NULL, k->headers = NULL;
    }
    if (!out->segs && !out->spare) {
        out->segs = k->segs, out->cap = k->segcap;
        out->spare = k->block;
        k->segs = NULL, k->block = NULL;
    }
    /* what the connection had already, its parse state among them (rarely anything) */
    if (k->strings || k->headers || k->segs || k->block || k->parse)
        kit_free(k);
}

ls_parse *ls_pool_parse(ls_pool *p) {
    ls_kit *k = p->n ? &p->kits[p->n - 1] : NULL;
    if (k && k->parse) {
        ls_parse *parse = k->parse;
        k->parse = NULL;
        return parse;
    }
    return malloc(sizeof(ls_parse));
}

void ls_pool_give(ls_pool *p, ls_request *req, ls_response *res, ls_outq *out,
                  ls_parse *parse) {
    if (!req->arena || out->bytes || res->pre.bytes) {
        free(parse);
        return;
    }
    /* the output queue may keep its emptied last block: that is the kit's block */
    char *block = out->spare;
    for (size_t i = 0; i < out->count; i++) {
        ls_seg *g = &out->segs[out->first + i];
        if (g->own && g->cap == LS_OUTQ_BLOCK && !block)
            block = g->own;
        else if (g->own)
            free(g->own);
    }
    ls_outq_free(&res->pre); /* empty: its segment table goes too */
    ls_kit k = {req->arena, req->acap, req->fields, req->fcap, res->strings, res->scap,
                res->headers, res->hcap, out->segs, out->cap, block, parse};
    req->arena = NULL, req->acap = req->alen = 0, req->fields = NULL;
    req->fcap = req->nfields = 0;
    res->strings = NULL, res->scap = res->slen = 0, res->headers = NULL;
    res->hcap = res->nheaders = 0;
    res->reason = NULL;
    out->segs = NULL, out->cap = out->first = out->count = 0, out->spare = NULL;
    if (p->n < LS_POOL_KITS && k.acap <= KIT_MAX_ARENA && k.fcap <= KIT_MAX_TABLE &&
        k.hcap <= KIT_MAX_TABLE && k.scap <= KIT_MAX_ARENA && k.segcap <= KIT_MAX_TABLE) {
        p->kits[p->n++] = k;
        return;
    }
    kit_free(&k);
}

void ls_pool_free(ls_pool *p) {
    for (size_t i = 0; i < p->n; i++)
        kit_free(&p->kits[i]);
    p->n = 0;
}
