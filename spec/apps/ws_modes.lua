-- WebSocket behaviours the specs drive by path (one worker; state shared in this file):
--   /push            never reads: sends "tick N" every 50 ms (at most 100), ends at a failed send
--   /app_pong        auto_pong = false: the handler answers each ping with its payload .. "!"
--   /slow            reads once every 300 ms and echoes what it read, with its type
--   /say_bye         on a text message: send_close(4000, "see you"); other close calls on
--                    "bad-code" (1005), "long" (a 200-byte reason, cut to 123 bytes);
--                    "not-utf8": send_text of bytes that are not UTF-8, then what it returned
--   /two_senders     the handler and a timer (another coroutine) send 200 messages each
--   /timer_flood?max_output=N   a timer (not the handler) sends 64 KiB messages without
--                    waiting; what its sends returned is kept for /status
--   /owner_flood     the handler sends 64 KiB messages; each waits for the drain (no timeout)
--   /raise           raises an error after its first message (the handler fails)
--   ?ping_interval=MS, ?max_output=N, ?close_timeout=MS: the upgrade's options
--   /status          (plain HTTP) what the last flood saw: "sent N: err"
local lunaserve = require("lunaserve")
local websocket = require("lunaserve.websocket")

local status = "none"
local piece = string.rep("x", 65536)

local function query_int(req, name)
    return tonumber((req.query or ""):match(name .. "=(%d+)"))
end

local modes = {}

function modes.push(ws)
    for i = 1, 100 do
        if not ws:send_text("tick " .. i) then
            return
        end
        lunaserve.sleep(50)
    end
end

function modes.app_pong(ws)
    while true do
        local data, typ = ws:recv_frame()
        if not data or typ == "close" then
            return
        end
        if typ == "ping" then
            ws:send_pong(data .. "!")
        else
            ws:send_text(typ .. ":" .. data)
        end
    end
end

function modes.slow(ws)
    while true do
        lunaserve.sleep(300)
        local data, typ, err = ws:recv_frame()
        if not data then
            return
        end
        if typ == "close" then
            return
        end
        ws:send_text(typ .. ":" .. data .. (err and ":" .. tostring(err) or ""))
    end
end

function modes.say_bye(ws)
    while true do
        local data, typ = ws:recv_frame()
        if not data or typ == "close" then
            return
        end
        if data == "bye" then
            local n, err = ws:send_close(4000, "see you")
            ws:send_text("after close: " .. tostring(n) .. " " .. tostring(err)) -- must not go out
            status = "send_close " .. tostring(n) .. " " .. tostring(err)
        elseif data == "bad-code" then
            local n, err = ws:send_close(1005, "no")
            ws:send_text("bad-code: " .. tostring(n) .. " " .. tostring(err))
        elseif data == "not-utf8" then
            local n, err = ws:send_text("bad \xff byte")
            ws:send_text("not-utf8: " .. tostring(n) .. " " .. tostring(err))
        elseif data == "long" then
            local n, err = ws:send_close(1000, string.rep("é", 100)) -- 200 bytes
            status = "long " .. tostring(n) .. " " .. tostring(err)
        end
    end
end

function modes.two_senders(ws)
    local done = false
    assert(lunaserve.timer.at(0, function()
        for i = 1, 200 do
            ws:send_text("timer " .. i .. " " .. string.rep("t", i * 50))
            if i % 20 == 0 then
                lunaserve.sleep(0)
            end
        end
        done = true
    end))
    for i = 1, 200 do
        ws:send_text("handler " .. i .. " " .. string.rep("h", i * 50))
        if i % 25 == 0 then
            lunaserve.sleep(0)
        end
    end
    local t0 = lunaserve.now()
    while not done and lunaserve.now() - t0 < 10 do
        lunaserve.sleep(10)
    end
    ws:send_text("end")
    ws:recv_frame() -- the peer's close
end

function modes.timer_flood(ws)
    status = "running"
    local sent, err = 0, nil
    assert(lunaserve.timer.at(0, function()
        for _ = 1, 400 do -- 25 MiB at most; the peer does not read
            local n, e = ws:send_binary(piece)
            if not n then
                err = e
                break
            end
            sent = sent + 1
        end
        status = "sent " .. sent .. ": " .. tostring(err)
    end))
    ws:recv_frame() -- until the connection ends
    local t0 = lunaserve.now()
    while status == "running" and lunaserve.now() - t0 < 10 do
        lunaserve.sleep(10)
    end
end

function modes.owner_flood(ws)
    status = "running"
    local sent = 0
    for _ = 1, 400 do
        local n, err = ws:send_binary(piece)
        if not n then
            status = "sent " .. sent .. ": " .. tostring(err)
            return
        end
        sent = sent + 1
    end
    status = "sent " .. sent .. ": all"
end

function modes.raise(ws)
    local data = ws:recv_frame()
    error("boom after " .. tostring(data))
end

return function(req, res)
    if req.path == "/status" then
        res:finish(status)
        return
    end
    local mode = req.path:sub(2)
    local f = modes[mode]
    if not f then
        res.statusCode = 404
        res:finish("no mode " .. mode)
        return
    end
    local ws = assert(websocket.upgrade(req, res, {
        auto_pong = mode ~= "app_pong",
        ping_interval = query_int(req, "ping_interval"),
        max_output = query_int(req, "max_output"),
        close_timeout = query_int(req, "close_timeout"),
    }))
    f(ws)
end
