-- OpenResty's `ngx`, as far as Lua libraries written for OpenResty touch it, so that they run
-- unmodified: the cosocket (ngx.socket.tcp), ngx.null, time, sleep, timers and ngx.log.
-- Debian's lua-resty-redis (`require "nginx.redis"`) is the library this is measured against.
--
-- Those libraries read `ngx` as a global, so this module sets the global and returns the same
-- table. They are Lua 5.1 files under /usr/share/lua/5.1 and may read 5.1's global `unpack`;
-- rather than widen package.path and add globals for every module, a searcher finds the
-- OpenResty namespaces only (nginx.*, resty.*) and loads them with `unpack` in their own
-- environment (reads fall through to _G, writes go to _G).
local lunaserve = require("lunaserve")

local ngx = {}

-- The cosocket. OpenResty's ngx.socket.connect is tcp() then connect().
local tcp = lunaserve.tcp
ngx.socket = { tcp = tcp }
function ngx.socket.connect(...)
    local sock, err = tcp()
    if not sock then
        return nil, err
    end
    local ok, cerr = sock:connect(...)
    if not ok then
        return nil, cerr
    end
    return sock
end

-- A value for a nil inside a result (Redis' nil bulk reply) that a table can hold:
-- lunaserve.null, the NULL light userdata, which is also cjson.null (as in OpenResty).
ngx.null = lunaserve.null

-- Time in seconds, as OpenResty counts it.
ngx.time = os.time
if lunaserve.now then
    ngx.now = lunaserve.now
end
local sleep = lunaserve.sleep
function ngx.sleep(seconds)
    return sleep(seconds * 1000)
end
if lunaserve.timer then
    ngx.timer = { at = lunaserve.timer.at, every = lunaserve.timer.every }
end
-- ngx.worker.exiting(): the code is being replaced (reload) or the worker stops
ngx.worker = { exiting = lunaserve.exiting }

-- ngx.log(level, ...): the arguments joined as OpenResty does, on stderr in the server's log
-- format. OpenResty's nine levels map onto the server's four; debug is left out, as the
-- server's default level (info) leaves it out.
ngx.STDERR, ngx.EMERG, ngx.ALERT, ngx.CRIT, ngx.ERR = 0, 1, 2, 3, 4
ngx.WARN, ngx.NOTICE, ngx.INFO, ngx.DEBUG = 5, 6, 7, 8
local level_names = { [0] = "error", "error", "error", "error", "error", "warn", "info", "info" }
function ngx.log(level, ...)
    if level == ngx.DEBUG then
        return
    end
    local name = level_names[level]
    if not name then
        error("bad log level " .. tostring(level), 2)
    end
    local n = select("#", ...)
    local parts = { ... }
    for i = 1, n do
        local v = parts[i]
        if v == nil or type(v) == "boolean" or type(v) == "number" then
            parts[i] = tostring(v)
        elseif type(v) ~= "string" and not (getmetatable(v) or {}).__tostring then
            error("bad argument #" .. (i + 1) .. " to 'log' (string, number, boolean or nil "
                .. "expected, got " .. type(v) .. ")", 2)
        else
            parts[i] = tostring(v)
        end
    end
    io.stderr:write(os.date("!%Y-%m-%dT%H:%M:%SZ"), " [", name, "] ",
        table.concat(parts, "", 1, n), "\n")
end

-- Where OpenResty's own Lua libraries live (Debian installs them for LuaJIT, i.e. 5.1),
-- searched after package.path, so an app's own copy or a 5.4 build still wins.
local OPENRESTY_PATH = "/usr/local/share/lua/5.1/?.lua;/usr/local/share/lua/5.1/?/init.lua;"
    .. "/usr/share/lua/5.1/?.lua;/usr/share/lua/5.1/?/init.lua"
local NAMESPACES = { nginx = true, resty = true }

-- What Lua 5.1 had that those files may read as globals.
local compat_env = setmetatable({ unpack = table.unpack }, { __index = _G, __newindex = _G })

local function openresty_searcher(name)
    local top = name:match("^([^.]+)%.")
    if not NAMESPACES[top] then
        return nil
    end
    local file, err = package.searchpath(name, package.path .. ";" .. OPENRESTY_PATH)
    if not file then
        return err
    end
    local chunk, lerr = loadfile(file, "t", compat_env)
    if not chunk then
        error("error loading module '" .. name .. "' from file '" .. file .. "':\n\t" .. lerr, 2)
    end
    return chunk, file
end

-- Before Lua's own file searcher, so that these modules always get the environment above.
table.insert(package.searchers, 2, openresty_searcher)

_G.ngx = ngx
return ngx
