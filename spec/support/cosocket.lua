-- What the cosocket specs (spec/tcp_*_spec.lua) share: the server running spec/apps/tcp.lua,
-- the scripted upstream beside it, and requests to the app's routes with their exact answers.

local S = require("spec.support.server")
local U = require("spec.support.upstream")
-- (busted's assert: the global one is the plain Lua assert in a module a spec requires)
local assert = require("luassert")

local M = {}

local Env = {}
Env.__index = Env

-- Starts the upstream, then lunaserve with spec/apps/tcp.lua (opts: `app`, another test app;
-- extra server options as for S.start, e.g. env). Returns an Env with .srv, .up, .port (the
-- upstream's).
function M.start(opts)
    opts = opts or {}
    local env = setmetatable({}, Env)
    env.up = U.start()
    local ok, srv = pcall(S.start, { app = S.app(opts.app or "tcp.lua"), env = opts.env,
        args = opts.args })
    if not ok then
        env.up:stop()
        error(srv, 2)
    end
    env.srv, env.port = srv, env.up.port
    return env
end

-- Stops both; the server must exit cleanly (status 0, no sanitizer report).
function Env:stop()
    local ok, err = pcall(function()
        if self.srv then
            self.srv:stop_ok()
        end
    end)
    if self.up then
        self.up:stop()
    end
    if not ok then
        error(err, 2)
    end
end

-- GET `target` on a fresh connection; returns the body (asserting status 200) and the seconds
-- the answer took.
function Env:get(target, timeout)
    local t0 = S.now()
    local status, body = self.srv:get_body(target, timeout or 10)
    local took = S.now() - t0
    assert.are.equal(200, status, "GET " .. target .. ": " .. tostring(body)
        .. "\nserver log:\n" .. self.srv:log())
    return body, took
end

-- A GET sent now on its own connection, whose answer is read later with :finish() (for
-- requests that wait while the spec does something else).
function Env:start_get(target)
    local c = self.srv:connect()
    assert(c:send(S.get(target)))
    local env = self
    return {
        conn = c,
        t0 = S.now(),
        finish = function(req, timeout)
            local res, err = c:read_response({ timeout = timeout or 10 })
            c:close()
            assert(res, "GET " .. target .. ": " .. tostring(err) .. "\nserver log:\n"
                .. env.srv:log())
            assert.are.equal(200, res.status, "GET " .. target .. ": " .. tostring(res.body))
            return res.body, S.now() - req.t0
        end,
    }
end

-- The query string of a table (values percent-encoded), with the upstream's port unless
-- the table says otherwise.
function Env:query(t)
    local keys = {}
    if t.port == nil then
        t.port = self.port
    end
    for k in pairs(t) do
        keys[#keys + 1] = k
    end
    table.sort(keys)
    local parts = {}
    for _, k in ipairs(keys) do
        parts[#parts + 1] = k .. "=" .. U.qs(t[k])
    end
    return table.concat(parts, "&")
end

-- GET /route?query(t): the body and the seconds taken.
function Env:route(route, t, timeout)
    return self:get("/" .. route .. "?" .. self:query(t or {}), timeout)
end

-- /run: a script of steps on one socket (see spec/apps/tcp.lua). Returns the body and the
-- seconds taken.
function Env:run(cmd, ops, extra)
    local t = { cmd = cmd, ops = table.concat(ops, "|") }
    for k, v in pairs(extra or {}) do
        t[k] = v
    end
    return self:route("run", t)
end

-- /run with `cmd` and `ops`; asserts that its body is M.script(cmd, steps). Returns the
-- seconds taken.
function Env:expect_run(cmd, ops, steps)
    local body, took = self:run(cmd, ops)
    assert.are.equal(M.script(cmd, steps), body)
    return took
end

-- The app's /state as a table.
function Env:state()
    local body = self:get("/state")
    return S.parse_kv(body)
end

-- Polls /state until `key` is set (bounded, default 3 s); returns its value or nil.
function Env:wait_state(key, timeout)
    local v
    S.wait_for(function()
        v = self:state()[key]
        return v ~= nil
    end, timeout or 3, 0.02)
    return v
end

-- The expected body: one line per entry.
function M.lines(list)
    return table.concat(list, "\n") .. "\n"
end

-- C.start's options for a spec that measures the server's memory: the ASAN_OPTIONS of this
-- process, with ASan's quarantine of freed memory (256 MB by default) kept to 8 MB, so that
-- the resident memory says what the server holds.
function M.small_quarantine()
    local asan = os.getenv("ASAN_OPTIONS") or ""
    return { env = { ASAN_OPTIONS = (asan ~= "" and asan .. ":" or "") .. "quarantine_size_mb=8" } }
end

-- The expected body of /run: connect, the send of the upstream's command `cmd`, then the
-- lines `steps`.
function M.script(cmd, steps)
    local t = { "connect: 1, nil", "send: " .. (#cmd + 1) .. ", nil" }
    for _, s in ipairs(steps) do
        t[#t + 1] = s
    end
    return M.lines(t)
end

-- Asserts that `took` seconds lie within [lo, hi].
function M.within(took, lo, hi, what)
    assert.is_true(took >= lo and took <= hi, string.format("%s took %.3f s, expected %.2f..%.2f s",
        what or "it", took, lo, hi))
end

return M
