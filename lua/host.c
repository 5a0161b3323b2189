/* The app's host: which Lua state serves new requests, and hot reload.
 *
 * A reload loads the app into a fresh Lua state. If that fails (syntax error, error at load,
 * no handler), the error is logged with file and line and the current state keeps serving.
 * Otherwise new requests, including the next request of a keep-alive connection, go to the
 * new state, while requests in flight finish on the state they started with; that state is
 * retired and freed once no request, sleep or timer uses it any more. Its timers that wait to
 * fire get their last call at once (premature, timer.c); the new code starts its own. */
#include "host.h"

#include "log.h"
#include "stats.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define RELOAD_DEBOUNCE_MS 30
/* Forced collections (to find responses that became unreachable unfinished): a short delay
 * gathers the requests of one burst, and a full collection costs a walk of the whole heap,
 * so there is at most one a second. */
#define GC_DELAY_MS 10
#define GC_PERIOD_MS 1000

static void on_collect(uv_timer_t *t) {
    ls_host *h = t->data;
    for (ls_vm **p = &h->retired; *p;) {
        ls_vm *vm = *p;
        if (vm->refs == 0) {
            *p = vm->next;
            ls_vm_free(vm);
            LS_LOG(LS_LOG_DEBUG, "a retired Lua state was freed");
        } else {
            p = &vm->next;
        }
    }
}

void ls_host_collect_soon(ls_host *h) {
    if (!h->closing)
        uv_timer_start(&h->collect, on_collect, 0, 0);
}

static void on_gc(uv_timer_t *t) {
    ls_host *h = t->data;
    h->gc_last = uv_now(h->loop);
    h->gc_done = 1;
    lua_gc(h->current->L, LUA_GCCOLLECT, 0);
    for (ls_vm *vm = h->retired; vm; vm = vm->next)
        lua_gc(vm->L, LUA_GCCOLLECT, 0);
    /* the answers given to responses found unreachable */
    ls_server_run_pending(h->server);
}

void ls_host_gc_soon(ls_host *h) {
    if (h->closing || !h->handles || uv_is_active((uv_handle_t *)&h->gc))
        return;
    uint64_t now = uv_now(h->loop), at = now + GC_DELAY_MS;
    if (h->gc_done && at < h->gc_last + GC_PERIOD_MS)
        at = h->gc_last + GC_PERIOD_MS;
    uv_timer_start(&h->gc, on_gc, at - now, 0);
}

/* A state that is not the current one and that nothing uses any more: freed soon (never
 * from inside one of its own callbacks). */
static void discard(ls_host *h, ls_vm *vm) {
    ls_timers_cancel(vm); /* what a failed load started never runs */
    vm->retired = 1;
    vm->next = h->retired;
    h->retired = vm;
    ls_host_collect_soon(h);
}

/* An app whose table lunaserve cannot take (an unknown key, a bad setting's value) has not
 * loaded: at start the server does not start, on reload the old code keeps serving. */
static const char *table_error(ls_host *h, ls_vm *vm) {
    const char *err = ls_vm_app_check(vm);
    if (!err) {
        ls_settings scratch;
        ls_settings_defaults(&scratch);
        err = ls_vm_app_settings(vm, &scratch);
    }
    if (!err)
        return NULL;
    snprintf(h->load_err, sizeof h->load_err, "%s", err);
    return h->load_err;
}

/* A state whose code loaded but whose table is refused: dropped as a failed load's is. */
static void refuse(ls_host *h, ls_vm *vm) {
    ls_release_all(&vm->owns); /* what its load connected */
    discard(h, vm);
}

/* The registry's set of files that require found in a state (their paths as found). */
#define LOADED_FILES "lunaserve.host.loaded_files"

/* package.searchers[2] (Lua files on package.path), wrapped so that the file it finds is
 * noted: a single-file app is reloaded when one of its own modules changes, not when any
 * file beside it does. upvalue 1: the original searcher. */
static int noting_searcher(lua_State *L) {
    lua_settop(L, 1);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushvalue(L, 1);
    lua_call(L, 1, 2);
    if (lua_isfunction(L, -2) && lua_type(L, -1) == LUA_TSTRING) {
        lua_getfield(L, LUA_REGISTRYINDEX, LOADED_FILES);
        lua_pushvalue(L, -2);
        lua_pushboolean(L, 1);
        lua_rawset(L, -3);
        lua_pop(L, 1);
    }
    return 2;
}

static void note_loaded_files(lua_State *L) {
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, LOADED_FILES);
    lua_getglobal(L, "package");
    if (lua_getfield(L, -1, "searchers") == LUA_TTABLE &&
        lua_rawgeti(L, -1, 2) == LUA_TFUNCTION) {
        lua_pushcclosure(L, noting_searcher, 1);
        lua_rawseti(L, -2, 2);
        lua_pop(L, 2);
        return;
    }
    lua_pop(L, 3);
}

/* Loads the app into a new state. Returns it (loaded, or *waiting: its code waits, and
 * vm->on_loaded tells the outcome), or NULL with the message in *err. */
static ls_vm *load(ls_host *h, const char **err, int *waiting) {
    *waiting = 0;
    ls_vm *vm = ls_vm_new(h->loop, h->server);
    if (!vm) {
        *err = "cannot create a Lua state";
        return NULL;
    }
    vm->host = h;
    note_loaded_files(vm->L);
    int r = ls_vm_load(vm, h->app, err);
    if (r < 0) {
        /* (a copy: the message lives in vm) */
        snprintf(h->load_err, sizeof h->load_err, "%s", *err);
        *err = h->load_err;
        ls_timers_cancel(vm); /* what the failed load started never runs */
        ls_vm_free(vm);
        return NULL;
    }
    *waiting = r == 1;
    if (r == 0 && (*err = table_error(h, vm))) {
        refuse(h, vm);
        return NULL;
    }
    return vm;
}

const char *ls_host_init(ls_host *h, uv_loop_t *loop, ls_server *server, const char *app) {
    memset(h, 0, sizeof *h);
    h->loop = loop;
    h->server = server;
    snprintf(h->app, sizeof h->app, "%s", app);
    uv_timer_init(loop, &h->collect);
    h->collect.data = h;
    uv_timer_init(loop, &h->debounce);
    h->debounce.data = h;
    uv_timer_init(loop, &h->gc);
    h->gc.data = h;
    uv_signal_init(loop, &h->sighup);
    h->sighup.data = h;
    uv_timer_init(loop, &h->timers);
    h->timers.data = h;
    h->handles = 5;
    const char *err;
    int waiting;
    ls_vm *vm = load(h, &err, &waiting);
    if (!vm) {
        uv_run(loop, UV_RUN_NOWAIT); /* the closes of the timers it started */
        return err;
    }
    /* Code that waits while the app first loads (a connect, a sleep): the loop runs for it
     * before the server listens. */
    while (waiting && vm->loading)
        uv_run(loop, UV_RUN_ONCE);
    if (vm->load_failed) {
        snprintf(h->load_err, sizeof h->load_err, "%s", vm->load_err);
        discard(h, vm);
        uv_run(loop, UV_RUN_NOWAIT);
        return h->load_err;
    }
    if (waiting && (err = table_error(h, vm))) {
        refuse(h, vm);
        uv_run(loop, UV_RUN_NOWAIT);
        return err;
    }
    h->current = vm;
    return NULL;
}

/* The new state takes the new requests; the old one finishes what it started. */
static void swap_in(ls_host *h, ls_vm *vm) {
    ls_vm *old = h->current;
    ls_stat_add(&ls_stats_self->reloads, 1);
    ls_release_all(&old->owns); /* what its load connected: requests in flight keep theirs */
    old->retired = 1;
    old->next = h->retired;
    h->retired = old;
    h->current = vm;
    ls_log(LS_LOG_INFO, "reloaded %s", h->app);
    ls_timers_expire(old);
    if (old->refs == 0)
        ls_host_collect_soon(h);
}

static void reload_loaded(ls_vm *vm, const char *err) {
    ls_host *h = vm->host;
    h->loading = NULL;
    if (!err && !h->stopping && (err = table_error(h, vm)))
        ls_release_all(&vm->owns);
    if (err || h->stopping) {
        if (err) {
            ls_log(LS_LOG_ERROR, "reload failed, still serving the previous code: %s", err);
            ls_stat_add(&ls_stats_self->reload_failures, 1);
        }
        discard(h, vm);
        return;
    }
    swap_in(h, vm);
}

int ls_host_reload(ls_host *h) {
    if (h->stopping)
        return -1;
    if (h->loading) {
        ls_log(LS_LOG_WARN, "reload: the previous reload is still loading; this one is skipped");
        return -1;
    }
    const char *err;
    int waiting;
    ls_vm *vm = load(h, &err, &waiting);
    h->reloads++;
    if (!vm) {
        ls_log(LS_LOG_ERROR, "reload failed, still serving the previous code: %s", err);
        ls_stat_add(&ls_stats_self->reload_failures, 1);
        return -1;
    }
    if (waiting) { /* the old code serves until the new code's load is done */
        h->loading = vm;
        vm->on_loaded = reload_loaded;
        return 0;
    }
    swap_in(h, vm);
    return 0;
}

static void on_sighup(uv_signal_t *s, int signum) {
    (void)signum;
    ls_host_reload(s->data);
}

static void on_debounced(uv_timer_t *t) { ls_host_reload(t->data); }

/* Whether FILE, in the watched folder, is the app's own code: for a single-file app the
 * file itself or a module that the serving state loaded from that folder. */
static int is_app_code(ls_host *h, const char *file) {
    if (h->watch_all)
        return 1;
    const char *slash = strrchr(h->app, '/');
    if (strcmp(slash ? slash + 1 : h->app, file) == 0)
        return 1;
    lua_State *L = h->current->L;
    int found = 0;
    lua_getfield(L, LUA_REGISTRYINDEX, LOADED_FILES);
    if (!lua_istable(L, -1)) {
        lua_pop(L, 1);
        return 0;
    }
    lua_pushnil(L);
    while (!found && lua_next(L, -2)) {
        lua_pop(L, 1);
        const char *path = lua_tostring(L, -1);
        const char *base = strrchr(path, '/');
        char dir[4096], real[PATH_MAX];
        if (base)
            snprintf(dir, sizeof dir, "%.*s", (int)(base - path), path);
        else
            snprintf(dir, sizeof dir, ".");
        base = base ? base + 1 : path;
        found = strcmp(base, file) == 0 && realpath(dir, real) && strcmp(real, h->watch_dir) == 0;
    }
    lua_settop(L, found ? -3 : -2);
    return found;
}

static void on_change(uv_fs_event_t *w, const char *file, int events, int status) {
    (void)events;
    ls_host *h = w->data;
    if (status < 0)
        return;
    /* Only code counts (a log file written next to the app must not cause reloads), and
     * editors save in several steps (temp file, rename): reload once they settle. */
    size_t n = file ? strlen(file) : 0;
    if (n < 5 || file[0] == '.' || strcmp(file + n - 4, ".lua") != 0 || !is_app_code(h, file))
        return;
    uv_timer_start(&h->debounce, on_debounced, RELOAD_DEBOUNCE_MS, 0);
}

static int is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int ls_host_watch(ls_host *h, int sighup, int files) {
    if (sighup)
        uv_signal_start(&h->sighup, on_sighup, SIGHUP);
    if (!files)
        return 0;
    char dir[4096];
    h->watch_all = is_dir(h->app);
    if (h->watch_all) {
        snprintf(dir, sizeof dir, "%s", h->app);
    } else {
        const char *slash = strrchr(h->app, '/');
        if (slash)
            snprintf(dir, sizeof dir, "%.*s", (int)(slash - h->app), h->app);
        else
            snprintf(dir, sizeof dir, ".");
    }
    char real[PATH_MAX];
    snprintf(h->watch_dir, sizeof h->watch_dir, "%s", realpath(dir, real) ? real : dir);
    uv_fs_event_init(h->loop, &h->watcher);
    h->watcher.data = h;
    h->handles++;
    h->watching = 1;
    return uv_fs_event_start(&h->watcher, on_change, dir, 0);
}

void *ls_host_on_request(void *app, ls_conn *c) {
    ls_host *h = app;
    return ls_vm_iface.on_request(h->current, c);
}

void ls_host_drain(ls_host *h) {
    if (h->loading) {
        /* Closing the load's sockets may fail it at once: h->loading is then NULL and the
         * state is among the retired ones (freed later, not here). */
        ls_vm *loading = h->loading;
        ls_release_all(&loading->load_root.owns);
        ls_tcp_close_all(loading);
        ls_pg_close_all(loading);
    }
    ls_release_all(&h->current->owns);
    ls_tcp_close_all(h->current);
    ls_pg_close_all(h->current);
    for (ls_vm *vm = h->retired; vm; vm = vm->next) {
        ls_release_all(&vm->owns);
        ls_tcp_close_all(vm);
        ls_pg_close_all(vm);
    }
}

static void on_closed(uv_handle_t *handle) {
    ls_host *h = handle->data;
    h->handles--;
}

/* The end of the stop: sleeps and timer calls still waiting are abandoned (what they own is
 * released), so nothing keeps the loop alive. */
static void end_timers(ls_host *h) {
    for (ls_vm *vm = h->current; vm; vm = vm == h->current ? h->retired : vm->next) {
        ls_timers_cancel(vm);
        ls_sleep_close_all(vm);
    }
    if (h->loading) /* a reload's load that still waits is abandoned */
        ls_sleep_close_all(h->loading);
    uv_close((uv_handle_t *)&h->timers, on_closed);
}

static void on_timers_time(uv_timer_t *t) {
    ls_host *h = t->data;
    if (ls_timers_active())
        ls_log(LS_LOG_WARN, "shutdown: %zu timer(s) still running or pending: stopped",
               ls_timers_active());
    end_timers(h);
}

void ls_host_timer_ended(ls_host *h) {
    /* (ended outside this call: it may come from deep inside a timer's call) */
    if (h->closing && !uv_is_closing((uv_handle_t *)&h->timers) && !ls_timers_active())
        uv_timer_start(&h->timers, on_timers_time, 0, 0);
}

void ls_host_begin_stop(ls_host *h) {
    if (h->stopping)
        return;
    h->stopping = 1;
    h->stop_by = uv_now(h->loop) + h->server->settings.shutdown_timeout_ms;
    /* Every timer's last call, premature, now: a stream or a loop that waits for it (or for
     * exiting()) ends while the connections drain, instead of holding the stop until the
     * shutdown timeout. Requests in flight go on; their exiting() is true from now. */
    for (ls_vm *vm = h->current; vm; vm = vm == h->current ? h->retired : vm->next) {
        vm->stopping = 1;
        ls_timers_expire(vm);
    }
    /* A reload still loading never takes over: its code is dropped as a failed load's is
     * (its timers never run; its wait ends with the others, at the end of the stop). */
    if (h->loading) {
        h->loading->stopping = 1;
        ls_timers_cancel(h->loading);
    }
}

void ls_host_stop(ls_host *h) {
    if (h->closing)
        return;
    ls_host_begin_stop(h);
    h->closing = 1;
    uv_close((uv_handle_t *)&h->collect, on_closed);
    uv_close((uv_handle_t *)&h->debounce, on_closed);
    uv_close((uv_handle_t *)&h->gc, on_closed);
    uv_close((uv_handle_t *)&h->sighup, on_closed);
    if (h->watching)
        uv_close((uv_handle_t *)&h->watcher, on_closed);
    /* Calls that wait (and sleeps) may go on until the deadline set when the stop began
     * (timers made since then are at(0) ones, premature, due at once). */
    uint64_t now = uv_now(h->loop);
    if (ls_timers_active())
        uv_timer_start(&h->timers, on_timers_time, h->stop_by > now ? h->stop_by - now : 0, 0);
    else
        end_timers(h);
}

void ls_host_free(ls_host *h) {
    /* Timers are left only when the server never started (main.c: a bad setting): the ones
     * the app's load made are dropped, and their handles closed. */
    if (h->current && ls_timers_active()) {
        ls_timers_cancel(h->current);
        uv_run(h->loop, UV_RUN_NOWAIT);
    }
    ls_vm_free(h->current);
    h->current = NULL;
    ls_vm_free(h->loading);
    h->loading = NULL;
    while (h->retired) {
        ls_vm *vm = h->retired;
        h->retired = vm->next;
        ls_vm_free(vm);
    }
}
