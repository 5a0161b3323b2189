/* The Lua face of lunaserve: what the files of lua/ share.
 *
 * A request is one `lunaserve.res` userdata whose memory is the ls_lreq below; the
 * `lunaserve.req` userdata points at it and keeps it alive. The connection belongs to C:
 * `conn` is cleared the moment the core detaches the request (finish or abort), after which
 * both handles are dead and every call on them is harmless. */
#ifndef LS_BINDING_H
#define LS_BINDING_H

#include "conn.h"
#include "driver.h"
#include "server.h"
#include "waiter.h"

#include <lauxlib.h>
#include <lua.h>
#include <uv.h>

#define LS_REQ_MT "lunaserve.req"
#define LS_RES_MT "lunaserve.res"

/* uservalue slots of the res userdata */
enum { SLOT_REQ = 1, SLOT_LISTENERS = 2, SLOT_CACHE = 3, SLOT_FROZEN = 4, SLOT_COUNT = 4 };

/* What the request's waiter waits for. */
enum { WAIT_NONE, WAIT_READ, WAIT_BODY, WAIT_DRAIN };

typedef struct ls_lreq {
    ls_conn *conn; /* NULL once detached: the handles are dead */
    ls_vm *vm;
    ls_root root;     /* the handler's coroutine (root.co while it lives) */
    int co_ref;       /* keeps it alive */
    int self_ref;     /* keeps this userdata alive while the core holds the request */
    ls_waiter waiter; /* one coroutine at a time waits on the body or a drain */
    int wait;         /* what it waits for, while ls_waiting(&waiter) */
    char *acc;        /* req:body() accumulates here */
    size_t acc_len, acc_cap;
    int status; /* the status last known, readable after detach */
    int busy;   /* core callbacks on this request in progress: keep it */
    unsigned finished : 1;
    unsigned aborted : 1;
    unsigned too_large : 1; /* failed with 413: the body went over its limit */
    unsigned end_emitted : 1;
    unsigned has_listeners : 1;
    unsigned body_listeners : 1;  /* req 'data' or 'end' */
    unsigned drain_listeners : 1; /* res 'drain' */
    unsigned drain_pending : 1;   /* a write was refused: on_drain follows */
    unsigned counted : 1;         /* counts in vm->refs */
    unsigned gc_asked : 1;        /* went unheld once: a collection was asked for */
} ls_lreq;

struct ls_vm {
    lua_State *L;
    uv_loop_t *loop;
    ls_server *server;
    struct ls_host *host;
    int handler_ref; /* the app's handler function */
    int app_ref;     /* the value the app returned */
    char app_path[4096];
    struct ls_sleep *sleeps; /* pending lunaserve.sleep timers */
    size_t mem;              /* bytes the Lua state holds */
    size_t mem_limit;        /* 0: none; applies while handler code runs */
    int refs;                /* requests, sleeps and timers still using this state */
    unsigned retired : 1;    /* replaced by a reload: freed once refs is 0 */
    unsigned stopping : 1;   /* the worker stops: its timers had their premature calls */
    ls_vm *next;             /* the host's list of retired states */
    int new_request_ref;     /* the closure that makes a request's coroutine and objects */
    int spare[64];           /* registry refs of finished handler coroutines, for reuse */
    int nspare;
    int core_calls;          /* core callbacks into this state in progress */
    int failing;             /* a root that ended with an error is releasing what it owned */
    int unheld_ref;          /* weak-valued table: res userdata by ls_lreq (lifecycle.c) */
    ls_chain chain;          /* the coroutines running now (driver.c) */
    struct ls_tcp *tcps;     /* every lunaserve.tcp socket with a connection (tcp.c) */
    ls_owned *pg;            /* every PostgreSQL connection and open pool (pg.c) */
    /* the app's load: its chunk runs as a root that may wait (app.c) */
    ls_root load_root;
    int load_co_ref;
    unsigned loading : 1, load_waited : 1, load_failed : 1;
    void (*on_loaded)(ls_vm *vm, const char *err); /* a load that waited ended */
    char load_err[4096];
    ls_owned *owns;          /* sockets made outside any root (the app's load): released
                                when the state retires or stops */
    struct ls_timer *timers;         /* lunaserve.timer timers waiting to fire (timer.c) */
    struct ls_timer_run *timer_runs; /* their calls running now, each a root (timer.c) */
};

/* coroutines.c: coroutine.resume, wrap, yield, isyieldable and close as handlers see them */
void ls_coroutines_open(lua_State *L);

/* vm.c: the Lua state */
ls_vm *ls_vm_new(uv_loop_t *loop, ls_server *server);
/* One less request or sleep uses vm; a retired vm with none left is handed to the host. */
void ls_vm_unref(ls_vm *vm);
/* Asks for a full collection soon (rate-limited by the host): a response may have become
 * unreachable unfinished. */
void ls_vm_collect_soon(ls_vm *vm);
void ls_vm_free(ls_vm *vm);
/* The vm that owns a Lua state (any of its threads). */
ls_vm *ls_vm_of(lua_State *L);

/* budget.c: the CPU and memory a handler may spend */
/* The Lua allocator: counts vm->mem and refuses to grow past the limit in handler code. */
void *ls_budget_alloc(void *ud, void *ptr, size_t osize, size_t nsize);
/* Sets the instruction-count hook that checks the deadline on L (new threads inherit it). */
void ls_budget_arm(lua_State *L);
/* Starts timing handler or listener code; ls_budget_end gets what this returns. */
uint64_t ls_budget_start(ls_vm *vm);
void ls_budget_end(uint64_t saved);

/* app.c */
/* Loads APP (a file, or a directory with init.lua): runs its code, which may wait (connect,
 * sleep) as a handler may. Returns 0 (loaded), -1 (*err: "file:line: message", valid while
 * vm lives), or 1: the code waits, and vm->on_loaded tells the outcome later. */
int ls_vm_load(ls_vm *vm, const char *path, const char **err);
/* Applies the settings named in the app's table (app values; other keys are left to
 * ls_vm_app_check). Returns NULL or a message. */
const char *ls_vm_app_settings(ls_vm *vm, ls_settings *settings);
/* What lunaserve takes in the app's table: 'handle' and the settings. Any other key is an
 * error that names the valid keys and the nearest one (or, for --workers and the like, says
 * that only the command line sets it). (api_bench skips it: its apps carry fields of its
 * own.) Returns NULL or a message. */
const char *ls_vm_app_check(ls_vm *vm);
/* The message handler for lua_pcall: the message with a traceback. */
int ls_traceback(lua_State *L);

/* events.c */
/* req:on and res:on: appends the function at index 3 to the listeners of "<side>:<event>"
 * (event at index 2); leaves only index 1 on the stack. */
int ls_on(lua_State *L, ls_lreq *r, int res_idx, const char *side, const char *const events[]);
/* Calls the listeners of an event (`key` like "res:finish") with nargs arguments that are on
 * top of L's stack (popped). */
void ls_emit(ls_lreq *r, const char *key, int nargs);

/* lifecycle.c: a request's life in the state */
extern const ls_app_iface ls_vm_iface;
/* Makes the closure that creates a request's coroutine and objects (vm->new_request_ref). */
void ls_lifecycle_open(lua_State *L, ls_vm *vm);
/* Logs an error in request r's code with its request line. */
void ls_lreq_log(ls_lreq *r, const char *what, const char *msg);
/* A handler or listener failed: 500, or the connection closes if the head is out. */
void ls_lreq_fail(ls_lreq *r);
/* Resumes the coroutine waiting on r if it waits for `wait`, with what push() pushes. */
void ls_lreq_wake(ls_lreq *r, int wait, ls_push_fn push);
/* Holds r's userdata, or lets it go, as what may still finish its response says (see
 * lifecycle.c); call after anything that changes that. */
void ls_lreq_settle(ls_lreq *r);
/* The same, cheap when r is held already: for calls from Lua on a response the app kept. */
void ls_lreq_touch(ls_lreq *r);
/* The res userdata is being collected (its __gc): a response still owed is answered 500 and
 * the connection forgets the request. */
void ls_lreq_collected(ls_lreq *r);

/* req.c / res.c */
void ls_req_open(lua_State *L);
void ls_res_open(lua_State *L);
/* Pushes a new res userdata (with its req) for a request on conn; returns its ls_lreq.
 * res_mt and req_mt are stack indices of the two metatables. */
ls_lreq *ls_res_new(lua_State *L, ls_vm *vm, ls_conn *conn, int res_mt, int req_mt);
/* Copies the request head (a byte copy, no Lua values made) for req's fields to read once
 * the connection has moved on. */
void ls_req_snapshot(lua_State *L, ls_lreq *r, int res_index);
/* Wakes a coroutine blocked in req:read()/req:body() or feeds 'data' listeners. */
void ls_req_on_body(ls_lreq *r);
void ls_req_push_new(lua_State *L, ls_lreq *r, int res_idx, int req_mt);
/* Adds methods to res (after ls_res_open), for the parts that extend it (file.c). */
void ls_res_add_methods(lua_State *L, const luaL_Reg *methods);

/* host.c: the app's current Lua state, reloads, and the states still finishing old work */
typedef struct ls_host ls_host;
void ls_host_collect_soon(ls_host *h);
/* A full collection of every state soon, at most about one a second. */
void ls_host_gc_soon(ls_host *h);
/* A timer's call has ended: a stopping host may be done waiting for timers. */
void ls_host_timer_ended(ls_host *h);

/* module.c: the `lunaserve` module (upvalue 1: the vm); its other modules (lunaserve.http,
 * ...) load on first use as fields of it */
int ls_open_lunaserve(lua_State *L);

/* tcp.c: lunaserve.tcp() */
void ls_tcp_open(lua_State *L, int module);
/* Closes every socket of the state; waits on them end with "closed". */
void ls_tcp_close_all(ls_vm *vm);

/* pg.c: package.preload["lunaserve.pg_core"] (for lunaserve.pg) */
void ls_pg_preload(lua_State *L);
/* Closes every PostgreSQL connection and pool of the state; waits on them end with
 * "closed". */
void ls_pg_close_all(ls_vm *vm);

/* http_parser.c: package.preload["lunaserve.http_parser"] (for lunaserve.http) */
void ls_http_parser_preload(lua_State *L);

/* crypto.c: package.preload["lunaserve.crypto"] */
void ls_crypto_preload(lua_State *L);
/* `lunaserve.websocket` (lua/websocket.c). */
void ls_websocket_preload(lua_State *L, ls_vm *vm);
void ls_metrics_preload(lua_State *L);
/* file.c: package.preload["lunaserve.file"] and res:sendFile (after ls_res_open) */
void ls_file_open(lua_State *L);

/* sleep.c */
int ls_l_sleep(lua_State *L);
void ls_sleep_close_all(ls_vm *vm);

/* timer.c: lunaserve.timer.at/every, each call of fn(premature, ...) a root of its own */
/* Adds `timer` to the module table on top of L. */
void ls_timer_open(lua_State *L, ls_vm *vm);
/* The state retires or the worker stops (vm->retired or vm->stopping is set): every timer of
 * vm that waits to fire gets its last call now, with premature = true. */
void ls_timers_expire(ls_vm *vm);
/* Ends what is left of vm's timers without calling anything: pending ones are dropped, and
 * calls suspended in a wait are abandoned (their waits cancelled, what they own released); a
 * call running now (this comes from inside it) ends by itself. */
void ls_timers_cancel(ls_vm *vm);
/* Timers pending or running in this process (every state). */
size_t ls_timers_active(void);

/* clock.c: lunaserve.now() and lunaserve.update_time() */
/* Adds `now` and `update_time` to the module table on top of L. */
void ls_clock_open(lua_State *L, ls_vm *vm);

#endif
