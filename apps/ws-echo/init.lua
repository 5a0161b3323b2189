-- apps/ws-echo: a WebSocket echo (docs/WEBSOCKET.md), used by the specs. Any path upgrades;
-- text and binary messages come back as they were sent, pings are answered by the server
-- (auto_pong), and the peer's close is echoed by the protocol layer.
--
-- Query options, for the specs: ?max_payload=N, ?timeout=MS (recv_frame's),
-- ?close_timeout=MS, ?ping_interval=MS, ?protocols=a,b.
local websocket = require("lunaserve").websocket -- the same as require "lunaserve.websocket"
local form = require("lunaserve.form")

return function(req, res)
    local q = form.parse(req.query or "") or {}
    local opts = {
        max_payload = tonumber(q.max_payload),
        timeout = tonumber(q.timeout),
        close_timeout = tonumber(q.close_timeout),
        ping_interval = tonumber(q.ping_interval),
    }
    if q.protocols then
        opts.protocols = {}
        for p in q.protocols:gmatch("[^,]+") do
            opts.protocols[#opts.protocols + 1] = p
        end
    end
    local ws, err = websocket.upgrade(req, res, opts)
    if not ws then
        return -- the handshake was refused (400 or 426 went out), or the client left: err
    end
    while true do
        local data, typ, e = ws:recv_frame()
        if not data then
            return -- closed, timeout, or a protocol error (the close went out): e says which
        end
        if typ == "text" then
            if not ws:send_text(data) then
                return
            end
        elseif typ == "binary" then
            if not ws:send_binary(data) then
                return
            end
        elseif typ == "close" then
            return -- the protocol echoed the code already
        end
    end
end
