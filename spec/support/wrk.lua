-- wrk as a load generator for specs that need steady load (not a benchmark): started in the
-- background for a fixed time (or until stopped: SIGINT ends wrk early with its full summary),
-- its summary parsed when it ends.
local S = require("spec.support.server")

local W = {}
local Run = {}
Run.__index = Run

-- Starts `wrk -t threads -c conns -d seconds url`; returns a handle to wait on (or to stop).
function W.start(url, seconds, conns, threads)
    local dir = S.mktempdir()
    local cmd = string.format("wrk -t%d -c%d -d%ds --timeout 5s %s >%s/out 2>&1 & "
        .. "echo $! >%s/pid.tmp && mv %s/pid.tmp %s/pid; wait $!; echo $? >%s/rc",
        threads or 2, conns or 16, seconds, S.shquote(url), dir, dir, dir, dir, dir)
    os.execute("sh -c " .. S.shquote(cmd) .. " </dev/null >/dev/null 2>&1 &")
    return setmetatable({ dir = dir, seconds = seconds, started = S.now() }, Run)
end

-- Ends the load now, or `at_least` seconds after it started if that is later (SIGINT: wrk
-- stops its connections and prints its summary, as at the end of its time), then waits as
-- Run:wait does. For a load that must last until some steps are done: start it with a
-- generous time and stop it once they are.
function Run:stop(at_least)
    S.sleep(math.max(0, self.started + (at_least or 0) - S.now()))
    local pid = S.wait_for(function()
        return tonumber((S.read_file(self.dir .. "/pid") or ""):match("%d+"))
    end, 5)
    assert(pid, "no pid for wrk")
    if not S.read_file(self.dir .. "/rc") then
        S.kill_pid(pid, "INT")
    end
    return self:wait()
end

-- Waits for wrk's end (bounded); returns {requests, errors (socket errors of every kind),
-- non2xx, text}.
function Run:wait()
    assert(S.wait_for(function() return S.read_file(self.dir .. "/rc") end, self.seconds + 20),
        "wrk did not end")
    local out = S.read_file(self.dir .. "/out") or ""
    os.execute("rm -rf " .. S.shquote(self.dir))
    local requests = tonumber(out:match("(%d+) requests in"))
    assert(requests, "no wrk summary:\n" .. out)
    local errors = 0
    local c, r, w, t = out:match("Socket errors: connect (%d+), read (%d+), write (%d+), timeout (%d+)")
    if c then
        errors = tonumber(c) + tonumber(r) + tonumber(w) + tonumber(t)
    end
    return { requests = requests, errors = errors,
        non2xx = tonumber(out:match("Non%-2xx or 3xx responses: (%d+)")) or 0, text = out }
end

return W
