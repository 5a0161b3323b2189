/* The IMF-fixdate for the Date header, formatted at most once a second. */
#ifndef LS_DATE_H
#define LS_DATE_H

#include <stddef.h>
#include <time.h>

#define LS_DATE_LEN 29 /* "Sun, 06 Nov 1994 08:49:37 GMT" */

/* Formats t as an IMF-fixdate into out (LS_DATE_LEN bytes, no NUL). */
void ls_date_format(time_t t, char *out);

/* The current date; the pointed-to bytes stay valid until the next call. */
const char *ls_date_now(void);

#endif
