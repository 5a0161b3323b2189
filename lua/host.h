/* The app's host: the Lua state that serves new requests, reloads on SIGHUP or on file
 * changes, and the retired states that finish the requests they started. */
#ifndef LS_HOST_H
#define LS_HOST_H

#include "binding.h"

struct ls_host {
    uv_loop_t *loop;
    ls_server *server;
    char app[4096];
    ls_vm *current;
    ls_vm *loading;  /* a reload whose code waits while it loads */
    char load_err[4096];
    ls_vm *retired; /* linked through vm->next */
    uv_timer_t collect;  /* frees retired states outside their own callbacks */
    uv_timer_t gc;       /* a full collection of the states, asked for by ls_host_gc_soon */
    uint64_t gc_last;    /* loop time of the last one */
    int gc_done;         /* there was one */
    uv_timer_t debounce; /* file changes settle before a reload */
    uv_timer_t timers;   /* on stop: the time timer calls still have (shutdown_timeout) */
    uv_signal_t sighup;
    uv_fs_event_t watcher;
    int watching;
    int watch_all;        /* a folder app: any .lua file in it; else the file and its modules */
    char watch_dir[4096]; /* the folder watched, resolved (realpath) */
    int stopping;        /* the stop has begun: no reloads, the states are exiting */
    uint64_t stop_by;    /* loop time by which waiting timer calls are ended */
    int closing;         /* the connections have drained: the host's handles close */
    int handles;
    unsigned long reloads;
};

/* Loads APP (running the loop while its code waits); returns NULL, or the error
 * ("file:line: message"). The host is to be stopped and freed either way. */
const char *ls_host_init(ls_host *h, uv_loop_t *loop, ls_server *server, const char *app);
/* Reload on SIGHUP (sighup) and/or when code changes (files): for a folder app, any .lua
 * file in the folder; for a single-file app, that file and the modules it loaded from its
 * folder (another app saved beside it does not reload it). */
int ls_host_watch(ls_host *h, int sighup, int files);
/* Loads the app anew; 0 (done, or under way while the new code waits), or -1 (logged) when
 * the old code keeps serving. */
int ls_host_reload(ls_host *h);
/* The server's on_request: the current state takes the request. */
void *ls_host_on_request(void *app, ls_conn *c);
/* The stop begins (a signal; the server has just closed its listener): every state is
 * exiting (lunaserve.exiting() is true, timers with a delay are refused) and every pending
 * timer gets its premature call now, so that a stream or a loop that checks them ends while
 * requests in flight drain. A reload under way is dropped, and no other starts. Timer calls
 * that wait may go on until shutdown_timeout from now. */
void ls_host_begin_stop(ls_host *h);
/* The server is about to close its timer: every outbound socket of every state closes. */
void ls_host_drain(ls_host *h);
/* Closes the host's handles (the server has stopped; begins the stop if that was not done)
 * and gives any timer made since its premature call; once the calls that wait have ended, or
 * at the deadline set when the stop began, every pending sleep and whatever timer call is
 * left are ended too. */
void ls_host_stop(ls_host *h);
/* Frees every Lua state, after the loop has ended. */
void ls_host_free(ls_host *h);

#endif
