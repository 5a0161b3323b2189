/* lunaserve.now() and lunaserve.update_time(), as OpenResty's ngx.now and ngx.update_time:
 * the time in seconds since the epoch, with milliseconds, read from the loop's cached time
 * (when the current pass of the event loop began) instead of a system call per call.
 *
 * The loop counts milliseconds of the monotonic clock; the wall clock is the monotonic time
 * plus an offset, measured once and again on update_time(), and at most once a second while
 * now() is called, so that a wall clock set or slewed by NTP is followed within a second. A
 * measure that differs from the last by no more than the 1 ms the two readings' rounding
 * allows is not taken: now() does not jitter by a millisecond between two measures. */
#include "binding.h"

#include <stdint.h>

#define RECALIBRATE_MS 1000

/* One loop per process, so one offset. */
static struct {
    int calibrated;    /* offset_ms was measured */
    int64_t offset_ms; /* wall clock (ms since the epoch) minus monotonic ms (uv_hrtime's
                          base, which uv_now counts in) at the time of measuring */
    uint64_t at;       /* uv_now() when it was measured */
} clock_state;

/* Both clocks read now (not the loop's cached time, which may be old by what code has run
 * since the pass began). */
static void calibrate(uv_loop_t *loop) {
    uv_timeval64_t tv;
    if (uv_gettimeofday(&tv) != 0)
        return;
    int64_t wall_ms = (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
    int64_t mono_ms = (int64_t)(uv_hrtime() / 1000000u);
    int64_t offset = wall_ms - mono_ms, change = offset - clock_state.offset_ms;
    if (!clock_state.calibrated || change > 1 || change < -1)
        clock_state.offset_ms = offset;
    clock_state.at = uv_now(loop);
    clock_state.calibrated = 1;
}

/* lunaserve.now() (upvalue 1: the vm) */
static int l_now(lua_State *L) {
    ls_vm *vm = lua_touserdata(L, lua_upvalueindex(1));
    uint64_t loop_ms = uv_now(vm->loop);
    if (!clock_state.calibrated || loop_ms >= clock_state.at + RECALIBRATE_MS)
        calibrate(vm->loop);
    lua_pushnumber(L, (lua_Number)((int64_t)loop_ms + clock_state.offset_ms) / 1000.0);
    return 1;
}

/* lunaserve.update_time(): the loop's cached time is read again (a system call), and the
 * offset measured again. */
static int l_update_time(lua_State *L) {
    ls_vm *vm = lua_touserdata(L, lua_upvalueindex(1));
    uv_update_time(vm->loop);
    calibrate(vm->loop);
    return 0;
}

void ls_clock_open(lua_State *L, ls_vm *vm) {
    lua_pushlightuserdata(L, vm);
    lua_pushcclosure(L, l_now, 1);
    lua_setfield(L, -2, "now");
    lua_pushlightuserdata(L, vm);
    lua_pushcclosure(L, l_update_time, 1);
    lua_setfield(L, -2, "update_time");
}
