/* The server side of the RFC 6455 framing: an incremental parser of client frames.
 *
 * It is fed whatever bytes arrived (a frame may be split at any byte, a chunk may hold many
 * frames) and hands out one event at a time, pull style:
 *
 *     size_t used;
 *     ls_ws_event ev;
 *     while (len) {
 *         if (ls_ws_parse(&p, data, len, &used, &ev) == LS_WS_EV_NONE) break;
 *         ... act on ev (its payload is valid until the next ls_ws_parse call) ...
 *         data += used, len -= used;
 *     }
 *
 * A pull API lets the protocol layer above stop between events (its reader is not waiting,
 * its output is full) and keep the rest of the input for later, without the parser having
 * to queue anything.
 *
 * Copies: the payload is unmasked in place, in the caller's buffer (which must be writable;
 * bytes before `used` are changed). A frame that lies whole in one chunk and needs no
 * reassembly is handed out where it lies, without a copy. Only a message split across frames
 * or chunks is copied, into the parser's reassembly buffer, which grows as bytes arrive and
 * never past max_payload; control frames split across chunks go to a fixed 125-byte buffer,
 * so they can interleave with a message being reassembled.
 *
 * Every violation ends in one LS_WS_EV_ERROR with the close code to send (1002 protocol,
 * 1007 invalid UTF-8, 1009 too big, 1011 out of memory); the parser stays failed. After a
 * close frame (LS_WS_EV_CLOSE) the peer may send nothing more: further input is consumed and
 * ignored. */
#ifndef LS_WS_FRAME_PARSE_H
#define LS_WS_FRAME_PARSE_H

#include "frame.h"
#include "utf8.h"

#include <stddef.h>
#include <stdint.h>

typedef enum {
    LS_WS_EV_NONE,     /* every byte was used; nothing to hand out yet */
    LS_WS_EV_MESSAGE,  /* a whole text or binary message (one frame, or reassembled) */
    LS_WS_EV_FRAGMENT, /* fragments mode: one frame of a fragmented message */
    LS_WS_EV_PING,
    LS_WS_EV_PONG,
    LS_WS_EV_CLOSE, /* the peer's close frame: code (1005 when it had none) and reason */
    LS_WS_EV_ERROR, /* the peer broke the protocol: close with code */
} ls_ws_event_type;

typedef struct ls_ws_event {
    ls_ws_event_type type;
    unsigned opcode;      /* MESSAGE, FRAGMENT: LS_WS_OP_TEXT or _BINARY (the message's) */
    int first, last;      /* FRAGMENT: the message's first / final frame */
    const uint8_t *data;  /* the payload; for CLOSE the reason (valid UTF-8) */
    size_t len;
    unsigned code;        /* CLOSE: the peer's code; ERROR: the code to close with */
    const char *error;    /* ERROR: what was wrong, for logs (a static string) */
    int compressed;       /* MESSAGE: its payload is deflated (permessage-deflate, RSV1) */
} ls_ws_event;

typedef struct ls_ws_parser {
    size_t max_payload; /* the largest message (fragments mode: frame) accepted */
    unsigned fragments : 1; /* hand out frames of fragmented messages as they come */
    unsigned release : 1;   /* the last event's payload was in buf: empty it first */
    unsigned deflate : 1;   /* permessage-deflate is in use: RSV1 marks compressed messages */
    uint8_t state;
    /* the frame being read */
    uint8_t hdr[LS_WS_HEADER_MAX];
    uint8_t hdr_len, hdr_need;
    uint8_t opcode, fin;
    uint8_t mask[4];
    uint8_t mask_at;     /* mask byte for the next payload byte */
    uint64_t frame_len;  /* payload length of the frame */
    uint64_t remaining;  /* payload bytes still to come */
    /* the data message in progress (msg_opcode 0: none) */
    uint8_t msg_opcode;
    uint8_t msg_started; /* fragments mode: its first frame was handed out */
    uint8_t msg_compressed; /* RSV1 on its first frame: reassembled whole, checked after
                               it is inflated (UTF-8 too), never handed out in fragments */
    ls_utf8 utf8;        /* text messages: validated as the bytes arrive */
    uint64_t msg_len;    /* payload bytes of the message so far */
    uint8_t *buf;        /* reassembly: frames of the message, or one split frame */
    size_t buf_len, buf_cap;
    /* a control frame split across chunks */
    uint8_t ctl[LS_WS_CONTROL_MAX];
    uint8_t ctl_len;
    /* the error, repeated on every later call */
    unsigned err_code;
    const char *err;
} ls_ws_parser;

/* max_payload: the largest message accepted (1009 beyond); in fragments mode the largest
 * frame. fragments: hand out the frames of a fragmented message one by one instead of
 * reassembling it (an unfragmented message still comes as one MESSAGE). */
void ls_ws_parser_init(ls_ws_parser *p, size_t max_payload, int fragments);
/* permessage-deflate was negotiated: RSV1 is allowed on a message's first frame. */
static inline void ls_ws_parser_allow_deflate(ls_ws_parser *p) { p->deflate = 1; }
/* Frees the reassembly buffer. */
void ls_ws_parser_free(ls_ws_parser *p);

/* Parses from data (len bytes, writable: unmasked in place) until one event is complete or
 * the bytes run out. *used: how many bytes it took (all of them for LS_WS_EV_NONE). The
 * event's payload stays valid until the next call on p (or until the caller's bytes change). */
ls_ws_event_type ls_ws_parse(ls_ws_parser *p, uint8_t *data, size_t len, size_t *used,
                             ls_ws_event *ev);

/* Bytes of memory the parser holds beyond its struct (the reassembly buffer). */
static inline size_t ls_ws_parser_buffered(const ls_ws_parser *p) { return p->buf_cap; }

#endif
