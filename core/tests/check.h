/* A minimal check harness for the core unit tests: each check is counted, each failure prints
 * one line (file:line, expected vs actual), and check_summary() gives the exit status.
 * One translation unit per test program, so the counters can be file-static. */
#ifndef LS_TESTS_CHECK_H
#define LS_TESTS_CHECK_H

#include <stdio.h>
#include <string.h>

static unsigned long check_count, check_failed;

/* Prints n bytes with C escapes so CR, LF, NUL and non-ASCII bytes stay visible. */
static inline void check_print_bytes(const void *p, size_t n) {
    const unsigned char *s = p;
    size_t shown = n > 400 ? 400 : n;
    putchar('"');
    for (size_t i = 0; i < shown; i++) {
        unsigned char c = s[i];
        if (c == '\r')
            fputs("\\r", stdout);
        else if (c == '\n')
            fputs("\\n", stdout);
        else if (c == '\t')
            fputs("\\t", stdout);
        else if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            printf("\\x%02x", c);
        else
            putchar(c);
    }
    putchar('"');
    if (shown < n)
        printf("...(%zu bytes)", n);
}

static inline int check_true(const char *file, int line, const char *expr, int ok) {
    check_count++;
    if (!ok) {
        check_failed++;
        printf("%s:%d: CHECK(%s) failed\n", file, line, expr);
    }
    return ok;
}

static inline int check_eq_int(const char *file, int line, const char *expr, long long expected,
                               long long actual) {
    check_count++;
    if (expected != actual) {
        check_failed++;
        printf("%s:%d: %s: expected %lld, actual %lld\n", file, line, expr, expected, actual);
        return 0;
    }
    return 1;
}

static inline int check_eq_uint(const char *file, int line, const char *expr,
                                unsigned long long expected, unsigned long long actual) {
    check_count++;
    if (expected != actual) {
        check_failed++;
        printf("%s:%d: %s: expected %llu, actual %llu\n", file, line, expr, expected, actual);
        return 0;
    }
    return 1;
}

static inline int check_mem(const char *file, int line, const char *expr, const void *expected,
                            size_t elen, const void *actual, size_t alen) {
    check_count++;
    if (elen != alen || (elen && memcmp(expected, actual, elen) != 0)) {
        check_failed++;
        printf("%s:%d: %s:\n    expected (%zu bytes) ", file, line, expr, elen);
        check_print_bytes(expected, elen);
        printf("\n    actual   (%zu bytes) ", alen);
        if (actual)
            check_print_bytes(actual, alen);
        else
            fputs("NULL", stdout);
        putchar('\n');
        return 0;
    }
    return 1;
}

static inline int check_eq_str(const char *file, int line, const char *expr, const char *expected,
                               const char *actual) {
    if (!actual) {
        check_count++;
        check_failed++;
        printf("%s:%d: %s: expected \"%s\", actual NULL\n", file, line, expr, expected);
        return 0;
    }
    return check_mem(file, line, expr, expected, strlen(expected), actual, strlen(actual));
}

/* Prints the summary line and returns the process exit status. */
static inline int check_summary(const char *name) {
    printf("%s: %lu checks, %lu failed\n", name, check_count, check_failed);
    return check_failed ? 1 : 0;
}

/* Each macro evaluates to 1 when the check passed, 0 when it failed. */
#define CHECK(cond) check_true(__FILE__, __LINE__, #cond, (cond) ? 1 : 0)
#define CHECK_EQ_INT(expected, actual)                                                            \
    check_eq_int(__FILE__, __LINE__, #actual, (long long)(expected), (long long)(actual))
#define CHECK_EQ_UINT(expected, actual)                                                           \
    check_eq_uint(__FILE__, __LINE__, #actual, (unsigned long long)(expected),                    \
                  (unsigned long long)(actual))
#define CHECK_EQ_STR(expected, actual) check_eq_str(__FILE__, __LINE__, #actual, expected, actual)
#define CHECK_MEM(expected, elen, actual, alen)                                                   \
    check_mem(__FILE__, __LINE__, #actual, expected, elen, actual, alen)

#endif
