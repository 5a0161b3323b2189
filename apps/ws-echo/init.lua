-- apps/ws-echo: a WebSocket echo (docs/WEBSOCKET.md), used by the specs. Any path upgrades;
-- text and binary messages come back as they were sent, pings are answered by the server
-- (auto_pong), and the peer's close is echoed by the protocol layer.
--
-- Query options, for the specs: ?max_payload=N, ?timeout=MS (recv_frame's),
-- ?close_timeout=MS, ?ping_interval=MS, ?protocols=a,b, ?deflate=1 (permessage-deflate).
local websocket = require("lunaserve").websocket -- the same as require "lunaserve.websocket"
local form = require("lunaserve.form")

-- GET / without Upgrade: a page whose script opens a WebSocket to /ws, sends a message and
-- shows the echo (for a browser; window.wsEcho holds what came back, window.wsExtensions the
-- extensions in use).
local PAGE = [[<!doctype html>
<html><head><meta charset="utf-8"><title>ws-echo</title></head>
<body><p id="out">connecting</p>
<script>
const out = document.getElementById("out");
// the page's query goes to the WebSocket (?deflate=1); ?repeat=N sends the greeting N times
const ws = new WebSocket("ws://" + location.host + "/ws" + location.search);
const times = Number(new URLSearchParams(location.search).get("repeat") || 1);
ws.onopen = () => {
    out.textContent = "open";
    window.wsExtensions = ws.extensions;
    ws.send("hello from the browser \u00e9".repeat(times));
};
ws.onmessage = (e) => { window.wsEcho = e.data; out.textContent = e.data; ws.close(1000); };
ws.onclose = (e) => { window.wsClose = e.code; };
</script></body></html>
]]

return function(req, res)
    if req.path == "/" and not (req.headers.upgrade or ""):lower():find("websocket", 1, true) then
        res:setHeader("Content-Type", "text/html; charset=utf-8")
        res:finish(PAGE)
        return
    end
    local q = form.parse(req.query or "") or {}
    local opts = {
        max_payload = tonumber(q.max_payload),
        timeout = tonumber(q.timeout),
        close_timeout = tonumber(q.close_timeout),
        ping_interval = tonumber(q.ping_interval),
        deflate = q.deflate == "1",
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
