/* A Lua string the output queue uses in place instead of copying it (a long body chunk, a
 * long WebSocket payload): a registry reference keeps the string alive, and a reference on
 * its state keeps that (a reload's old state lives until the bytes are sent or dropped). */
#ifndef LS_HELD_STRING_H
#define LS_HELD_STRING_H

#include "binding.h"

/* Strings at least this long are worth holding rather than copying. */
#define LS_HOLD_MIN 8192

/* Holds the string at idx for the queue: sets *release and *ctx, which the queue calls once
 * it no longer needs the bytes. 0, or -1 (out of memory: copy the bytes instead). */
int ls_hold_string(lua_State *L, int idx, ls_vm *vm, ls_release_fn *release, void **ctx);

#endif
