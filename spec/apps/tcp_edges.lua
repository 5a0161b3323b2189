-- Test app for cosocket edge cases found in review (spec/tcp_edge_*_spec.lua): each route runs
-- one scenario of lunaserve.tcp() against the scripted upstream (spec/support/upstream.py),
-- whose port (`port=`) or Unix socket (`unix=`) comes in the query, and answers with the exact
-- results, one line per step: `label: v1, v2` with each value %q-formatted.

local lunaserve = require("lunaserve")
local param = require("testkit").param

local shared = {} -- sockets handed from one request to another
local kept = {}   -- sockets the app keeps on purpose (module-level connections)

local function vals(n, ...)
    local t = {}
    for i = 1, n do
        t[i] = string.format("%q", (select(i, ...))):gsub("\\\n", "\\n")
    end
    return table.concat(t, ", ")
end

local function recorder()
    local lines = {}
    return lines, function(label, n, ...)
        lines[#lines + 1] = label .. ": " .. vals(n, ...)
        return ...
    end
end

local function unescape(s)
    return (s:gsub("%%(%x%x)", function(h)
        return string.char(tonumber(h, 16))
    end))
end

local routes = {}

-- /duplex_reader: connects to NOREAD (send timeout `send_ms`, read timeout 5 s), hands the
-- socket to /duplex_writer through shared[name], then waits in receive().
routes["/duplex_reader"] = function(req, res)
    local lines, add = recorder()
    local s = lunaserve.tcp()
    s:settimeouts(2000, tonumber(param(req, "send_ms")), 5000)
    add("connect", 2, s:connect("127.0.0.1", tonumber(param(req, "port"))))
    add("send", 2, s:send("NOREAD\n"))
    shared[param(req, "name")] = s
    add("receive", 3, s:receive())
    res:finish(table.concat(lines, "\n") .. "\n")
end

-- /duplex_writer: sends 16 MB on shared[name] (the upstream never reads: the send times
-- out), then what the socket says.
routes["/duplex_writer"] = function(req, res)
    local lines, add = recorder()
    local s = shared[param(req, "name")]
    if not s then
        res:finish("no socket yet\n")
        return
    end
    add("send big", 2, s:send(string.rep("x", 16 * 1024 * 1024)))
    res:finish(table.concat(lines, "\n") .. "\n")
end

-- /keepalive_after_fin: in pool `pool` bounded to one live connection (backlog 1): connect,
-- SENDCLOSE a line, read it, wait for the FIN to arrive, then setkeepalive() (refused: the
-- peer closed); the socket object is kept by the app. Then a second connect in the same
-- pool, which must not wait for the refused connection.
routes["/keepalive_after_fin"] = function(req, res)
    local lines, add = recorder()
    local port = tonumber(param(req, "port"))
    local opts = { pool = param(req, "pool"), pool_size = 1, backlog = 1 }
    local s = lunaserve.tcp()
    s:settimeouts(500, 500, 500)
    add("connect", 2, s:connect("127.0.0.1", port, opts))
    add("send", 2, s:send("SENDCLOSE hi\\n\n"))
    add("receive", 3, s:receive())
    lunaserve.sleep(100) -- the FIN arrives meanwhile
    add("keepalive", 2, s:setkeepalive())
    kept[#kept + 1] = s
    local s2 = lunaserve.tcp()
    s2:settimeouts(500, 500, 500)
    add("connect 2", 2, s2:connect("127.0.0.1", port, opts))
    add("send 2", 2, s2:send("@" .. param(req, "tag") .. " ECHO\nping\n"))
    add("receive 2", 3, s2:receive())
    add("close 2", 2, s2:close())
    res:finish(table.concat(lines, "\n") .. "\n")
end

-- /resurrected: a socket object brought back by another object's finalizer after its own
-- __gc ran; what each method then does (pcall: ok and the error, or the results).
routes["/resurrected"] = function(req, res)
    local lines = {}
    local keep
    do
        local s = lunaserve.tcp()
        s:settimeout(1000)
        setmetatable({}, { __gc = function() keep = s end })
    end
    collectgarbage()
    collectgarbage()
    local calls = {
        { "connect", function() return keep:connect("127.0.0.1", tonumber(param(req, "port"))) end },
        { "send", function() return keep:send("x") end },
        { "receive", function() return keep:receive() end },
        { "receiveany", function() return keep:receiveany(1) end },
        { "receiveuntil", function() return keep:receiveuntil("x") end },
        { "settimeout", function() return keep:settimeout(1) end },
        { "settimeouts", function() return keep:settimeouts(1, 1, 1) end },
        { "setoption", function() return keep:setoption("keepalive", true) end },
        { "setkeepalive", function() return keep:setkeepalive() end },
        { "getreusedtimes", function() return keep:getreusedtimes() end },
        { "close", function() return keep:close() end },
    }
    for _, c in ipairs(calls) do
        local ok, err = pcall(c[2])
        -- (without the caller's file:line)
        lines[#lines + 1] = c[1] .. ": " .. tostring(ok) .. " "
            .. (tostring(err):gsub("^[^:]*:%d+: ", ""))
    end
    lines[#lines + 1] = "tostring: " .. tostring(keep)
    res:finish(table.concat(lines, "\n") .. "\n")
end

local function handle(req, res)
    local f = routes[req.path]
    if f then
        return f(req, res)
    end
    res.statusCode = 404
    res:finish("no route " .. tostring(req.path))
end

return { handle = handle }
