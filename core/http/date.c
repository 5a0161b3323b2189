#include "date.h"

static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

static void put2(char *p, int v) {
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
}

void ls_date_format(time_t t, char *out) {
    struct tm tm;
    gmtime_r(&t, &tm);
    const char *d = days[tm.tm_wday], *m = months[tm.tm_mon];
    out[0] = d[0], out[1] = d[1], out[2] = d[2], out[3] = ',', out[4] = ' ';
    put2(out + 5, tm.tm_mday);
    out[7] = ' ';
    out[8] = m[0], out[9] = m[1], out[10] = m[2], out[11] = ' ';
    int year = tm.tm_year + 1900;
    put2(out + 12, year / 100 % 100);
    put2(out + 14, year % 100);
    out[16] = ' ';
    put2(out + 17, tm.tm_hour);
    out[19] = ':';
    put2(out + 20, tm.tm_min);
    out[22] = ':';
    put2(out + 23, tm.tm_sec);
    out[25] = ' ', out[26] = 'G', out[27] = 'M', out[28] = 'T';
}

const char *ls_date_now(void) {
    static char cached[LS_DATE_LEN];
    static time_t cached_at = -1;
    time_t now = time(NULL);
    if (now != cached_at) {
        ls_date_format(now, cached);
        cached_at = now;
    }
    return cached;
}
