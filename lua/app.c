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

const char *ls_vm_load(ls_vm *vm, const char *path) {
    static char err[8192];
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
    lua_pushcfunction(L, ls_traceback);
    if (luaL_loadfile(L, file) != LUA_OK) {
        snprintf(err, sizeof err, "%s", lua_tostring(L, -1));
        lua_pop(L, 2);
        return err;
    }
    if (lua_pcall(L, 0, 1, -2) != LUA_OK) {
        snprintf(err, sizeof err, "%s", lua_tostring(L, -1));
        lua_pop(L, 2);
        return err;
    }
    int ok = 0;
    if (lua_isfunction(L, -1)) {
        lua_pushvalue(L, -1);
        ok = 1;
    } else if (lua_istable(L, -1)) {
        lua_getfield(L, -1, "handle");
        ok = lua_isfunction(L, -1);
        if (!ok)
            lua_pop(L, 1);
    }
    if (!ok) {
        snprintf(err, sizeof err,
                 "%s:1: the app must return a handler function or a table with a 'handle' "
                 "function (it returned a %s value)",
                 file, luaL_typename(L, -1));
        lua_pop(L, 2);
        return err;
    }
    vm->handler_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    vm->app_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pop(L, 1); /* traceback */
    return NULL;
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

int ls_traceback(lua_State *L) {
    const char *msg = lua_tostring(L, 1);
    if (!msg)
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    luaL_traceback(L, L, msg, 1);
    return 1;
}
