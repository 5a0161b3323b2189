/* Unit tests for core/http/keepalive.h: the persistence HTTP itself implies (RFC 9112 9.3),
 * and a flag that can only be lowered, keeping the reason of the first lowering. */
#include "check.h"

#include "keepalive.h"

static int begin(int major, int minor, int conn_close, int conn_keepalive) {
    ls_keepalive k;
    ls_keepalive_begin(&k, major, minor, conn_close, conn_keepalive);
    if (!k.on)
        CHECK_EQ_INT(LS_CLOSE_FINISH, ls_keepalive_reason(&k));
    return ls_keepalive_on(&k);
}

static void test_begin(void) {
    /* HTTP/1.1: persistent by default; "close" ends it */
    CHECK_EQ_INT(1, begin(1, 1, 0, 0));
    CHECK_EQ_INT(0, begin(1, 1, 1, 0));
    CHECK_EQ_INT(1, begin(1, 1, 0, 1));
    CHECK_EQ_INT(0, begin(1, 1, 1, 1));
    /* a later 1.x minor version behaves like 1.1 */
    CHECK_EQ_INT(1, begin(1, 2, 0, 0));
    CHECK_EQ_INT(0, begin(1, 2, 1, 0));
    /* HTTP/1.0: persistent only when asked with "keep-alive" */
    CHECK_EQ_INT(0, begin(1, 0, 0, 0));
    CHECK_EQ_INT(1, begin(1, 0, 0, 1));
    CHECK_EQ_INT(0, begin(1, 0, 1, 0));
    /* both tokens: close wins */
    CHECK_EQ_INT(0, begin(1, 0, 1, 1));
}

static void test_lower(void) {
    /* each reason alone closes, and is the one kept */
    for (int why = 0; why < LS_CLOSE_REASONS; why++) {
        ls_keepalive k;
        ls_keepalive_begin(&k, 1, 1, 0, 0);
        ls_keepalive_lower(&k, (ls_close_reason)why);
        CHECK_EQ_INT(0, ls_keepalive_on(&k));
        CHECK_EQ_INT(why, ls_keepalive_reason(&k));
        /* later lowerings keep the first reason, and nothing raises it again */
        ls_keepalive_lower(&k, why == LS_CLOSE_SHUTDOWN ? LS_CLOSE_PROTOCOL : LS_CLOSE_SHUTDOWN);
        CHECK_EQ_INT(0, ls_keepalive_on(&k));
        CHECK_EQ_INT(why, ls_keepalive_reason(&k));
    }
    /* a request HTTP already closes keeps HTTP's reason when the server lowers it too */
    ls_keepalive k;
    ls_keepalive_begin(&k, 1, 0, 0, 0);
    ls_keepalive_lower(&k, LS_CLOSE_SHUTDOWN);
    CHECK_EQ_INT(LS_CLOSE_FINISH, ls_keepalive_reason(&k));
}

static void test_idle_margin(void) {
    /* the idle close comes after the announced time: a quarter more, at most 1 s */
    CHECK_EQ_INT(6000, (int)ls_keepalive_idle_ms(5000));
    CHECK_EQ_INT(1250, (int)ls_keepalive_idle_ms(1000));
    CHECK_EQ_INT(61000, (int)ls_keepalive_idle_ms(60000));
    CHECK_EQ_INT(0, (int)ls_keepalive_idle_ms(0));
}

int main(void) {
    test_idle_margin();
    test_begin();
    test_lower();
    return check_summary("test_keepalive");
}
