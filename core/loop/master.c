#include "master.h"

#include "metrics.h"

#include "log.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_WORKERS 256
#define READY_WAIT_MS 30000
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define QUICK_DEATH_MS 1000 /* a worker that dies sooner than this after starting backs off */

typedef struct {
    pid_t pid;
    uint64_t started_ms;
    uint64_t restart_at_ms; /* when a dead worker is due to start again (0: alive) */
    uint64_t backoff_ms;
} worker;

static uint64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Starts one worker; returns its pid (-1 on failure). When ready_port is not NULL, waits
 * until it reports its port (or dies) and stores the port there. */
static pid_t spawn(const ls_master_opts *o, int slot, int nslots, int port, int *ready_port) {
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]), close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        close(fds[0]);
        prctl(PR_SET_PDEATHSIG, SIGTERM); /* never outlive the master */
        if (getppid() != parent)
            _exit(1);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGCHLD, SIG_DFL);
        ls_metrics_enter_slot(slot, nslots);
        _exit(o->worker_main(o->ctx, fds[1], port));
    }
    close(fds[1]);
    if (ready_port) {
        char buf[32] = {0};
        size_t got = 0;
        struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
        uint64_t deadline = mono_ms() + READY_WAIT_MS;
        while (got < sizeof buf - 1 && !memchr(buf, '\n', got)) {
            uint64_t now = mono_ms();
            if (now >= deadline || poll(&pfd, 1, (int)(deadline - now)) <= 0)
                break;
            ssize_t n = read(fds[0], buf + got, sizeof buf - 1 - got);
            if (n <= 0)
                break;
            got += (size_t)n;
        }
        *ready_port = memchr(buf, '\n', got) ? atoi(buf) : -1;
    }
    close(fds[0]);
    return pid;
}

static void describe(int status, char *out, size_t n) {
    if (WIFSIGNALED(status))
        snprintf(out, n, "killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        snprintf(out, n, "exited with status %d", WEXITSTATUS(status));
}

static void signal_all(worker *w, int n, int sig) {
    for (int i = 0; i < n; i++)
        if (w[i].pid > 0)
            kill(w[i].pid, sig);
}

int ls_master_run(const ls_master_opts *o) {
    int n = o->workers < 1 ? 1 : o->workers > MAX_WORKERS ? MAX_WORKERS : o->workers;
    worker w[MAX_WORKERS];
    memset(w, 0, sizeof w);

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);

    /* The first worker picks the port when it is 0; the others then bind the same one. */
    int port = -1;
    w[0].pid = spawn(o, 0, n, o->port, &port);
    if (w[0].pid < 0 || port <= 0) {
        int status = 0;
        if (w[0].pid > 0) {
            kill(w[0].pid, SIGKILL);
            waitpid(w[0].pid, &status, 0);
        }
        return w[0].pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) ? WEXITSTATUS(status) : 1;
    }
    w[0].started_ms = mono_ms();
    for (int i = 1; i < n; i++) {
        int p;
        w[i].pid = spawn(o, i, n, port, &p);
        w[i].started_ms = mono_ms();
        if (w[i].pid < 0 || p != port) {
            ls_log(LS_LOG_ERROR, "worker %d did not start", i + 1);
            signal_all(w, n, SIGKILL);
            while (wait(NULL) > 0)
                ;
            return 1;
        }
    }
    if (o->on_ready)
        o->on_ready(o->ctx, port);

    int stopping = 0, interrupts = 0;
    for (;;) {
        /* Wait for a signal, or for the next restart that is due. */
        uint64_t now = mono_ms(), next = 0;
        for (int i = 0; i < n; i++)
            if (!w[i].pid && w[i].restart_at_ms && (!next || w[i].restart_at_ms < next))
                next = w[i].restart_at_ms;
        uint64_t wait_ms = next ? (next > now ? next - now : 0) : 1000;
        struct timespec ts = {(time_t)(wait_ms / 1000), (long)(wait_ms % 1000) * 1000000};
        int sig = sigtimedwait(&set, NULL, &ts);
        if (sig == SIGHUP && !stopping) {
            ls_log(LS_LOG_INFO, "SIGHUP: reloading %d worker(s)", n);
            signal_all(w, n, SIGHUP);
        } else if (sig == SIGUSR1) { /* the workers reopen their access logs */
            signal_all(w, n, SIGUSR1);
        } else if (sig == SIGTERM || sig == SIGINT) {
            if (stopping && sig == SIGINT && ++interrupts > 0) {
                ls_log(LS_LOG_WARN, "second SIGINT: killing the workers now");
                signal_all(w, n, SIGKILL);
                while (wait(NULL) > 0)
                    ;
                return 130;
            }
            stopping = 1;
            ls_log(LS_LOG_INFO, "%s: stopping %d worker(s)", sig == SIGINT ? "SIGINT" : "SIGTERM",
                   n);
            signal_all(w, n, SIGTERM);
        }
        /* Reap. */
        int status;
        pid_t pid;
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
            for (int i = 0; i < n; i++) {
                if (w[i].pid != pid)
                    continue;
                w[i].pid = 0;
                if (stopping)
                    break;
                char why[96];
                describe(status, why, sizeof why);
                uint64_t lived = mono_ms() - w[i].started_ms;
                if (lived < QUICK_DEATH_MS)
                    w[i].backoff_ms = w[i].backoff_ms ? w[i].backoff_ms * 2 : BACKOFF_MIN_MS;
                else
                    w[i].backoff_ms = 0;
                if (w[i].backoff_ms > BACKOFF_MAX_MS)
                    w[i].backoff_ms = BACKOFF_MAX_MS;
                w[i].restart_at_ms = mono_ms() + w[i].backoff_ms;
                ls_log(LS_LOG_ERROR, "worker %d (pid %d) %s; restarting in %llu ms", i + 1,
                       (int)pid, why, (unsigned long long)w[i].backoff_ms);
            }
        }
        if (stopping) {
            int alive = 0;
            for (int i = 0; i < n; i++)
                alive += w[i].pid > 0;
            if (!alive)
                return 0;
            continue;
        }
        now = mono_ms();
        for (int i = 0; i < n; i++) {
            if (w[i].pid || !w[i].restart_at_ms || w[i].restart_at_ms > now)
                continue;
            int p;
            w[i].pid = spawn(o, i, n, port, &p);
            ls_metrics_count_restart();
            w[i].started_ms = mono_ms();
            w[i].restart_at_ms = 0;
            if (w[i].pid < 0) {
                w[i].pid = 0;
                w[i].restart_at_ms = mono_ms() + BACKOFF_MAX_MS;
                ls_log(LS_LOG_ERROR, "worker %d could not be started: %s", i + 1, strerror(errno));
            } else if (p == port)
                ls_log(LS_LOG_INFO, "worker %d restarted (pid %d)", i + 1, (int)w[i].pid);
            else if (w[i].pid > 0)
                ls_log(LS_LOG_ERROR, "worker %d (pid %d) did not get ready", i + 1,
                       (int)w[i].pid);
        }
    }
}
