/* lunaserve [options] [APP]: loads the app, listens, serves until SIGINT or SIGTERM. */
#include "binding.h"

#include "host.h"
#include "log.h"
#include "master.h"
#include "metrics.h"
#include "metrics_listener.h"
#include "privileges.h"

#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


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
                          : d->kind == LS_SET_PATH  ? (strcmp(d->name, "metrics_listen") == 0 ? "ADDR:PORT" : "PATH")
                          : d->kind == LS_SET_LOG_FORMAT ? "FORMAT"
                                                    : "N";
        fprintf(out, "  %-20s %-8s %s\n", flag, arg, d->help);
    }
    fprintf(out, "  %-20s %-8s %s\n", "--workers", "N|auto",
            "N worker processes under a master (default: one process, no master)");
    fprintf(out, "  %-20s %-8s %s\n", "--reload", "",
            "reload the app when its code changes (a folder app: any .lua file in it; a file: "
            "it and the modules it loaded from its folder)");
    fprintf(out, "  %-20s %-8s %s\n", "--log-level", "LEVEL", "error, warn, info (default), debug");
    fprintf(out, "  %-20s %-8s %s\n", "--user", "USER[:GRP]",
            "the user the server runs as once its sockets are bound (workers: each worker)");
    fprintf(out, "  %-20s %-8s %s\n", "--metrics-max-series", "N",
            "series the app's metrics may have in all (1000)");
    fprintf(out, "  %-20s %-8s %s\n", "-h, --help", "", "this text");
    fprintf(out, "  %-20s %-8s %s\n", "-v, --version", "", "the version");
    fprintf(out, "\nBYTES take a suffix k, m or g (64k, 1m, 2g). HOST is an IP address (127.0.0.1, "
                 "0.0.0.0, ::1, [::1], ::) or localhost.\n"
                 "Settings may also be set in the app's table, e.g. "
                 "return { handle = fn, keepalive_timeout = 10 };\n"
                 "the command line wins. --workers, --reload, --log-level, --user and "
                 "--metrics-max-series are for the command line only.\n");
}

typedef struct {
    const ls_setting_def *def;
    const char *value;
} cli_setting;

typedef struct {
    ls_settings settings; /* defaults and $PORT; the app's table and the CLI come later */
    cli_setting cli[64];
    size_t ncli;
    const char *app;
    int workers; /* 0: one process, no master */
    size_t metrics_max_series;
    ls_user user;
    int has_user;
    int reload;
} options;

typedef struct {
    uv_signal_t sigint, sigterm, sigusr1;
    ls_server server;
    ls_access_log access_log;
    ls_metrics_listener metrics;
    ls_host host;
    int signals;
} app_state;

/* Once serving has started (not before an app that does not load, whose error stays the one
 * line it is). */
static void warn_if_root(const options *o) {
    if (geteuid() == 0 && !o->has_user)
        ls_log(LS_LOG_WARN, "running as root: the app's code can do anything root can; "
                            "--user USER drops to USER once the sockets are bound");
}

static void on_signal(uv_signal_t *h, int signum) {
    app_state *st = h->data;
    if (st->signals++ > 0) {
        ls_log(LS_LOG_WARN, "second signal: exiting now");
        exit(130);
    }
    LS_LOG(LS_LOG_INFO, "%s: shutting down", signum == SIGINT ? "SIGINT" : "SIGTERM");
    ls_server_stop(&st->server, st->server.settings.shutdown_timeout_ms);
    ls_metrics_listener_stop(&st->metrics, st->server.settings.shutdown_timeout_ms);
    /* As the listener closes, not once the connections have drained: a stream or a loop that
     * waits for exiting() or a premature timer call ends now, so the stop is prompt. */
    ls_host_begin_stop(&st->host);
}

/* SIGUSR1: the access log opens its file again (after logrotate moved it), as nginx's
 * reopen; each worker gets it from the master. */
static void on_reopen(uv_signal_t *h, int signum) {
    (void)signum;
    app_state *st = h->data;
    if (!st->server.access_log)
        return;
    int r = ls_access_log_reopen(st->server.access_log);
    if (r < 0)
        ls_log(LS_LOG_ERROR, "SIGUSR1: cannot reopen the access log %s: %s",
               st->server.access_log->path, strerror(-r));
    else
        LS_LOG(LS_LOG_INFO, "SIGUSR1: access log %s reopened", st->server.access_log->path);
}

static void on_drained(void *ctx) {
    app_state *st = (app_state *)((char *)ctx - offsetof(app_state, host));
    ls_host_drain(&st->host);
}

static void on_stopped(void *ctx) {
    /* the server's app context is the host, which lives inside the state */
    app_state *st = (app_state *)((char *)ctx - offsetof(app_state, host));
    ls_host_stop(&st->host);
    uv_close((uv_handle_t *)&st->sigint, NULL);
    uv_close((uv_handle_t *)&st->sigterm, NULL);
    uv_close((uv_handle_t *)&st->sigusr1, NULL);
    signal(SIGUSR1, SIG_IGN);
    if (st->server.access_log) { /* every request has its line: the rest is written now */
        ls_access_log_close(st->server.access_log);
        st->server.access_log = NULL;
    }
}

/* Start-up failed after the server was made: frees what was made (the loop never ran, so
 * nothing is in flight), and the exit status. */
static int start_failed(app_state *st) {
    if (st->server.access_log)
        ls_access_log_close(st->server.access_log);
    ls_host_free(&st->host);
    ls_metrics_listener_free(&st->metrics);
    ls_server_free(&st->server);
    return 1;
}

/* Serves the app in this process until a signal stops it. A worker (ready_fd >= 0) shares
 * its port with SO_REUSEPORT and reports it on ready_fd instead of printing it. */
static int serve(options *o, int ready_fd, int port) {
    ls_settings settings = o->settings;
    for (size_t i = 0; i < o->ncli; i++)
        ls_setting_set(&settings, o->cli[i].def, o->cli[i].value);
    uv_loop_t *loop = uv_default_loop();
    app_state st;
    memset(&st, 0, sizeof st);
    static ls_app_iface iface;
    iface = ls_vm_iface;
    iface.on_request = ls_host_on_request;
    iface.on_drained = on_drained;
    iface.on_stopped = on_stopped;
    /* The server exists before the app loads (its code may connect, or start timers); the
     * app's table then adds its settings, and the command line wins over them. */
    if (ls_server_init(&st.server, loop, &settings, &iface, &st.host) != 0) {
        fprintf(stderr, "lunaserve: out of memory\n");
        return 1;
    }
    const char *err = ls_host_init(&st.host, loop, &st.server, o->app);
    if (!err) {
        settings = o->settings;
        err = ls_vm_app_settings(st.host.current, &settings);
    }
    if (err) {
        fprintf(stderr, "lunaserve: %s\n", err);
        return start_failed(&st);
    }
    for (size_t i = 0; i < o->ncli; i++)
        ls_setting_set(&settings, o->cli[i].def, o->cli[i].value);
    if (port >= 0)
        settings.port = port;
    ls_server_configure(&st.server, &settings);
    st.server.reuseport = ready_fd >= 0;
    int r;
    if (strcmp(settings.access_log, "off") != 0) {
        r = ls_access_log_open(&st.access_log, loop, settings.access_log,
                               (ls_access_format)settings.access_log_format);
        if (r < 0) {
            fprintf(stderr, "lunaserve: cannot open the access log %s: %s\n", settings.access_log,
                    strerror(-r));
            return start_failed(&st);
        }
        st.server.access_log = &st.access_log;
    }
    char addr[128];
    r = ls_server_listen(&st.server, addr, sizeof addr);
    if (r < 0) {
        fprintf(stderr, "lunaserve: cannot listen on %s:%d: %s\n", settings.host, settings.port,
                uv_strerror(r));
        return start_failed(&st);
    }
    if (strcmp(settings.metrics_listen, "off") != 0) {
        ls_settings ms = settings;
        const char *bad = ls_metrics_listen_parse(settings.metrics_listen, &ms);
        char maddr[128];
        if (bad || (r = ls_metrics_listener_start(&st.metrics, loop, &ms, ready_fd >= 0, maddr,
                                                  sizeof maddr)) < 0) {
            fprintf(stderr, "lunaserve: --metrics-listen %s: %s\n", settings.metrics_listen,
                    bad ? bad : uv_strerror(r));
            return start_failed(&st);
        }
        LS_LOG(LS_LOG_INFO, "metrics at http://%s/metrics", maddr);
    }
    if (o->has_user) { /* every socket is bound, the logs are open: root is not needed now */
        char why[256];
        if (ls_user_become(&o->user, why, sizeof why) != 0) {
            fprintf(stderr, "lunaserve: %s\n", why);
            return start_failed(&st);
        }
        LS_LOG(LS_LOG_INFO, "serving as %s (uid %d, gid %d)", o->user.name, (int)o->user.uid,
               (int)o->user.gid);
    }
    ls_host_watch(&st.host, 1, o->reload);
    uv_signal_init(loop, &st.sigint);
    uv_signal_init(loop, &st.sigterm);
    uv_signal_init(loop, &st.sigusr1);
    st.sigint.data = st.sigterm.data = st.sigusr1.data = &st;
    uv_signal_start(&st.sigint, on_signal, SIGINT);
    uv_signal_start(&st.sigterm, on_signal, SIGTERM);
    uv_signal_start(&st.sigusr1, on_reopen, SIGUSR1);
    uv_unref((uv_handle_t *)&st.sigusr1);

    if (ready_fd >= 0) {
        char line[32];
        int n = snprintf(line, sizeof line, "%d\n", atoi(strrchr(addr, ':') + 1));
        if (write(ready_fd, line, (size_t)n) != n)
            return 1;
        close(ready_fd);
    } else {
        warn_if_root(o);
        printf("lunaserve listening on http://%s/\n", addr);
        fflush(stdout);
    }
    uv_run(loop, UV_RUN_DEFAULT);

    LS_LOG(LS_LOG_DEBUG, "served %llu requests, %lu reload(s)",
           (unsigned long long)st.server.requests, st.host.reloads);
    for (int i = 0; i < LS_CLOSE_REASONS; i++)
        if (st.server.io.closes[i])
            LS_LOG(LS_LOG_DEBUG, "closed %s: %llu", ls_close_reason_names[i],
                   (unsigned long long)st.server.io.closes[i]);
    ls_host_free(&st.host);
    ls_metrics_listener_free(&st.metrics);
    ls_server_free(&st.server);
    if (uv_loop_close(loop) != 0)
        ls_log(LS_LOG_WARN, "event loop closed with handles still open");
    return 0;
}

static int worker_main(void *ctx, int ready_fd, int port) { return serve(ctx, ready_fd, port); }

static void master_ready(void *ctx, int port) {
    options *o = ctx;
    warn_if_root(o);
    ls_settings s = o->settings;
    for (size_t i = 0; i < o->ncli; i++)
        ls_setting_set(&s, o->cli[i].def, o->cli[i].value);
    int v6 = strchr(s.host, ':') != NULL;
    printf("lunaserve listening on http://%s%s%s:%d/ (%d workers)\n", v6 ? "[" : "", s.host,
           v6 ? "]" : "", port, o->workers);
    fflush(stdout);
}

int main(int argc, char **argv) {
    static options o;
    ls_settings_defaults(&o.settings);
    const char *env_port = getenv("PORT");
    if (env_port && *env_port) {
        const char *msg = ls_setting_set(&o.settings, ls_setting_find("port"), env_port);
        if (msg) {
            fprintf(stderr, "lunaserve: PORT=%s: %s\n", env_port, msg);
            return 2;
        }
    }
    int options_end = 0; /* after "--" every argument is the APP */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (options_end || a[0] != '-' || strcmp(a, "-") == 0) {
            if (o.app) {
                fprintf(stderr, "lunaserve: more than one APP given (see --help)\n");
                return 2;
            }
            o.app = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            options_end = 1;
            continue;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(a, "--version") == 0 || strcmp(a, "-v") == 0) {
            printf("lunaserve %s (%s, libuv %s)\n", LS_VERSION, LUA_RELEASE, uv_version_string());
            return 0;
        }
        if (strcmp(a, "--reload") == 0) {
            o.reload = 1;
            continue;
        }
        if (a[1] != '-') {
            fprintf(stderr, "lunaserve: unknown option %s (short forms: -h, -v; see --help)\n",
                    a);
            return 2;
        }
        char name[64];
        const char *eq = strchr(a, '=');
        const char *value;
        size_t n = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
        snprintf(name, sizeof name, "%.*s", (int)n, a + 2);
        if (strcmp(name, "reload") == 0 || strcmp(name, "help") == 0 ||
            strcmp(name, "version") == 0) {
            fprintf(stderr, "lunaserve: --%s takes no value (%s); see --help\n", name,
                    strcmp(name, "reload") == 0
                        ? "it reloads the app when its code changes, and SIGHUP always does"
                        : "write it alone");
            return 2;
        }
        const ls_setting_def *def = NULL;
        if (strcmp(name, "log-level") != 0 && strcmp(name, "workers") != 0 &&
            strcmp(name, "metrics-max-series") != 0 && strcmp(name, "user") != 0 &&
            !(def = ls_setting_find(name))) {
            const char *near = ls_setting_nearest(name);
            char dashed[64] = "";
            if (near)
                for (size_t k = 0; near[k] && k + 1 < sizeof dashed; k++)
                    dashed[k] = near[k] == '_' ? '-' : near[k], dashed[k + 1] = '\0';
            fprintf(stderr, "lunaserve: unknown option --%s%s%s%s (see --help)\n", name,
                    near ? " (did you mean --" : "", dashed, near ? "?)" : "");
            return 2;
        }
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
        if (strcmp(name, "user") == 0) {
            const char *why = ls_user_lookup(value, &o.user);
            if (why) {
                fprintf(stderr, "lunaserve: --user %s: %s\n", value, why);
                return 2;
            }
            o.has_user = 1;
            continue;
        }
        if (strcmp(name, "metrics-max-series") == 0 || strcmp(name, "metrics_max_series") == 0) {
            char *end;
            long v = strtol(value, &end, 10);
            if (*end || end == value || v < 1 || v > 1000000) {
                fprintf(stderr, "lunaserve: --metrics-max-series: expected 1 to 1000000\n");
                return 2;
            }
            o.metrics_max_series = (size_t)v;
            continue;
        }
        if (strcmp(name, "workers") == 0) {
            char *end;
            long w = strcmp(value, "auto") == 0 ? sysconf(_SC_NPROCESSORS_ONLN)
                                                : strtol(value, &end, 10);
            if (strcmp(value, "auto") != 0 && (*end || end == value))
                w = 0;
            if (w < 1 || w > 256) {
                fprintf(stderr, "lunaserve: --workers: expected 1 to 256, or auto\n");
                return 2;
            }
            o.workers = (int)w;
            continue;
        }
        ls_settings scratch = o.settings;
        const char *msg = ls_setting_set(&scratch, def, value);
        if (msg) {
            fprintf(stderr, "lunaserve: --%s %s: %s\n", name, value, msg);
            return 2;
        }
        if (o.ncli < sizeof o.cli / sizeof o.cli[0])
            o.cli[o.ncli++] = (cli_setting){def, value};
    }
    if (!o.app)
        o.app = LS_DEFAULT_APP;
    signal(SIGPIPE, SIG_IGN);
    signal(SIGUSR1, SIG_IGN); /* until the loop takes it (access log reopen): never fatal */
    /* The metrics' shared segment, before any worker is forked: every worker's counters in
     * one place, whichever worker a scrape reaches. */
    int mr = ls_metrics_init(o.metrics_max_series ? o.metrics_max_series : 1000);
    if (mr < 0) {
        fprintf(stderr, "lunaserve: cannot map the metrics segment: %s\n", strerror(-mr));
        return 1;
    }
    if (!o.workers)
        return serve(&o, -1, -1);
    ls_master_opts m = {
        .workers = o.workers, .port = -1, .worker_main = worker_main, .on_ready = master_ready,
        .ctx = &o};
    return ls_master_run(&m);
}
