-- A handler that waits before it upgrades; GET /result answers what its last upgrade returned
-- ("ok", or "nil <err>").
local lunaserve = require("lunaserve")
local websocket = require("lunaserve.websocket")

local result = "none"

return function(req, res)
    if req.path == "/result" then
        res:finish(result)
        return
    end
    lunaserve.sleep(300) -- milliseconds
    local ws, err = websocket.upgrade(req, res)
    result = ws and "ok" or ("nil " .. tostring(err))
    if ws then
        ws:send_close(1000)
    end
end
