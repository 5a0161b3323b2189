-- A broadcast to peers that never read (spec/ws_broadcast_memory_spec.lua).
--   /peer:        upgrades with {max_output = 262144} and joins the peers; its handler waits
--                 in recv_frame until the connection ends (it stays in the table: a send to
--                 it then returns nil, "closed").
--   /broadcaster: every binary message it sends goes to every peer with send_binary (from
--                 this handler's coroutine: such sends never wait); a peer whose send fails
--                 leaves the table. Then the broadcaster gets a text report:
--                 "sent=S failed=F errors=E peers=P" (F sends failed, E: their distinct
--                 errors, sorted and joined with ",", "-" for none; P peers left).
--   /count:       (plain GET) "peers=P ended=E": peers in the table, peer handlers ended.
local websocket = require("lunaserve.websocket")

local MAX_OUTPUT = 262144

local peers = {}  -- ws -> true
local npeers = 0
local ended = 0

local function peer(req, res)
    local ws = assert(websocket.upgrade(req, res, { max_output = MAX_OUTPUT }))
    peers[ws] = true
    npeers = npeers + 1
    ws:send_text("joined")
    while true do
        local data, typ = ws:recv_frame()
        if not data or typ == "close" then
            break
        end
    end
    ended = ended + 1
end

local function broadcaster(req, res)
    local ws = assert(websocket.upgrade(req, res, { max_payload = 1048576 }))
    while true do
        local data, typ = ws:recv_frame()
        if not data or typ == "close" then
            return
        end
        local sent, failed, errs = 0, 0, {}
        local gone = {}
        for p in pairs(peers) do
            local n, err = p:send_binary(data)
            if n == #data then
                sent = sent + 1
            else
                failed = failed + 1
                errs[tostring(err)] = true
                gone[#gone + 1] = p
            end
        end
        for _, p in ipairs(gone) do
            peers[p] = nil
            npeers = npeers - 1
        end
        local list = {}
        for e in pairs(errs) do
            list[#list + 1] = e
        end
        table.sort(list)
        ws:send_text(string.format("sent=%d failed=%d errors=%s peers=%d", sent, failed,
            #list > 0 and table.concat(list, ",") or "-", npeers))
    end
end

return function(req, res)
    if req.path == "/peer" then
        return peer(req, res)
    elseif req.path == "/broadcaster" then
        return broadcaster(req, res)
    elseif req.path == "/count" then
        res:finish(string.format("peers=%d ended=%d", npeers, ended))
        return
    end
    res.statusCode = 404
    res:finish("not found")
end
