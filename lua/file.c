/* lunaserve.file: files opened beneath a root directory, for lunaserve.static, and
 * res:sendFile(), which sends a range of one through the kernel (sendfile) without reading
 * it into Lua.
 *
 *   local file = require("lunaserve.file")
 *   local root = assert(file.root("/srv/www"))  -- the directory stays open
 *   local f, err, kind = root:open("a/b.txt")   -- kind: "notfound", "outside", "denied",
 *                                               -- "error"
 *   f.size, f.mtime, f.type                     -- type: "file", "dir" or "other"
 *   f:list()                                    -- a directory's entries: {{name=, dir=}...}
 *   res:sendFile(f[, offset[, length]])         -- as res:write: true, false (drain), or
 *                                               -- false, err
 *   f:close()                                   -- (or the collector closes it)
 *
 * The path never leaves the root: openat2 with RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS
 * resolves it (a `..` or a symlink that would step out fails, a symlink that stays inside is
 * followed). Where the kernel has no openat2 (ENOSYS), or with file.root(dir, {walk = true}),
 * the path is walked one component at a time with O_NOFOLLOW: `..` and every symlink are
 * refused there. Files open with O_NONBLOCK so that a FIFO under the root cannot block the
 * loop; anything not a regular file or a directory has type "other". */
#include "binding.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ROOT_MT "lunaserve.file.root"
#define FILE_MT "lunaserve.file"

typedef struct {
    int fd;   /* the root directory, -1 once closed */
    int walk; /* the component walk, not openat2 */
} lroot;

/* A descriptor shared by the Lua handle and the responses sending from it (no dup per
 * sendFile: syscalls are most of a small file's cost); closed when the last lets go. All
 * on the loop's thread. */
typedef struct {
    int fd;
    int refs;
} shared_fd;

static void shared_unref(void *ctx) {
    shared_fd *s = ctx;
    if (--s->refs == 0) {
        close(s->fd);
        free(s);
    }
}

typedef struct {
    shared_fd *sfd; /* NULL once closed */
    int64_t size;
    int64_t mtime;
    const char *type;
} lfile;

static const int OPEN_FLAGS = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;

/* openat2 beneath dirfd: the fd, or -1 with errno (ENOSYS where the kernel lacks it). */
static int open_beneath(int dirfd, const char *path) {
#ifdef SYS_openat2
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = (uint64_t)OPEN_FLAGS;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    int fd;
    do
        fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
    while (fd < 0 && errno == EINTR);
    return fd;
#else
    (void)dirfd, (void)path;
    errno = ENOSYS;
    return -1;
#endif
}

/* The portable walk: each component opened with O_NOFOLLOW from the one before; `..` is
 * refused (EXDEV) and so is any symlink (ELOOP, or ENOTDIR from O_DIRECTORY on one). */
static int open_walk(int dirfd, const char *path) {
    char comp[NAME_MAX + 1];
    int cur = dirfd;
    const char *p = path;
    for (;;) {
        while (*p == '/')
            p++;
        const char *end = p + strcspn(p, "/");
        size_t n = (size_t)(end - p);
        const char *rest = end;
        while (*rest == '/')
            rest++;
        int last = *rest == '\0';
        int fd;
        if (n == 0 || (n == 1 && p[0] == '.')) {
            fd = openat(cur, ".", last ? OPEN_FLAGS : O_PATH | O_DIRECTORY | O_CLOEXEC);
        } else if (n == 2 && p[0] == '.' && p[1] == '.') {
            errno = EXDEV;
            fd = -1;
        } else if (n > NAME_MAX) {
            errno = ENAMETOOLONG;
            fd = -1;
        } else {
            memcpy(comp, p, n);
            comp[n] = '\0';
            fd = openat(cur, comp, last ? OPEN_FLAGS | O_NOFOLLOW
                                        : O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        int saved = errno;
        if (cur != dirfd)
            close(cur);
        errno = saved;
        if (fd < 0 || last)
            return fd;
        cur = fd;
        p = rest;
    }
}

static const char *error_kind(int err) {
    switch (err) {
    case ENOENT:
    case ENOTDIR:
    case ENAMETOOLONG:
        return "notfound";
    case EXDEV:
    case ELOOP:
        return "outside";
    case EACCES:
    case EPERM:
        return "denied";
    default:
        return "error";
    }
}

static int fail_errno(lua_State *L, int err) {
    lua_pushnil(L);
    lua_pushstring(L, strerror(err));
    lua_pushstring(L, error_kind(err));
    return 3;
}

/* file.root(dir[, {walk = true}]) */
static int l_root(lua_State *L) {
    const char *dir = luaL_checkstring(L, 1);
    int walk = 0;
    if (lua_type(L, 2) == LUA_TTABLE) {
        lua_getfield(L, 2, "walk");
        walk = lua_toboolean(L, -1);
        lua_pop(L, 1);
    }
    lroot *r = lua_newuserdatauv(L, sizeof *r, 0);
    r->fd = -1;
    r->walk = walk;
    luaL_setmetatable(L, ROOT_MT);
    r->fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (r->fd < 0)
        return fail_errno(L, errno);
    return 1;
}

/* root:open(path): path is relative to the root (leading slashes are dropped); a NUL in it
 * is refused (notfound). */
static int l_root_open(lua_State *L) {
    lroot *r = luaL_checkudata(L, 1, ROOT_MT);
    size_t len;
    const char *path = luaL_checklstring(L, 2, &len);
    if (r->fd < 0)
        return luaL_error(L, "root is closed");
    if (strlen(path) != len)
        return fail_errno(L, ENOENT);
    while (*path == '/')
        path++;
    if (*path == '\0')
        path = ".";
    /* The handle first (a memory error after the open would leak the descriptor), but its
     * metatable only once the file is open: a miss (a `.gz` probe, say) leaves plain garbage,
     * no finalizer for the collector to run. */
    lfile *f = lua_newuserdatauv(L, sizeof *f, 0);
    f->sfd = NULL;
    int fd = -1;
    if (!r->walk) {
        fd = open_beneath(r->fd, path);
        if (fd < 0 && errno == ENOSYS)
            r->walk = 1;
    }
    if (r->walk)
        fd = open_walk(r->fd, path);
    if (fd < 0)
        return fail_errno(L, errno);
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int err = errno;
        close(fd);
        return fail_errno(L, err);
    }
    shared_fd *sfd = malloc(sizeof *sfd);
    if (!sfd) {
        close(fd);
        return luaL_error(L, "not enough memory");
    }
    sfd->fd = fd;
    sfd->refs = 1;
    f->sfd = sfd;
    f->size = (int64_t)st.st_size;
    f->mtime = (int64_t)st.st_mtim.tv_sec;
    f->type = S_ISREG(st.st_mode) ? "file" : S_ISDIR(st.st_mode) ? "dir" : "other";
    luaL_setmetatable(L, FILE_MT);
    return 1;
}

static int l_root_close(lua_State *L) {
    lroot *r = luaL_checkudata(L, 1, ROOT_MT);
    if (r->fd >= 0)
        close(r->fd);
    r->fd = -1;
    return 0;
}

static lfile *check_file(lua_State *L, int idx) {
    lfile *f = luaL_checkudata(L, idx, FILE_MT);
    if (!f->sfd)
        luaL_argerror(L, idx, "file is closed");
    return f;
}

static int l_file_close(lua_State *L) {
    lfile *f = luaL_checkudata(L, 1, FILE_MT);
    if (f->sfd)
        shared_unref(f->sfd);
    f->sfd = NULL;
    return 0;
}

/* f:list(): a directory's entries but . and .., as {name =, dir = bool}, unsorted (a
 * symlink counts as what it points to, wherever that is: opening it is what checks). */
static int l_file_list(lua_State *L) {
    lfile *f = check_file(L, 1);
    int fd = openat(f->sfd->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return fail_errno(L, errno);
    DIR *d = fdopendir(fd);
    if (!d) {
        int err = errno;
        close(fd);
        return fail_errno(L, err);
    }
    lua_newtable(L);
    lua_Integer n = 0;
    struct dirent *e;
    while ((errno = 0, e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        int dir = e->d_type == DT_DIR;
        if (e->d_type == DT_UNKNOWN || e->d_type == DT_LNK) {
            struct stat st;
            dir = fstatat(fd, e->d_name, &st, 0) == 0 && S_ISDIR(st.st_mode);
        }
        lua_createtable(L, 0, 2);
        lua_pushstring(L, e->d_name);
        lua_setfield(L, -2, "name");
        lua_pushboolean(L, dir);
        lua_setfield(L, -2, "dir");
        lua_rawseti(L, -2, ++n);
    }
    closedir(d);
    return 1;
}

/* f.size, f.mtime, f.type and the methods; the file metatable is upvalue 1 (a cheaper check
 * than luaL_checkudata's lookup by name: a handler reads these on every request). */
static int l_file_index(lua_State *L) {
    if (!lua_getmetatable(L, 1) || !lua_rawequal(L, -1, lua_upvalueindex(1)))
        return luaL_typeerror(L, 1, FILE_MT);
    lfile *f = lua_touserdata(L, 1);
    size_t n;
    const char *key = luaL_checklstring(L, 2, &n);
    switch (n) {
    case 4:
        if (memcmp(key, "size", 4) == 0) {
            lua_pushinteger(L, f->size);
            return 1;
        }
        if (memcmp(key, "type", 4) == 0) {
            lua_pushstring(L, f->type);
            return 1;
        }
        if (memcmp(key, "list", 4) == 0) {
            lua_pushcfunction(L, l_file_list);
            return 1;
        }
        break;
    case 5:
        if (memcmp(key, "mtime", 5) == 0) {
            lua_pushinteger(L, f->mtime);
            return 1;
        }
        if (memcmp(key, "close", 5) == 0) {
            lua_pushcfunction(L, l_file_close);
            return 1;
        }
        break;
    }
    lua_pushnil(L);
    return 1;
}

/* res:sendFile(f[, offset[, length]]): queues that range of f (default: from offset to the
 * size f had when it was opened). The response shares f's descriptor, which stays open until
 * the bytes are sent or dropped, so f may be closed at once. Returns as res:write. */
static int l_send_file(lua_State *L) {
    ls_lreq *r = luaL_checkudata(L, 1, LS_RES_MT);
    lfile *f = check_file(L, 2);
    lua_Integer off = luaL_optinteger(L, 3, 0);
    luaL_argcheck(L, off >= 0 && off <= f->size, 3, "offset outside the file");
    lua_Integer len = luaL_optinteger(L, 4, f->size - off);
    luaL_argcheck(L, len >= 0 && len <= f->size - off, 4, "length past the end of the file");
    if (!r->conn || !ls_conn_open(r->conn)) {
        lua_pushboolean(L, 0);
        lua_pushliteral(L, "closed");
        return 2;
    }
    f->sfd->refs++; /* released by the connection, whatever happens */
    int rc = ls_conn_write_file(r->conn, f->sfd->fd, off, (size_t)len, shared_unref, f->sfd);
    if (rc == LS_EENDED || rc == LS_ECLOSED) {
        lua_pushboolean(L, 0);
        lua_pushstring(L, ls_strerror(rc));
        return 2;
    }
    if (rc < 0)
        return luaL_error(L, "%s", ls_strerror(rc));
    if (rc == 0) { /* on_drain follows */
        r->drain_pending = 1;
        ls_lreq_touch(r);
    }
    lua_pushboolean(L, rc);
    return 1;
}

static int open_file_module(lua_State *L) {
    if (luaL_newmetatable(L, ROOT_MT)) {
        static const luaL_Reg methods[] = {{"open", l_root_open}, {"close", l_root_close},
                                           {NULL, NULL}};
        luaL_newlib(L, methods);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, l_root_close);
        lua_setfield(L, -2, "__gc");
    }
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushcfunction(L, l_root);
    lua_setfield(L, -2, "root");
    return 1;
}

void ls_file_open(lua_State *L) {
    /* the file metatable now: res:sendFile checks its argument against it */
    luaL_newmetatable(L, FILE_MT);
    lua_pushvalue(L, -1);
    lua_pushcclosure(L, l_file_index, 1);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_file_close);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    static const luaL_Reg res_methods[] = {{"sendFile", l_send_file}, {NULL, NULL}};
    ls_res_add_methods(L, res_methods);
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    lua_pushcfunction(L, open_file_module);
    lua_setfield(L, -2, "lunaserve.file");
    lua_pop(L, 1);
}
