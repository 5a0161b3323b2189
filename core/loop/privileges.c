#include "privileges.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *ls_user_lookup(const char *spec, ls_user *u) {
    static char msg[160];
    char name[64], group[64] = "";
    const char *colon = strchr(spec, ':');
    size_t n = colon ? (size_t)(colon - spec) : strlen(spec);
    if (n == 0 || n >= sizeof name || (colon && (!colon[1] || strlen(colon + 1) >= sizeof group)))
        return "expected USER or USER:GROUP";
    memcpy(name, spec, n);
    name[n] = '\0';
    if (colon)
        strcpy(group, colon + 1);
    struct passwd *pw = getpwnam(name);
    if (!pw) {
        snprintf(msg, sizeof msg, "no user named %s", name);
        return msg;
    }
    strcpy(u->name, name);
    u->uid = pw->pw_uid;
    u->gid = pw->pw_gid;
    if (group[0]) {
        struct group *gr = getgrnam(group);
        if (!gr) {
            snprintf(msg, sizeof msg, "no group named %s", group);
            return msg;
        }
        u->gid = gr->gr_gid;
    }
    return NULL;
}

int ls_user_become(const ls_user *u, char *err, size_t errlen) {
    if (geteuid() != 0) {
        if (geteuid() == u->uid && getegid() == u->gid)
            return 0; /* already that user */
        snprintf(err, errlen, "--user %s needs root to switch to it (running as uid %d)",
                 u->name, (int)geteuid());
        return -1;
    }
    if (initgroups(u->name, u->gid) != 0 || setgid(u->gid) != 0 || setuid(u->uid) != 0) {
        snprintf(err, errlen, "cannot become %s: %s", u->name, strerror(errno));
        return -1;
    }
    if (setuid(0) == 0 || geteuid() != u->uid || getegid() != u->gid) { /* really dropped */
        snprintf(err, errlen, "cannot become %s: root could be taken back", u->name);
        return -1;
    }
    return 0;
}
