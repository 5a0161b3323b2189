/* The server's side of the opening handshake (RFC 6455 4.2): checking the client's request
 * and computing Sec-WebSocket-Accept.
 *
 * The accept value is base64(SHA-1(key + GUID)). core does not link libcrypto (the binary
 * loads it the first time it is needed: lua/libcrypto.h), so the caller passes its SHA-1. */
#ifndef LS_WS_HANDSHAKE_H
#define LS_WS_HANDSHAKE_H

#include <stddef.h>
#include <stdint.h>

/* A header's value as received (NULL when absent), not NUL-terminated. */
typedef struct ls_ws_value {
    const char *s;
    size_t len;
} ls_ws_value;

/* What the handshake check reads from the request. */
typedef struct ls_ws_request {
    ls_ws_value method;
    int http_major, http_minor;
    ls_ws_value upgrade;    /* Upgrade */
    ls_ws_value connection; /* Connection */
    ls_ws_value version;    /* Sec-WebSocket-Version */
    ls_ws_value key;        /* Sec-WebSocket-Key */
} ls_ws_request;

typedef enum {
    LS_WS_HS_OK,
    LS_WS_HS_NOT_GET,        /* 4.2.1 item 1: GET ... */
    LS_WS_HS_OLD_HTTP,       /* ... and HTTP/1.1 or later */
    LS_WS_HS_NO_UPGRADE,     /* Upgrade without the token "websocket" */
    LS_WS_HS_NO_CONNECTION,  /* Connection without the token "upgrade" */
    LS_WS_HS_BAD_VERSION,    /* Sec-WebSocket-Version absent or not 13 */
    LS_WS_HS_BAD_KEY,        /* Sec-WebSocket-Key absent or not base64 of 16 bytes */
} ls_ws_hs_result;

/* Checks the request in the order above; the first failure is returned. */
ls_ws_hs_result ls_ws_handshake_check(const ls_ws_request *r);

/* The status to answer a failed check with: 426 (with "Sec-WebSocket-Version: 13", 4.4) for
 * a version we do not speak, else 400. */
int ls_ws_handshake_status(ls_ws_hs_result res);
/* A short English reason, for the response body and logs. */
const char *ls_ws_handshake_error(ls_ws_hs_result res);

/* Whether the comma-separated header value lists token (case-insensitive; optional white
 * space around elements; empty elements skipped, RFC 9110 5.6.1). For Upgrade, an element's
 * protocol version ("websocket/13") does not match the bare token. */
int ls_ws_has_token(ls_ws_value v, const char *token);

/* The subprotocol to answer with (4.2.2 item 5.4): the first one the client offered
 * (Sec-WebSocket-Protocol, a comma-separated list in its order of preference; several header
 * lines joined with ", ") that is among supported (NULL-terminated), compared exactly, as
 * subprotocol names are. Its index in supported, or -1: answer without the header. */
int ls_ws_select_protocol(ls_ws_value offered, const char *const *supported);

/* A SHA-1: the 20-byte digest of len bytes at data. 0 on success. */
typedef int (*ls_ws_sha1_fn)(const void *data, size_t len, uint8_t out[20]);

/* The length of a Sec-WebSocket-Accept value (base64 of 20 bytes), without a NUL. */
#define LS_WS_ACCEPT_LEN 28

/* Computes Sec-WebSocket-Accept for key (as received, OWS trimmed by the caller or not) into
 * out (LS_WS_ACCEPT_LEN bytes, no NUL). 0, or -1 when the key is not valid or sha1 failed. */
int ls_ws_accept(ls_ws_value key, ls_ws_sha1_fn sha1, char out[LS_WS_ACCEPT_LEN]);

/* Base64 (RFC 4648, with padding) of n bytes into out (4 * ((n + 2) / 3) bytes); returns the
 * length written. */
size_t ls_ws_base64(const uint8_t *in, size_t n, char *out);

#endif
