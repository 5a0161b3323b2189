-- WebSocket with opts.fragments = true: every frame recv_frame returns is described in a text
-- message "typ:err:data" (err "again" on a piece that is not the last, "-" otherwise).
local websocket = require("lunaserve.websocket")

return function(req, res)
    local ws = assert(websocket.upgrade(req, res, { fragments = true }))
    while true do
        local data, typ, err = ws:recv_frame()
        if not data or typ == "close" then
            return
        end
        ws:send_text(typ .. ":" .. tostring(err or "-") .. ":" .. data)
    end
end
