/* The parser reads a header into a small buffer (at most 14 bytes, so a header split at any
 * byte costs nothing), checks everything the first two bytes can tell at once (so a bad frame
 * fails before its payload arrives), then walks the payload: unmask in place, validate text
 * as it comes, and either point at it or append it to the reassembly buffer. */
#include "frame_parse.h"

#include "close_code.h"

#include <stdlib.h>
#include <string.h>

enum { ST_HEADER, ST_PAYLOAD, ST_CLOSED, ST_FAILED };

/* A reassembly buffer larger than this is given back once its message is handed out, so an
 * idle connection holds no more than this after one large message. */
#define LS_WS_KEEP_BUF 4096

static const uint8_t empty[1];

void ls_ws_parser_init(ls_ws_parser *p, size_t max_payload, int fragments) {
    memset(p, 0, sizeof *p);
    p->max_payload = max_payload;
    p->fragments = fragments != 0;
    p->state = ST_HEADER;
    p->hdr_need = 2;
}

void ls_ws_parser_free(ls_ws_parser *p) {
    free(p->buf);
    p->buf = NULL;
    p->buf_len = p->buf_cap = 0;
}

static ls_ws_event_type fail(ls_ws_parser *p, ls_ws_event *ev, unsigned code, const char *why) {
    p->state = ST_FAILED;
    p->err_code = code;
    p->err = why;
    ev->type = LS_WS_EV_ERROR;
    ev->code = code;
    ev->error = why;
    return LS_WS_EV_ERROR;
}

/* XORs n payload bytes with the mask, continuing where the last piece stopped; whole 8-byte
 * words in the middle, since a payload is usually far longer than its ragged ends. */
static void unmask(uint8_t *s, size_t n, const uint8_t mask[4], uint8_t *at) {
    size_t i = 0;
    unsigned a = *at;
    while (i < n && a != 0) {
        s[i++] ^= mask[a];
        a = (a + 1) & 3;
    }
    if (n - i >= 8) {
        uint8_t m8[8] = {mask[0], mask[1], mask[2], mask[3], mask[0], mask[1], mask[2], mask[3]};
        uint64_t m, w;
        memcpy(&m, m8, 8);
        for (; n - i >= 8; i += 8) {
            memcpy(&w, s + i, 8);
            w ^= m;
            memcpy(s + i, &w, 8);
        }
    }
    while (i < n) {
        s[i++] ^= mask[a];
        a = (a + 1) & 3;
    }
    *at = (uint8_t)a;
}

/* The checks the first two header bytes allow: NULL, or what is wrong (always a 1002). */
static const char *check_start(const ls_ws_parser *p, uint8_t b0, uint8_t b1) {
    unsigned op = b0 & 0x0f;
    /* RSV1 with permessage-deflate: only on the first frame of a data message (RFC 7692 6) */
    unsigned rsv = (unsigned)(b0 & LS_WS_RSV) & ~(p->deflate ? (unsigned)LS_WS_RSV1_BIT : 0u);
    if (rsv)
        return "reserved bits set without an extension";
    if ((b0 & LS_WS_RSV1_BIT) && (LS_WS_OP_IS_CONTROL(op) || op == LS_WS_OP_CONTINUATION))
        return "RSV1 on a control frame or a continuation";
    if (!(b1 & LS_WS_MASK))
        return "unmasked client frame";
    if (LS_WS_OP_IS_CONTROL(op)) {
        if (op != LS_WS_OP_CLOSE && op != LS_WS_OP_PING && op != LS_WS_OP_PONG)
            return "unknown control opcode";
        if (!(b0 & LS_WS_FIN))
            return "fragmented control frame";
        if ((b1 & 0x7f) > LS_WS_CONTROL_MAX)
            return "control frame over 125 bytes";
        if (op == LS_WS_OP_CLOSE && (b1 & 0x7f) == 1)
            return "close frame with a one-byte payload";
        return NULL;
    }
    if (op == LS_WS_OP_CONTINUATION)
        return p->msg_opcode ? NULL : "continuation frame without a message to continue";
    if (op != LS_WS_OP_TEXT && op != LS_WS_OP_BINARY)
        return "unknown data opcode";
    if (p->msg_opcode)
        return "new data frame inside a fragmented message";
    return NULL;
}

/* The header is complete: decodes the length and mask and starts the frame. 0, or an error
 * already reported in ev (-1). */
static int start_frame(ls_ws_parser *p, ls_ws_event *ev) {
    const uint8_t *h = p->hdr;
    unsigned len7 = h[1] & 0x7f;
    uint64_t len = len7;
    size_t at = 2;
    if (len7 == 126) {
        len = (uint64_t)h[2] << 8 | h[3];
        at = 4;
        if (len < 126) {
            fail(p, ev, LS_WS_CLOSE_PROTOCOL_ERROR, "length not in its shortest form");
            return -1;
        }
    } else if (len7 == 127) {
        len = 0;
        for (int i = 0; i < 8; i++)
            len = len << 8 | h[2 + i];
        at = 10;
        if (len >> 63) {
            fail(p, ev, LS_WS_CLOSE_PROTOCOL_ERROR, "64-bit length with its top bit set");
            return -1;
        }
        if (len <= 0xffff) {
            fail(p, ev, LS_WS_CLOSE_PROTOCOL_ERROR, "length not in its shortest form");
            return -1;
        }
    }
    memcpy(p->mask, h + at, 4);
    p->mask_at = 0;
    p->opcode = h[0] & 0x0f;
    p->fin = (h[0] & LS_WS_FIN) != 0;
    p->frame_len = p->remaining = len;
    p->ctl_len = 0;
    if (LS_WS_OP_IS_CONTROL(p->opcode))
        return 0;
    /* Data: the message's bound is checked on the length announced, before any payload. */
    uint64_t so_far = p->fragments && !p->msg_compressed ? 0 : p->msg_len;
    if (p->opcode != LS_WS_OP_CONTINUATION)
        so_far = 0;
    if (len > p->max_payload || so_far > p->max_payload - len) {
        fail(p, ev, LS_WS_CLOSE_TOO_BIG, "message over max_payload");
        return -1;
    }
    if (p->opcode != LS_WS_OP_CONTINUATION) {
        p->msg_opcode = p->opcode;
        p->msg_compressed = (h[0] & LS_WS_RSV1_BIT) != 0;
        p->msg_len = 0;
        p->msg_started = 0;
        ls_utf8_init(&p->utf8);
    }
    p->msg_len += len;
    return 0;
}

/* Appends n bytes to the reassembly buffer, growing it by doubling but never past
 * max_payload (the checks on each header guarantee the bytes fit). 0, or -1 out of memory. */
static int append(ls_ws_parser *p, const uint8_t *s, size_t n) {
    if (!n)
        return 0;
    size_t need = p->buf_len + n;
    if (need > p->buf_cap) {
        size_t cap = p->buf_cap ? p->buf_cap * 2 : 1024;
        if (cap < p->buf_cap || cap > p->max_payload)
            cap = p->max_payload;
        if (cap < need)
            cap = need;
        uint8_t *b = realloc(p->buf, cap);
        if (!b)
            return -1;
        p->buf = b;
        p->buf_cap = cap;
    }
    memcpy(p->buf + p->buf_len, s, n);
    p->buf_len += n;
    return 0;
}

static void set_payload(ls_ws_event *ev, const uint8_t *s, size_t n) {
    ev->data = n ? s : empty;
    ev->len = n;
}

/* A control frame is complete, its payload at s. */
static ls_ws_event_type control_done(ls_ws_parser *p, ls_ws_event *ev, const uint8_t *s,
                                     size_t n) {
    if (p->opcode == LS_WS_OP_PING || p->opcode == LS_WS_OP_PONG) {
        ev->type = p->opcode == LS_WS_OP_PING ? LS_WS_EV_PING : LS_WS_EV_PONG;
        set_payload(ev, s, n);
        return ev->type;
    }
    /* close: nothing, or a code and a UTF-8 reason (5.5.1) */
    unsigned code = LS_WS_CLOSE_NO_STATUS;
    if (n >= 2) {
        code = (unsigned)s[0] << 8 | s[1];
        if (!ls_ws_close_code_valid(code))
            return fail(p, ev, LS_WS_CLOSE_PROTOCOL_ERROR, "invalid close code");
        if (!ls_utf8_valid(s + 2, n - 2))
            return fail(p, ev, LS_WS_CLOSE_INVALID_DATA, "close reason is not UTF-8");
        set_payload(ev, s + 2, n - 2);
    } else {
        set_payload(ev, NULL, 0);
    }
    p->state = ST_CLOSED;
    ev->type = LS_WS_EV_CLOSE;
    ev->code = code;
    return LS_WS_EV_CLOSE;
}

/* A data frame is complete; its payload at s (in place) or in the buffer (s NULL). Returns
 * the event to hand out, or LS_WS_EV_NONE for a frame that only adds to a message. */
static ls_ws_event_type data_done(ls_ws_parser *p, ls_ws_event *ev, const uint8_t *s,
                                  size_t n) {
    int fragments = p->fragments && !p->msg_compressed;
    if (p->fin && p->msg_opcode == LS_WS_OP_TEXT && !p->msg_compressed &&
        !ls_utf8_complete(&p->utf8))
        return fail(p, ev, LS_WS_CLOSE_INVALID_DATA, "text ends inside a UTF-8 sequence");
    int whole = p->fin && (fragments ? !p->msg_started : 1);
    if (!whole && !fragments)
        return LS_WS_EV_NONE; /* one more piece of a message being reassembled */
    ev->type = whole ? LS_WS_EV_MESSAGE : LS_WS_EV_FRAGMENT;
    ev->opcode = p->msg_opcode;
    ev->first = whole || !p->msg_started;
    ev->last = p->fin;
    ev->compressed = p->msg_compressed;
    if (s) {
        set_payload(ev, s, n);
    } else {
        set_payload(ev, p->buf, p->buf_len);
        p->release = 1;
    }
    p->msg_started = 1;
    if (p->fin) {
        p->msg_opcode = 0;
        p->msg_len = 0;
    }
    return ev->type;
}

ls_ws_event_type ls_ws_parse(ls_ws_parser *p, uint8_t *data, size_t len, size_t *used,
                             ls_ws_event *ev) {
    memset(ev, 0, sizeof *ev);
    *used = 0;
    if (p->release) {
        p->release = 0;
        p->buf_len = 0;
        if (p->buf_cap > LS_WS_KEEP_BUF)
            ls_ws_parser_free(p);
    }
    if (p->state == ST_FAILED) {
        ev->type = LS_WS_EV_ERROR;
        ev->code = p->err_code;
        ev->error = p->err;
        return LS_WS_EV_ERROR;
    }
    if (p->state == ST_CLOSED) {
        *used = len;
        return LS_WS_EV_NONE;
    }
    size_t pos = 0;
    ls_ws_event_type t = LS_WS_EV_NONE;
    for (;;) {
        if (p->state == ST_HEADER) {
            if (pos == len)
                break;
            size_t take = p->hdr_need - p->hdr_len;
            if (take > len - pos)
                take = len - pos;
            memcpy(p->hdr + p->hdr_len, data + pos, take);
            pos += take;
            p->hdr_len += (uint8_t)take;
            if (p->hdr_len == 2) {
                const char *why = check_start(p, p->hdr[0], p->hdr[1]);
                if (why) {
                    t = fail(p, ev, LS_WS_CLOSE_PROTOCOL_ERROR, why);
                    break;
                }
                unsigned len7 = p->hdr[1] & 0x7f;
                p->hdr_need = (uint8_t)(2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + 4);
            }
            if (p->hdr_len < p->hdr_need)
                continue;
            p->hdr_len = 0;
            p->hdr_need = 2;
            if (start_frame(p, ev) < 0) {
                t = LS_WS_EV_ERROR;
                break;
            }
            p->state = ST_PAYLOAD;
        }
        /* the payload: as much of it as this chunk holds */
        size_t avail = len - pos;
        if (avail > p->remaining)
            avail = (size_t)p->remaining;
        uint8_t *chunk = avail ? data + pos : NULL; /* (data may be NULL when len is 0) */
        int control = LS_WS_OP_IS_CONTROL(p->opcode);
        int in_place = avail == p->frame_len; /* the whole frame is in this chunk */
        if (avail) {
            unmask(chunk, avail, p->mask, &p->mask_at);
            pos += avail;
            p->remaining -= avail;
            if (!control && p->msg_opcode == LS_WS_OP_TEXT && !p->msg_compressed &&
                ls_utf8_feed(&p->utf8, chunk, avail) < 0) {
                t = fail(p, ev, LS_WS_CLOSE_INVALID_DATA, "text is not UTF-8");
                break;
            }
        }
        if (control) {
            if (!in_place && avail) {
                memcpy(p->ctl + p->ctl_len, chunk, avail);
                p->ctl_len = (uint8_t)(p->ctl_len + avail);
            }
        } else {
            /* in place only when nothing of the message is buffered and nothing will be */
            in_place = in_place && ((p->fragments && !p->msg_compressed) ||
                                    (p->fin && p->msg_len == p->frame_len));
            if (!in_place && append(p, chunk, avail) < 0) {
                t = fail(p, ev, LS_WS_CLOSE_INTERNAL_ERROR, "out of memory");
                break;
            }
        }
        if (p->remaining)
            break; /* pos == len: the rest of the payload is still to come */
        p->state = ST_HEADER;
        if (control && in_place)
            t = control_done(p, ev, chunk, avail);
        else if (control)
            t = control_done(p, ev, p->ctl, p->ctl_len);
        else
            t = data_done(p, ev, in_place ? chunk : NULL, avail);
        if (t != LS_WS_EV_NONE)
            break;
    }
    *used = pos;
    return t;
}
