/* lunaserve.metrics: the app's own Prometheus metrics, in the segment every worker shares
 * (core/loop/metrics.h), and the text of all metrics for an app that serves it itself.
 *
 *   local metrics = require("lunaserve.metrics")
 *   local hits = metrics.counter("app_hits_total", "Hits by route.", {"route"})
 *   hits:inc(1, {"/items"})                 -- labels in the order they were declared
 *   local temp = metrics.gauge("app_queue_length", "Jobs waiting.")
 *   temp:set(3); temp:inc(); temp:dec(2)
 *   local lat = metrics.histogram("app_seconds", "Time per job.", {"kind"}, {0.1, 1, 10})
 *   lat:observe(0.25, {"resize"})
 *   app:get("/metrics", metrics.handler)    -- or metrics.text()
 *
 * Making a metric checks its name and labels (an error); making it again, in another worker
 * or after a reload, gives the same metric. Each set of label values is a series; past
 * --metrics-max-series in all, an update returns nil, err, is logged once per metric and is
 * counted in lunaserve_metric_errors_total (as nginx-lua-prometheus does). */
#include "binding.h"
#include "log.h"
#include "metrics.h"

#include <lauxlib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define METRIC_MT "lunaserve.metric"

typedef struct lmetric {
    int index;
    int type;
    int nlabels;
    long plain;  /* the series without labels, once made (-1: not yet) */
    int warned;  /* the series limit was logged */
    char name[96];
} lmetric;

/* The series for the label values in the table at `idx` (or none), cached per worker in
 * the metric's user value; -1 with nil, err pushed when the limit is reached. */
static long series_of(lua_State *L, lmetric *m, int idx) {
    if (m->nlabels == 0) {
        if (!lua_isnoneornil(L, idx) && !(lua_istable(L, idx) && lua_rawlen(L, idx) == 0))
            luaL_error(L, "%s has no labels", m->name);
        if (m->plain >= 0)
            return m->plain;
    } else {
        luaL_checktype(L, idx, LUA_TTABLE);
        if ((int)lua_rawlen(L, idx) != m->nlabels)
            luaL_error(L, "%s takes %d label value(s), got %d", m->name, m->nlabels,
                       (int)lua_rawlen(L, idx));
    }
    const char *values[LS_METRICS_MAX_LABELS];
    size_t lens[LS_METRICS_MAX_LABELS];
    int top = lua_gettop(L);
    for (int i = 0; i < m->nlabels; i++) {
        lua_rawgeti(L, idx, i + 1);
        if (lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER)
            luaL_error(L, "%s: label value %d is a %s, not a string", m->name, i + 1,
                       luaL_typename(L, -1));
        lua_tolstring(L, -1, &lens[i]);
        lua_pushlstring(L, "", 1); /* a NUL between values: the cache key */
    }
    lua_concat(L, 2 * m->nlabels); /* (0 values: an empty string) */
    int key_idx = top + 1;
    if (m->nlabels) {
        lua_getiuservalue(L, 1, 1);
        lua_pushvalue(L, key_idx);
        if (lua_rawget(L, -2) == LUA_TNUMBER) {
            long s = (long)lua_tointeger(L, -1);
            lua_settop(L, top);
            return s;
        }
        lua_pop(L, 2);
        const char *k = lua_tostring(L, key_idx);
        for (int i = 0; i < m->nlabels; i++) {
            values[i] = k;
            k += lens[i] + 1;
        }
    }
    const char *err = NULL;
    long s = ls_metrics_series(m->index, values, lens, &err);
    if (s < 0) {
        if (!m->warned) {
            m->warned = 1;
            ls_log(LS_LOG_ERROR, "metric %s: %s", m->name, err);
        }
        lua_settop(L, top);
        lua_pushnil(L);
        lua_pushstring(L, err);
        return -1;
    }
    if (m->nlabels) {
        lua_getiuservalue(L, 1, 1);
        lua_pushvalue(L, key_idx);
        lua_pushinteger(L, s);
        lua_rawset(L, -3);
        lua_pop(L, 1);
    } else {
        m->plain = s;
    }
    lua_settop(L, top);
    return s;
}

static lmetric *check(lua_State *L) { return luaL_checkudata(L, 1, METRIC_MT); }

/* counter:inc([v][, labels]), gauge:inc / gauge:dec -> true, or nil, err */
static int update(lua_State *L, int sign) {
    lmetric *m = check(L);
    int labels_at = 3;
    double v = 1;
    if (lua_istable(L, 2)) {
        labels_at = 2; /* inc({labels}) */
    } else if (!lua_isnoneornil(L, 2)) {
        v = luaL_checknumber(L, 2);
    }
    if (m->type == LS_METRIC_HISTOGRAM)
        return luaL_error(L, "%s is a histogram: use observe", m->name);
    if (m->type == LS_METRIC_COUNTER && (sign < 0 || v < 0 || isnan(v)))
        return luaL_error(L, "%s is a counter: it only goes up", m->name);
    long s = series_of(L, m, labels_at);
    if (s < 0)
        return 2;
    ls_metrics_add(s, sign * v);
    lua_pushboolean(L, 1);
    return 1;
}
static int m_inc(lua_State *L) { return update(L, 1); }
static int m_dec(lua_State *L) { return update(L, -1); }

/* gauge:set(v[, labels]) and histogram:observe(v[, labels]): `op` on the series, for a
 * metric of type `type` only. */
static int apply(lua_State *L, int type, const char *what, void (*op)(long, double)) {
    lmetric *m = check(L);
    double v = luaL_checknumber(L, 2);
    if (m->type != type)
        return luaL_error(L, "%s: %s is for %ss", m->name, what,
                          type == LS_METRIC_GAUGE ? "gauge" : "histogram");
    long s = series_of(L, m, 3);
    if (s < 0)
        return 2;
    op(s, v);
    lua_pushboolean(L, 1);
    return 1;
}
static int m_set(lua_State *L) { return apply(L, LS_METRIC_GAUGE, "set", ls_metrics_set); }
static int m_observe(lua_State *L) {
    return apply(L, LS_METRIC_HISTOGRAM, "observe", ls_metrics_observe);
}

/* metric:value([labels]) -> the current value of a counter's or gauge's series */
static int m_value(lua_State *L) {
    lmetric *m = check(L);
    if (m->type == LS_METRIC_HISTOGRAM)
        return luaL_error(L, "%s is a histogram", m->name);
    long s = series_of(L, m, 2);
    if (s < 0)
        return 2;
    lua_pushnumber(L, ls_metrics_value(s));
    return 1;
}

static int make(lua_State *L, ls_metric_type type) {
    const char *name = luaL_checkstring(L, 1);
    const char *help = luaL_optstring(L, 2, "");
    const char *labels[LS_METRICS_MAX_LABELS];
    int nlabels = 0;
    if (!lua_isnoneornil(L, 3)) {
        luaL_checktype(L, 3, LUA_TTABLE);
        nlabels = (int)lua_rawlen(L, 3);
        if (nlabels > LS_METRICS_MAX_LABELS)
            return luaL_error(L, "%s: more than %d labels", name, LS_METRICS_MAX_LABELS);
        for (int i = 0; i < nlabels; i++) {
            lua_rawgeti(L, 3, i + 1);
            if (lua_type(L, -1) != LUA_TSTRING)
                return luaL_error(L, "%s: label name %d is not a string", name, i + 1);
            labels[i] = lua_tostring(L, -1);
            lua_pop(L, 1); /* (the table keeps the string alive) */
        }
    }
    static const double default_buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                              0.5,   1,    2.5,   5,    10};
    double buckets[LS_METRICS_MAX_BUCKETS];
    int nbuckets = 0;
    if (type == LS_METRIC_HISTOGRAM) {
        if (lua_isnoneornil(L, 4)) {
            nbuckets = (int)(sizeof default_buckets / sizeof default_buckets[0]);
            memcpy(buckets, default_buckets, sizeof default_buckets);
        } else {
            luaL_checktype(L, 4, LUA_TTABLE);
            nbuckets = (int)lua_rawlen(L, 4);
            if (nbuckets < 1 || nbuckets > LS_METRICS_MAX_BUCKETS)
                return luaL_error(L, "%s: 1 to %d buckets", name, LS_METRICS_MAX_BUCKETS);
            for (int i = 0; i < nbuckets; i++) {
                lua_rawgeti(L, 4, i + 1);
                if (!lua_isnumber(L, -1))
                    return luaL_error(L, "%s: bucket %d is not a number", name, i + 1);
                buckets[i] = lua_tonumber(L, -1);
                lua_pop(L, 1);
            }
        }
    }
    const char *err = NULL;
    int index = ls_metrics_define(name, help, type, labels, nlabels, buckets, nbuckets, &err);
    if (index < 0)
        return luaL_error(L, "%s: %s", name, err);
    lmetric *m = lua_newuserdatauv(L, sizeof *m, 1);
    memset(m, 0, sizeof *m);
    m->index = index;
    m->type = (int)type;
    m->nlabels = nlabels;
    m->plain = -1;
    snprintf(m->name, sizeof m->name, "%s", name);
    lua_newtable(L);
    lua_setiuservalue(L, -2, 1);
    luaL_setmetatable(L, METRIC_MT);
    return 1;
}
static int l_counter(lua_State *L) { return make(L, LS_METRIC_COUNTER); }
static int l_gauge(lua_State *L) { return make(L, LS_METRIC_GAUGE); }
static int l_histogram(lua_State *L) { return make(L, LS_METRIC_HISTOGRAM); }

static int l_text(lua_State *L) {
    size_t len;
    char *t = ls_metrics_render(&len);
    if (!t)
        return luaL_error(L, "out of memory");
    lua_pushlstring(L, t, len);
    free(t);
    return 1;
}

/* metrics.handler(req, res): answers with the text, as the --metrics-listen listener does. */
static int l_handler(lua_State *L) {
    lua_settop(L, 2);
    lua_getfield(L, 2, "setHeader");
    lua_pushvalue(L, 2);
    lua_pushliteral(L, "Content-Type");
    lua_pushliteral(L, "text/plain; version=0.0.4; charset=utf-8");
    lua_call(L, 3, 0);
    lua_getfield(L, 2, "finish");
    lua_pushvalue(L, 2);
    l_text(L);
    lua_call(L, 2, 0);
    return 0;
}

static int metric_tostring(lua_State *L) {
    lmetric *m = check(L);
    lua_pushfstring(L, "lunaserve.metric (%s)", m->name);
    return 1;
}

static int open_metrics(lua_State *L) {
    if (luaL_newmetatable(L, METRIC_MT)) {
        static const luaL_Reg methods[] = {{"inc", m_inc},         {"dec", m_dec},
                                           {"set", m_set},         {"observe", m_observe},
                                           {"value", m_value},     {NULL, NULL}};
        luaL_newlib(L, methods);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, metric_tostring);
        lua_setfield(L, -2, "__tostring");
    }
    lua_pop(L, 1);
    static const luaL_Reg funcs[] = {{"counter", l_counter}, {"gauge", l_gauge},
                                     {"histogram", l_histogram}, {"text", l_text},
                                     {"handler", l_handler}, {NULL, NULL}};
    luaL_newlib(L, funcs);
    return 1;
}

void ls_metrics_preload(lua_State *L) {
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    lua_pushcfunction(L, open_metrics);
    lua_setfield(L, -2, "lunaserve.metrics");
    lua_pop(L, 1);
}
