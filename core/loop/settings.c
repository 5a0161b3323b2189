#include "settings.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FIELD(f) offsetof(ls_settings, f)

const ls_setting_def ls_setting_defs[] = {
    {"host", LS_SET_HOST, FIELD(host), "address to listen on (default 127.0.0.1)"},
    {"port", LS_SET_PORT, FIELD(port), "port, 0 for any free one (default $PORT, else 8080)"},
    {"keepalive_timeout", LS_SET_SECONDS, FIELD(keepalive_timeout_ms),
     "seconds an idle keep-alive connection is kept (5)"},
    {"header_timeout", LS_SET_SECONDS, FIELD(header_timeout_ms),
     "seconds to receive a whole request head (20)"},
    {"body_timeout", LS_SET_SECONDS, FIELD(body_timeout_ms),
     "seconds between two reads of a request body (60)"},
    {"send_timeout", LS_SET_SECONDS, FIELD(send_timeout_ms),
     "seconds without write progress before the connection is dropped (60)"},
    {"linger_time", LS_SET_SECONDS, FIELD(linger_time_ms),
     "seconds input is drained after a closing response (30)"},
    {"linger_idle", LS_SET_SECONDS, FIELD(linger_idle_ms),
     "seconds of silence that end the lingering close (5)"},
    {"max_header", LS_SET_BYTES, FIELD(max_header), "bytes of request head, else 431 (16k)"},
    {"max_url", LS_SET_BYTES, FIELD(max_url), "bytes of request target, else 414 (8k)"},
    {"max_body", LS_SET_BYTES, FIELD(max_body), "bytes of request body, else 413 (1m)"},
    {"discard_limit", LS_SET_BYTES, FIELD(discard_limit),
     "unread body drained to keep a connection alive (64k)"},
    {"high_water", LS_SET_BYTES, FIELD(high_water),
     "queued output above which write() returns false (64k)"},
    {"max_output", LS_SET_BYTES, FIELD(max_output),
     "queued output above which the connection is dropped (64m)"},
    {"max_requests", LS_SET_COUNT, FIELD(max_requests), "requests per connection (1000)"},
    {"handler_budget", LS_SET_SECONDS, FIELD(handler_budget_ms),
     "seconds a handler may run without yielding, else 500 or close; 0: no limit (2)"},
    {"max_lua_memory", LS_SET_BYTES, FIELD(max_lua_memory),
     "bytes of Lua memory per process; a handler over it gets 500; 0: no limit (256m)"},
    {"shutdown_timeout", LS_SET_SECONDS, FIELD(shutdown_timeout_ms),
     "seconds requests in flight may take to finish on SIGTERM (10)"},
    {"socket_connect_timeout", LS_SET_SECONDS, FIELD(socket_connect_timeout_ms),
     "seconds an outbound connect may take, name lookup included (60)"},
    {"socket_send_timeout", LS_SET_SECONDS, FIELD(socket_send_timeout_ms),
     "seconds an outbound send may wait for the peer (60)"},
    {"socket_read_timeout", LS_SET_SECONDS, FIELD(socket_read_timeout_ms),
     "seconds an outbound receive may wait for data (60)"},
    {"socket_keepalive_timeout", LS_SET_SECONDS, FIELD(socket_keepalive_timeout_ms),
     "seconds an idle pooled outbound connection is kept (60)"},
    {"socket_pool_size", LS_SET_COUNT, FIELD(socket_pool_size),
     "idle outbound connections kept per pool (30)"},
    {"socket_max_receive", LS_SET_BYTES, FIELD(socket_max_receive),
     "bytes one outbound receive may gather before it fails (16m)"},
    {"resolver_cache_time", LS_SET_SECONDS, FIELD(resolver_cache_time_ms),
     "seconds a resolved name is reused (30)"},
    {"max_timers", LS_SET_COUNT, FIELD(max_timers),
     "lunaserve.timer timers pending or running at once (1024)"},
    {"access_log", LS_SET_PATH, FIELD(access_log),
     "file for the access log, - for standard output, or off (off)"},
    {"access_log_format", LS_SET_LOG_FORMAT, FIELD(access_log_format),
     "combined (nginx's) or json, one object per line (combined)"},
    {"metrics_listen", LS_SET_PATH, FIELD(metrics_listen),
     "a listener of its own serving /metrics (Prometheus), or off (off)"},
};
const size_t ls_setting_count = sizeof ls_setting_defs / sizeof ls_setting_defs[0];

void ls_settings_defaults(ls_settings *s) {
    memset(s, 0, sizeof *s);
    strcpy(s->host, "127.0.0.1");
    s->port = 8080;
    s->keepalive_timeout_ms = 5000;
    s->header_timeout_ms = 20000;
    s->body_timeout_ms = 60000;
    s->send_timeout_ms = 60000;
    s->linger_time_ms = 30000;
    s->linger_idle_ms = 5000;
    s->max_header = 16 * 1024;
    s->max_url = 8 * 1024;
    s->max_body = 1024 * 1024;
    s->discard_limit = 64 * 1024;
    s->high_water = 64 * 1024;
    s->max_output = 64 * 1024 * 1024;
    s->max_requests = 1000;
    s->handler_budget_ms = 2000;
    s->max_lua_memory = 256 * 1024 * 1024;
    s->shutdown_timeout_ms = 10000;
    s->socket_connect_timeout_ms = 60000;
    s->socket_send_timeout_ms = 60000;
    s->socket_read_timeout_ms = 60000;
    s->socket_keepalive_timeout_ms = 60000;
    s->socket_pool_size = 30;
    s->socket_max_receive = 16 * 1024 * 1024;
    s->resolver_cache_time_ms = 30000;
    s->max_timers = 1024;
    strcpy(s->access_log, "off");
    strcpy(s->metrics_listen, "off");
    s->access_log_format = 0;
}

static int same_name(const char *a, const char *b) {
    for (; *a && *b; a++, b++) {
        char x = *a == '-' ? '_' : *a, y = *b == '-' ? '_' : *b;
        if (x != y)
            return 0;
    }
    return *a == *b;
}

const ls_setting_def *ls_setting_find(const char *name) {
    for (size_t i = 0; i < ls_setting_count; i++)
        if (same_name(ls_setting_defs[i].name, name))
            return &ls_setting_defs[i];
    return NULL;
}

const char *ls_setting_set(ls_settings *s, const ls_setting_def *def, const char *text) {
    char *field = (char *)s + def->offset;
    char *end;
    errno = 0;
    switch (def->kind) {
    case LS_SET_HOST: {
        /* An IPv6 address may come as in a URL ("[::1]"); "localhost" is the IPv4 loopback,
         * what every client tries. A name is not resolved: a listener wants one address. */
        static const char bad_host[] =
            "expected an IP address (127.0.0.1, 0.0.0.0, ::1, [::1], ::) or localhost";
        char addr[sizeof s->host];
        size_t n = strlen(text);
        if (n >= 2 && text[0] == '[' && text[n - 1] == ']')
            text++, n -= 2;
        if (n == 0 || n >= sizeof addr)
            return bad_host;
        memcpy(addr, text, n);
        addr[n] = '\0';
        if (strcmp(addr, "localhost") == 0)
            strcpy(addr, "127.0.0.1");
        unsigned char bin[sizeof(struct in6_addr)];
        if (inet_pton(strchr(addr, ':') ? AF_INET6 : AF_INET, addr, bin) != 1)
            return bad_host;
        strcpy(field, addr);
        return NULL;
    }
    case LS_SET_PATH: {
        size_t n = strlen(text);
        if (n == 0 || n >= sizeof s->access_log)
            return "expected a file name, - or off";
        memcpy(field, text, n + 1);
        return NULL;
    }
    case LS_SET_LOG_FORMAT:
        if (strcmp(text, "combined") == 0)
            *(int *)field = 0;
        else if (strcmp(text, "json") == 0)
            *(int *)field = 1;
        else
            return "expected combined or json";
        return NULL;
    case LS_SET_PORT: {
        long v = strtol(text, &end, 10);
        if (errno || end == text || *end || v < 0 || v > 65535)
            return "expected a port number from 0 to 65535";
        *(int *)field = (int)v;
        return NULL;
    }
    case LS_SET_SECONDS: {
        double v = strtod(text, &end);
        if (errno || end == text || *end || !(v >= 0) || v > 1e7)
            return "expected a number of seconds";
        *(uint64_t *)field = (uint64_t)llround(v * 1000.0);
        return NULL;
    }
    case LS_SET_BYTES:
    case LS_SET_COUNT: {
        unsigned long long v = strtoull(text, &end, 10);
        static const char bad_bytes[] =
            "expected a number of bytes, optionally with a suffix k, m or g (64k, 1m, 2g)";
        if (errno || end == text || !isdigit((unsigned char)text[0]))
            return def->kind == LS_SET_BYTES ? bad_bytes : "expected a count";
        unsigned long long mult = 1;
        if (def->kind == LS_SET_BYTES && *end) {
            const char *units = "kmg";
            const char *u = strchr(units, tolower((unsigned char)*end));
            if (u)
                mult = 1ULL << (10 * (u - units + 1)), end++;
        }
        if (*end || v > (1ULL << 40) / mult)
            return def->kind == LS_SET_BYTES ? bad_bytes : "expected a count";
        if (def->kind == LS_SET_BYTES)
            *(size_t *)field = (size_t)(v * mult);
        else
            *(uint64_t *)field = v;
        return NULL;
    }
    }
    return "unknown setting kind";
}

const char *const ls_cli_only_options[] = {"workers", "reload", "log_level",
                                           "metrics_max_series", "user", NULL};

int ls_setting_cli_only(const char *name) {
    for (const char *const *o = ls_cli_only_options; *o; o++)
        if (same_name(*o, name))
            return 1;
    return 0;
}

/* NAME as a setting would spell it: lower case, words joined by '_' ("maxBody", "Max-Body"
 * -> "max_body"). */
static void normalize(const char *name, char *out, size_t size) {
    size_t n = 0;
    for (const char *p = name; *p && n + 2 < size; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '-')
            c = '_';
        if (isupper(c)) {
            if (n > 0 && out[n - 1] != '_' && !isupper((unsigned char)p[-1]))
                out[n++] = '_';
            c = (unsigned char)tolower(c);
        }
        out[n++] = (char)c;
    }
    out[n] = '\0';
}

/* Edits (insert, delete, substitute) from a to b; names are short. */
static size_t distance(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b), row[64];
    if (la >= 64 || lb >= 64)
        return (size_t)-1;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *ls_setting_nearest(const char *name) {
    char norm[64];
    normalize(name, norm, sizeof norm);
    /* a guess is worth making within a third of the name's length (at least 2 edits) */
    size_t limit = strlen(norm) / 3 > 2 ? strlen(norm) / 3 : 2;
    const char *best = NULL;
    size_t best_d = limit + 1;
    for (size_t i = 0; i < ls_setting_count; i++) {
        size_t d = distance(norm, ls_setting_defs[i].name);
        if (d < best_d)
            best = ls_setting_defs[i].name, best_d = d;
    }
    for (const char *const *o = ls_cli_only_options; *o; o++) {
        size_t d = distance(norm, *o);
        if (d < best_d)
            best = *o, best_d = d;
    }
    return best;
}
