-- Support for the HTTP client's specs (spec/http_client_*_spec.lua): a lunaserve running
-- spec/apps/http_client.lua that runs the client code a spec sends, upstreams for it (a
-- second lunaserve with spec/apps/http_client_upstream.lua, and the scripted faulty upstream
-- of spec/support/faulty_upstream.lua), started and stopped together, and reading what each
-- of them saw.
local S = require("spec.support.server")
local cjson = require("cjson")
local assert = require("luassert")

local H = {}

-- The client: a lunaserve serving spec/apps/http_client.lua (opts as S.start's).
function H.start_client(opts)
    opts = opts or {}
    opts.app = S.app("http_client.lua")
    return S.start(opts)
end

-- An upstream lunaserve: apps/echo with redirects.
function H.start_upstream()
    return S.start({ app = S.app("http_client_upstream.lua") })
end

-- Runs `code` (a Lua chunk, see spec/apps/http_client.lua) in a handler of `client`, with
-- `args` as its query; waits at most `timeout` seconds (default 10). Returns what the code
-- returned (decoded from JSON) and the seconds the whole request took. Raises with the
-- client's answer when it is not a 200 (an error in the code).
function H.run(client, code, args, timeout)
    local q = {}
    for k, v in pairs(args or {}) do
        q[#q + 1] = k .. "=" .. tostring(v)
    end
    table.sort(q)
    local t0 = S.now()
    local c = client:connect(timeout or 10)
    assert(c:send(S.request("POST", "/run" .. (#q > 0 and "?" .. table.concat(q, "&") or ""),
        { { "Content-Type", "text/plain" } }, code)))
    local res, err = c:read_response({ timeout = timeout or 10 })
    local took = S.now() - t0
    c:close()
    if not res then
        error("no answer from the client app: " .. tostring(err) .. "\nclient's log:\n"
            .. client:log(), 2)
    end
    if res.status ~= 200 then
        error("the client code failed (" .. res.status .. "):\n" .. res.body
            .. "\nclient's log:\n" .. client:log(), 2)
    end
    return cjson.decode(res.body), took
end

-- Stops every process given (lunaservers with stop_ok, the faulty upstream with stop), nil
-- ones skipped, even when one fails to stop cleanly; then raises the first failure.
function H.stop_all(...)
    local first
    for i = 1, select("#", ...) do
        local p = select(i, ...)
        if p then
            local ok, err = pcall(function()
                if p.stop_ok then p:stop_ok() else p:stop() end
            end)
            if not ok and not first then
                first = err
            end
        end
    end
    if first then
        error(first, 0)
    end
end

---------------------------------------------------------------------------------------------
-- The faulty upstream: a separate process
---------------------------------------------------------------------------------------------

local Faulty = {}
Faulty.__index = Faulty

local function lua_bin()
    for _, name in ipairs({ "lua5.4", "lua" }) do
        local p = io.popen("command -v " .. name .. " 2>/dev/null")
        local path = p:read("l")
        p:close()
        if path and path ~= "" then
            return path
        end
    end
    error("no Lua interpreter (lua5.4) to run spec/support/faulty_upstream.lua", 3)
end

-- Starts spec/support/faulty_upstream.lua; returns it with .port once it listens.
function H.start_faulty()
    local dir = S.mktempdir()
    local script = S.root .. "/spec/support/faulty_upstream.lua"
    local inner = string.format("%s %s %s </dev/null >%s/out 2>%s/err & echo $! >%s/pid; wait",
        S.shquote(lua_bin()), S.shquote(script), S.shquote(dir), dir, dir, dir)
    os.execute("sh -c " .. S.shquote(inner) .. " </dev/null >/dev/null 2>&1 &")
    local self = setmetatable({ dir = dir }, Faulty)
    local ok = S.wait_for(function()
        local port = S.read_file(dir .. "/port")
        local pid = S.read_file(dir .. "/pid")
        if port and port:match("%d+") and pid and pid:match("%d+") then
            self.port = tonumber(port:match("%d+"))
            self.pid = tonumber(pid:match("%d+"))
            return true
        end
    end, 10)
    if not ok then
        local err = S.read_file(dir .. "/err") or ""
        local pid = S.read_file(dir .. "/pid")
        if pid and pid:match("%d+") then
            S.kill_pid(pid:match("%d+"), "KILL")
        end
        error("the faulty upstream did not start within 10 s:\n" .. err, 2)
    end
    return self
end

-- Its log lines so far.
function Faulty:log()
    local lines = {}
    for l in (S.read_file(self.dir .. "/log") or ""):gmatch("[^\n]+") do
        lines[#lines + 1] = l
    end
    return lines
end

-- How many log lines start with `prefix` (e.g. "conn ", "request 2 ").
function Faulty:count(prefix)
    local n = 0
    for _, l in ipairs(self:log()) do
        if l:sub(1, #prefix) == prefix then
            n = n + 1
        end
    end
    return n
end

-- Waits (bounded) until `pred(lines)` holds; returns the lines then (or the last seen).
function Faulty:wait_log(pred, timeout)
    local lines
    S.wait_for(function()
        lines = self:log()
        return pred(lines)
    end, timeout or 3)
    return lines
end

function Faulty:stop()
    if self.pid then
        S.kill_pid(self.pid, "KILL")
        S.wait_for(function() return not S.pid_alive(self.pid) end, 5)
        self.pid = nil
    end
    os.execute("rm -rf " .. S.shquote(self.dir))
end

---------------------------------------------------------------------------------------------
-- A spec's processes
---------------------------------------------------------------------------------------------

local STARTERS = { upstream = H.start_upstream, faulty = H.start_faulty, client = H.start_client }

-- Starts the upstreams named ("upstream": H.start_upstream's, "faulty": H.start_faulty's) in
-- that order, then the client (H.start_client's, with no options); returns them in the same
-- order, the client last. If one does not start, stops those already started and raises its
-- error.
function H.start_all(...)
    local names = { ... }
    names[#names + 1] = "client"
    local started = {}
    for i, name in ipairs(names) do
        local start = STARTERS[name] or error("no such process: " .. tostring(name), 2)
        local ok, p = pcall(start)
        if not ok then
            pcall(H.stop_all, table.unpack(started, 1, i - 1))
            error(p, 0)
        end
        started[i] = p
    end
    return table.unpack(started, 1, #names)
end

return H
