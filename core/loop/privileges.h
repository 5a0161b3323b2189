/* --user USER[:GROUP]: the user a serving process becomes once its sockets are bound, as
 * nginx's workers do. The master (with --workers) stays as it started, to start workers
 * again; each worker binds, then drops. */
#ifndef LS_PRIVILEGES_H
#define LS_PRIVILEGES_H

#include <stddef.h>
#include <sys/types.h>

typedef struct ls_user {
    char name[64];
    uid_t uid;
    gid_t gid; /* GROUP's, else the user's primary group */
} ls_user;

/* Looks USER[:GROUP] up; returns NULL or what is wrong. */
const char *ls_user_lookup(const char *spec, ls_user *u);
/* Becomes the user: supplementary groups, group, then user, checked afterwards. Returns 0,
 * or -1 with a message in err. */
int ls_user_become(const ls_user *u, char *err, size_t errlen);

#endif
