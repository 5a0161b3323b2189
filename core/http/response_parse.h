/* Parsing HTTP/1 responses for the client side (lunaserve.http): llhttp in response mode,
 * turned into a few events for the final response (status line, complete header fields,
 * the end of the head, body bytes, trailer fields, the end of the message). Interim 1xx
 * responses are read and skipped. The body's framing (Content-Length, chunked, until the
 * connection closes, none for HEAD/1xx/204/304) is llhttp's; the end of input goes to
 * ls_response_parse_finish, which ends a body read until close. */
#ifndef LS_RESPONSE_PARSE_H
#define LS_RESPONSE_PARSE_H

#include <llhttp.h>
#include <stddef.h>

typedef struct ls_response_events {
    /* The final response's status line. reason is the reason phrase (may be empty). */
    int (*on_status)(void *ctx, int status, int http_minor, const char *reason, size_t len);
    /* One header field (trailer 0) or trailer field (trailer 1), name as received, value
     * without the whitespace around it. */
    int (*on_field)(void *ctx, int trailer, const char *name, size_t nlen, const char *value,
                    size_t vlen);
    /* The head is complete: body bytes (if any) follow. */
    int (*on_head)(void *ctx);
    /* Bytes of the body, after the transfer coding is undone. */
    int (*on_body)(void *ctx, const char *at, size_t len);
    /* The message is complete (body and trailer section). */
    int (*on_end)(void *ctx);
} ls_response_events;
/* Each event returns 0 to go on, or anything else to stop parsing with LS_RESPONSE_ERROR
 * (the error text is then "stopped by the caller"). An event may be NULL. */

typedef struct ls_response_parse {
    llhttp_t parser;
    const ls_response_events *events;
    void *ctx;
    size_t max_head;     /* bytes of status line and fields, per section (head, trailers) */
    size_t section;      /* bytes of the current section so far */
    char *buf;           /* the current status reason, or field name then value */
    size_t nlen, len, cap; /* name length (of buf's content), content length, capacity */
    const char *exec_start, *exec_end; /* the input being executed */
    const char *error;     /* what went wrong, when LS_RESPONSE_ERROR was returned */
    int last;              /* what the last data callback fed: 0 none, 1 name, 2 value */
    unsigned head_request : 1; /* the request was HEAD: the response has no body */
    unsigned interim : 1;      /* the message being parsed is a 1xx (skipped) */
    unsigned in_head : 1;      /* in the final response's status line and fields */
    unsigned head_done : 1;    /* the final response's head is complete */
    unsigned done : 1;         /* the final response is complete */
    unsigned keep_alive : 1;   /* once done: the connection may carry another request */
    unsigned value_at_end : 1; /* the last value piece ended with the input */
    unsigned upgrade : 1;      /* 101 Switching Protocols: the connection is not HTTP now */
    unsigned started : 1;      /* a byte has been parsed */
    unsigned in_trailers : 1;  /* between the last chunk's line and the message's end */
    unsigned interims;         /* 1xx responses skipped */
} ls_response_parse;

enum {
    LS_RESPONSE_MORE,  /* every byte was used: more input is needed */
    LS_RESPONSE_END,   /* the final response is complete; *used says where it ended */
    LS_RESPONSE_ERROR, /* malformed, over max_head, or an event stopped it: see error */
};

/* Starts parsing the response to one request (head_request: the request was HEAD, so the
 * response has no body whatever its fields say). max_head bounds the status line and
 * header section (and the trailer section), each counted on its own. */
void ls_response_parse_start(ls_response_parse *p, int head_request, size_t max_head,
                             const ls_response_events *events, void *ctx);
/* Frees what the parser allocated (the parser can be started again after this). */
void ls_response_parse_free(ls_response_parse *p);
/* Parses len bytes. Stops at the end of the final response or at an error; *used says how
 * many bytes were taken (bytes after the response's end are not part of it). */
int ls_response_parse_execute(ls_response_parse *p, const char *data, size_t len,
                              size_t *used);
/* The peer closed the connection: ends a body that is read until close. Returns
 * LS_RESPONSE_END when the final response is complete (now or before), else
 * LS_RESPONSE_ERROR (error: "connection closed before the response" when no byte came,
 * or the message was cut short). */
int ls_response_parse_finish(ls_response_parse *p);
/* Whether any byte of a response (interim or final) has been parsed. */
int ls_response_parse_started(const ls_response_parse *p);

#endif
