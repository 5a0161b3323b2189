/* Unit tests for core/ws/handshake.h: the accept example of RFC 6455 1.3 and 4.2.2 (the key
 * "dGhlIHNhbXBsZSBub25jZQ==" gives "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="; SHA-1 from libcrypto,
 * linked into this test only), base64 against RFC 4648's vectors, token lists, and each way
 * a handshake request can be refused, with the status it gets. */
#include "check.h"

#include "handshake.h"

#include <openssl/sha.h>
#include <string.h>

static int sha1(const void *data, size_t len, uint8_t out[20]) {
    return SHA1(data, len, out) ? 0 : -1;
}
static int sha1_fails(const void *data, size_t len, uint8_t out[20]) {
    (void)data, (void)len, (void)out;
    return -1;
}

static ls_ws_value V(const char *s) { return (ls_ws_value){s, s ? strlen(s) : 0}; }

static void test_accept(void) {
    char out[LS_WS_ACCEPT_LEN + 1] = {0};
    CHECK_EQ_INT(0, ls_ws_accept(V("dGhlIHNhbXBsZSBub25jZQ=="), sha1, out));
    CHECK_EQ_STR("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", out);
    /* white space around the value is not part of the key */
    memset(out, 0, sizeof out);
    CHECK_EQ_INT(0, ls_ws_accept(V(" dGhlIHNhbXBsZSBub25jZQ==\t"), sha1, out));
    CHECK_EQ_STR("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", out);
    CHECK_EQ_INT(-1, ls_ws_accept(V("dGhlIHNhbXBsZSBub25jZQ="), sha1, out));
    CHECK_EQ_INT(-1, ls_ws_accept(V(NULL), sha1, out));
    CHECK_EQ_INT(-1, ls_ws_accept(V("dGhlIHNhbXBsZSBub25jZQ=="), sha1_fails, out));
}

static void test_base64(void) {
    /* RFC 4648 section 10 */
    const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *exp[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (int i = 0; i < 7; i++) {
        char out[16];
        size_t n = ls_ws_base64((const uint8_t *)in[i], strlen(in[i]), out);
        CHECK_MEM(exp[i], strlen(exp[i]), out, n);
    }
    char out[8];
    CHECK_MEM("+/8=", 4, out, ls_ws_base64((const uint8_t *)"\xfb\xff", 2, out));
}

static void test_tokens(void) {
    CHECK(ls_ws_has_token(V("Upgrade"), "upgrade"));
    CHECK(ls_ws_has_token(V("keep-alive, Upgrade"), "upgrade"));
    CHECK(ls_ws_has_token(V("keep-alive,upgrade"), "upgrade"));
    CHECK(ls_ws_has_token(V(" , ,UPGRADE ,"), "upgrade"));
    CHECK(ls_ws_has_token(V("WebSocket"), "websocket"));
    CHECK(!ls_ws_has_token(V("upgrades"), "upgrade"));
    CHECK(!ls_ws_has_token(V("keep-alive"), "upgrade"));
    CHECK(!ls_ws_has_token(V("websocket/13"), "websocket"));
    CHECK(!ls_ws_has_token(V(""), "upgrade"));
    CHECK(!ls_ws_has_token(V(NULL), "upgrade"));
    CHECK(!ls_ws_has_token(V("up grade"), "upgrade"));
}

static void test_protocols(void) {
    const char *const ours[] = {"chat.v2", "chat", NULL};
    CHECK_EQ_INT(1, ls_ws_select_protocol(V("chat"), ours));
    /* the client's order of preference decides */
    CHECK_EQ_INT(1, ls_ws_select_protocol(V("chat, chat.v2"), ours));
    CHECK_EQ_INT(0, ls_ws_select_protocol(V("x, chat.v2 ,chat"), ours));
    CHECK_EQ_INT(-1, ls_ws_select_protocol(V("Chat, chat.v1, chat.v2x"), ours));
    CHECK_EQ_INT(-1, ls_ws_select_protocol(V(""), ours));
    CHECK_EQ_INT(-1, ls_ws_select_protocol(V(" , "), ours));
    CHECK_EQ_INT(-1, ls_ws_select_protocol(V(NULL), ours));
    const char *const none[] = {NULL};
    CHECK_EQ_INT(-1, ls_ws_select_protocol(V("chat"), none));
    CHECK_EQ_INT(-1, ls_ws_select_protocol(V("chat"), NULL));
}

static ls_ws_request good(void) {
    ls_ws_request r = {
        .method = V("GET"),
        .http_major = 1,
        .http_minor = 1,
        .upgrade = V("websocket"),
        .connection = V("Upgrade"),
        .version = V("13"),
        .key = V("dGhlIHNhbXBsZSBub25jZQ=="),
    };
    return r;
}

static void test_check(void) {
    ls_ws_request r = good();
    CHECK_EQ_INT(LS_WS_HS_OK, ls_ws_handshake_check(&r));
    CHECK_EQ_INT(101, ls_ws_handshake_status(LS_WS_HS_OK));
    r.http_minor = 0, r.http_major = 2; /* a later HTTP is fine */
    CHECK_EQ_INT(LS_WS_HS_OK, ls_ws_handshake_check(&r));

    r = good(), r.method = V("POST");
    CHECK_EQ_INT(LS_WS_HS_NOT_GET, ls_ws_handshake_check(&r));
    r = good(), r.method = V("get"); /* methods are case-sensitive */
    CHECK_EQ_INT(LS_WS_HS_NOT_GET, ls_ws_handshake_check(&r));
    r = good(), r.http_minor = 0;
    CHECK_EQ_INT(LS_WS_HS_OLD_HTTP, ls_ws_handshake_check(&r));
    r = good(), r.upgrade = V(NULL);
    CHECK_EQ_INT(LS_WS_HS_NO_UPGRADE, ls_ws_handshake_check(&r));
    r = good(), r.upgrade = V("h2c");
    CHECK_EQ_INT(LS_WS_HS_NO_UPGRADE, ls_ws_handshake_check(&r));
    r = good(), r.connection = V("keep-alive");
    CHECK_EQ_INT(LS_WS_HS_NO_CONNECTION, ls_ws_handshake_check(&r));
    r = good(), r.connection = V(NULL);
    CHECK_EQ_INT(LS_WS_HS_NO_CONNECTION, ls_ws_handshake_check(&r));
    r = good(), r.version = V(NULL);
    CHECK_EQ_INT(LS_WS_HS_BAD_VERSION, ls_ws_handshake_check(&r));
    r = good(), r.version = V("8");
    CHECK_EQ_INT(LS_WS_HS_BAD_VERSION, ls_ws_handshake_check(&r));
    r = good(), r.version = V("13, 8");
    CHECK_EQ_INT(LS_WS_HS_BAD_VERSION, ls_ws_handshake_check(&r));
    r = good(), r.version = V(" 13 ");
    CHECK_EQ_INT(LS_WS_HS_OK, ls_ws_handshake_check(&r));
    const char *bad_keys[] = {NULL, "", "dGhlIHNhbXBsZSBub25jZQ", "dGhlIHNhbXBsZSBub25jZQ=",
                              "dGhlIHNhbXBsZSBub25jZQ===", "dGhlIHNhbXBsZSBub25j*Q==",
                              "dGhlIHNhbXBsZSBub25jZQA=", "dGhlIHNhbXBsZSBub25jZSBub25jZQ=="};
    for (int i = 0; i < 8; i++) {
        r = good(), r.key = V(bad_keys[i]);
        if (!CHECK_EQ_INT(LS_WS_HS_BAD_KEY, ls_ws_handshake_check(&r)))
            printf("    key %d\n", i);
    }
    /* the statuses: 426 only for the version (with Sec-WebSocket-Version: 13), else 400 */
    CHECK_EQ_INT(426, ls_ws_handshake_status(LS_WS_HS_BAD_VERSION));
    CHECK_EQ_INT(400, ls_ws_handshake_status(LS_WS_HS_NOT_GET));
    CHECK_EQ_INT(400, ls_ws_handshake_status(LS_WS_HS_OLD_HTTP));
    CHECK_EQ_INT(400, ls_ws_handshake_status(LS_WS_HS_NO_UPGRADE));
    CHECK_EQ_INT(400, ls_ws_handshake_status(LS_WS_HS_NO_CONNECTION));
    CHECK_EQ_INT(400, ls_ws_handshake_status(LS_WS_HS_BAD_KEY));
    CHECK_EQ_STR("missing or invalid Sec-WebSocket-Key", ls_ws_handshake_error(LS_WS_HS_BAD_KEY));
}

int main(void) {
    test_accept();
    test_base64();
    test_tokens();
    test_protocols();
    test_check();
    return check_summary("test_ws_handshake");
}
