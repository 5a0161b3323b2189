-- Test app for spec/redis_compat_spec.lua: what lunaserve.ngx provides, reported as
-- "key=value" lines by GET /state; GET /sleep?s=S waits with ngx.sleep; GET /log logs.
local testkit = require("testkit")

local state = {}
-- Before lunaserve.ngx: the OpenResty library is not on Lua 5.4's path.
state.before = tostring((pcall(require, "nginx.redis")))
local path_before = package.path

local ngx = require("lunaserve.ngx")
local redis = require("nginx.redis")

state.after = tostring(redis._VERSION)
state.file = package.searchpath("nginx.redis", package.path) or "not on package.path"
state.same_table = tostring(ngx == _G.ngx and ngx == require("lunaserve.ngx"))
state.path_unchanged = tostring(package.path == path_before)
state.global_unpack = tostring(rawget(_G, "unpack"))
local cjson = require("cjson")
state.null_is_cjson_null = tostring(ngx.null == cjson.null and ngx.null == require("lunaserve").null)
state.null_json = cjson.encode({ ngx.null, { a = ngx.null } })
state.null_type = type(ngx.null)
state.null_truthy = tostring(not not ngx.null)
state.null_frozen = tostring(not pcall(function() ngx.null.x = 1 end))
state.tcp = tostring(ngx.socket.tcp == require("lunaserve").tcp and ngx.socket.tcp ~= nil)
state.time = tostring(math.abs(ngx.time() - os.time()) <= 1)
-- a module outside OpenResty's namespaces is not searched for in the 5.1 folders
state.other_5_1 = tostring((pcall(require, "fifo")))

return function(req, res)
    if req.path == "/state" then
        res:finish(testkit.kv(state))
    elseif req.path == "/sleep" then
        ngx.sleep(tonumber(testkit.param(req, "s")))
        res:finish("slept")
    elseif req.path == "/log" then
        ngx.log(ngx.ERR, "ngx-log-error ", 42, " ", nil, " ", true)
        ngx.log(ngx.WARN, "ngx-log-warn")
        ngx.log(ngx.DEBUG, "ngx-log-debug")
        res:finish("logged")
    else
        res:finish("pong")
    end
end
