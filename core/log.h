/* Leveled logging to stderr. */
#ifndef LS_LOG_H
#define LS_LOG_H

typedef enum { LS_LOG_ERROR, LS_LOG_WARN, LS_LOG_INFO, LS_LOG_DEBUG } ls_log_level;

extern ls_log_level ls_log_threshold;

/* Parses "error", "warn", "info" or "debug"; returns -1 for anything else. */
int ls_log_parse_level(const char *name);

void ls_log(ls_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define ls_log_enabled(level) ((level) <= ls_log_threshold)
#define LS_LOG(level, ...)                                                                         \
    do {                                                                                           \
        if (ls_log_enabled(level))                                                                 \
            ls_log(level, __VA_ARGS__);                                                            \
    } while (0)

#endif
