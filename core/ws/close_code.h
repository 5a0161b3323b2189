/* Close status codes (RFC 6455 7.4, and the IANA "WebSocket Close Code Number" registry):
 * which may appear in a close frame on the wire, and which we may send.
 *
 * Valid on the wire: 1000-1003, 1007-1011, 1012-1014, 3000-4999.
 * - 1004 is reserved; 1005 (no status), 1006 (abnormal closure) and 1015 (TLS failure) are
 *   for reporting only and MUST NOT be sent (7.4.1); codes below 1000 are unused.
 * - 1012 (service restart), 1013 (try again later) and 1014 (bad gateway) are registered by
 *   IANA after the RFC: servers and proxies send them, and the clients we test against
 *   (Python's websockets among them) accept them, so we accept them too.
 * - 1015-2999 stay reserved for future revisions of the protocol: invalid until registered.
 * - 3000-3999 are for libraries and frameworks (IANA), 4000-4999 for applications. */
#ifndef LS_WS_CLOSE_CODE_H
#define LS_WS_CLOSE_CODE_H

enum {
    LS_WS_CLOSE_NORMAL = 1000,
    LS_WS_CLOSE_GOING_AWAY = 1001,
    LS_WS_CLOSE_PROTOCOL_ERROR = 1002,
    LS_WS_CLOSE_UNSUPPORTED_DATA = 1003,
    LS_WS_CLOSE_NO_STATUS = 1005,  /* reported when a close frame carries no code */
    LS_WS_CLOSE_ABNORMAL = 1006,   /* reported when the connection ends without a close */
    LS_WS_CLOSE_INVALID_DATA = 1007,
    LS_WS_CLOSE_POLICY = 1008,
    LS_WS_CLOSE_TOO_BIG = 1009,
    LS_WS_CLOSE_EXTENSION = 1010,
    LS_WS_CLOSE_INTERNAL_ERROR = 1011,
    LS_WS_CLOSE_SERVICE_RESTART = 1012,
    LS_WS_CLOSE_TRY_AGAIN_LATER = 1013,
    LS_WS_CLOSE_BAD_GATEWAY = 1014,
};

/* Whether code may appear in a close frame (received or sent): the table above. */
int ls_ws_close_code_valid(unsigned code);

#endif
