#include "access_log.h"

#include "stats.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BUF_CAP (64 * 1024)    /* lines waiting for a write */
#define BUF_FLUSH (32 * 1024)  /* a write as soon as this much waits */
#define FIELD_MAX 4096         /* bytes one escaped field may take (the target: twice that) */
#define LINE_MAX_BYTES (6 * FIELD_MAX + 512)
#define FLUSH_MS 1000

/* ---------------------------------------------------------------- the line */

typedef struct out {
    char *p, *end;
} out;

static void put(out *o, const char *s, size_t n) {
    if ((size_t)(o->end - o->p) < n)
        n = (size_t)(o->end - o->p);
    memcpy(o->p, s, n);
    o->p += n;
}
static void puts_(out *o, const char *s) { put(o, s, strlen(s)); }
/* Decimal digits of v into the end of b[24]; returns where they start (no printf: this runs
 * for every request). */
static char *digits(char *end, uint64_t v) {
    do
        *--end = (char)('0' + v % 10);
    while ((v /= 10));
    return end;
}
static void putu(out *o, uint64_t v) {
    char b[24], *p = digits(b + sizeof b, v);
    put(o, p, (size_t)(b + sizeof b - p));
}

/* nginx's escaping for the combined format: '"', '\' and bytes outside 0x20..0x7e become
 * \xHH; an empty value is "-". At most `max` bytes are written, never half an escape. */
static void put_combined(out *o, const char *s, size_t n, size_t max) {
    static const char hex[] = "0123456789ABCDEF";
    if (!s || !n) {
        put(o, "-", 1);
        return;
    }
    char *stop = o->p + ((size_t)(o->end - o->p) < max ? (size_t)(o->end - o->p) : max);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\' || c < 0x20 || c >= 0x7f) {
            if (stop - o->p < 4)
                return;
            *o->p++ = '\\', *o->p++ = 'x', *o->p++ = hex[c >> 4], *o->p++ = hex[c & 15];
        } else {
            if (stop - o->p < 1)
                return;
            *o->p++ = (char)c;
        }
    }
}

/* The length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n) {
    size_t len = s[0] >= 0xf0 && s[0] <= 0xf4   ? 4
                 : s[0] >= 0xe0                 ? 3
                 : s[0] >= 0xc2 && s[0] <= 0xdf ? 2
                                                : 0;
    if (!len || len > n || (s[0] >= 0xf5))
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0) ||
        (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90))
        return 0; /* overlong, a surrogate, or past U+10FFFF */
    return len;
}

/* A JSON string (or null): valid UTF-8 passes, other bytes and controls become \u00HH. */
static void put_json(out *o, const char *s, size_t n, size_t max) {
    static const char hex[] = "0123456789abcdef";
    if (!s) {
        puts_(o, "null");
        return;
    }
    char *stop = o->p + ((size_t)(o->end - o->p) < max ? (size_t)(o->end - o->p) : max) - 1;
    if (stop <= o->p)
        return;
    *o->p++ = '"';
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        size_t u;
        if (c == '"' || c == '\\') {
            if (stop - o->p < 2)
                break;
            *o->p++ = '\\', *o->p++ = (char)c;
            i++;
        } else if (c >= 0x20 && c < 0x7f) {
            if (stop - o->p < 1)
                break;
            *o->p++ = (char)c;
            i++;
        } else if (c >= 0x80 && (u = utf8_len((const unsigned char *)s + i, n - i))) {
            if ((size_t)(stop - o->p) < u)
                break;
            memcpy(o->p, s + i, u);
            o->p += u, i += u;
        } else {
            if (stop - o->p < 6)
                break;
            memcpy(o->p, "\\u00", 4);
            o->p[4] = hex[c >> 4], o->p[5] = hex[c & 15];
            o->p += 6, i++;
        }
    }
    *o->p++ = '"';
}

/* The user name of "Authorization: Basic base64(user:password)", as nginx's $remote_user;
 * 0 when there is none. */
static size_t basic_user(const char *a, size_t n, char *user, size_t cap) {
    if (!a || n < 6 || strncasecmp(a, "Basic ", 6) != 0)
        return 0;
    a += 6, n -= 6;
    while (n && *a == ' ')
        a++, n--;
    size_t len = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n && a[i] != '='; i++) {
        char c = a[i];
        int v = c >= 'A' && c <= 'Z'   ? c - 'A'
                : c >= 'a' && c <= 'z' ? c - 'a' + 26
                : c >= '0' && c <= '9' ? c - '0' + 52
                : c == '+'             ? 62
                : c == '/'             ? 63
                                       : -1;
        if (v < 0)
            return 0;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            char b = (char)((acc >> bits) & 0xff);
            if (b == ':')
                return len;
            if (len == cap)
                return 0;
            user[len++] = b;
        }
    }
    return 0; /* no ':' */
}

static void refresh_stamps(ls_access_log *log) {
    time_t now = time(NULL);
    if (now == log->stamp_sec)
        return;
    log->stamp_sec = now;
    struct tm tm;
    localtime_r(&now, &tm);
    static const char months[][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    long off = tm.tm_gmtoff / 60;
    char sign = off < 0 ? '-' : '+';
    if (off < 0)
        off = -off;
    int oh = (int)(off / 60 % 100), om = (int)(off % 60);
    unsigned year = (unsigned)(tm.tm_year + 1900) % 10000u;
    snprintf(log->stamp_combined, sizeof log->stamp_combined, "%02d/%s/%04u:%02d:%02d:%02d %c%02d%02d",
             tm.tm_mday % 100, months[tm.tm_mon % 12], year, tm.tm_hour % 100, tm.tm_min % 100,
             tm.tm_sec % 100, sign, oh, om);
    snprintf(log->stamp_iso, sizeof log->stamp_iso, "%04u-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", year,
             (tm.tm_mon + 1) % 100, tm.tm_mday % 100, tm.tm_hour % 100, tm.tm_min % 100,
             tm.tm_sec % 100, sign, oh, om);
}

static void format_combined(ls_access_log *log, out *o, const ls_access_entry *e) {
    char user[256];
    size_t ulen = basic_user(e->authorization, e->authorization_len, user, sizeof user);
    puts_(o, e->addr && *e->addr ? e->addr : "-");
    put(o, " - ", 3);
    put_combined(o, ulen ? user : NULL, ulen, FIELD_MAX);
    put(o, " [", 2);
    puts_(o, log->stamp_combined);
    put(o, "] \"", 3);
    if (e->method && e->target_len) { /* the request line, as nginx's $request */
        put_combined(o, e->method, strlen(e->method), FIELD_MAX);
        put(o, " ", 1);
        put_combined(o, e->target, e->target_len, 2 * FIELD_MAX);
        char v[] = " HTTP/1.1";
        v[6] = (char)('0' + e->http_major % 10), v[8] = (char)('0' + e->http_minor % 10);
        put(o, v, sizeof v - 1);
    } else {
        put(o, "-", 1);
    }
    put(o, "\" ", 2);
    putu(o, (uint64_t)e->status);
    put(o, " ", 1);
    putu(o, e->body_bytes);
    put(o, " \"", 2);
    put_combined(o, e->referer, e->referer_len, FIELD_MAX);
    put(o, "\" \"", 3);
    put_combined(o, e->user_agent, e->user_agent_len, FIELD_MAX);
    put(o, "\"\n", 2);
}

static void format_json(ls_access_log *log, out *o, const ls_access_entry *e) {
    const char *q = e->method && e->target ? memchr(e->target, '?', e->target_len) : NULL;
    size_t plen = q ? (size_t)(q - e->target) : e->target_len;
    puts_(o, "{\"time\":\"");
    puts_(o, log->stamp_iso);
    puts_(o, "\",\"remote_addr\":");
    put_json(o, e->addr, e->addr ? strlen(e->addr) : 0, FIELD_MAX);
    puts_(o, ",\"method\":");
    put_json(o, e->method, e->method ? strlen(e->method) : 0, FIELD_MAX);
    puts_(o, ",\"path\":");
    put_json(o, e->method ? e->target : NULL, plen, 2 * FIELD_MAX);
    puts_(o, ",\"query\":");
    put_json(o, q ? q + 1 : NULL, q ? e->target_len - plen - 1 : 0, 2 * FIELD_MAX);
    puts_(o, ",\"protocol\":");
    if (e->method) {
        char v[] = "\"HTTP/1.1\"";
        v[6] = (char)('0' + e->http_major % 10), v[8] = (char)('0' + e->http_minor % 10);
        put(o, v, sizeof v - 1);
    } else {
        puts_(o, "null");
    }
    puts_(o, ",\"status\":");
    putu(o, (uint64_t)e->status);
    puts_(o, ",\"body_bytes_sent\":");
    putu(o, e->body_bytes);
    puts_(o, ",\"bytes_sent\":");
    putu(o, e->bytes);
    puts_(o, ",\"request_time_us\":");
    putu(o, e->time_us);
    puts_(o, ",\"referer\":");
    put_json(o, e->referer_len ? e->referer : NULL, e->referer_len, FIELD_MAX);
    puts_(o, ",\"user_agent\":");
    put_json(o, e->user_agent_len ? e->user_agent : NULL, e->user_agent_len, FIELD_MAX);
    puts_(o, ",\"worker\":");
    putu(o, (uint64_t)log->worker);
    puts_(o, ",\"closed\":");
    put_json(o, e->closed, e->closed ? strlen(e->closed) : 0, FIELD_MAX);
    puts_(o, "}\n");
}

const char *ls_access_log_addr(ls_access_log *log, int family, const uint8_t *bytes) {
    size_t n = family == AF_INET ? 4 : 16;
    if (family != AF_INET && family != AF_INET6)
        return "-";
    if (log->addr_family == family && memcmp(log->addr_bytes, bytes, n) == 0)
        return log->addr_text;
    if (family == AF_INET) {
        char *p = log->addr_text;
        for (int i = 0; i < 4; i++) {
            char b[4], *d = digits(b + sizeof b, bytes[i]);
            size_t k = (size_t)(b + sizeof b - d);
            memcpy(p, d, k);
            p += k;
            *p++ = i < 3 ? '.' : '\0';
        }
    } else if (!inet_ntop(AF_INET6, bytes, log->addr_text, sizeof log->addr_text)) {
        return "-";
    }
    log->addr_family = (uint8_t)family;
    memcpy(log->addr_bytes, bytes, n);
    return log->addr_text;
}

void ls_access_log_add(ls_access_log *log, const ls_access_entry *e) {
    if (BUF_CAP + LINE_MAX_BYTES - log->len < LINE_MAX_BYTES)
        ls_access_log_flush(log);
    if (BUF_CAP + LINE_MAX_BYTES - log->len < LINE_MAX_BYTES) {
        log->dropped++; /* the writes cannot keep up: this line is lost, the loop goes on */
        ls_stat_add(&ls_stats_self->access_log_dropped, 1);
        return;
    }
    refresh_stamps(log);
    out o = {log->buf + log->len, log->buf + log->len + LINE_MAX_BYTES - 1};
    if (log->format == LS_LOG_JSON)
        format_json(log, &o, e);
    else
        format_combined(log, &o, e);
    if (o.p[-1] != '\n') /* cut at the bound: still one whole line */
        *o.p++ = '\n';
    log->len = (size_t)(o.p - log->buf);
    log->lines++;
    if (log->len >= BUF_FLUSH)
        ls_access_log_flush(log);
}

/* ---------------------------------------------------------------- writing */

static size_t count_lines(const char *p, size_t n) {
    size_t k = 0;
    for (const char *e = p + n; (p = memchr(p, '\n', (size_t)(e - p))); p++)
        k++;
    return k;
}

/* Drops the first n bytes of the buffer, which were written (or lost: `lost`). */
static void consume(ls_access_log *log, size_t n, int lost) {
    size_t lines = count_lines(log->buf, n);
    if (lost) {
        log->dropped += lines;
        ls_stat_add(&ls_stats_self->access_log_dropped, lines);
    }
    else
        log->written += lines;
    log->lines -= lines;
    memmove(log->buf, log->buf + n, log->len - n);
    log->len -= n;
}

void ls_access_log_flush(ls_access_log *log) {
    while (log->len && log->fd >= 0) {
        size_t n = log->len;
        if (log->pipe && n > PIPE_BUF) { /* whole lines, at most PIPE_BUF: never interleaved */
            const char *nl = NULL;
            for (size_t i = PIPE_BUF; i > 0; i--)
                if (log->buf[i - 1] == '\n') {
                    nl = log->buf + i;
                    break;
                }
            n = nl ? (size_t)(nl - log->buf)
                   : (size_t)((const char *)memchr(log->buf, '\n', log->len) - log->buf) + 1;
        }
        ssize_t w = write(log->fd, log->buf, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return; /* a full pipe: kept for the next flush while there is room */
        if (w < 0) {
            consume(log, log->len, 1); /* ENOSPC, EIO...: lost, counted */
            return;
        }
        if ((size_t)w < n) { /* a short write (a full disk): the rest of the piece is lost */
            consume(log, (size_t)w, 0);
            size_t rest = n - (size_t)w;
            const char *nl = memchr(log->buf, '\n', rest);
            consume(log, nl ? (size_t)(nl - log->buf) + 1 : rest, 1);
            continue;
        }
        consume(log, n, 0);
    }
}

static void on_flush(uv_timer_t *t) { ls_access_log_flush(t->data); }

static int open_path(const char *path, int *fd, int *is_pipe) {
    int f, own = 1;
    struct stat st;
    if (strcmp(path, "-") == 0) {
        /* A pipe gets a description of our own, non-blocking without changing the reader's
         * or the parent's; anything else shares standard output's (and its file offset, so
         * that the log and the server's other output do not overwrite each other). */
        f = -1;
        if (fstat(1, &st) == 0 && S_ISFIFO(st.st_mode))
            f = open("/proc/self/fd/1", O_WRONLY | O_CLOEXEC);
        if (f < 0)
            f = fcntl(1, F_DUPFD_CLOEXEC, 3), own = 0;
    } else {
        f = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    }
    if (f < 0)
        return -errno;
    *is_pipe = fstat(f, &st) == 0 && S_ISFIFO(st.st_mode);
    if (*is_pipe && own)
        fcntl(f, F_SETFL, fcntl(f, F_GETFL) | O_NONBLOCK);
    *fd = f;
    return 0;
}

int ls_access_log_open(ls_access_log *log, uv_loop_t *loop, const char *path,
                       ls_access_format format) {
    memset(log, 0, sizeof *log);
    log->fd = -1;
    if (strlen(path) >= sizeof log->path)
        return -ENAMETOOLONG;
    strcpy(log->path, path);
    log->format = format;
    log->worker = (int)getpid();
    if (!(log->buf = malloc(BUF_CAP + LINE_MAX_BYTES)))
        return -ENOMEM;
    int r = open_path(path, &log->fd, &log->pipe);
    if (r < 0) {
        free(log->buf);
        log->buf = NULL;
        return r;
    }
    uv_timer_init(loop, &log->flush);
    log->flush.data = log;
    log->timer_open = 1;
    uv_timer_start(&log->flush, on_flush, FLUSH_MS, FLUSH_MS);
    uv_unref((uv_handle_t *)&log->flush); /* never what keeps the loop running */
    return 0;
}

int ls_access_log_reopen(ls_access_log *log) {
    ls_access_log_flush(log);
    if (strcmp(log->path, "-") == 0)
        return 0;
    int fd, is_pipe;
    int r = open_path(log->path, &fd, &is_pipe);
    if (r < 0)
        return r;
    if (log->len) /* what a full pipe kept goes to the old file's reader first */
        consume(log, log->len, 1);
    close(log->fd);
    log->fd = fd;
    log->pipe = is_pipe;
    return 0;
}

void ls_access_log_close(ls_access_log *log) {
    if (!log->buf)
        return;
    ls_access_log_flush(log);
    if (log->len)
        consume(log, log->len, 1);
    if (log->fd >= 0)
        close(log->fd);
    log->fd = -1;
    if (log->timer_open)
        uv_close((uv_handle_t *)&log->flush, NULL);
    log->timer_open = 0;
    free(log->buf);
    log->buf = NULL;
}
