/* Unit tests for core/http/date.h: IMF-fixdate (RFC 9110 5.6.7) formatting. */
#include "check.h"

#include "date.h"

#include <string.h>
#include <time.h>

/* Formats t into a guarded buffer: exactly LS_DATE_LEN bytes are written. */
static void check_date_at(const char *file, int line, time_t t, const char *expected) {
    char buf[LS_DATE_LEN + 16];
    memset(buf, '#', sizeof buf);
    ls_date_format(t, buf + 8);
    check_mem(file, line, "ls_date_format", expected, strlen(expected), buf + 8, LS_DATE_LEN);
    int touched = 0;
    for (int i = 0; i < 8; i++)
        touched += buf[i] != '#' || buf[8 + LS_DATE_LEN + i] != '#';
    check_eq_int(file, line, "bytes written outside the 29", 0, touched);
}
#define CHECK_DATE(t, expected) check_date_at(__FILE__, __LINE__, (time_t)(t), expected)

static void test_format(void) {
    CHECK_EQ_INT(29, LS_DATE_LEN);
    CHECK_DATE(784111777, "Sun, 06 Nov 1994 08:49:37 GMT"); /* RFC 9110's example */
    CHECK_DATE(0, "Thu, 01 Jan 1970 00:00:00 GMT");
    CHECK_DATE(1, "Thu, 01 Jan 1970 00:00:01 GMT");
    CHECK_DATE(86399, "Thu, 01 Jan 1970 23:59:59 GMT");
    CHECK_DATE(946684799, "Fri, 31 Dec 1999 23:59:59 GMT");
    CHECK_DATE(946684800, "Sat, 01 Jan 2000 00:00:00 GMT");
    /* 2000 is a leap year (divisible by 400) */
    CHECK_DATE(951782400, "Tue, 29 Feb 2000 00:00:00 GMT");
    CHECK_DATE(951830055, "Tue, 29 Feb 2000 13:14:15 GMT");
    CHECK_DATE(951868799, "Tue, 29 Feb 2000 23:59:59 GMT");
    CHECK_DATE(951868800, "Wed, 01 Mar 2000 00:00:00 GMT");
    CHECK_DATE(1709164800, "Thu, 29 Feb 2024 00:00:00 GMT");
    CHECK_DATE(1704067200, "Mon, 01 Jan 2024 00:00:00 GMT");
    CHECK_DATE(1735689599, "Tue, 31 Dec 2024 23:59:59 GMT");
    /* every month name and a two-digit day */
    CHECK_DATE(1705320000, "Mon, 15 Jan 2024 12:00:00 GMT");
    CHECK_DATE(1707998400, "Thu, 15 Feb 2024 12:00:00 GMT");
    CHECK_DATE(1710504000, "Fri, 15 Mar 2024 12:00:00 GMT");
    CHECK_DATE(1713182400, "Mon, 15 Apr 2024 12:00:00 GMT");
    CHECK_DATE(1715774400, "Wed, 15 May 2024 12:00:00 GMT");
    CHECK_DATE(1718452800, "Sat, 15 Jun 2024 12:00:00 GMT");
    CHECK_DATE(1721044800, "Mon, 15 Jul 2024 12:00:00 GMT");
    CHECK_DATE(1723723200, "Thu, 15 Aug 2024 12:00:00 GMT");
    CHECK_DATE(1726401600, "Sun, 15 Sep 2024 12:00:00 GMT");
    CHECK_DATE(1728993600, "Tue, 15 Oct 2024 12:00:00 GMT");
    CHECK_DATE(1731672000, "Fri, 15 Nov 2024 12:00:00 GMT");
    CHECK_DATE(1734264000, "Sun, 15 Dec 2024 12:00:00 GMT");
    CHECK_DATE(2147483647, "Tue, 19 Jan 2038 03:14:07 GMT"); /* the last 32-bit second */
    /* before the epoch */
    CHECK_DATE(-1, "Wed, 31 Dec 1969 23:59:59 GMT");
}

static void test_format_64bit(void) {
    if (sizeof(time_t) < 8) {
        printf("test_date: time_t is %zu bytes, dates after 2038 skipped\n", sizeof(time_t));
        return;
    }
    CHECK_DATE(2147483648LL, "Tue, 19 Jan 2038 03:14:08 GMT");
    CHECK_DATE(2214129600LL, "Wed, 29 Feb 2040 12:00:00 GMT");
    /* 2100 is not a leap year */
    CHECK_DATE(4107542399LL, "Sun, 28 Feb 2100 23:59:59 GMT");
    CHECK_DATE(4107542400LL, "Mon, 01 Mar 2100 00:00:00 GMT");
    CHECK_DATE(253402300799LL, "Fri, 31 Dec 9999 23:59:59 GMT");
}

/* Checks the shape of an IMF-fixdate: "Www, DD Mmm YYYY HH:MM:SS GMT". */
static int is_imf_fixdate(const char *d) {
    static const char *const days = "Sun Mon Tue Wed Thu Fri Sat ";
    static const char *const months = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec ";
    const char *pat = "www, dd mmm yyyy dd:dd:dd GMT";
    for (int i = 0; i < LS_DATE_LEN; i++) {
        char c = d[i];
        if (pat[i] == 'd' || pat[i] == 'y') {
            if (c < '0' || c > '9')
                return 0;
        } else if (pat[i] != 'w' && pat[i] != 'm' && c != pat[i]) {
            return 0;
        }
    }
    char w[5] = {d[0], d[1], d[2], ' ', 0}, m[5] = {d[8], d[9], d[10], ' ', 0};
    const char *wp = strstr(days, w), *mp = strstr(months, m);
    return wp && (wp - days) % 4 == 0 && mp && (mp - months) % 4 == 0;
}

static void test_now(void) {
    char expect1[LS_DATE_LEN], expect2[LS_DATE_LEN];
    time_t t1 = time(NULL);
    const char *now = ls_date_now();
    time_t t2 = time(NULL);
    CHECK(now != NULL);
    if (!now)
        return;
    char copy[LS_DATE_LEN + 1];
    memcpy(copy, now, LS_DATE_LEN);
    copy[LS_DATE_LEN] = 0;
    CHECK_MEM(" GMT", 4, copy + LS_DATE_LEN - 4, 4);
    CHECK(is_imf_fixdate(copy));
    /* it is the current time: one of the seconds around the call */
    ls_date_format(t1, expect1);
    ls_date_format(t2, expect2);
    if (!CHECK(memcmp(copy, expect1, LS_DATE_LEN) == 0 ||
               memcmp(copy, expect2, LS_DATE_LEN) == 0))
        printf("    ls_date_now() = \"%s\"\n", copy);
    /* a second call within the same second gives the same bytes */
    time_t t3 = time(NULL);
    const char *again = ls_date_now();
    time_t t4 = time(NULL);
    CHECK(again != NULL);
    if (again && t3 == t4 && t3 == t2)
        CHECK_MEM(copy, (size_t)LS_DATE_LEN, again, (size_t)LS_DATE_LEN);
    CHECK(again && is_imf_fixdate(again));
    /* the shape checker itself */
    CHECK(is_imf_fixdate("Sun, 06 Nov 1994 08:49:37 GMT"));
    CHECK(!is_imf_fixdate("Sunday, 06-Nov-94 08:49:37 GMT"));
    CHECK(!is_imf_fixdate("Sun, 06 Nov 1994 08:49:37 UTC"));
}

int main(void) {
    test_format();
    test_format_64bit();
    test_now();
    return check_summary("test_date");
}
