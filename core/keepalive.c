#include "keepalive.h"

int ls_keepalive_initial(int http_major, int http_minor, int conn_close, int conn_keepalive) {
    if (conn_close)
        return 0;
    if (http_major > 1 || (http_major == 1 && http_minor >= 1))
        return 1;
    return conn_keepalive;
}

int ls_keepalive_decide(const ls_keepalive_in *in) {
    return in->wanted && !in->shutting_down && !in->at_request_limit && !in->unread_body_over &&
           !in->protocol_error && !in->close_delimited && !in->peer_done;
}

uint64_t ls_keepalive_idle_ms(uint64_t timeout_ms) {
    uint64_t margin = timeout_ms / 4;
    return timeout_ms + (margin > 1000 ? 1000 : margin);
}
