/* lunaserve [options] [APP]: loads the app, listens, serves until SIGINT or SIGTERM. */
#include "binding.h"

#include "log.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHUTDOWN_GRACE_MS 10000

static void usage(FILE *out) {
    fprintf(out,
            "usage: lunaserve [options] [APP]\n"
            "\n"
            "Serves the Lua app APP (a .lua file, or a directory with init.lua) over HTTP/1.1.\n"
            "Without APP it serves the bundled hello app.\n"
            "\n"
            "options:\n");
    for (size_t i = 0; i < ls_setting_count; i++) {
        const ls_setting_def *d = &ls_setting_defs[i];
        char flag[64];
        snprintf(flag, sizeof flag, "--%s", d->name);
        for (char *p = flag + 2; *p; p++)
            if (*p == '_')
                *p = '-';
        const char *arg = d->kind == LS_SET_SECONDS ? "SECONDS"
                          : d->kind == LS_SET_BYTES ? "BYTES"
                          : d->kind == LS_SET_HOST  ? "HOST"
                          : d->kind == LS_SET_PORT  ? "PORT"
                                                    : "N";
        fprintf(out, "  %-20s %-8s %s\n", flag, arg, d->help);
    }
    fprintf(out, "  %-20s %-8s %s\n", "--log-level", "LEVEL", "error, warn, info (default), debug");
    fprintf(out, "  %-20s %-8s %s\n", "--help", "", "this text");
    fprintf(out, "  %-20s %-8s %s\n", "--version", "", "the version");
    fprintf(out, "\nSettings may also be set in the app's table, e.g. "
                 "return { handle = fn, keepalive_timeout = 10 };\n"
                 "the command line wins.\n");
}

typedef struct {
    const ls_setting_def *def;
    const char *value;
} cli_setting;

typedef struct {
    uv_signal_t sigint, sigterm;
    ls_server server;
    ls_vm *vm;
    int signals;
} app_state;

static void on_signal(uv_signal_t *h, int signum) {
    app_state *st = h->data;
    if (st->signals++ > 0) {
        ls_log(LS_LOG_WARN, "second signal: exiting now");
        exit(130);
    }
    ls_log(LS_LOG_INFO, "%s: shutting down", signum == SIGINT ? "SIGINT" : "SIGTERM");
    ls_server_stop(&st->server, SHUTDOWN_GRACE_MS);
}

static void on_stopped(void *ctx) {
    app_state *st = ctx;
    ls_vm_iface.on_stopped(st->vm);
    uv_close((uv_handle_t *)&st->sigint, NULL);
    uv_close((uv_handle_t *)&st->sigterm, NULL);
}

/* The server calls the vm; stopping also closes what main owns. */
static void *fwd_request(void *app, ls_conn *c) {
    return ls_vm_iface.on_request(((app_state *)app)->vm, c);
}

int main(int argc, char **argv) {
    ls_settings settings;
    ls_settings_defaults(&settings);
    const char *env_port = getenv("PORT");
    if (env_port && *env_port) {
        const char *msg = ls_setting_set(&settings, ls_setting_find("port"), env_port);
        if (msg) {
            fprintf(stderr, "lunaserve: PORT=%s: %s\n", env_port, msg);
            return 2;
        }
    }
    cli_setting cli[64];
    size_t ncli = 0;
    const char *app = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(a, "--version") == 0) {
            printf("lunaserve %s (%s, libuv %s)\n", LS_VERSION, LUA_RELEASE, uv_version_string());
            return 0;
        }
        if (strncmp(a, "--", 2) == 0 && a[2]) {
            char name[64];
            const char *eq = strchr(a, '=');
            const char *value;
            size_t n = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
            snprintf(name, sizeof name, "%.*s", (int)n, a + 2);
            if (eq)
                value = eq + 1;
            else if (i + 1 < argc)
                value = argv[++i];
            else {
                fprintf(stderr, "lunaserve: --%s needs a value (see --help)\n", name);
                return 2;
            }
            if (strcmp(name, "log-level") == 0) {
                int level = ls_log_parse_level(value);
                if (level < 0) {
                    fprintf(stderr, "lunaserve: --log-level: expected error, warn, info or "
                                    "debug\n");
                    return 2;
                }
                ls_log_threshold = (ls_log_level)level;
                continue;
            }
            const ls_setting_def *def = ls_setting_find(name);
            if (!def) {
                fprintf(stderr, "lunaserve: unknown option --%s (see --help)\n", name);
                return 2;
            }
            ls_settings scratch = settings;
            const char *msg = ls_setting_set(&scratch, def, value);
            if (msg) {
                fprintf(stderr, "lunaserve: --%s %s: %s\n", name, value, msg);
                return 2;
            }
            if (ncli < sizeof cli / sizeof cli[0])
                cli[ncli++] = (cli_setting){def, value};
            continue;
        }
        if (app) {
            fprintf(stderr, "lunaserve: more than one APP given (see --help)\n");
            return 2;
        }
        app = a;
    }
    if (!app)
        app = LS_DEFAULT_APP;

    signal(SIGPIPE, SIG_IGN);
    uv_loop_t *loop = uv_default_loop();
    app_state st = {0};
    st.vm = ls_vm_new(loop);
    if (!st.vm) {
        fprintf(stderr, "lunaserve: cannot create a Lua state\n");
        return 1;
    }
    const char *err = ls_vm_load(st.vm, app);
    if (!err)
        err = ls_vm_app_settings(st.vm, &settings);
    if (err) {
        fprintf(stderr, "lunaserve: %s\n", err);
        ls_vm_free(st.vm);
        return 1;
    }
    for (size_t i = 0; i < ncli; i++)
        ls_setting_set(&settings, cli[i].def, cli[i].value);

    static ls_app_iface iface;
    iface = ls_vm_iface;
    iface.on_request = fwd_request;
    iface.on_stopped = on_stopped;
    /* The other callbacks take the request handle, which the vm made. */
    if (ls_server_init(&st.server, loop, &settings, &iface, &st) != 0) {
        fprintf(stderr, "lunaserve: out of memory\n");
        return 1;
    }
    st.vm->server = &st.server;
    char addr[128];
    int r = ls_server_listen(&st.server, addr, sizeof addr);
    if (r < 0) {
        fprintf(stderr, "lunaserve: cannot listen on %s:%d: %s\n", settings.host, settings.port,
                uv_strerror(r));
        return 1;
    }
    uv_signal_init(loop, &st.sigint);
    uv_signal_init(loop, &st.sigterm);
    st.sigint.data = st.sigterm.data = &st;
    uv_signal_start(&st.sigint, on_signal, SIGINT);
    uv_signal_start(&st.sigterm, on_signal, SIGTERM);

    printf("lunaserve listening on http://%s/\n", addr);
    fflush(stdout);
    uv_run(loop, UV_RUN_DEFAULT);

    LS_LOG(LS_LOG_DEBUG, "served %llu requests", (unsigned long long)st.server.requests);
    for (int i = 0; i < LS_CLOSE_REASONS; i++)
        if (st.server.closes[i])
            LS_LOG(LS_LOG_DEBUG, "closed %s: %llu", ls_close_reason_names[i],
                   (unsigned long long)st.server.closes[i]);
    ls_vm_free(st.vm);
    ls_server_free(&st.server);
    int rc = uv_loop_close(loop);
    if (rc != 0)
        ls_log(LS_LOG_WARN, "event loop closed with handles still open");
    return 0;
}
