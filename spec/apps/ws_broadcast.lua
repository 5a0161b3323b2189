-- A WebSocket broadcast (the chat pattern): every text message from one client goes to every
-- open WebSocket, sent from the sender's handler to the others' connections.
local websocket = require("lunaserve.websocket")

local peers = {}

return function(req, res)
    local ws = assert(websocket.upgrade(req, res))
    peers[ws] = true
    ws:send_text("joined")
    while true do
        local data, typ = ws:recv_frame()
        if not data or typ == "close" then
            break
        end
        for p in pairs(peers) do
            p:send_text(data)
        end
    end
    peers[ws] = nil
end
