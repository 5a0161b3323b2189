/* Unit tests for core/http/response_parse.h: responses as the HTTP client reads them, whole
 * and split at every byte, with each kind of body framing, interim responses, HEAD, the end
 * of input, extra bytes after a response, and malformed or oversized heads. */
#include "check.h"

#include "response_parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the events said, as one string: "S200/1/OK F:Name=Value H B:data|T:Name=Value E". */
typedef struct rec {
    char log[8192];
    size_t len;
    int stop_at; /* stop (return 1) at the event with this number, counting from 1 */
    int events;
} rec;

static void add(rec *r, const char *s, size_t n) {
    if (r->len + n < sizeof r->log) {
        memcpy(r->log + r->len, s, n);
        r->len += n;
        r->log[r->len] = 0;
    }
}

static void adds(rec *r, const char *s) { add(r, s, strlen(s)); }

static int event(rec *r) { return ++r->events == r->stop_at; }

static int ev_status(void *ctx, int status, int minor, const char *reason, size_t len) {
    rec *r = ctx;
    char b[64];
    snprintf(b, sizeof b, "S%d/%d/", status, minor);
    adds(r, b);
    add(r, reason, len);
    adds(r, " ");
    return event(r);
}

static int ev_field(void *ctx, int trailer, const char *name, size_t nlen, const char *value,
                    size_t vlen) {
    rec *r = ctx;
    adds(r, trailer ? "T:" : "F:");
    add(r, name, nlen);
    adds(r, "=");
    add(r, value, vlen);
    adds(r, " ");
    return event(r);
}

static int ev_head(void *ctx) {
    rec *r = ctx;
    adds(r, "H ");
    return event(r);
}

static int ev_body(void *ctx, const char *at, size_t len) {
    rec *r = ctx;
    /* consecutive body pieces join into one "B:...|" entry, so that splits do not change
     * the log */
    if (r->len >= 1 && r->log[r->len - 1] == '|')
        r->len--;
    else
        adds(r, "B:");
    add(r, at, len);
    adds(r, "|");
    return event(r);
}

static int ev_end(void *ctx) {
    rec *r = ctx;
    adds(r, "E");
    return event(r);
}

static const ls_response_events events = {ev_status, ev_field, ev_head, ev_body, ev_end};

typedef struct result {
    int code;    /* the last execute's or finish's */
    size_t used; /* bytes taken in all */
    int keep_alive;
    const char *error;
} result;

/* Feeds `in` in pieces of `step` bytes (0: all at once) to a parser started for a response
 * to a HEAD request or not, up to the end of the response or an error, then (eof) finish. */
static result run(ls_response_parse *p, rec *r, const char *in, size_t len, size_t step,
                  int head, int eof, size_t max_head) {
    result res = {LS_RESPONSE_MORE, 0, 0, NULL};
    ls_response_parse_start(p, head, max_head, &events, r);
    size_t off = 0;
    while (off < len) {
        size_t n = step && len - off > step ? step : len - off;
        size_t used;
        res.code = ls_response_parse_execute(p, in + off, n, &used);
        res.used += used;
        if (res.code != LS_RESPONSE_MORE)
            break;
        CHECK_EQ_UINT(n, used);
        off += n;
    }
    if (res.code == LS_RESPONSE_MORE && eof)
        res.code = ls_response_parse_finish(p);
    res.keep_alive = p->keep_alive;
    res.error = p->error;
    return res;
}

/* Checks one response fed whole and split in pieces of every size from 1 byte up: the same
 * events, result and byte count each time. */
static void check_response(const char *in, int head, int eof, int code, size_t used,
                           int keep_alive, const char *log) {
    size_t len = strlen(in);
    for (size_t step = 0; step <= len; step++) {
        ls_response_parse p = {0};
        rec r = {0};
        result res = run(&p, &r, in, len, step, head, eof, 16384);
        int ok = CHECK_EQ_INT(code, res.code);
        ok &= CHECK_EQ_UINT(used, res.used);
        ok &= CHECK_EQ_INT(keep_alive, res.keep_alive);
        ok &= CHECK_EQ_STR(log, r.log);
        ls_response_parse_free(&p);
        if (!ok) {
            printf("    (input split in pieces of %zu bytes; error: %s)\n", step,
                   res.error ? res.error : "none");
            return;
        }
    }
}

static void test_content_length(void) {
    const char *in = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n"
                     "X-Empty:\r\nX-Spaces:   a b  \t\r\n\r\nhello";
    check_response(in, 0, 0, LS_RESPONSE_END, strlen(in), 1,
                   "S200/1/OK F:Content-Type=text/plain F:Content-Length=5 F:X-Empty= "
                   "F:X-Spaces=a b H B:hello|E");
    /* a reason phrase with spaces, and an empty one */
    check_response("HTTP/1.1 404 Not Found Here\r\nContent-Length: 0\r\n\r\n", 0, 0,
                   LS_RESPONSE_END, 50, 1, "S404/1/Not Found Here F:Content-Length=0 H E");
    check_response("HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n", 0, 0, LS_RESPONSE_END, 36, 1,
                   "S200/1/ F:Content-Length=0 H E");
}

static void test_chunked(void) {
    const char *in = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "5\r\nhello\r\n1;ext=1\r\n \r\n6\r\nworld!\r\n0\r\nX-Sum: 42\r\n\r\n";
    check_response(in, 0, 0, LS_RESPONSE_END, strlen(in), 1,
                   "S200/1/OK F:Transfer-Encoding=chunked H B:hello world!|T:X-Sum=42 E");
    /* no trailers, and an empty body */
    check_response("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 0, 0,
                   LS_RESPONSE_END, 52, 1, "S200/1/OK F:Transfer-Encoding=chunked H E");
    /* a bad chunk size: llhttp's reason */
    ls_response_parse p = {0};
    rec r = {0};
    const char *bad = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n";
    result res = run(&p, &r, bad, strlen(bad), 0, 0, 0, 16384);
    CHECK_EQ_INT(LS_RESPONSE_ERROR, res.code);
    CHECK_EQ_STR("Invalid character in chunk size", res.error);
    ls_response_parse_free(&p);
}

static void test_no_body(void) {
    /* HEAD: the fields describe a body that is not sent */
    check_response("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", 1, 0, LS_RESPONSE_END, 39,
                   1, "S200/1/OK F:Content-Length=10 H E");
    check_response("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 1, 0,
                   LS_RESPONSE_END, 47, 1, "S200/1/OK F:Transfer-Encoding=chunked H E");
    /* 204 and 304 never have a body, whatever the fields say */
    check_response("HTTP/1.1 204 No Content\r\n\r\n", 0, 0, LS_RESPONSE_END, 27, 1,
                   "S204/1/No Content H E");
    check_response("HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\n", 0, 0,
                   LS_RESPONSE_END, 46, 1, "S204/1/No Content F:Content-Length=3 H E");
    check_response("HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n\r\n", 0, 0,
                   LS_RESPONSE_END, 48, 1, "S304/1/Not Modified F:Content-Length=7 H E");
}

static void test_interim(void) {
    /* 1xx responses are skipped: only the final one is reported */
    const char *in = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
                     "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok";
    check_response(in, 0, 0, LS_RESPONSE_END, strlen(in), 1,
                   "S201/1/Created F:Content-Length=2 H B:ok|E");
    ls_response_parse p = {0};
    rec r = {0};
    run(&p, &r, in, strlen(in), 0, 0, 0, 16384);
    CHECK_EQ_UINT(2, p.interims);
    ls_response_parse_free(&p);
    /* 101 is final, and the connection is no longer HTTP */
    check_response("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                   "Connection: upgrade\r\n\r\n",
                   0, 0, LS_RESPONSE_END, 77, 0,
                   "S101/1/Switching Protocols F:Upgrade=websocket F:Connection=upgrade H E");
}

static void test_until_close(void) {
    /* neither Content-Length nor chunked: the body ends with the connection */
    const char *in = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of this";
    check_response(in, 0, 1, LS_RESPONSE_END, strlen(in), 0,
                   "S200/1/OK F:Content-Type=text/plain H B:all of this|E");
    /* a transfer coding other than chunked last: the same */
    const char *gz = "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nzzz";
    check_response(gz, 0, 1, LS_RESPONSE_END, strlen(gz), 0,
                   "S200/1/OK F:Transfer-Encoding=gzip H B:zzz|E");
    /* and the same without the end of input: more is wanted */
    ls_response_parse p = {0};
    rec r = {0};
    result res = run(&p, &r, in, strlen(in), 0, 0, 0, 16384);
    CHECK_EQ_INT(LS_RESPONSE_MORE, res.code);
    ls_response_parse_free(&p);
}

static void test_keep_alive(void) {
    check_response("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", 0, 0,
                   LS_RESPONSE_END, 57, 0, "S200/1/OK F:Connection=close F:Content-Length=0 H E");
    check_response("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", 0, 0, LS_RESPONSE_END, 38, 0,
                   "S200/0/OK F:Content-Length=0 H E");
    check_response("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", 0,
                   0, LS_RESPONSE_END, 62, 1,
                   "S200/0/OK F:Connection=keep-alive F:Content-Length=0 H E");
}

static void test_after_the_end(void) {
    /* bytes after the response are not taken; a second response on the same object after a
     * new start reads them */
    const char *in = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 204 No Content\r\n\r\n";
    ls_response_parse p = {0};
    rec r = {0};
    size_t used;
    ls_response_parse_start(&p, 0, 16384, &events, &r);
    CHECK_EQ_INT(LS_RESPONSE_END, ls_response_parse_execute(&p, in, strlen(in), &used));
    CHECK_EQ_UINT(39, used);
    CHECK_EQ_STR("S200/1/OK F:Content-Length=1 H B:a|E", r.log);
    /* execute after the end takes nothing */
    size_t again;
    CHECK_EQ_INT(LS_RESPONSE_END, ls_response_parse_execute(&p, in + used, 5, &again));
    CHECK_EQ_UINT(0, again);
    rec r2 = {0};
    ls_response_parse_start(&p, 0, 16384, &events, &r2);
    size_t used2;
    CHECK_EQ_INT(LS_RESPONSE_END,
                 ls_response_parse_execute(&p, in + used, strlen(in) - used, &used2));
    CHECK_EQ_UINT(strlen(in) - used, used2);
    CHECK_EQ_STR("S204/1/No Content H E", r2.log);
    ls_response_parse_free(&p);
}

static void check_error(const char *in, int eof, size_t max_head, const char *error) {
    ls_response_parse p = {0};
    rec r = {0};
    result res = run(&p, &r, in, strlen(in), 0, 0, eof, max_head);
    CHECK_EQ_INT(LS_RESPONSE_ERROR, res.code);
    if (!CHECK_EQ_STR(error, res.error))
        printf("    (input %s)\n", in);
    ls_response_parse_free(&p);
}

static void test_errors(void) {
    check_error("SMTP ready\r\n", 0, 16384, "Expected HTTP/");
    check_error("HTTP/1.1 2x0 OK\r\n", 0, 16384, "Invalid response status");
    check_error("HTTP/1.1 099 Low\r\n\r\n", 0, 16384, "Invalid response status");
    check_error("HTTP/2.0 200 OK\r\n\r\n", 0, 16384, "unsupported HTTP version");
    check_error("HTTP/1.1 200 OK\r\nBad\x01Name: x\r\n\r\n", 0, 16384, "Invalid header token");
    check_error("HTTP/1.1 200 OK\r\nX: a\x7f\r\n\r\n", 0, 16384, "Invalid header value char");
    check_error("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 0, 16384,
                "Duplicate Content-Length");
    /* the end of input before any byte, inside the head, inside a counted body */
    check_error("", 1, 16384, "connection closed before the response");
    check_error("HTTP/1.1 200 OK\r\nContent-", 1, 16384, "Invalid EOF state");
    check_error("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel", 1, 16384,
                "Invalid EOF state");
    check_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", 1, 16384,
                "Invalid EOF state");
    /* only interim responses, then the end */
    check_error("HTTP/1.1 100 Continue\r\n\r\n", 1, 16384,
                "connection closed before the response ended");
}

static void test_limits(void) {
    /* the head is bounded: a long field value in one input, and many fields */
    char big[4096];
    snprintf(big, sizeof big, "HTTP/1.1 200 OK\r\nX-Long: %0*d\r\n\r\n", 2000, 0);
    check_error(big, 0, 1024, "response head too large");
    char many[8192] = "HTTP/1.1 200 OK\r\n";
    for (int i = 0; i < 200; i++)
        strcat(many, "A: b\r\n");
    check_error(many, 0, 1024, "response head too large");
    /* whitespace that no callback sees still counts */
    char ws[4096];
    snprintf(ws, sizeof ws, "HTTP/1.1 200 OK\r\nX: %*sv\r\n\r\n", 2000, "");
    check_error(ws, 0, 1024, "response head too large");
    /* a small head under the same limit is fine, and the body does not count */
    ls_response_parse p = {0};
    rec r = {0};
    char body[4096];
    snprintf(body, sizeof body, "HTTP/1.1 200 OK\r\nContent-Length: 3000\r\n\r\n%0*d", 3000, 0);
    result res = run(&p, &r, body, strlen(body), 100, 0, 0, 1024);
    CHECK_EQ_INT(LS_RESPONSE_END, res.code);
    ls_response_parse_free(&p);
    /* the trailer section has its own bound */
    char tr[4096];
    snprintf(tr, sizeof tr,
             "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: %0*d\r\n\r\n", 2000,
             0);
    check_error(tr, 0, 1024, "response head too large");
}

static void test_obs_fold(void) {
    /* an obs-fold becomes one SP (RFC 9112 5.2) */
    const char *in = "HTTP/1.1 200 OK\r\nX-Fold: a\r\n  b\r\nContent-Length: 0\r\n\r\n";
    ls_response_parse p = {0};
    rec r = {0};
    result res = run(&p, &r, in, strlen(in), 0, 0, 0, 16384);
    CHECK_EQ_INT(LS_RESPONSE_END, res.code);
    CHECK_EQ_STR("S200/1/OK F:X-Fold=a b F:Content-Length=0 H E", r.log);
    ls_response_parse_free(&p);
}

static void test_stop(void) {
    /* an event that returns non-zero stops the parse there: the status, two fields, the
     * head, the body, the end */
    const char *in = "HTTP/1.1 200 OK\r\nA: 1\r\nContent-Length: 2\r\n\r\nok";
    for (int at = 1; at <= 6; at++) {
        ls_response_parse p = {0};
        rec r = {0};
        r.stop_at = at;
        result res = run(&p, &r, in, strlen(in), 0, 0, 0, 16384);
        CHECK_EQ_INT(LS_RESPONSE_ERROR, res.code);
        CHECK_EQ_STR("stopped by the caller", res.error);
        CHECK_EQ_INT(at, r.events);
        CHECK_EQ_INT(0, p.done);
        ls_response_parse_free(&p);
    }
}

int main(void) {
    test_content_length();
    test_chunked();
    test_no_body();
    test_interim();
    test_until_close();
    test_keep_alive();
    test_after_the_end();
    test_errors();
    test_limits();
    test_obs_fold();
    test_stop();
    return check_summary("test_response_parse");
}
