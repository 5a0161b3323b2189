/* Frame headers and the small control frames, into the caller's buffer. */
#include "frame_write.h"

#include "close_code.h"
#include "utf8.h"

#include <string.h>

size_t ls_ws_frame_header(uint8_t *out, unsigned opcode, int fin, uint64_t len) {
    out[0] = (uint8_t)((fin ? LS_WS_FIN : 0) | (opcode & 0x0f));
    if (len < 126) {
        out[1] = (uint8_t)len;
        return 2;
    }
    if (len <= 0xffff) {
        out[1] = 126;
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        return 4;
    }
    out[1] = 127;
    for (int i = 0; i < 8; i++)
        out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
    return 10;
}

size_t ls_ws_frame_control(uint8_t *out, unsigned opcode, const void *payload, size_t len) {
    if ((opcode != LS_WS_OP_PING && opcode != LS_WS_OP_PONG) || len > LS_WS_CONTROL_MAX)
        return 0;
    size_t h = ls_ws_frame_header(out, opcode, 1, len);
    if (len)
        memcpy(out + h, payload, len);
    return h + len;
}

size_t ls_ws_frame_close(uint8_t *out, unsigned code, const char *reason, size_t len) {
    if (code == 0) {
        if (len)
            return 0;
        return ls_ws_frame_header(out, LS_WS_OP_CLOSE, 1, 0);
    }
    if (!ls_ws_close_code_valid(code) || len > LS_WS_REASON_MAX ||
        !ls_utf8_valid((const uint8_t *)reason, len))
        return 0;
    size_t h = ls_ws_frame_header(out, LS_WS_OP_CLOSE, 1, 2 + len);
    out[h] = (uint8_t)(code >> 8);
    out[h + 1] = (uint8_t)code;
    if (len)
        memcpy(out + h + 2, reason, len);
    return h + 2 + len;
}

size_t ls_ws_reason_cut(const char *reason, size_t len) {
    if (len <= LS_WS_REASON_MAX)
        return len;
    size_t n = LS_WS_REASON_MAX;
    /* back over continuation bytes to the start of the character that does not fit */
    while (n > 0 && ((unsigned char)reason[n] & 0xc0) == 0x80)
        n--;
    return n;
}
