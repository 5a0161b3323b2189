-- Test app for the cosocket specs (spec/tcp_*_spec.lua): each route runs a scenario of
-- lunaserve.tcp() against the scripted upstream (spec/support/upstream.py), whose port comes
-- in the query (`port=`), and answers with the exact results, one line per step:
-- `label: v1, v2, v3` where each value is %q-formatted (so nil, "closed" and "" differ).
-- What a spec cannot see in the response (a handler that outlives its client) is recorded in
-- `state` and read with /state.
--
-- Query values are percent-decoded. The upstream's first line (`cmd`) goes as it is (the
-- upstream reads its escapes); texts sent by a step and receiveuntil patterns take the
-- escapes \r \n \\ here.

local lunaserve = require("lunaserve")
local testkit = require("testkit")
local kv = testkit.kv

local state = {}
local shared = {} -- sockets handed from one request to another (busy specs)

---------------------------------------------------------------------------------------------------
-- helpers

local function urldecode(s)
    return (s:gsub("%+", " "):gsub("%%(%x%x)", function(h)
        return string.char(tonumber(h, 16))
    end))
end

local function params(req)
    local p = {}
    for k, v in (req.query or ""):gmatch("([^&=]+)=([^&]*)") do
        p[urldecode(k)] = urldecode(v)
    end
    return p
end

local function unescape(s)
    return (s:gsub("\\(.)", { n = "\n", r = "\r", ["\\"] = "\\" }))
end

-- The first n values, each %q-formatted (with a newline as \n, to keep one line), joined
-- with ", ".
local function vals(n, ...)
    local t = {}
    for i = 1, n do
        t[i] = string.format("%q", (select(i, ...))):gsub("\\\n", "\\n")
    end
    return table.concat(t, ", ")
end

-- A list of result lines with `add(label, n, ...)`.
local function recorder()
    local lines = {}
    local function add(label, n, ...)
        lines[#lines + 1] = label .. ": " .. vals(n, ...)
        return ...
    end
    return lines, add
end

-- A socket with the given (or generous) timeouts for every operation.
local function new(p)
    local s = lunaserve.tcp()
    s:settimeout(tonumber(p.timeout) or 5000)
    return s
end

-- connect to the upstream of the query (or p.host, which may be "unix:/path"), in the pool
-- p.pool when there is one and no opts are given.
local function connect(s, p, opts)
    local host = p.host or "127.0.0.1"
    if not opts and p.pool then
        opts = { pool = p.pool }
    end
    if host:sub(1, 5) == "unix:" then
        if opts then
            return s:connect(host, opts)
        end
        return s:connect(host)
    end
    return s:connect(host, tonumber(p.port), opts)
end

local routes = {}

routes["/state"] = function(req, res)
    res:finish(kv(state))
end

---------------------------------------------------------------------------------------------------
-- /run: a script of steps on one socket. `cmd`: the first line for the upstream (sent right
-- after connect unless empty); `ops`: steps separated by `|`:
--   N            receive(N)              *l, *a, l, a   receive(pattern)
--   default      receive()               any=N          receiveany(N)
--   until=P      receiveuntil(P)()       until=P/N      the same iterator called with size N
--   incl=P       receiveuntil(P, {inclusive = true})(), incl=P/N with size N
--   send=T       send(T)                 timeout=MS     settimeout(MS)
--   sleep=MS     lunaserve.sleep(MS)     keepalive      setkeepalive()
--   reused       getreusedtimes()        close          close()
--   str=N        receive("N") (a size given as a string)
--   chunks=P/N   calls receiveuntil(P)'s iterator with size N until it returns no data: the
--                chunks (%q) joined with " + ", then the last results; chunksincl=P/N inclusive
--   fresh        later until/incl steps make new iterators
-- One iterator is made per distinct receiveuntil pattern and option, and kept for later steps.
routes["/run"] = function(req, res)
    local p = params(req)
    local lines, add = recorder()
    local s = new(p)
    local ok = add("connect", 2, connect(s, p))
    if ok and p.cmd and p.cmd ~= "" then
        add("send", 2, s:send(p.cmd .. "\n"))
    end
    local iters = {}
    for op in (p.ops or ""):gmatch("[^|]+") do
        local name, arg = op:match("^(%w+)=(.*)$")
        if tonumber(op) then
            add(op, 3, s:receive(tonumber(op)))
        elseif op == "*l" or op == "*a" or op == "l" or op == "a" then
            add(op, 3, s:receive(op))
        elseif op == "default" then
            add(op, 3, s:receive())
        elseif name == "any" then
            add(op, 2, s:receiveany(tonumber(arg)))
        elseif name == "until" or name == "incl" then
            local pat, size = arg:match("^(.-)/(%d+)$")
            pat = unescape(pat or arg)
            local key = name .. "\0" .. pat
            if not iters[key] then
                iters[key] = s:receiveuntil(pat, name == "incl" and { inclusive = true } or nil)
            end
            add(op, 3, iters[key](tonumber(size)))
        elseif name == "chunks" or name == "chunksincl" then
            local pat, size = arg:match("^(.-)/(%d+)$")
            local it = s:receiveuntil(unescape(pat), { inclusive = name == "chunksincl" })
            local got = {}
            for _ = 1, 1000 do
                local data, err, partial = it(tonumber(size))
                if not data then
                    lines[#lines + 1] = op .. ": " .. table.concat(got, " + ") .. " then "
                        .. vals(3, data, err, partial)
                    break
                end
                got[#got + 1] = vals(1, data)
            end
        elseif name == "str" then
            add(op, 3, s:receive(arg))
        elseif op == "fresh" then
            iters = {}
        elseif name == "send" then
            add(op, 2, s:send(unescape(arg)))
        elseif name == "timeout" then
            s:settimeout(tonumber(arg))
        elseif name == "sleep" then
            lunaserve.sleep(tonumber(arg))
        elseif op == "keepalive" then
            add(op, 2, s:setkeepalive())
        elseif op == "reused" then
            add(op, 2, s:getreusedtimes())
        elseif op == "close" then
            add(op, 2, s:close())
        else
            error("unknown step " .. op)
        end
    end
    res:finish(table.concat(lines, "\n") .. "\n")
end

---------------------------------------------------------------------------------------------------
-- connect

-- /reconnect: connect (@first SILENT), then connect the same object again (@second ECHO) and
-- echo a line; holds the answer `hold` ms so that the spec can look at the upstream meanwhile.
routes["/reconnect"] = function(req, res)
    local p = params(req)
    local lines, add = recorder()
    local s = new(p)
    add("connect 1", 2, connect(s, p))
    add("send 1", 2, s:send("@first SILENT\n"))
    add("connect 2", 2, connect(s, p))
    add("reused", 2, s:getreusedtimes())
    add("send 2", 2, s:send("@second ECHO\nhi\n"))
    add("receive", 3, s:receive())
    lunaserve.sleep(tonumber(p.hold) or 0)
    add("close", 2, s:close())
    res:finish(table.concat(lines, "\n") .. "\n")
end

-- /reconnect_bounded: connect twice on the same object under a pool bounded to one live
-- connection (pool "rb", pool_size 1, backlog 1, connect timeout 1000): the first
-- connection is closed by the second connect, which makes room for it.
routes["/reconnect_bounded"] = function(req, res)
    local p = params(req)
    local lines, add = recorder()
    local s = lunaserve.tcp()
    s:settimeouts(1000, 5000, 5000)
    local opts = { pool = "rb", pool_size = 1, backlog = 1 }
    add("connect 1", 2, s:connect("127.0.0.1", tonumber(p.port), opts))
    add("send 1", 2, s:send("@" .. p.tag .. "1 ECHO\n"))
    add("connect 2", 2, s:connect("127.0.0.1", tonumber(p.port), opts))
    add("send 2", 2, s:send("@" .. p.tag .. "2 ECHO\nhi\n"))
    add("receive", 3, s:receive())
    add("close", 2, s:close())
    res:finish(table.concat(lines, "\n") .. "\n")
end

-- /close_reconnect: connect, close, and connect the same object again at once.
routes["/close_reconnect"] = function(req, res)
    local p = params(req)
    local lines, add = recorder()
    local s = new(p)
    add("connect 1", 2, connect(s, p))
    add("close", 2, s:close())
    add("connect 2", 2, connect(s, p))
    add("send", 2, s:send("@" .. p.tag .. "2 ECHO\nhi\n"))
    add("receive", 3, s:receive())
    add("close 2", 2, s:close())
    res:finish(table.concat(lines, "\n") .. "\n")
end

-- /fail: an operation on a socket whose connect failed: connect (with `ct` as the connect
-- timeout), then what every other method says.
routes["/fail"] = function(req, res)
    local p = params(req)
    local lines, add = recorder()
    local s = lunaserve.tcp()
    s:settimeouts(tonumber(p.ct) or 5000, 5000, 5000)
    add("connect", 2, connect(s, p))
    add("send", 2, s:send("x"))
    add("receive", 3, s:receive())
    add("reused", 2, s:getreusedtimes())
    add("keepalive", 2, s:setkeepalive())
    add("close", 2, s:close())
    res:finish(table.concat(lines, "\n") .. "\n")
end

-- /never: the methods of a socket that was never connected.
routes["/never"] = function(req, res)
    local lines, add = recorder()
    local s = lunaserve.tcp()
    add("send", 2, s:send("x"))
    add("receive", 3, s:receive())
    add("receiveany", 2, s:receiveany(10))
    add("until", 3, s:receiveuntil("x")())
    add("reused", 2, s:getreusedtimes())
    add("keepalive", 2, s:setkeepalive())
    add("setoption", 2, s:setoption("keepalive", true))
    add("close", 2, s:close())
    res:finish(table.concat(lines, "\n") .. "\n")
end

---------------------------------------------------------------------------------------------------
-- timeouts

-- /timeout: one operation that must time out. `op`: read (SILENT), connect (the port never
-- accepts), send (NOREAD, `size` bytes); `how`: settimeout (`ms`), settimeouts (`c`, `s`,
-- `r`), late (settimeout(ms) after a connect made with 5000), none (the app's settings).
-- Then what the socket says afterwards.
routes["/timeout"] = function(req, res)
    local p = params(req)
    local lines, add = recorder()
    local s = lunaserve.tcp()
    local ms = tonumber(p.ms)
    if p.how == "settimeout" then
        s:settimeout(ms)
    elseif p.how == "settimeouts" then
        s:settimeouts(tonumber(p.c), tonumber(p.s), tonumber(p.r))
    elseif p.how == "late" then
        s:settimeout(5000)
    end
    local ok = add("connect", 2, connect(s, p))
    if not ok then
        res:finish(table.concat(lines, "\n") .. "\n")
        return
    end
    if p.how == "late" then
        s:settimeout(ms)
    end
    if p.op == "read" then
        add("send", 2, s:send("SILENT\n"))
        add("receive", 3, s:receive())
        add("receive again", 3, s:receive(1))
    elseif p.op == "send" then
        add("send", 2, s:send("NOREAD\n"))
        local big = string.rep("x", tonumber(p.size))
        add("send big", 2, s:send(big))
        big = nil
        add("send after", 2, s:send("x"))
        add("receive after", 3, s:receive())
        add("close", 2, s:close())
    end
    res:finish(table.concat(lines, "\n") .. "\n")
end

---------------------------------------------------------------------------------------------------
-- send

-- /send: strings, numbers, nested arrays and empty data to ECHOALL, then read the echo back.
routes["/send"] = function(req, res)
    local p = params(req)
    local lines, add = recorder()
    local s = new(p)
    add("connect", 2, connect(s, p))
    add("send cmd", 2, s:send("ECHOALL\n"))
    add("send string", 2, s:send("abc"))
    add("send integer", 2, s:send(42))
    add("send float", 2, s:send(1.5))
    add("send nested", 2, s:send({ "a", { "b", { "c", 7 } }, "", "d" }))
    add("send empty string", 2, s:send(""))
    add("send empty table", 2, s:send({}))
    add("receive", 3, s:receive(3 + 2 + 3 + 5))
    add("send big", 2, s:send({ string.rep("y", 1000000), "z" }))
    local got = s:receive(1000001)
    add("echo of big", 1, got == string.rep("y", 1000000) .. "z")
    add("close", 2, s:close())
    res:finish(table.concat(lines, "\n") .. "\n")
end

-- /send_bad: values send() does not take raise an error and leave the socket usable.
routes["/send_bad"] = function(req, res)
    local p = params(req)
    local lines, add = recorder()
    local s = new(p)
    add("connect", 2, connect(s, p))
    add("send cmd", 2, s:send("ECHOALL\n"))
    local function try(label, v)
        local ok, err = pcall(s.send, s, v)
        lines[#lines + 1] = label .. ": " .. tostring(ok) .. " " .. (ok and "" or
            (tostring(err):match("bad data") and "bad data" or tostring(err)))
    end
    try("boolean", true)
    try("nil", nil)
    try("boolean in an array", { "a", true })
    try("function in a nested array", { "a", { print } })
    add("send after", 2, s:send("ok"))
    add("receive", 3, s:receive(2))
    res:finish(table.concat(lines, "\n") .. "\n")
end

---------------------------------------------------------------------------------------------------
-- one reader, one writer: a socket used by two requests at once

-- /busy_reader: connects, sends `cmd`, keeps the socket in `shared[name]`, then waits in a
-- receive('*l') (timeout `ms`, default 3000).
routes["/busy_reader"] = function(req, res)
    local p = params(req)
    local lines, add = recorder()
    local s = lunaserve.tcp()
    s:settimeout(tonumber(p.ms) or 3000)
    add("connect", 2, connect(s, p))
    add("send", 2, s:send(p.cmd .. "\n"))
    shared[p.name] = s
    state[p.name .. "_waiting"] = "yes"
    add("receive", 3, s:receive())
    res:finish(table.concat(lines, "\n") .. "\n")
end

-- /busy_writer: connects to NOREAD, keeps the socket in `shared[name]`, then sends `size`
-- bytes (send timeout `ms`).
routes["/busy_writer"] = function(req, res)
    local p = params(req)
    local lines, add = recorder()
    local s = lunaserve.tcp()
    s:settimeouts(5000, tonumber(p.ms) or 1000, 5000)
    add("connect", 2, connect(s, p))
    add("send", 2, s:send("NOREAD\n"))
    shared[p.name] = s
    state[p.name .. "_waiting"] = "yes"
    add("send big", 2, s:send(string.rep("x", tonumber(p.size))))
    res:finish(table.concat(lines, "\n") .. "\n")
end

-- /busy_other: what another request gets from the socket in shared[name] while the first
-- waits: every reading call, or every writing call (`kind`).
routes["/busy_other"] = function(req, res)
    local p = params(req)
    local lines, add = recorder()
    local s = shared[p.name]
    if p.kind == "read" then
        add("receive", 3, s:receive())
        add("receive 1", 3, s:receive(1))
        add("receiveany", 2, s:receiveany(5))
        add("until", 3, s:receiveuntil("\n")())
        add("keepalive", 2, s:setkeepalive())
    elseif p.kind == "write" then
        add("send", 2, s:send("y"))
        add("keepalive", 2, s:setkeepalive())
    elseif p.kind == "duplex" then -- a send while the other reads
        add("send", 2, s:send(unescape(p.text)))
    end
    res:finish(table.concat(lines, "\n") .. "\n")
end

---------------------------------------------------------------------------------------------------
-- the pool

-- /pool: connect (opts: `pool`, `pool_size`), the times reused; a new connection is told
-- "@tag ECHO"; echo `line`; then setkeepalive(`idle`, `size`) (or close when keep=no), then
-- what the socket says afterwards.
routes["/pool"] = function(req, res)
    local p = params(req)
    local lines, add = recorder()
    local s = new(p)
    local opts
    if p.pool or p.pool_size then
        opts = { pool = p.pool, pool_size = tonumber(p.pool_size) }
    end
    add("connect", 2, connect(s, p, opts))
    local n = add("reused", 2, s:getreusedtimes())
    if n == 0 then
        s:send("@" .. (p.tag or "-") .. " ECHO\n")
    end
    add("send", 2, s:send((p.line or "ping") .. "\n"))
    add("receive", 3, s:receive())
    if p.keep ~= "no" then
        add("keepalive", 2, s:setkeepalive(tonumber(p.idle), tonumber(p.size)))
        add("send after", 2, s:send("x"))
        add("receive after", 3, s:receive())
        add("reused after", 2, s:getreusedtimes())
        add("keepalive again", 2, s:setkeepalive())
        add("close after", 2, s:close())
    end
    res:finish(table.concat(lines, "\n") .. "\n")
end

-- /pool_many: `n` sockets connected at once (opts `pool`, `pool_size` if given), each reports
-- reused; new ones are tagged @tag<i> ECHO; each echoes, then all go back with
-- setkeepalive(`idle`, `size`) in order.
routes["/pool_many"] = function(req, res)
    local p = params(req)
    local lines, add = recorder()
    local socks = {}
    local opts
    if p.pool or p.pool_size then
        opts = { pool = p.pool, pool_size = tonumber(p.pool_size) }
    end
    for i = 1, tonumber(p.n) do
        local s = new(p)
        socks[i] = s
        add("connect " .. i, 2, connect(s, p, opts))
        if add("reused " .. i, 2, s:getreusedtimes()) == 0 then
            s:send("@" .. p.tag .. i .. " ECHO\n")
        end
        s:send("hi\n")
        add("receive " .. i, 3, s:receive())
    end
    for i = 1, #socks do
        add("keepalive " .. i, 2, socks[i]:setkeepalive(tonumber(p.idle), tonumber(p.size)))
    end
    res:finish(table.concat(lines, "\n") .. "\n")
end

-- /pool_notify: a pooled ECHO connection told to close (`CLOSEIN ms`) or to send unasked
-- data (`SAYIN ms junk`) while idle in the pool.
routes["/pool_notify"] = function(req, res)
    local p = params(req)
    local lines, add = recorder()
    local s = new(p)
    add("connect", 2, connect(s, p))
    if add("reused", 2, s:getreusedtimes()) == 0 then
        s:send("@" .. p.tag .. " ECHO\n")
    end
    if p.what == "close" then
        add("send", 2, s:send("CLOSEIN " .. p.ms .. "\n"))
    else
        add("send", 2, s:send("SAYIN " .. p.ms .. " junk\\n\n"))
    end
    add("receive", 3, s:receive())
    add("keepalive", 2, s:setkeepalive())
    res:finish(table.concat(lines, "\n") .. "\n")
end

-- /unread: data left unread when setkeepalive is called: `SAY extra`, read 2 bytes of it
-- (a connection of its own pool, "unread").
routes["/unread"] = function(req, res)
    local p = params(req)
    local lines, add = recorder()
    local s = new(p)
    add("connect", 2, connect(s, p, { pool = "unread" }))
    add("send", 2, s:send("@" .. p.tag .. " SAY extra\n"))
    add("receive", 3, s:receive(2))
    lunaserve.sleep(50)
    add("keepalive", 2, s:setkeepalive())
    add("receive after", 3, s:receive(3))
    add("close", 2, s:close())
    res:finish(table.concat(lines, "\n") .. "\n")
end

-- /backlog: connect under pool "bl" with pool_size 1 and backlog 1 (connect timeout `ct`),
-- hold the connection `hold` ms, then give it back (setkeepalive) or close it (`after`).
routes["/backlog"] = function(req, res)
    local p = params(req)
    local lines, add = recorder()
    local s = lunaserve.tcp()
    s:settimeouts(tonumber(p.ct) or 5000, 5000, 5000)
    local ok = add("connect", 2, connect(s, p, { pool = "bl", pool_size = 1, backlog = 1 }))
    if ok then
        if add("reused", 2, s:getreusedtimes()) == 0 then
            s:send("@" .. p.tag .. " ECHO\n")
        end
        add("send", 2, s:send(p.tag .. "\n"))
        add("receive", 3, s:receive())
        lunaserve.sleep(tonumber(p.hold) or 0)
        if p.after == "close" then
            add("close", 2, s:close())
        else
            add("keepalive", 2, s:setkeepalive())
        end
    end
    res:finish(table.concat(lines, "\n") .. "\n")
end

---------------------------------------------------------------------------------------------------
-- setoption and close

-- /setoption: each option on a connected ECHO socket; the connection is held `hold` ms (the
-- spec looks at it with ss meanwhile), then closed.
routes["/setoption"] = function(req, res)
    local p = params(req)
    local lines, add = recorder()
    local s = new(p)
    add("connect", 2, connect(s, p))
    add("send", 2, s:send("@" .. p.tag .. " ECHO\n"))
    add("keepalive", 2, s:setoption("keepalive", true))
    add("tcp_nodelay", 2, s:setoption("tcp_nodelay", true))
    add("tcp-nodelay", 2, s:setoption("tcp-nodelay", true))
    add("sndbuf", 2, s:setoption("sndbuf", 50000))
    add("rcvbuf", 2, s:setoption("rcvbuf", 40000))
    add("unknown", 2, s:setoption("no-such-option", 1))
    add("echo", 3, s:send("still\n") and s:receive())
    state.setoption_holding = "yes"
    lunaserve.sleep(tonumber(p.hold) or 0)
    add("close", 2, s:close())
    res:finish(table.concat(lines, "\n") .. "\n")
end

---------------------------------------------------------------------------------------------------
-- coroutines the handler creates

routes["/coroutines"] = function(req, res)
    local p = params(req)
    local lines, add = recorder()
    -- a socket made, used and closed inside a coroutine.wrap, with ordinary yields between
    local gen = coroutine.wrap(function()
        local s = new(p)
        coroutine.yield(vals(2, connect(s, p)))
        coroutine.yield(vals(2, s:send("ECHO\none\n")))
        coroutine.yield(vals(3, s:receive()))
        coroutine.yield(vals(2, s:close()))
    end)
    for i = 1, 4 do
        lines[#lines + 1] = "wrap " .. i .. ": " .. gen()
    end
    -- a socket made in the handler, used two coroutines deep
    local s = new(p)
    add("handler connect", 2, connect(s, p))
    local outer = coroutine.create(function()
        local inner = coroutine.create(function()
            add("inner send", 2, s:send("ECHO\ntwo\n"))
            coroutine.yield("inner yielded")
            add("inner receive", 3, s:receive())
        end)
        local _, y = coroutine.resume(inner)
        lines[#lines + 1] = "outer got: " .. y
        coroutine.resume(inner)
        lines[#lines + 1] = "inner status: " .. coroutine.status(inner)
    end)
    coroutine.resume(outer)
    lines[#lines + 1] = "outer status: " .. coroutine.status(outer)
    -- a socket made in a coroutine, used afterwards by the handler
    local made
    coroutine.wrap(function()
        made = new(p)
        add("coroutine connect", 2, connect(made, p))
    end)()
    add("handler send", 2, made:send("ECHO\nthree\n"))
    add("handler receive", 3, made:receive())
    add("close", 2, made:close())
    res:finish(table.concat(lines, "\n") .. "\n")
end

---------------------------------------------------------------------------------------------------
-- misbehaving upstreams

-- /flood_all: FLOOD `n`, receive('*a') (or receive(`size`) / an iterator of receiveuntil
-- without size when `how` says so): the error, and the size of the partial data.
routes["/flood_all"] = function(req, res)
    local p = params(req)
    local lines = {}
    local s = new(p)
    s:connect("127.0.0.1", tonumber(p.port))
    s:send("@" .. (p.tag or "-") .. " FLOOD " .. p.n .. "\n")
    local data, err, partial
    if p.how == "size" then
        data, err, partial = s:receive(tonumber(p.size))
    elseif p.how == "until" then
        data, err, partial = s:receiveuntil("NEVER")()
    else
        data, err, partial = s:receive("*a")
    end
    lines[#lines + 1] = "data: " .. (data and #data or "nil")
    lines[#lines + 1] = "err: " .. string.format("%q", err)
    lines[#lines + 1] = "partial: " .. (partial and #partial or "nil")
    lines[#lines + 1] = "partial is the pattern: " .. tostring(partial ~= nil and
        partial:sub(1, 26) == "abcdefghijklmnopqrstuvwxyz")
    data, partial = nil, nil
    lines[#lines + 1] = "after: " .. vals(3, s:receive(1))
    res:finish(table.concat(lines, "\n") .. "\n")
end

-- Checks that a chunk continues the upstream's pattern at offset `off` (first and last byte,
-- and the whole chunk every 64th call, to keep it cheap).
local ALPHABET = "abcdefghijklmnopqrstuvwxyz"
local function continues(chunk, off, full)
    local function at(i)
        local k = i % 26
        return ALPHABET:sub(k + 1, k + 1)
    end
    if chunk:sub(1, 1) ~= at(off) or chunk:sub(-1) ~= at(off + #chunk - 1) then
        return false
    end
    if full then
        local first = off % 26
        local want = string.rep(ALPHABET, (first + #chunk) // 26 + 1):sub(first + 1, first + #chunk)
        return chunk == want
    end
    return true
end

-- /flood_stream: FLOOD `n` read to the end with receiveany(`max`) or a receiveuntil iterator
-- with size `max` (`how`): the total, the last error, whether every chunk was in order.
routes["/flood_stream"] = function(req, res)
    local p = params(req)
    local s = new(p)
    s:connect("127.0.0.1", tonumber(p.port))
    s:send("FLOOD " .. p.n .. "\n")
    local max = tonumber(p.max)
    local total, calls, in_order, largest = 0, 0, true, 0
    local reader = p.how == "until" and s:receiveuntil("NEVER") or nil
    local data, err, partial
    while true do
        if reader then
            data, err, partial = reader(max)
        else
            data, err = s:receiveany(max)
        end
        local chunk = data or partial
        if chunk and #chunk > 0 then
            calls = calls + 1
            if #chunk > largest then
                largest = #chunk
            end
            if not continues(chunk, total, calls % 64 == 1) then
                in_order = false
            end
            total = total + #chunk
        end
        if not data then
            break
        end
    end
    res:finish(table.concat({ "total: " .. total, "err: " .. string.format("%q", err),
        "in order: " .. tostring(in_order), "largest within max: " .. tostring(largest <= max),
        "" }, "\n"))
end

---------------------------------------------------------------------------------------------------
-- ownership

-- /forget: opens a socket to the upstream, sends a line, and forgets it (no close).
routes["/forget"] = function(req, res)
    local p = params(req)
    local s = lunaserve.tcp()
    s:settimeout(5000)
    local ok, err = s:connect("127.0.0.1", tonumber(p.port))
    if ok then
        ok, err = s:send("SILENT\n")
    end
    res:finish(ok and "ok" or tostring(err))
end

-- /close_collect: `n` times: connect, close, and let the collector take the socket object at
-- once (before its close has finished).
routes["/close_collect"] = function(req, res)
    local p = params(req)
    for _ = 1, tonumber(p.n) do
        local s = lunaserve.tcp()
        s:settimeout(5000)
        local ok, err = s:connect("127.0.0.1", tonumber(p.port))
        if not ok then
            res:finish("connect: " .. tostring(err))
            return
        end
        s:close()
        s = nil
        collectgarbage()
    end
    res:finish("ok")
end

-- /hold: connects `@tag SILENT`, then ends as `how` says: return (the handler ends with the
-- socket open), error (a Lua error: 500), spin (runs past the handler budget); or, with
-- how=pooled, echoes a line on `@tag ECHO` and gives the connection back with setkeepalive.
routes["/hold"] = function(req, res)
    local p = params(req)
    local s = lunaserve.tcp()
    s:settimeout(10000)
    local ok, err = connect(s, p)
    if not ok then
        res:finish("connect: " .. tostring(err))
        return
    end
    if p.how == "pooled" then
        if s:getreusedtimes() == 0 then
            s:send("@" .. p.tag .. " ECHO\n")
        end
        s:send("hi\n")
        local line = s:receive()
        local kept, kerr = s:setkeepalive(0)
        res:finish(vals(3, line, kept, kerr) .. "\n")
        return
    end
    s:send("@" .. p.tag .. " SILENT\n")
    if p.how == "error" then
        error("boom after connecting")
    elseif p.how == "spin" then
        local x = 0
        while true do
            x = x + 1
        end
    end
    res:finish("ok\n")
end

-- /hold_in_timer: a timer connects (tagged `tag`), sends SILENT and ends without closing the
-- socket; the request answers once the timer's call has sent.
routes["/hold_in_timer"] = function(req, res)
    local p = params(req)
    local sent = false
    assert(lunaserve.timer.at(0, function()
        local s = lunaserve.tcp()
        s:settimeout(10000)
        assert(connect(s, p))
        assert(s:send("@" .. p.tag .. " SILENT\n"))
        sent = true
    end))
    for _ = 1, 200 do
        if sent then
            break
        end
        lunaserve.sleep(10)
    end
    res:finish(sent and "sent\n" or "the timer did not send\n")
end

-- /abandon: the client of this request goes away while the handler waits in `what`: connect
-- (to a port that never accepts: `port`), queued (a connect in line behind `shared[name]`'s
-- connection, pool "ab", pool_size 1), read (SILENT), send (NOREAD, 16 MB). The result of
-- the wait goes to state[tag].
routes["/abandon"] = function(req, res)
    local p = params(req)
    local s = lunaserve.tcp()
    s:settimeout(10000)
    local r
    if p.what == "connect" then
        state[p.tag .. "_waiting"] = "yes"
        r = vals(2, s:connect("127.0.0.1", tonumber(p.port)))
    elseif p.what == "queued" then
        state[p.tag .. "_waiting"] = "yes"
        r = vals(2, s:connect("127.0.0.1", tonumber(p.port),
            { pool = "ab", pool_size = 1, backlog = 5 }))
    else
        local ok, err = s:connect("127.0.0.1", tonumber(p.port),
            { pool = "ab", pool_size = 1, backlog = 5 })
        if not ok then
            state[p.tag] = "connect: " .. tostring(err)
            return
        end
        if p.what == "hold" then -- holds the connection of pool "ab" for the others to queue
            s:send("@" .. p.tag .. " SILENT\n")
            state[p.tag .. "_waiting"] = "yes"
            lunaserve.sleep(tonumber(p.ms))
            r = vals(2, s:close())
        elseif p.what == "read" then
            s:send("@" .. p.tag .. " SILENT\n")
            state[p.tag .. "_waiting"] = "yes"
            r = vals(2, s:receive())
        else
            s:send("@" .. p.tag .. " NOREAD\n")
            state[p.tag .. "_waiting"] = "yes"
            r = vals(2, s:send(string.rep("x", 16 * 1024 * 1024)))
        end
    end
    state[p.tag] = r
    res:finish(r .. "\n")
end

-- /gc: a connected socket that nothing references any more is closed by the collector while
-- the handler still runs (it sleeps `ms` after the collection).
routes["/gc"] = function(req, res)
    local p = params(req)
    do
        local s = lunaserve.tcp()
        s:settimeout(5000)
        s:connect("127.0.0.1", tonumber(p.port))
        s:send("@" .. p.tag .. " SILENT\n")
    end
    collectgarbage()
    collectgarbage()
    lunaserve.sleep(tonumber(p.ms))
    res:finish("ok\n")
end

return {
    handle = testkit.router(routes),
    socket_max_receive = "1m",
    socket_connect_timeout = "0.5",
    socket_send_timeout = "0.5",
    socket_read_timeout = "0.5",
    handler_budget = "0.5",
}
