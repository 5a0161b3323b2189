/* Unit tests for core/keepalive.h: the persistence HTTP itself implies (RFC 9112 9.3) and the
 * final decision once the server's own reasons to close are counted. */
#include "check.h"

#include "keepalive.h"

static void test_initial(void) {
    /* HTTP/1.1: persistent by default; "close" ends it */
    CHECK_EQ_INT(1, ls_keepalive_initial(1, 1, 0, 0));
    CHECK_EQ_INT(0, ls_keepalive_initial(1, 1, 1, 0));
    CHECK_EQ_INT(1, ls_keepalive_initial(1, 1, 0, 1));
    CHECK_EQ_INT(0, ls_keepalive_initial(1, 1, 1, 1));
    /* a later 1.x minor version behaves like 1.1 */
    CHECK_EQ_INT(1, ls_keepalive_initial(1, 2, 0, 0));
    CHECK_EQ_INT(0, ls_keepalive_initial(1, 2, 1, 0));
    /* HTTP/1.0: persistent only when asked with "keep-alive" */
    CHECK_EQ_INT(0, ls_keepalive_initial(1, 0, 0, 0));
    CHECK_EQ_INT(1, ls_keepalive_initial(1, 0, 0, 1));
    CHECK_EQ_INT(0, ls_keepalive_initial(1, 0, 1, 0));
    /* both tokens: close wins */
    CHECK_EQ_INT(0, ls_keepalive_initial(1, 0, 1, 1));
}

static void test_decide(void) {
    ls_keepalive_in clear = {
        .wanted = 1,
        .shutting_down = 0,
        .at_request_limit = 0,
        .unread_body_over = 0,
        .protocol_error = 0,
        .close_delimited = 0,
        .peer_done = 0,
    };
    CHECK_EQ_INT(1, ls_keepalive_decide(&clear));

    ls_keepalive_in in = clear;
    in.wanted = 0;
    CHECK_EQ_INT(0, ls_keepalive_decide(&in));

    /* each reason to close, alone, forces the connection closed */
    static const char *const names[] = {"shutting_down", "at_request_limit",
                                        "unread_body_over", "protocol_error",
                                        "close_delimited", "peer_done"};
    for (int i = 0; i < 6; i++) {
        in = clear;
        int *fields[] = {&in.shutting_down,  &in.at_request_limit, &in.unread_body_over,
                         &in.protocol_error, &in.close_delimited,  &in.peer_done};
        *fields[i] = 1;
        if (!CHECK_EQ_INT(0, ls_keepalive_decide(&in)))
            printf("    with only %s set\n", names[i]);
        /* any non-zero value counts as set */
        *fields[i] = 7;
        if (!CHECK_EQ_INT(0, ls_keepalive_decide(&in)))
            printf("    with only %s = 7\n", names[i]);
        /* and not wanted as well */
        in.wanted = 0;
        CHECK_EQ_INT(0, ls_keepalive_decide(&in));
    }

    /* every subset of the reasons: keep-alive only with none of them and wanted */
    int wrong = 0;
    for (unsigned mask = 0; mask < 128; mask++) {
        ls_keepalive_in m = {
            .wanted = !(mask & 1),
            .shutting_down = !!(mask & 2),
            .at_request_limit = !!(mask & 4),
            .unread_body_over = !!(mask & 8),
            .protocol_error = !!(mask & 16),
            .close_delimited = !!(mask & 32),
            .peer_done = !!(mask & 64),
        };
        if (ls_keepalive_decide(&m) != (mask == 0)) {
            wrong++;
            printf("    mask 0x%02x: expected %d\n", mask, mask == 0);
        }
    }
    CHECK_EQ_INT(0, wrong);

    /* wanted as any non-zero value */
    in = clear;
    in.wanted = 2;
    CHECK(ls_keepalive_decide(&in) != 0);
}

int main(void) {
    test_initial();
    test_decide();
    return check_summary("test_keepalive");
}
