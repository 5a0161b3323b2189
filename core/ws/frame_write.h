/* Server frames (RFC 6455 5.2): a server never masks, so a data frame is a header of 2, 4 or
 * 10 bytes followed by the payload as it is. The header is written alone, so a large payload
 * can be queued by reference behind it without a copy; control frames (at most 125 bytes)
 * are written whole. */
#ifndef LS_WS_FRAME_WRITE_H
#define LS_WS_FRAME_WRITE_H

#include "frame.h"

#include <stddef.h>
#include <stdint.h>

/* Writes the header of a frame with this opcode, FIN bit and payload length into out (at
 * least LS_WS_SERVER_HEADER_MAX bytes); returns its length. Lengths use the shortest form
 * (7, 16 or 64 bits), as 5.2 requires. */
size_t ls_ws_frame_header(uint8_t *out, unsigned opcode, int fin, uint64_t len);

/* The most bytes a whole control frame takes: a 2-byte header and 125 of payload. */
#define LS_WS_CONTROL_FRAME_MAX (2 + LS_WS_CONTROL_MAX)

/* Writes a whole ping or pong frame with this payload into out (LS_WS_CONTROL_FRAME_MAX
 * bytes); returns its length, or 0 when the payload is over 125 bytes or opcode is not a
 * ping or pong. */
size_t ls_ws_frame_control(uint8_t *out, unsigned opcode, const void *payload, size_t len);

/* Writes a whole close frame into out (LS_WS_CONTROL_FRAME_MAX bytes): code 0 gives an
 * empty close; otherwise the code (which must be valid on the wire, close_code.h) and the
 * reason (at most 123 bytes of UTF-8). Returns its length, or 0 for an invalid code or reason
 * (a caller that wants to shorten a reason cuts it with ls_ws_reason_cut first). */
size_t ls_ws_frame_close(uint8_t *out, unsigned code, const char *reason, size_t len);

/* The most reason bytes a close frame carries. */
#define LS_WS_REASON_MAX (LS_WS_CONTROL_MAX - 2)

/* How many bytes of the reason (UTF-8) fit into a close frame: at most LS_WS_REASON_MAX,
 * cut back to a character boundary. */
size_t ls_ws_reason_cut(const char *reason, size_t len);

#endif
