/* --workers N: a master process that only starts, watches and stops N worker processes.
 * Each worker runs the whole server (its own loop and Lua state) on the same port with
 * SO_REUSEPORT. The master restarts a worker that dies (logged, with its exit status or
 * signal) within a second, backing off when one dies again and again; forwards SIGHUP (each
 * worker reloads its app); on SIGTERM or SIGINT stops the workers gracefully and exits 0
 * when they have; a second SIGINT kills them and exits at once. */
#ifndef LS_MASTER_H
#define LS_MASTER_H

typedef struct ls_master_opts {
    int workers;
    int port; /* 0: the first worker picks one, the others use it */
    /* Runs in a worker process: serve on `port`, write "PORT\n" to ready_fd and close it once
     * listening; return the process's exit status. */
    int (*worker_main)(void *ctx, int ready_fd, int port);
    /* Runs in the master once every worker listens. */
    void (*on_ready)(void *ctx, int port);
    void *ctx;
} ls_master_opts;

/* Returns the master's exit status: 0 after a graceful stop, else the first worker's start-up
 * failure status. */
int ls_master_run(const ls_master_opts *o);

#endif
