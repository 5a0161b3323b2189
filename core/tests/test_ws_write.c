/* Unit tests for core/ws/frame_write.h: RFC 6455 5.7's unmasked examples byte for byte, the
 * three length forms at their edges, control and close frames, and that what the writer makes
 * (once masked as a client would) reads back through the parser. */
#include "check.h"

#include "frame_parse.h"
#include "frame_write.h"

#include <string.h>

/* The bytes out[0..n) are exactly those of the string literal lit. */
#define CHECK_BYTES(lit, out, n) CHECK_MEM(lit, sizeof(lit) - 1, out, n)

static void test_rfc_examples(void) {
    uint8_t out[LS_WS_CONTROL_FRAME_MAX + 8];
    /* a single-frame unmasked text message: 0x81 0x05 "Hello" */
    size_t n = ls_ws_frame_header(out, LS_WS_OP_TEXT, 1, 5);
    CHECK_BYTES("\x81\x05", out, n);
    /* a fragmented unmasked text message: "Hel", then "lo" */
    n = ls_ws_frame_header(out, LS_WS_OP_TEXT, 0, 3);
    CHECK_BYTES("\x01\x03", out, n);
    n = ls_ws_frame_header(out, LS_WS_OP_CONTINUATION, 1, 2);
    CHECK_BYTES("\x80\x02", out, n);
    /* an unmasked ping "Hello" */
    n = ls_ws_frame_control(out, LS_WS_OP_PING, "Hello", 5);
    CHECK_BYTES("\x89\x05Hello", out, n);
    /* 256 bytes of binary: a 16-bit length */
    n = ls_ws_frame_header(out, LS_WS_OP_BINARY, 1, 256);
    CHECK_BYTES("\x82\x7e\x01\x00", out, n);
    /* 64 KiB of binary: a 64-bit length */
    n = ls_ws_frame_header(out, LS_WS_OP_BINARY, 1, 65536);
    CHECK_BYTES("\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00", out, n);
}

static void test_length_edges(void) {
    uint8_t out[LS_WS_SERVER_HEADER_MAX];
    CHECK_BYTES("\x82\x00", out, ls_ws_frame_header(out, LS_WS_OP_BINARY, 1, 0));
    CHECK_BYTES("\x82\x7d", out, ls_ws_frame_header(out, LS_WS_OP_BINARY, 1, 125));
    CHECK_BYTES("\x82\x7e\x00\x7e", out, ls_ws_frame_header(out, LS_WS_OP_BINARY, 1, 126));
    CHECK_BYTES("\x82\x7e\xff\xff", out, ls_ws_frame_header(out, LS_WS_OP_BINARY, 1, 65535));
    CHECK_BYTES("\x81\x7f\x00\x00\x00\x01\x00\x00\x00\x00", out,
              ls_ws_frame_header(out, LS_WS_OP_TEXT, 1, UINT64_C(1) << 32));
    CHECK_BYTES("\x02\x7f\x7f\xff\xff\xff\xff\xff\xff\xff", out,
              ls_ws_frame_header(out, LS_WS_OP_BINARY, 0, INT64_MAX));
    CHECK_BYTES("\x0a\x00", out, ls_ws_frame_header(out, LS_WS_OP_PONG, 0, 0));
}

static void test_control(void) {
    uint8_t out[LS_WS_CONTROL_FRAME_MAX];
    char p[126];
    memset(p, 'q', sizeof p);
    CHECK_BYTES("\x8a\x00", out, ls_ws_frame_control(out, LS_WS_OP_PONG, NULL, 0));
    CHECK_EQ_UINT(127, ls_ws_frame_control(out, LS_WS_OP_PONG, p, 125));
    CHECK_BYTES("\x8a\x7d", out, 2);
    CHECK_EQ_UINT(0, ls_ws_frame_control(out, LS_WS_OP_PING, p, 126));
    CHECK_EQ_UINT(0, ls_ws_frame_control(out, LS_WS_OP_TEXT, "x", 1));
    CHECK_EQ_UINT(0, ls_ws_frame_control(out, LS_WS_OP_CLOSE, "", 0));
}

static void test_close(void) {
    uint8_t out[LS_WS_CONTROL_FRAME_MAX];
    CHECK_BYTES("\x88\x00", out, ls_ws_frame_close(out, 0, NULL, 0));
    CHECK_BYTES("\x88\x02\x03\xe8", out, ls_ws_frame_close(out, 1000, NULL, 0));
    CHECK_BYTES("\x88\x06\x03\xe9" "away", out, ls_ws_frame_close(out, 1001, "away", 4));
    CHECK_BYTES("\x88\x04\x0f\xa0\xc3\xa9", out, ls_ws_frame_close(out, 4000, "\xc3\xa9", 2));
    /* codes that must not be sent, a reason without a code, bad UTF-8, too long */
    CHECK_EQ_UINT(0, ls_ws_frame_close(out, 1005, NULL, 0));
    CHECK_EQ_UINT(0, ls_ws_frame_close(out, 1006, NULL, 0));
    CHECK_EQ_UINT(0, ls_ws_frame_close(out, 1015, NULL, 0));
    CHECK_EQ_UINT(0, ls_ws_frame_close(out, 999, NULL, 0));
    CHECK_EQ_UINT(0, ls_ws_frame_close(out, 5000, NULL, 0));
    CHECK_EQ_UINT(0, ls_ws_frame_close(out, 0, "x", 1));
    CHECK_EQ_UINT(0, ls_ws_frame_close(out, 1000, "\xff", 1));
    char r[124];
    memset(r, 'r', sizeof r);
    CHECK_EQ_UINT(127, ls_ws_frame_close(out, 1000, r, 123));
    CHECK_EQ_UINT(0, ls_ws_frame_close(out, 1000, r, 124));
    /* cutting a reason to fit, at a character boundary */
    CHECK_EQ_UINT(5, ls_ws_reason_cut("short", 5));
    CHECK_EQ_UINT(123, ls_ws_reason_cut(r, 124));
    char u[130];
    memset(u, 'a', sizeof u);
    memcpy(u + 121, "\xe2\x82\xac", 3); /* bytes 121..123: the euro sign straddles the limit */
    CHECK_EQ_UINT(121, ls_ws_reason_cut(u, sizeof u));
    memcpy(u + 120, "\xe2\x82\xac", 3); /* 120..122: fits exactly */
    u[123] = 'a';
    CHECK_EQ_UINT(123, ls_ws_reason_cut(u, sizeof u));
}

/* What the writer makes, masked the way a client masks, parses back to the same frame. */
static void test_round_trip(void) {
    static uint8_t buf[70000 + 14];
    static uint8_t payload[70000];
    size_t sizes[] = {0, 1, 125, 126, 65535, 65536, 70000};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t n = sizes[k];
        for (size_t i = 0; i < n; i++)
            payload[i] = (uint8_t)(i * 31 + k);
        size_t h = ls_ws_frame_header(buf, LS_WS_OP_BINARY, 1, n);
        /* a client's frame: the same header with MASK set and a mask after it */
        static const uint8_t mask[4] = {0xa1, 0x5c, 0x03, 0xee};
        buf[1] |= LS_WS_MASK;
        memcpy(buf + h, mask, 4);
        for (size_t i = 0; i < n; i++)
            buf[h + 4 + i] = payload[i] ^ mask[i & 3];
        ls_ws_parser p;
        ls_ws_parser_init(&p, 1 << 20, 0);
        size_t used;
        ls_ws_event ev;
        CHECK_EQ_INT(LS_WS_EV_MESSAGE, ls_ws_parse(&p, buf, h + 4 + n, &used, &ev));
        CHECK_EQ_UINT(h + 4 + n, used);
        CHECK_EQ_UINT(LS_WS_OP_BINARY, ev.opcode);
        CHECK_MEM(payload, n, ev.data, ev.len);
        ls_ws_parser_free(&p);
    }
    /* a close frame from the writer, masked, reads back as the same code and reason */
    uint8_t c[LS_WS_CONTROL_FRAME_MAX + 4];
    size_t n = ls_ws_frame_close(c, 3001, "done", 4);
    memmove(c + 6, c + 2, n - 2);
    c[1] |= LS_WS_MASK;
    memset(c + 2, 0, 4);
    ls_ws_parser p;
    ls_ws_parser_init(&p, 10, 0);
    size_t used;
    ls_ws_event ev;
    CHECK_EQ_INT(LS_WS_EV_CLOSE, ls_ws_parse(&p, c, n + 4, &used, &ev));
    CHECK_EQ_UINT(3001, ev.code);
    CHECK_MEM("done", 4, ev.data, ev.len);
    ls_ws_parser_free(&p);
}

int main(void) {
    test_rfc_examples();
    test_length_edges();
    test_control();
    test_close();
    test_round_trip();
    return check_summary("test_ws_write");
}
