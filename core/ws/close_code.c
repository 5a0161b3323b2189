/* The close code table, kept as ranges so that it reads like the registry it follows. */
#include "close_code.h"

int ls_ws_close_code_valid(unsigned code) {
    if (code >= 1000 && code <= 1003)
        return 1;
    if (code >= 1007 && code <= 1014)
        return 1;
    return code >= 3000 && code <= 4999;
}
