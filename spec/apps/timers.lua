-- Test app for the timer specs (spec/timer_*_spec.lua): routes start lunaserve.timer timers and
-- report what the timers' calls saw, in module-level state that /state lists ("key=value"
-- lines; one Lua state per server, so a later request sees it). What happens while the worker
-- stops is written to the file named by $TIMER_EVIDENCE instead (the state is gone by then).

local lunaserve = require("lunaserve")
local testkit = require("testkit")
local param = testkit.param

local timer = lunaserve.timer
local state = {}
local EVIDENCE = os.getenv("TIMER_EVIDENCE")

local function note(line)
    if EVIDENCE then
        local f = assert(io.open(EVIDENCE, "a"))
        f:write(line, "\n")
        f:close()
    end
end

-- The loop's time, read again now: for measuring how long a timer took.
local function stamp()
    lunaserve.update_time()
    return lunaserve.now()
end

local function result(ok, err)
    return tostring(ok) .. (err and (" " .. tostring(err)) or "")
end

-- Startup work that waits, started while the app loads.
timer.at(0, function(premature)
    state.load_started = tostring(premature)
    lunaserve.sleep(100)
    state.load_done = "yes"
end)

local routes = {}

routes["/state"] = function(req, res)
    res:setHeader("Content-Type", "text/plain")
    res:finish(testkit.kv(state))
end

routes["/reset"] = function(req, res)
    state = {}
    res:finish("reset")
end

-- at(delay, fn, tag, nil, 3): records premature, the arguments, and the milliseconds from the
-- call to at() to the timer's call.
routes["/at"] = function(req, res)
    local tag, delay = param(req, "tag"), tonumber(param(req, "delay"))
    local t0 = stamp()
    local ok, err = timer.at(delay, function(premature, ...)
        local elapsed = math.floor((stamp() - t0) * 1000 + 0.5)
        local args = table.pack(...)
        state[tag] = string.format("premature=%s n=%d args=%s,%s,%s", tostring(premature),
            args.n, tostring(args[1]), tostring(args[2]), tostring(args[3]))
        state[tag .. "_ms"] = elapsed
        state[tag .. "_calls"] = (state[tag .. "_calls"] or 0) + 1
    end, tag, nil, 3)
    res:finish(result(ok, err))
end

-- every(interval, fn, tag): counts the calls and notes any premature one.
routes["/every"] = function(req, res)
    local tag, interval = param(req, "tag"), tonumber(param(req, "interval"))
    local ok, err = timer.every(interval, function(premature, t)
        if premature then
            note(t .. " every premature")
            return
        end
        state[t] = (state[t] or 0) + 1
    end, tag)
    res:finish(result(ok, err))
end

-- A timer whose call waits: in itself, then in a coroutine it made.
routes["/sleeper"] = function(req, res)
    local tag, ms = param(req, "tag"), tonumber(param(req, "ms"))
    local ok, err = timer.at(0, function(premature)
        state[tag] = "started"
        local t0 = stamp()
        lunaserve.sleep(ms)
        coroutine.wrap(function()
            lunaserve.sleep(ms)
        end)()
        state[tag] = "slept"
        state[tag .. "_ms"] = math.floor((stamp() - t0) * 1000 + 0.5)
    end)
    res:finish(result(ok, err))
end

routes["/error"] = function(req, res)
    local tag = param(req, "tag")
    res:finish(result(timer.at(0, function()
        error("boom in timer " .. tag)
    end)))
end

-- An every() timer whose second call fails: the later calls still come.
routes["/every-error"] = function(req, res)
    local tag = param(req, "tag")
    local n = 0
    res:finish(result(timer.every(0.03, function(premature)
        if premature then
            return
        end
        n = n + 1
        state[tag] = n
        if n == 2 then
            error("every boom " .. tag)
        end
    end)))
end

-- A timer that never yields: the CPU budget stops it.
routes["/spin"] = function(req, res)
    res:finish(result(timer.at(0, function()
        while true do
        end
    end)))
end

-- n timers of `delay` seconds: "ok=K" and the first failure.
routes["/many"] = function(req, res)
    local n, delay = tonumber(param(req, "n")), tonumber(param(req, "delay"))
    local ok_count, first_err = 0, nil
    for _ = 1, n do
        local ok, err = timer.at(delay, function() end)
        if ok then
            ok_count = ok_count + 1
        elseif not first_err then
            first_err = tostring(ok) .. " " .. tostring(err)
        end
    end
    res:finish("ok=" .. ok_count .. (first_err and (" first_err=" .. first_err) or ""))
end

-- every(interval) timers that count their calls in state.many_every.
routes["/many-every"] = function(req, res)
    local n, interval = tonumber(param(req, "n")), tonumber(param(req, "interval"))
    local ok_count = 0
    for _ = 1, n do
        if timer.every(interval, function(premature)
                if not premature then
                    state.many_every = (state.many_every or 0) + 1
                end
            end) then
            ok_count = ok_count + 1
        end
    end
    res:finish("ok=" .. ok_count)
end

routes["/counts"] = function(req, res)
    res:finish(string.format("pending=%d running=%d", timer.pending_count(),
        timer.running_count()))
end

-- What a wrong call raises: "error <message>".
routes["/bad"] = function(req, res)
    local case = param(req, "case")
    local calls = {
        every0 = function() return timer.every(0, print) end,
        negative = function() return timer.at(-1, print) end,
        nan = function() return timer.at(0 / 0, print) end,
        nofn = function() return timer.at(1, "print") end,
        onearg = function() return timer.at(1) end,
    }
    local ok, err = pcall(calls[case])
    res:finish(ok and "no error" or ("error " .. tostring(err)))
end

-- timer.at from a 'finish' listener, and from a timer's call.
routes["/from-listener"] = function(req, res)
    res:on("finish", function()
        state.listener_at = result(timer.at(0.01, function(premature)
            state.from_listener = tostring(premature)
        end))
    end)
    res:finish("ok")
end

routes["/from-timer"] = function(req, res)
    res:finish(result(timer.at(0, function()
        state.inner_at = result(timer.at(0.02, function(premature)
            state.from_timer = tostring(premature)
        end))
    end)))
end

-- lunaserve.now(): "now os_time diff" where diff spans a 50 ms sleep.
routes["/now"] = function(req, res)
    local a = lunaserve.now()
    lunaserve.sleep(50)
    local b = lunaserve.now()
    res:finish(string.format("%.3f %d %.3f %s", a, os.time(), b - a, math.type(a)))
end

-- The loop's cached time: "same advanced" where same says whether now() stayed the same
-- across 30 ms of work without a wait, and advanced is how much update_time() then moved it.
routes["/cached"] = function(req, res)
    local a = lunaserve.now()
    local until_ = os.clock() + 0.03
    while os.clock() < until_ do
    end
    local b = lunaserve.now()
    lunaserve.update_time()
    local c = lunaserve.now()
    res:finish(string.format("%s %.3f", tostring(a == b), c - a))
end

-- Timers for the stop: a pending at() whose premature call waits before it notes (work
-- flushed at exit) and tries to start another timer; a pending every(); a call that waits
-- `ms` when the stop comes.
routes["/for-exit"] = function(req, res)
    local tag, ms = param(req, "tag"), tonumber(param(req, "ms") or "0")
    local results = {}
    results[#results + 1] = result(timer.at(3600, function(premature, t)
        note(t .. " at premature=" .. tostring(premature))
        if premature then
            note(t .. " new timer: " .. result(timer.at(1, print)))
            lunaserve.sleep(50)
            note(t .. " flushed")
        end
    end, tag))
    results[#results + 1] = result(timer.every(3600, function(premature, t)
        note(t .. " every premature=" .. tostring(premature))
    end, tag))
    if ms > 0 then
        results[#results + 1] = result(timer.at(0, function(premature, t)
            note(t .. " waiter start premature=" .. tostring(premature))
            lunaserve.sleep(ms)
            note(t .. " waiter end")
        end, tag))
    end
    res:finish(table.concat(results, ","))
end

return testkit.router(routes)
