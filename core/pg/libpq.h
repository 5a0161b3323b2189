/* libpq, loaded the first time an app asks for PostgreSQL rather than when the process
 * starts: libpq brings OpenSSL, GnuTLS (through LDAP), Kerberos and more, whose loading and
 * constructors cost every process about 5 MiB of resident memory whether it talks to a
 * database or not. The calls keep libpq's names (macros over a table of pointers), so the
 * code reads as plain libpq; ls_libpq_load() must have succeeded before any of them. */
#ifndef LS_LIBPQ_H
#define LS_LIBPQ_H

#include <libpq-fe.h>

/* Every libpq function lunaserve calls. */
#define LS_LIBPQ_FUNCS(X) \
    X(PQbackendPID) \
    X(PQcancel) \
    X(PQclear) \
    X(PQcmdStatus) \
    X(PQcmdTuples) \
    X(PQconndefaults) \
    X(PQconnectPoll) \
    X(PQconnectStartParams) \
    X(PQconninfoFree) \
    X(PQconninfoParse) \
    X(PQconsumeInput) \
    X(PQerrorMessage) \
    X(PQescapeIdentifier) \
    X(PQescapeLiteral) \
    X(PQfinish) \
    X(PQflush) \
    X(PQfname) \
    X(PQfreeCancel) \
    X(PQfreemem) \
    X(PQftype) \
    X(PQgetCancel) \
    X(PQgetResult) \
    X(PQgetisnull) \
    X(PQgetlength) \
    X(PQgetvalue) \
    X(PQisBusy) \
    X(PQnfields) \
    X(PQnotifies) \
    X(PQntuples) \
    X(PQresultErrorField) \
    X(PQresultErrorMessage) \
    X(PQresultStatus) \
    X(PQsendQuery) \
    X(PQsendQueryParams) \
    X(PQsetNoticeProcessor) \
    X(PQsetnonblocking) \
    X(PQsocket) \
    X(PQstatus) \
    X(PQtransactionStatus) \
    X(PQunescapeBytea)

typedef struct ls_libpq {
#define LS_LIBPQ_FIELD(name) __typeof__(name) *name;
    LS_LIBPQ_FUNCS(LS_LIBPQ_FIELD)
#undef LS_LIBPQ_FIELD
} ls_libpq;

extern ls_libpq ls_pq;

/* Loads libpq once (later calls return at once): NULL, or why it cannot be loaded. */
const char *ls_libpq_load(void);

#ifndef LS_LIBPQ_LOADER
#define PQbackendPID (ls_pq.PQbackendPID)
#define PQcancel (ls_pq.PQcancel)
#define PQclear (ls_pq.PQclear)
#define PQcmdStatus (ls_pq.PQcmdStatus)
#define PQcmdTuples (ls_pq.PQcmdTuples)
#define PQconndefaults (ls_pq.PQconndefaults)
#define PQconnectPoll (ls_pq.PQconnectPoll)
#define PQconnectStartParams (ls_pq.PQconnectStartParams)
#define PQconninfoFree (ls_pq.PQconninfoFree)
#define PQconninfoParse (ls_pq.PQconninfoParse)
#define PQconsumeInput (ls_pq.PQconsumeInput)
#define PQerrorMessage (ls_pq.PQerrorMessage)
#define PQescapeIdentifier (ls_pq.PQescapeIdentifier)
#define PQescapeLiteral (ls_pq.PQescapeLiteral)
#define PQfinish (ls_pq.PQfinish)
#define PQflush (ls_pq.PQflush)
#define PQfname (ls_pq.PQfname)
#define PQfreeCancel (ls_pq.PQfreeCancel)
#define PQfreemem (ls_pq.PQfreemem)
#define PQftype (ls_pq.PQftype)
#define PQgetCancel (ls_pq.PQgetCancel)
#define PQgetResult (ls_pq.PQgetResult)
#define PQgetisnull (ls_pq.PQgetisnull)
#define PQgetlength (ls_pq.PQgetlength)
#define PQgetvalue (ls_pq.PQgetvalue)
#define PQisBusy (ls_pq.PQisBusy)
#define PQnfields (ls_pq.PQnfields)
#define PQnotifies (ls_pq.PQnotifies)
#define PQntuples (ls_pq.PQntuples)
#define PQresultErrorField (ls_pq.PQresultErrorField)
#define PQresultErrorMessage (ls_pq.PQresultErrorMessage)
#define PQresultStatus (ls_pq.PQresultStatus)
#define PQsendQuery (ls_pq.PQsendQuery)
#define PQsendQueryParams (ls_pq.PQsendQueryParams)
#define PQsetNoticeProcessor (ls_pq.PQsetNoticeProcessor)
#define PQsetnonblocking (ls_pq.PQsetnonblocking)
#define PQsocket (ls_pq.PQsocket)
#define PQstatus (ls_pq.PQstatus)
#define PQtransactionStatus (ls_pq.PQtransactionStatus)
#define PQunescapeBytea (ls_pq.PQunescapeBytea)
#endif

#endif
