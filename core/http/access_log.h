/* The access log: one line per request, in nginx's "combined" format or as a JSON object,
 * gathered in a bounded buffer and written with one write(2) of whole lines at least once a
 * second, when the buffer fills, and when the log closes: no system call per request. The
 * file is opened O_APPEND, so workers sharing it never cut each other's lines; "-" is the
 * process's standard output (written in pieces of whole lines no longer than PIPE_BUF when
 * it is a pipe). A write that fails (a full disk, a pipe nobody reads) never stalls the loop:
 * the lines are dropped and counted. */
#ifndef LS_ACCESS_LOG_H
#define LS_ACCESS_LOG_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef enum { LS_LOG_COMBINED, LS_LOG_JSON } ls_access_format;

/* What one line says about one request. Strings are not NUL-terminated where a length is
 * given; NULL or empty ones are written as "-" (combined) or null (JSON). */
typedef struct ls_access_entry {
    const char *addr;   /* the client's address */
    const char *method; /* NULL when the request line never parsed */
    const char *target;
    size_t target_len;
    int http_major, http_minor;
    int status;
    uint64_t body_bytes; /* response body bytes sent (without chunked framing) */
    uint64_t bytes;      /* bytes of the response on the wire, head included */
    uint64_t time_us;    /* from the first byte of the request to the last of the response */
    const char *referer, *user_agent, *authorization;
    size_t referer_len, user_agent_len, authorization_len;
    const char *closed; /* why the connection ended after this request, or NULL */
} ls_access_entry;

typedef struct ls_access_log {
    char path[1024]; /* "-" for standard output */
    ls_access_format format;
    int fd;
    int pipe; /* fd is a pipe or FIFO: writes of at most PIPE_BUF stay whole */
    char *buf;
    size_t len;
    size_t lines;    /* lines in buf */
    uint64_t dropped; /* lines lost to failed writes or a full buffer */
    uint64_t written; /* lines handed to the kernel */
    int worker;       /* the process id written in JSON lines */
    uv_timer_t flush;
    int timer_open;
    time_t stamp_sec; /* the second the cached time stamps are for */
    uint8_t addr_family, addr_bytes[16]; /* the last client address formatted, and its text */
    char addr_text[48];
    char stamp_combined[40], stamp_iso[40];
} ls_access_log;

/* Opens the log (creating the file, mode 0644) and starts its flush timer on loop; returns
 * 0, or -errno with nothing left open. */
int ls_access_log_open(ls_access_log *log, uv_loop_t *loop, const char *path,
                       ls_access_format format);
/* The text of a client address (family AF_INET or AF_INET6, the address's bytes), kept from
 * one call to the next: the requests of one connection (or of one proxy) come in a row. */
const char *ls_access_log_addr(ls_access_log *log, int family, const uint8_t *bytes);
/* Adds one line (written with the next flush). */
void ls_access_log_add(ls_access_log *log, const ls_access_entry *e);
/* Writes what is buffered now. */
void ls_access_log_flush(ls_access_log *log);
/* Writes what is buffered, then opens the path again (SIGUSR1, after logrotate moved the
 * file). Returns 0 or -errno; on failure the old file stays in use. */
int ls_access_log_reopen(ls_access_log *log);
/* Writes what is buffered and closes the file and the timer (the handle closes with the
 * loop's next turn: call before the loop's last run). */
void ls_access_log_close(ls_access_log *log);

#endif
