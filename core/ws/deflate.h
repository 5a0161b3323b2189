/* permessage-deflate (RFC 7692): the offer's negotiation, and the compression of whole
 * messages with zlib.
 *
 * Memory: lunaserve always answers with server_no_context_takeover and
 * client_no_context_takeover (RFC 7692 7.1.1.1 and 7.1.1.2 let a server add both to any
 * offer), so no message depends on the one before. One deflate and one inflate stream serve
 * every connection of the process, reset for each message: a WebSocket holds no zlib state
 * (a stream with its 32 KiB window would cost some 40 KiB to 300 KiB per connection). */
#ifndef LS_WS_DEFLATE_H
#define LS_WS_DEFLATE_H

#include "handshake.h"

#include <stddef.h>
#include <stdint.h>

#define LS_WS_DEFLATE_ANSWER_MAX 128

/* Picks the first acceptable permessage-deflate offer among the Sec-WebSocket-Extensions
 * values (all the request's fields, joined with commas). An offer with an unknown or repeated
 * parameter, or a bad value, is declined (RFC 7692 5). Writes the Sec-WebSocket-Extensions
 * answer into out (LS_WS_DEFLATE_ANSWER_MAX bytes) and returns its length, and the window our
 * compressor must keep within (*window_bits, 9 to 15); 0 when no offer is acceptable. */
size_t ls_ws_deflate_negotiate(ls_ws_value offers, char *out, unsigned *window_bits);

/* A growable output buffer; free its data with free(). */
typedef struct ls_ws_zbuf {
    uint8_t *data;
    size_t len, cap;
} ls_ws_zbuf;

enum { LS_WS_Z_OK = 0, LS_WS_Z_TOO_BIG = -1, LS_WS_Z_BAD = -2, LS_WS_Z_NOMEM = -3 };

/* Inflates one message's payload (the 0x00 0x00 0xff 0xff tail is added here) into out,
 * at most max bytes: LS_WS_Z_OK, _TOO_BIG (over max), _BAD (not a valid deflate stream),
 * _NOMEM. */
int ls_ws_inflate(const uint8_t *in, size_t len, size_t max, ls_ws_zbuf *out);

/* Deflates one message into out, without the tail (RFC 7692 7.2.1), with a window of
 * window_bits. LS_WS_Z_OK or _NOMEM. */
int ls_ws_deflate(const uint8_t *in, size_t len, unsigned window_bits, ls_ws_zbuf *out);

/* Frees the shared streams (at exit). */
void ls_ws_deflate_cleanup(void);

#endif
