#include "keepalive.h"

void ls_keepalive_begin(ls_keepalive *k, int http_major, int http_minor, int conn_close,
                        int conn_keepalive) {
    k->on = 1;
    k->reason = LS_CLOSE_FINISH;
    if (conn_close || (http_major == 1 && http_minor == 0 && !conn_keepalive) || http_major < 1)
        ls_keepalive_lower(k, LS_CLOSE_FINISH);
}

void ls_keepalive_lower(ls_keepalive *k, ls_close_reason why) {
    if (!k->on)
        return;
    k->on = 0;
    k->reason = (uint8_t)why;
}

uint64_t ls_keepalive_idle_ms(uint64_t timeout_ms) {
    uint64_t margin = timeout_ms / 4;
    return timeout_ms + (margin > 1000 ? 1000 : margin);
}
