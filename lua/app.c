/* The app: loading the file (or folder) that returns the handler, and the settings its table
 * may carry. */
#include "binding.h"

#include <string.h>
#include <sys/stat.h>

static int is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* package.path gets the app's folder first, so an app can require its own modules. */
static void add_app_path(lua_State *L, const char *dir) {
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "path");
    lua_pushfstring(L, "%s/?.lua;%s/?/init.lua;%s", dir, dir, lua_tostring(L, -1));
    lua_setfield(L, -3, "path");
    lua_pop(L, 2);
}

/* keep(value): what the app's chunk returned becomes the state's app and handler; anything
 * else is an error (upvalue 1: the vm). */
static int keep_app(lua_State *L) {
    ls_vm *vm = lua_touserdata(L, lua_upvalueindex(1));
    lua_settop(L, 1);
    int ok = 0;
    if (lua_isfunction(L, 1)) {
        lua_pushvalue(L, 1);
        ok = 1;
    } else if (lua_istable(L, 1)) {
        lua_getfield(L, 1, "handle");
        ok = lua_isfunction(L, -1);
    }
    if (!ok)
        return luaL_error(L,
                          "%s:1: the app must return a handler function or a table with a "
                          "'handle' function (it returned a %s value)",
                          vm->app_path, luaL_typename(L, 1));
    vm->handler_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    vm->app_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

/* The app's chunk runs in this coroutine, a root like a handler's, so its code may wait. */
static const char run_chunk[] = "local chunk, keep = ...\nreturn keep(chunk())";

static void load_done(ls_root *root, lua_State *co, const char *error) {
    (void)co;
    ls_vm *vm = (ls_vm *)((char *)root - offsetof(ls_vm, load_root));
    luaL_unref(vm->L, LUA_REGISTRYINDEX, vm->load_co_ref);
    vm->load_co_ref = LUA_NOREF;
    vm->loading = 0;
    vm->load_failed = error != NULL;
    if (error)
        snprintf(vm->load_err, sizeof vm->load_err, "%s", error);
    if (vm->load_waited && vm->on_loaded)
        vm->on_loaded(vm, error ? vm->load_err : NULL);
}

int ls_vm_load(ls_vm *vm, const char *path, const char **err) {
    lua_State *L = vm->L;
    char file[4096], dir[4096];
    if (is_dir(path)) {
        snprintf(file, sizeof file, "%s/init.lua", path);
        snprintf(dir, sizeof dir, "%s", path);
    } else {
        snprintf(file, sizeof file, "%s", path);
        const char *slash = strrchr(path, '/');
        if (slash)
            snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
        else
            snprintf(dir, sizeof dir, ".");
    }
    snprintf(vm->app_path, sizeof vm->app_path, "%s", file);
    add_app_path(L, dir);
    lua_State *co = lua_newthread(L);
    if (luaL_loadbuffer(co, run_chunk, sizeof run_chunk - 1, "=lunaserve") != LUA_OK ||
        luaL_loadfile(co, file) != LUA_OK) {
        snprintf(vm->load_err, sizeof vm->load_err, "%s", lua_tostring(co, -1));
        lua_pop(L, 1);
        *err = vm->load_err;
        return -1;
    }
    lua_pushlightuserdata(co, vm);
    lua_pushcclosure(co, keep_app, 1);
    vm->load_co_ref = luaL_ref(L, LUA_REGISTRYINDEX); /* the thread */
    vm->loading = 1;
    vm->load_waited = 0;
    vm->load_root.vm = vm;
    vm->load_root.done = load_done;
    ls_root_start(&vm->load_root, co, 2);
    if (vm->loading) { /* it waits: load_done tells vm->on_loaded */
        vm->load_waited = 1;
        return 1;
    }
    if (vm->load_failed) {
        *err = vm->load_err;
        return -1;
    }
    return 0;
}

const char *ls_vm_app_settings(ls_vm *vm, ls_settings *settings) {
    static char err[8192];
    lua_State *L = vm->L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, vm->app_ref);
    if (!lua_istable(L, -1)) {
        lua_pop(L, 1);
        return NULL;
    }
    for (size_t i = 0; i < ls_setting_count; i++) {
        const ls_setting_def *def = &ls_setting_defs[i];
        lua_getfield(L, -1, def->name);
        if (!lua_isnil(L, -1)) {
            const char *text = lua_tostring(L, -1);
            const char *msg = text ? ls_setting_set(settings, def, text) : "expected a value";
            if (msg) {
                snprintf(err, sizeof err, "%s: setting '%s': %s", vm->app_path, def->name, msg);
                lua_pop(L, 2);
                return err;
            }
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return NULL;
}

/* The names the app's table takes, for an error message: "handle, host, port, ...". */
static void valid_keys(char *out, size_t size) {
    size_t n = (size_t)snprintf(out, size, "handle");
    for (size_t i = 0; i < ls_setting_count && n < size; i++)
        n += (size_t)snprintf(out + n, size - n, ", %s", ls_setting_defs[i].name);
}

const char *ls_vm_app_check(ls_vm *vm) {
    static char err[8192];
    lua_State *L = vm->L;
    int top = lua_gettop(L);
    lua_rawgeti(L, LUA_REGISTRYINDEX, vm->app_ref);
    if (!lua_istable(L, -1)) {
        lua_settop(L, top);
        return NULL;
    }
    const char *bad = NULL; /* (on the stack until the message is made) */
    lua_pushnil(L);
    while (!bad && lua_next(L, -2)) {
        lua_pop(L, 1); /* the value */
        if (lua_type(L, -1) != LUA_TSTRING) {
            char keys[2048];
            valid_keys(keys, sizeof keys);
            snprintf(err, sizeof err, "%s: a %s key in the app's table; valid keys: %s",
                     vm->app_path, luaL_typename(L, -1), keys);
            lua_settop(L, top);
            return err;
        }
        const char *key = lua_tostring(L, -1);
        if (strcmp(key, "handle") == 0)
            continue;
        const ls_setting_def *def = ls_setting_find(key);
        if (def && strcmp(def->name, key) == 0)
            continue;
        bad = key;
    }
    if (!bad) {
        lua_settop(L, top);
        return NULL;
    }
    char dashed[128];
    snprintf(dashed, sizeof dashed, "%s", bad);
    for (char *p = dashed; *p; p++)
        if (*p == '_')
            *p = '-';
    if (ls_setting_cli_only(bad)) {
        snprintf(err, sizeof err,
                 "%s: '%s' in the app's table: only the command line sets it (--%s)",
                 vm->app_path, bad, dashed);
    } else {
        char keys[2048], guess[160] = "";
        const char *near = ls_setting_nearest(bad);
        valid_keys(keys, sizeof keys);
        if (near && ls_setting_cli_only(near))
            snprintf(guess, sizeof guess, " (did you mean '%s'? only the command line sets it)",
                     near);
        else if (near)
            snprintf(guess, sizeof guess, " (did you mean '%s'?)", near);
        snprintf(err, sizeof err, "%s: unknown key '%s' in the app's table%s; valid keys: %s",
                 vm->app_path, bad, guess, keys);
    }
    lua_settop(L, top);
    return err;
}

int ls_traceback(lua_State *L) {
    const char *msg = lua_tostring(L, 1);
    if (!msg)
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    luaL_traceback(L, L, msg, 1);
    return 1;
}
