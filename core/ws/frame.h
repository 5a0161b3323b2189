/* The constants of the RFC 6455 frame (section 5.2), shared by the parser and the writer. */
#ifndef LS_WS_FRAME_H
#define LS_WS_FRAME_H

enum {
    LS_WS_OP_CONTINUATION = 0x0,
    LS_WS_OP_TEXT = 0x1,
    LS_WS_OP_BINARY = 0x2,
    LS_WS_OP_CLOSE = 0x8,
    LS_WS_OP_PING = 0x9,
    LS_WS_OP_PONG = 0xa,
};

/* Opcodes 8..15 are control frames: never fragmented, at most 125 bytes of payload. */
#define LS_WS_OP_IS_CONTROL(op) (((op) & 0x8) != 0)
#define LS_WS_CONTROL_MAX 125

/* First byte: FIN, RSV1-3, opcode. Second byte: MASK, 7-bit length. */
#define LS_WS_FIN 0x80
#define LS_WS_RSV 0x70
#define LS_WS_RSV1_BIT 0x40 /* permessage-deflate: a compressed message (RFC 7692) */
#define LS_WS_MASK 0x80

/* A header: 2 bytes, then 0, 2 or 8 bytes of extended length, then 4 of mask if masked. */
#define LS_WS_HEADER_MAX 14
#define LS_WS_SERVER_HEADER_MAX 10 /* a server never masks */

#endif
