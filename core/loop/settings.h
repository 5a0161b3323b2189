/* Server settings: one table of names, defaults and units, shared by the command line
 * (--name-with-dashes VALUE) and the app's table (name_with_underscores = value). */
#ifndef LS_SETTINGS_H
#define LS_SETTINGS_H

#include <stddef.h>
#include <stdint.h>

typedef struct ls_settings {
    char host[256];
    int port;
    uint64_t keepalive_timeout_ms;
    uint64_t header_timeout_ms;
    uint64_t body_timeout_ms;
    uint64_t send_timeout_ms;
    uint64_t linger_time_ms;
    uint64_t linger_idle_ms;
    size_t max_header;     /* bytes of request line + header block -> 431 */
    size_t max_url;        /* bytes of request target -> 414 */
    size_t max_body;       /* bytes of request body -> 413 */
    size_t discard_limit;  /* unread body a keep-alive connection may still drain */
    size_t high_water;     /* output queued above this: write() returns false */
    size_t max_output;     /* output queued above this: the connection is destroyed */
    uint64_t max_requests; /* per connection */
    uint64_t handler_budget_ms; /* a handler running longer without yielding is stopped */
    size_t max_lua_memory;      /* bytes of Lua memory per process while handlers run */
    uint64_t shutdown_timeout_ms; /* in-flight requests may finish within this on SIGTERM */
    /* outbound sockets (lunaserve.tcp and the clients on it) */
    uint64_t socket_connect_timeout_ms;
    uint64_t socket_send_timeout_ms;
    uint64_t socket_read_timeout_ms;
    uint64_t socket_keepalive_timeout_ms; /* an idle pooled connection is closed after this */
    uint64_t socket_pool_size;            /* idle connections kept per pool */
    size_t socket_max_receive;            /* bytes one receive may gather, else an error */
    uint64_t resolver_cache_time_ms;      /* a name's addresses are reused this long */
    uint64_t max_timers; /* timers pending or running at once (lunaserve.timer) */
    char access_log[1024]; /* a file, "-" (standard output) or "off" */
    int access_log_format; /* ls_access_format: combined or json */
    char metrics_listen[1024]; /* "ADDR:PORT" of the /metrics listener, or "off" */
} ls_settings;

typedef enum {
    LS_SET_SECONDS,
    LS_SET_BYTES,
    LS_SET_COUNT,
    LS_SET_PORT,
    LS_SET_HOST,
    LS_SET_PATH,      /* text: a file name (or "-", "off"), kept as given */
    LS_SET_LOG_FORMAT /* "combined" or "json" */
} ls_setting_kind;

typedef struct ls_setting_def {
    const char *name; /* with underscores, as in the app table */
    ls_setting_kind kind;
    size_t offset;
    const char *help;
} ls_setting_def;

extern const ls_setting_def ls_setting_defs[];
extern const size_t ls_setting_count;

void ls_settings_defaults(ls_settings *s);

/* Finds a setting by name; dashes and underscores are the same. NULL if unknown. */
const ls_setting_def *ls_setting_find(const char *name);

/* Sets one setting from text ("0.5" seconds, "16384" bytes, "64k", "1m", "2g"; a host is an
 * IP address, "[::1]" or "localhost"); returns NULL on success or a static message saying
 * what is wrong. */
const char *ls_setting_set(ls_settings *s, const ls_setting_def *def, const char *text);

/* Options that only the command line sets (they shape the process, not the server), with
 * underscores; NULL-terminated. */
extern const char *const ls_cli_only_options[];

/* Whether NAME is one of ls_cli_only_options (dashes and underscores are the same). */
int ls_setting_cli_only(const char *name);

/* The setting or command-line-only option whose name is nearest to NAME (a typo, another
 * case or camelCase: "maxBody" -> "max_body"), or NULL when none is near enough to guess. */
const char *ls_setting_nearest(const char *name);

#endif
