-- A WebSocket that sends 64 KiB binary messages as fast as its peer lets it, with sends bounded
-- by set_timeout(?timeout=MS): when a send returns nil, err it says where it stopped, in a text
-- message ("stopped at N: err"), and ends (the WebSocket closes with 1000).
local websocket = require("lunaserve.websocket")

local piece = string.rep("f", 65536)

return function(req, res)
    local ws = assert(websocket.upgrade(req, res))
    ws:set_timeout(tonumber((req.query or ""):match("timeout=(%d+)")) or 500)
    for i = 1, 2000 do
        local n, err = ws:send_binary(piece)
        if not n then
            ws:send_text("stopped at " .. i .. ": " .. tostring(err))
            return
        end
        assert(n == #piece, "send_binary returned " .. tostring(n))
    end
    ws:send_text("sent all")
end
