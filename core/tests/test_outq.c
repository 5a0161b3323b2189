/* Unit tests for core/io/outq.h: coalescing, large pieces, references and their release, partial
 * consumption, moves, and a randomized run against a reference byte string. */
/* mmap's MAP_ANONYMOUS and MAP_NORESERVE, for the > 4 GiB reference test */
#define _DEFAULT_SOURCE

#include "check.h"

#include "outq.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* ASan builds (-DLS_SANITIZE=ON): let an impossible allocation fail with NULL instead of
 * aborting, so the failure paths below can be exercised. Unused otherwise. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "allocator_may_return_null=1"; }

static void count_release(void *ctx) { ++*(int *)ctx; }

/* The unsent bytes of q, gathered through ls_outq_bufs (malloc'ed; *nbufs buffers). */
static unsigned char *gather(const ls_outq *q, size_t *len, size_t *nbufs) {
    size_t max = q->count + 1;
    uv_buf_t *bufs = malloc(max * sizeof *bufs);
    size_t n = ls_outq_bufs(q, bufs, max);
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += bufs[i].len;
    unsigned char *out = malloc(total + 1);
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(out + at, bufs[i].base, bufs[i].len);
        at += bufs[i].len;
    }
    free(bufs);
    *len = total;
    if (nbufs)
        *nbufs = n;
    return out;
}

/* q holds exactly these unsent bytes, both as counted and as gathered. */
static int check_queue_at(const char *file, int line, const ls_outq *q, const void *expected,
                          size_t elen) {
    size_t len;
    unsigned char *got = gather(q, &len, NULL);
    int ok = check_eq_uint(file, line, "q->bytes", elen, q->bytes);
    ok &= check_mem(file, line, "bytes from ls_outq_bufs", expected, elen, got, len);
    free(got);
    return ok;
}
#define CHECK_QUEUE(q, s) check_queue_at(__FILE__, __LINE__, q, s, sizeof(s) - 1)

static size_t nbufs_of(const ls_outq *q) {
    uv_buf_t bufs[64];
    return ls_outq_bufs(q, bufs, 64);
}

/* The first buffer ls_outq_bufs hands out. */
static uv_buf_t first_buf(const ls_outq *q) {
    uv_buf_t b = uv_buf_init(NULL, 0);
    ls_outq_bufs(q, &b, 1);
    return b;
}

static void fill_pattern(char *p, size_t n, unsigned seed) {
    for (size_t i = 0; i < n; i++)
        p[i] = (char)(seed + i * 7 + i / 251);
}

/* ------------------------------------------------------------------------------------------ */

static void test_empty(void) {
    ls_outq q;
    ls_outq_init(&q);
    CHECK_EQ_UINT(0, q.bytes);
    CHECK_EQ_UINT(0, nbufs_of(&q));
    ls_outq_consume(&q, 0);
    CHECK_EQ_UINT(0, q.bytes);
    CHECK_EQ_INT(0, ls_outq_append(&q, "x", 0));
    CHECK_EQ_UINT(0, q.bytes);
    CHECK_EQ_UINT(0, nbufs_of(&q));
    /* a zero-length reference is not needed at all: released at once, exactly once */
    int r = 0;
    static const char ref[] = "unused";
    CHECK_EQ_INT(0, ls_outq_append_ref(&q, ref, 0, count_release, &r));
    CHECK_EQ_INT(1, r);
    CHECK_EQ_UINT(0, q.bytes);
    CHECK_EQ_UINT(0, nbufs_of(&q));
    ls_outq_clear(&q);
    ls_outq_free(&q);
    CHECK_EQ_INT(1, r);
    CHECK_EQ_UINT(0, q.bytes);
    /* usable again after free */
    CHECK_EQ_INT(0, ls_outq_append(&q, "again", 5));
    CHECK_QUEUE(&q, "again");
    ls_outq_free(&q);
}

static void test_coalesce(void) {
    ls_outq q;
    ls_outq_init(&q);
    char src[16];
    memcpy(src, "hello ", 6);
    CHECK_EQ_INT(0, ls_outq_append(&q, src, 6));
    memcpy(src, "XXXXXX", 6); /* the queue copied the bytes */
    CHECK_EQ_INT(0, ls_outq_append(&q, "world", 5));
    CHECK_EQ_UINT(1, nbufs_of(&q));
    CHECK_QUEUE(&q, "hello world");
    CHECK_EQ_INT(0, ls_outq_append(&q, "!", 1));
    CHECK_EQ_UINT(1, nbufs_of(&q));
    CHECK_QUEUE(&q, "hello world!");

    /* up to exactly one block: still one buffer */
    char *fill = malloc(LS_OUTQ_BLOCK);
    fill_pattern(fill, LS_OUTQ_BLOCK, 3);
    memcpy(fill, "hello world!", 12);
    CHECK_EQ_INT(0, ls_outq_append(&q, fill + 12, LS_OUTQ_BLOCK - 12));
    CHECK_EQ_UINT(1, nbufs_of(&q));
    CHECK_EQ_UINT(LS_OUTQ_BLOCK, q.bytes);
    check_queue_at(__FILE__, __LINE__, &q, fill, LS_OUTQ_BLOCK);
    /* one byte more: a second buffer */
    CHECK_EQ_INT(0, ls_outq_append(&q, "+", 1));
    CHECK_EQ_UINT(2, nbufs_of(&q));
    CHECK_EQ_UINT(LS_OUTQ_BLOCK + 1, q.bytes);
    uv_buf_t b[2];
    CHECK_EQ_UINT(2, ls_outq_bufs(&q, b, 2));
    CHECK_EQ_UINT(LS_OUTQ_BLOCK, b[0].len);
    CHECK_EQ_UINT(1, b[1].len);
    CHECK_MEM(fill, (size_t)LS_OUTQ_BLOCK, b[0].base, (size_t)b[0].len);
    CHECK_MEM("+", 1, b[1].base, (size_t)b[1].len);
    free(fill);
    ls_outq_free(&q);

    /* a typical head and a short body: one buffer */
    ls_outq_init(&q);
    static const char head[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n";
    ls_outq_append(&q, head, sizeof head - 1);
    ls_outq_append(&q, "hello", 5);
    CHECK_EQ_UINT(1, nbufs_of(&q));
    CHECK_QUEUE(&q, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
    ls_outq_free(&q);
}

static void test_large(void) {
    enum { BIG = 3 * LS_OUTQ_BLOCK + 123 };
    char *big = malloc(BIG), *expect = malloc(BIG + 16);
    fill_pattern(big, BIG, 11);
    ls_outq q;
    ls_outq_init(&q);

    /* a large piece alone: one contiguous buffer, copied */
    CHECK_EQ_INT(0, ls_outq_append(&q, big, BIG));
    CHECK_EQ_UINT(1, nbufs_of(&q));
    CHECK_EQ_UINT(BIG, q.bytes);
    CHECK(first_buf(&q).base != big);
    check_queue_at(__FILE__, __LINE__, &q, big, BIG);
    /* a small piece after it goes into a new buffer, after it */
    CHECK_EQ_INT(0, ls_outq_append(&q, "tail", 4));
    CHECK_EQ_UINT(2, nbufs_of(&q));
    memcpy(expect, big, BIG);
    memcpy(expect + BIG, "tail", 4);
    check_queue_at(__FILE__, __LINE__, &q, expect, BIG + 4);
    ls_outq_free(&q);

    /* small, then large: two buffers in order */
    ls_outq_init(&q);
    CHECK_EQ_INT(0, ls_outq_append(&q, "abc", 3));
    CHECK_EQ_INT(0, ls_outq_append(&q, big, BIG));
    CHECK_EQ_UINT(2, nbufs_of(&q));
    memcpy(expect, "abc", 3);
    memcpy(expect + 3, big, BIG);
    check_queue_at(__FILE__, __LINE__, &q, expect, BIG + 3);
    /* the source may change afterwards */
    fill_pattern(big, BIG, 99);
    check_queue_at(__FILE__, __LINE__, &q, expect, BIG + 3);
    ls_outq_free(&q);

    /* a piece of exactly one block, and of one byte more */
    ls_outq_init(&q);
    fill_pattern(big, BIG, 5);
    CHECK_EQ_INT(0, ls_outq_append(&q, big, LS_OUTQ_BLOCK));
    CHECK_EQ_INT(0, ls_outq_append(&q, big + LS_OUTQ_BLOCK, LS_OUTQ_BLOCK + 1));
    CHECK_EQ_UINT(2, nbufs_of(&q));
    check_queue_at(__FILE__, __LINE__, &q, big, 2 * LS_OUTQ_BLOCK + 1);
    /* consume into the second piece */
    ls_outq_consume(&q, LS_OUTQ_BLOCK + 10);
    CHECK_EQ_UINT(1, nbufs_of(&q));
    check_queue_at(__FILE__, __LINE__, &q, big + LS_OUTQ_BLOCK + 10, LS_OUTQ_BLOCK - 9);
    ls_outq_free(&q);
    free(big);
    free(expect);
}

static void test_refs(void) {
    static const char refdata[] = "REFDATA";
    ls_outq q;
    ls_outq_init(&q);
    int r = 0;
    CHECK_EQ_INT(0, ls_outq_append(&q, "head:", 5));
    CHECK_EQ_INT(0, ls_outq_append_ref(&q, refdata, 7, count_release, &r));
    CHECK_EQ_INT(0, ls_outq_append(&q, ":tail", 5));
    CHECK_EQ_UINT(3, nbufs_of(&q));
    CHECK_QUEUE(&q, "head:REFDATA:tail");
    uv_buf_t b[3];
    ls_outq_bufs(&q, b, 3);
    CHECK(b[1].base == refdata); /* in place, not copied */
    CHECK_EQ_UINT(7, b[1].len);
    CHECK_EQ_INT(0, r);

    ls_outq_consume(&q, 5);
    CHECK_EQ_INT(0, r);
    CHECK_QUEUE(&q, "REFDATA:tail");
    ls_outq_consume(&q, 3);
    CHECK_EQ_INT(0, r); /* partly taken: still needed */
    CHECK_QUEUE(&q, "DATA:tail");
    CHECK(first_buf(&q).base == refdata + 3);
    ls_outq_consume(&q, 4); /* exactly its last byte */
    CHECK_EQ_INT(1, r);
    CHECK_QUEUE(&q, ":tail");
    ls_outq_consume(&q, 5);
    CHECK_EQ_INT(1, r);
    CHECK_QUEUE(&q, "");
    ls_outq_free(&q);
    CHECK_EQ_INT(1, r);

    /* consumed together with the bytes around it in one call */
    ls_outq_init(&q);
    r = 0;
    ls_outq_append(&q, "ab", 2);
    ls_outq_append_ref(&q, refdata, 7, count_release, &r);
    ls_outq_append(&q, "cd", 2);
    ls_outq_consume(&q, 10);
    CHECK_EQ_INT(1, r);
    CHECK_QUEUE(&q, "d");
    ls_outq_free(&q);
    CHECK_EQ_INT(1, r);

    /* released by clear, each exactly once, whether partly taken or not */
    ls_outq_init(&q);
    int r1 = 0, r2 = 0, r3 = 0;
    ls_outq_append_ref(&q, refdata, 7, count_release, &r1);
    ls_outq_append(&q, "x", 1);
    ls_outq_append_ref(&q, refdata + 2, 3, count_release, &r2);
    ls_outq_append_ref(&q, refdata, 1, count_release, &r3);
    CHECK_QUEUE(&q, "REFDATAxFDAR");
    ls_outq_consume(&q, 2);
    CHECK_EQ_INT(0, r1);
    ls_outq_clear(&q);
    CHECK_EQ_INT(1, r1);
    CHECK_EQ_INT(1, r2);
    CHECK_EQ_INT(1, r3);
    CHECK_QUEUE(&q, "");
    CHECK_EQ_UINT(0, nbufs_of(&q));
    /* the cleared queue works again; the old references stay released once */
    ls_outq_append(&q, "new", 3);
    ls_outq_append_ref(&q, refdata, 3, count_release, &r1);
    CHECK_QUEUE(&q, "newREF");
    ls_outq_clear(&q);
    ls_outq_free(&q);
    CHECK_EQ_INT(2, r1); /* the second reference, released by clear */
    CHECK_EQ_INT(1, r2);
    CHECK_EQ_INT(1, r3);

    /* released by free */
    ls_outq_init(&q);
    r1 = r2 = 0;
    ls_outq_append_ref(&q, refdata, 7, count_release, &r1);
    ls_outq_append_ref(&q, refdata, 7, count_release, &r2);
    ls_outq_consume(&q, 9);
    CHECK_EQ_INT(1, r1);
    CHECK_EQ_INT(0, r2);
    ls_outq_free(&q);
    CHECK_EQ_INT(1, r1);
    CHECK_EQ_INT(1, r2);

    /* a reference without a release callback */
    ls_outq_init(&q);
    CHECK_EQ_INT(0, ls_outq_append_ref(&q, refdata, 7, NULL, NULL));
    CHECK_QUEUE(&q, "REFDATA");
    ls_outq_consume(&q, 7);
    CHECK_QUEUE(&q, "");
    ls_outq_append_ref(&q, refdata, 7, NULL, NULL);
    ls_outq_free(&q);
}

/* A queue whose segment array can no longer grow: the next new segment fails. It has no
 * memory of its own, so it is simply re-initialized afterwards. */
static void make_full(ls_outq *q) {
    ls_outq_init(q);
    q->cap = q->count = SIZE_MAX / 4 / sizeof(ls_seg);
}

static void test_failures(void) {
    static const char refdata[] = "REFDATA";
    ls_outq bad;
    int r = 0;
    make_full(&bad);
    /* a failed append_ref still releases, exactly once */
    CHECK_EQ_INT(-1, ls_outq_append_ref(&bad, refdata, 7, count_release, &r));
    CHECK_EQ_INT(1, r);
    CHECK_EQ_UINT(0, bad.bytes);
    ls_outq_init(&bad);

    /* a failed move leaves src with its bytes, clearable, releasing once */
    ls_outq src;
    ls_outq_init(&src);
    r = 0;
    ls_outq_append(&src, "ab", 2);
    ls_outq_append_ref(&src, refdata, 7, count_release, &r);
    make_full(&bad);
    CHECK_EQ_INT(-1, ls_outq_move(&bad, &src));
    ls_outq_init(&bad);
    CHECK_EQ_INT(0, r);
    CHECK_QUEUE(&src, "abREFDATA");
    ls_outq_clear(&src);
    CHECK_EQ_INT(1, r);
    ls_outq_free(&src);
    CHECK_EQ_INT(1, r);
}

static void test_partial_consume(void) {
    static const char r1data[] = "ABCDEFGHIJ", r2data[] = "QRSTUVWXYZ";
    static const char all[] = "0123456789ABCDEFGHIJklmnopQRSTUVWXYZ";
    ls_outq q;
    ls_outq_init(&q);
    int r1 = 0, r2 = 0;
    ls_outq_append(&q, "0123456789", 10);
    ls_outq_append_ref(&q, r1data, 10, count_release, &r1);
    ls_outq_append(&q, "klmnop", 6);
    ls_outq_append_ref(&q, r2data, 10, count_release, &r2);
    CHECK_EQ_UINT(4, nbufs_of(&q));
    CHECK_QUEUE(&q, "0123456789ABCDEFGHIJklmnopQRSTUVWXYZ");

    ls_outq_consume(&q, 12); /* across the first boundary */
    CHECK_QUEUE(&q, "CDEFGHIJklmnopQRSTUVWXYZ");
    CHECK_EQ_UINT(3, nbufs_of(&q));
    uv_buf_t b = first_buf(&q);
    CHECK_MEM("CDEFGHIJ", 8, b.base, (size_t)b.len);
    CHECK_EQ_INT(0, r1);
    ls_outq_consume(&q, 11); /* across the second */
    CHECK_EQ_INT(1, r1);
    CHECK_QUEUE(&q, "nopQRSTUVWXYZ");
    b = first_buf(&q);
    CHECK_MEM("nop", 3, b.base, (size_t)b.len);

    /* the rest one byte at a time */
    size_t at = 23;
    int wrong = 0;
    while (q.bytes) {
        ls_outq_consume(&q, 1);
        at++;
        wrong += !check_queue_at(__FILE__, __LINE__, &q, all + at, sizeof all - 1 - at);
        wrong += r2 != (at == sizeof all - 1);
    }
    CHECK_EQ_INT(0, wrong);
    CHECK_EQ_INT(1, r2);
    CHECK_EQ_UINT(0, nbufs_of(&q));
    ls_outq_free(&q);
    CHECK_EQ_INT(1, r1);
    CHECK_EQ_INT(1, r2);
}

static void test_reuse_and_inflight(void) {
    ls_outq q;
    ls_outq_init(&q);
    ls_outq_append(&q, "abc", 3);
    ls_outq_consume(&q, 2);
    CHECK_QUEUE(&q, "c");
    ls_outq_append(&q, "de", 2);
    CHECK_EQ_UINT(1, nbufs_of(&q));
    CHECK_QUEUE(&q, "cde");
    ls_outq_consume(&q, 3);
    CHECK_QUEUE(&q, "");
    CHECK_EQ_UINT(0, nbufs_of(&q));
    ls_outq_append(&q, "xyz", 3);
    CHECK_EQ_UINT(1, nbufs_of(&q));
    CHECK_QUEUE(&q, "xyz");

    /* bytes handed to a write stay in place while more is appended */
    uv_buf_t w = first_buf(&q);
    const char *base = w.base;
    for (int i = 0; i < 200; i++)
        ls_outq_append(&q, "0123456789abcdefghijklmnopqrstuvwxyz", 36);
    CHECK(memcmp(base, "xyz", 3) == 0);
    CHECK(first_buf(&q).base == base);
    ls_outq_consume(&q, 3);
    CHECK_EQ_UINT(200 * 36, q.bytes);
    uv_buf_t f = first_buf(&q);
    CHECK_MEM("0123456789", 10, f.base, (size_t)(f.len < 10 ? f.len : 10));
    ls_outq_free(&q);
}

static void test_move(void) {
    static const char ef[] = "EF";
    ls_outq dst, src;
    ls_outq_init(&dst);
    ls_outq_init(&src);
    int r = 0;
    ls_outq_append(&dst, "AB", 2);
    ls_outq_append(&src, "CD", 2);
    ls_outq_append_ref(&src, ef, 2, count_release, &r);
    ls_outq_append(&src, "GH", 2);
    CHECK_EQ_INT(0, ls_outq_move(&dst, &src));
    CHECK_QUEUE(&dst, "ABCDEFGH");
    CHECK_QUEUE(&src, "");
    CHECK_EQ_UINT(0, nbufs_of(&src));
    /* appends to dst go after the moved bytes, even though its first block has room */
    ls_outq_append(&dst, "IJ", 2);
    CHECK_QUEUE(&dst, "ABCDEFGHIJ");
    /* src is usable again and independent */
    ls_outq_append(&src, "KL", 2);
    CHECK_QUEUE(&src, "KL");
    CHECK_QUEUE(&dst, "ABCDEFGHIJ");
    /* the moved reference belongs to dst now */
    ls_outq_free(&src);
    CHECK_EQ_INT(0, r);
    ls_outq_consume(&dst, 5);
    CHECK_EQ_INT(0, r);
    CHECK_QUEUE(&dst, "FGHIJ");
    ls_outq_consume(&dst, 1);
    CHECK_EQ_INT(1, r);
    CHECK_QUEUE(&dst, "GHIJ");
    ls_outq_free(&dst);
    CHECK_EQ_INT(1, r);

    /* a partly consumed src moves only its unsent bytes */
    ls_outq_init(&dst);
    ls_outq_init(&src);
    ls_outq_append(&src, "abcdef", 6);
    ls_outq_consume(&src, 2);
    CHECK_EQ_INT(0, ls_outq_move(&dst, &src));
    CHECK_QUEUE(&dst, "cdef");
    CHECK_QUEUE(&src, "");
    /* moving an empty queue changes nothing */
    CHECK_EQ_INT(0, ls_outq_move(&dst, &src));
    CHECK_QUEUE(&dst, "cdef");
    /* a fully consumed src (its emptied block kept) moves no bytes */
    ls_outq_append(&src, "zz", 2);
    ls_outq_consume(&src, 2);
    CHECK_EQ_INT(0, ls_outq_move(&dst, &src));
    CHECK_QUEUE(&dst, "cdef");
    ls_outq_append(&dst, "g", 1);
    CHECK_QUEUE(&dst, "cdefg");
    ls_outq_consume(&dst, 5);
    CHECK_QUEUE(&dst, "");
    ls_outq_append(&dst, "h", 1);
    CHECK_QUEUE(&dst, "h");
    ls_outq_free(&dst);
    ls_outq_free(&src);

    /* into an empty dst, references released by dst's free only */
    ls_outq_init(&dst);
    ls_outq_init(&src);
    r = 0;
    ls_outq_append_ref(&src, ef, 2, count_release, &r);
    CHECK_EQ_INT(0, ls_outq_move(&dst, &src));
    ls_outq_clear(&src);
    ls_outq_free(&src);
    CHECK_EQ_INT(0, r);
    CHECK_QUEUE(&dst, "EF");
    ls_outq_free(&dst);
    CHECK_EQ_INT(1, r);

    /* many segments both ways, repeatedly */
    ls_outq_init(&dst);
    ls_outq_init(&src);
    char expect[64 * 20];
    size_t elen = 0;
    int wrong = 0;
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < 3; i++) {
            char piece[8];
            int n = snprintf(piece, sizeof piece, "%d.%d;", round, i);
            ls_outq_append(&src, piece, (size_t)n);
            memcpy(expect + elen, piece, (size_t)n);
            elen += (size_t)n;
        }
        ls_outq_append_ref(&src, "|", 1, NULL, NULL);
        expect[elen++] = '|';
        wrong += ls_outq_move(&dst, &src) != 0;
        wrong += src.bytes != 0;
    }
    CHECK_EQ_INT(0, wrong);
    check_queue_at(__FILE__, __LINE__, &dst, expect, elen);
    ls_outq_free(&dst);
    ls_outq_free(&src);
}

/* A reference of 4 GiB or more: uv_buf_t lengths are unsigned int in uv_buf_init, so the
 * queue has to hand such a segment out in several buffers; together they must still cover
 * every unsent byte, none may be empty, and a writer consuming them must reach the end. The
 * bytes are address space only (PROT_NONE): the queue never reads referenced data. */
static void test_huge_ref(void) {
#if SIZE_MAX > UINT_MAX
    const size_t span = (size_t)UINT_MAX + 1 + 4096;
    void *p = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        printf("test_outq: no 4 GiB of address space, huge reference test skipped\n");
        return;
    }
    const size_t sizes[] = {(size_t)UINT_MAX + 1, (size_t)UINT_MAX + 11};
    for (size_t k = 0; k < 2; k++) {
        size_t L = sizes[k];
        ls_outq q;
        ls_outq_init(&q);
        int r = 0;
        ls_outq_append(&q, "head", 4);
        CHECK_EQ_INT(0, ls_outq_append_ref(&q, p, L, count_release, &r));
        ls_outq_append(&q, "tail", 4);
        CHECK_EQ_UINT(L + 8, q.bytes);

        uv_buf_t bufs[8];
        size_t n = ls_outq_bufs(&q, bufs, 8), total = 0;
        int empty = 0, gaps = 0;
        for (size_t i = 0; i < n; i++) {
            total += bufs[i].len;
            empty += bufs[i].len == 0;
        }
        /* bufs[0] is "head", bufs[n - 1] "tail": the pieces between follow each other */
        if (n >= 3 && bufs[1].base != (char *)p)
            gaps++;
        for (size_t i = 1; i + 2 < n; i++)
            if (bufs[i].base + bufs[i].len != bufs[i + 1].base)
                gaps++;
        if (!CHECK_EQ_UINT(L + 8, total))
            printf("    reference of %zu bytes: ls_outq_bufs covers %zu bytes in %zu buffers\n",
                   L, total, n);
        CHECK_EQ_INT(0, empty);
        CHECK_EQ_INT(0, gaps);

        /* a writer taking one buffer at a time gets to the end */
        int steps = 0;
        while (q.bytes && steps < 64) {
            if (ls_outq_bufs(&q, bufs, 1) != 1 || bufs[0].len == 0)
                break;
            ls_outq_consume(&q, bufs[0].len);
            steps++;
        }
        if (!CHECK_EQ_UINT(0, q.bytes))
            printf("    reference of %zu bytes: writer stuck with %zu bytes queued\n", L,
                   q.bytes);
        CHECK_EQ_INT(1, r);
        ls_outq_free(&q);
        CHECK_EQ_INT(1, r);
    }
    munmap(p, span);
#endif
}

/* ------------------------------------------------------------------------------------------ */
/* Randomized: a queue against a reference byte string, with references tracked by id. */

enum { POOL = 1 << 16, MAX_IDS = 1 << 15, SOFT_LIMIT = 1 << 18 };

static unsigned char pool[POOL]; /* referenced bytes; never changes during a run */
static int released[MAX_IDS];    /* release callbacks seen, per reference id */
static int should_release[MAX_IDS];
static int next_id;

typedef struct {
    int id;
    size_t end; /* offset just past the reference's last byte, from the model's front */
} model_ref;

typedef struct {
    unsigned char *data;
    size_t len, cap;
    model_ref *refs;
    size_t nrefs, rcap;
} model;

static uint64_t rng_state;
static uint64_t rnd(void) {
    /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * UINT64_C(2685821657736338717);
}
static size_t rnd_in(size_t lo, size_t hi) { return lo + (size_t)(rnd() % (hi - lo + 1)); }

static void model_push(model *m, const void *p, size_t n) {
    if (m->len + n > m->cap) {
        m->cap = (m->len + n) * 2;
        m->data = realloc(m->data, m->cap);
    }
    memcpy(m->data + m->len, p, n);
    m->len += n;
}

static void model_push_ref(model *m, int id) {
    if (m->nrefs == m->rcap) {
        m->rcap = m->rcap ? m->rcap * 2 : 16;
        m->refs = realloc(m->refs, m->rcap * sizeof *m->refs);
    }
    m->refs[m->nrefs].id = id;
    m->refs[m->nrefs].end = m->len;
    m->nrefs++;
}

static void model_consume(model *m, size_t n) {
    if (n < m->len)
        memmove(m->data, m->data + n, m->len - n);
    m->len -= n;
    size_t k = 0;
    for (size_t i = 0; i < m->nrefs; i++) {
        if (m->refs[i].end <= n) {
            should_release[m->refs[i].id] = 1;
        } else {
            m->refs[k] = m->refs[i];
            m->refs[k].end -= n;
            k++;
        }
    }
    m->nrefs = k;
}

static void model_clear(model *m) { model_consume(m, m->len); }

/* Appends everything from src (the model of a moved queue) to m. */
static void model_move(model *m, model *src) {
    for (size_t i = 0; i < src->nrefs; i++) {
        if (m->nrefs == m->rcap) {
            m->rcap = m->rcap ? m->rcap * 2 : 16;
            m->refs = realloc(m->refs, m->rcap * sizeof *m->refs);
        }
        m->refs[m->nrefs].id = src->refs[i].id;
        m->refs[m->nrefs].end = src->refs[i].end + m->len;
        m->nrefs++;
    }
    if (src->len)
        model_push(m, src->data, src->len);
    src->len = 0;
    src->nrefs = 0;
}

/* One random append (copy, reference, or empty) to q and its model. */
static int random_append(ls_outq *q, model *m, unsigned char *scratch) {
    size_t kind = rnd_in(0, 99), n;
    int rc;
    if (kind < 40 || kind >= 90) {
        if (kind < 30)
            n = rnd_in(1, 200);
        else if (kind < 38 || kind >= 95)
            n = rnd_in(201, LS_OUTQ_BLOCK);
        else
            n = rnd_in(LS_OUTQ_BLOCK + 1, 5 * LS_OUTQ_BLOCK);
        for (size_t i = 0; i < n; i++)
            scratch[i] = (unsigned char)rnd();
        rc = ls_outq_append(q, (const char *)scratch, n);
        model_push(m, scratch, n);
        memset(scratch, 0xee, n); /* the queue must have copied them */
    } else if (kind < 42) {
        rc = rnd_in(0, 1) ? ls_outq_append(q, (const char *)scratch, 0)
                          : ls_outq_append_ref(q, (const char *)pool, 0, NULL, NULL);
    } else if (kind < 44) {
        int id = next_id++;
        rc = ls_outq_append_ref(q, (const char *)pool + 5, 0, count_release, &released[id]);
        should_release[id] = 1;
    } else {
        n = kind < 80 ? rnd_in(1, 300) : rnd_in(301, 20000);
        size_t off = rnd_in(0, POOL - n);
        if (kind < 86) {
            int id = next_id++;
            rc = ls_outq_append_ref(q, (const char *)pool + off, n, count_release,
                                    &released[id]);
            model_push(m, pool + off, n);
            model_push_ref(m, id);
        } else {
            rc = ls_outq_append_ref(q, (const char *)pool + off, n, NULL, NULL);
            model_push(m, pool + off, n);
        }
    }
    return rc;
}

/* q matches its model: byte count, bytes, and every release so far. */
static int random_verify(const ls_outq *q, const model *m, unsigned seed, int op,
                         const char *what) {
    size_t len;
    unsigned char *got = gather(q, &len, NULL);
    int ok = CHECK_EQ_UINT(m->len, q->bytes);
    ok &= CHECK_MEM(m->data, m->len, got, len);
    free(got);
    int bad_releases = 0;
    for (int id = 0; id < next_id; id++)
        if (released[id] != should_release[id]) {
            if (bad_releases++ < 5)
                printf("    reference %d released %d times, expected %d\n", id, released[id],
                       should_release[id]);
        }
    ok &= CHECK_EQ_INT(0, bad_releases);
    if (!ok)
        printf("    (seed %u, operation %d: %s)\n", seed, op, what);
    return ok;
}

static void random_run(unsigned seed, int ops) {
    rng_state = UINT64_C(0x9e3779b97f4a7c15) ^ seed;
    for (size_t i = 0; i < POOL; i++)
        pool[i] = (unsigned char)rnd();
    memset(released, 0, sizeof released);
    memset(should_release, 0, sizeof should_release);
    next_id = 0;

    unsigned char *scratch = malloc(5 * LS_OUTQ_BLOCK + 1);
    ls_outq q, tmp;
    ls_outq_init(&q);
    ls_outq_init(&tmp);
    model m = {0}, mt = {0};
    int append_failures = 0;

    for (int op = 0; op < ops && next_id < MAX_IDS - 16; op++) {
        size_t kind = rnd_in(0, 99);
        const char *what;
        if (m.len > SOFT_LIMIT)
            kind = 70; /* keep the queue from growing without bound */
        if (kind < 45) {
            what = "append";
            append_failures += random_append(&q, &m, scratch) != 0;
        } else if (kind < 75) {
            what = "consume";
            size_t n;
            size_t how = rnd_in(0, 9);
            if (how < 5 || m.len == 0) {
                n = m.len ? rnd_in(0, m.len) : 0;
            } else if (how < 8) {
                /* exactly to a buffer boundary */
                uv_buf_t bufs[4];
                size_t nb = ls_outq_bufs(&q, bufs, rnd_in(1, 4)), k = rnd_in(1, nb ? nb : 1);
                n = 0;
                for (size_t i = 0; i < k && i < nb; i++)
                    n += bufs[i].len;
                if (rnd_in(0, 1) && n)
                    n += rnd_in(0, 1) ? 1 : (size_t)-1; /* or one byte either side */
                if (n > m.len)
                    n = m.len;
            } else if (how < 9) {
                n = m.len;
            } else {
                n = m.len ? 1 : 0;
            }
            ls_outq_consume(&q, n);
            model_consume(&m, n);
        } else if (kind < 85) {
            /* a write in flight: what ls_outq_bufs handed out stays put during appends */
            what = "in-flight write";
            uv_buf_t bufs[8];
            size_t nb = ls_outq_bufs(&q, bufs, rnd_in(1, 8)), total = 0;
            for (size_t i = 0; i < nb; i++)
                total += bufs[i].len;
            CHECK(total <= m.len);
            unsigned char *snap = malloc(total + 1);
            if (total)
                memcpy(snap, m.data, total);
            for (size_t i = 0, k = rnd_in(1, 4); i < k; i++)
                append_failures += random_append(&q, &m, scratch) != 0;
            size_t at = 0;
            int moved = 0;
            for (size_t i = 0; i < nb; i++) {
                moved += memcmp(bufs[i].base, snap + at, bufs[i].len) != 0;
                at += bufs[i].len;
            }
            if (!CHECK_EQ_INT(0, moved))
                printf("    (seed %u, operation %d: in-flight bytes changed)\n", seed, op);
            free(snap);
            size_t n = total ? rnd_in(0, total) : 0;
            ls_outq_consume(&q, n);
            model_consume(&m, n);
        } else if (kind < 93) {
            what = "move";
            for (size_t i = 0, k = rnd_in(0, 4); i < k; i++)
                append_failures += random_append(&tmp, &mt, scratch) != 0;
            if (rnd_in(0, 3) == 0 && mt.len) {
                size_t n = rnd_in(0, mt.len);
                ls_outq_consume(&tmp, n);
                model_consume(&mt, n);
            }
            if (!random_verify(&tmp, &mt, seed, op, "move source before the move"))
                break;
            CHECK_EQ_INT(0, ls_outq_move(&q, &tmp));
            model_move(&m, &mt);
            if (!random_verify(&tmp, &mt, seed, op, "move source after the move"))
                break;
            if (rnd_in(0, 2) == 0)
                ls_outq_free(&tmp); /* must not release what was moved */
        } else if (kind < 96) {
            what = "clear";
            ls_outq_clear(&q);
            model_clear(&m);
        } else {
            /* a short ls_outq_bufs gives a prefix */
            what = "bufs prefix";
            uv_buf_t bufs[3];
            size_t max = rnd_in(1, 3), nb = ls_outq_bufs(&q, bufs, max), at = 0;
            int wrong = nb > max;
            for (size_t i = 0; i < nb && !wrong; i++) {
                wrong += bufs[i].len == 0 || at + bufs[i].len > m.len ||
                         memcmp(bufs[i].base, m.data + at, bufs[i].len) != 0;
                at += bufs[i].len;
            }
            if (!CHECK_EQ_INT(0, wrong))
                printf("    (seed %u, operation %d: bufs prefix)\n", seed, op);
        }
        if (!random_verify(&q, &m, seed, op, what))
            break;
    }
    CHECK_EQ_INT(0, append_failures);

    /* freeing releases everything still queued, once */
    ls_outq_free(&q);
    model_clear(&m);
    ls_outq_free(&tmp);
    model_clear(&mt);
    int bad = 0;
    for (int id = 0; id < next_id; id++)
        bad += released[id] != 1;
    if (!CHECK_EQ_INT(0, bad))
        printf("    (seed %u: references not released exactly once at the end)\n", seed);
    free(m.data);
    free(m.refs);
    free(mt.data);
    free(mt.refs);
    free(scratch);
}

static int file_released;
static void release_file(void *ctx) { file_released += *(int *)ctx; }

/* File ranges: held as (fd, pos, len), never handed out as memory buffers; memory before
 * them goes out as usual; consuming walks through them; release runs once, also on clear. */
static void test_file_ranges(void) {
    ls_outq q;
    ls_outq_init(&q);
    int one = 1, ten = 10;
    file_released = 0;
    CHECK_EQ_INT(0, ls_outq_append(&q, "head", 4));
    CHECK_EQ_INT(0, ls_outq_append_file(&q, 7, 100, 50, release_file, &one));
    CHECK_EQ_INT(0, ls_outq_append(&q, "tail", 4));
    CHECK_EQ_INT(58, (int)q.bytes);
    uv_buf_t bufs[8];
    CHECK_EQ_INT(1, (int)ls_outq_bufs(&q, bufs, 8)); /* "head" only: the file range stops it */
    CHECK_MEM("head", 4, bufs[0].base, bufs[0].len);
    CHECK(ls_outq_front_file(&q) == NULL);
    ls_outq_consume(&q, 4);
    const ls_seg *f = ls_outq_front_file(&q);
    CHECK(f != NULL);
    if (f) {
        CHECK_EQ_INT(7, f->fd);
        CHECK_EQ_INT(100, (int)f->pos);
        CHECK_EQ_INT(50, (int)(f->len - f->off));
    }
    CHECK_EQ_INT(0, (int)ls_outq_bufs(&q, bufs, 8));
    ls_outq_consume(&q, 20); /* part of the range */
    f = ls_outq_front_file(&q);
    CHECK(f != NULL && f->off == 20);
    CHECK_EQ_INT(0, file_released);
    ls_outq_consume(&q, 30); /* the rest: released, "tail" is next */
    CHECK_EQ_INT(1, file_released);
    CHECK(ls_outq_front_file(&q) == NULL);
    CHECK_EQ_INT(1, (int)ls_outq_bufs(&q, bufs, 8));
    CHECK_MEM("tail", 4, bufs[0].base, bufs[0].len);
    /* a range still queued is released when the queue is cleared; an empty one at once */
    CHECK_EQ_INT(0, ls_outq_append_file(&q, 8, 0, 5, release_file, &ten));
    CHECK_EQ_INT(0, ls_outq_append_file(&q, 8, 0, 0, release_file, &ten));
    CHECK_EQ_INT(11, file_released);
    ls_outq_clear(&q);
    CHECK_EQ_INT(21, file_released);
    CHECK_EQ_INT(0, (int)q.bytes);
    ls_outq_free(&q);
}

int main(void) {
    test_file_ranges();
    test_empty();
    test_coalesce();
    test_large();
    test_refs();
    test_failures();
    test_partial_consume();
    test_reuse_and_inflight();
    test_move();
    test_huge_ref();
    random_run(1, 3000);
    random_run(2, 3000);
    random_run(20240229, 3000);
    return check_summary("test_outq");
}
