-- apps/chat (README, "Bundled apps") with a WebSocket client that does not read: messages
-- are sent to every WebSocket from the coroutine that posts them, and such a send never
-- waits, so the poster and the other clients go on at full speed; once the peer's queue has
-- passed --max-output it is dropped (reset, close reason "limit") and leaves the room.
local S = require("spec.support.server")
local C = require("spec.support.chat")

local ws_open, next_json, post_ok, leave = C.ws_open, C.next_json, C.post_ok, C.leave
local cjson = require("cjson")

describe("apps/chat with a WebSocket client that does not read", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = C.APP, args = { "--max-output", "262144", "--log-level", "debug" } })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    it("drops it once its queue passes --max-output; posting never waits for it, the others get everything", function()
        local seed = post_ok(srv, "ann", "seed")
        local slow, b = ws_open(srv), ws_open(srv)
        assert.are.same(seed, next_json(slow))
        assert.are.same(seed, next_json(b))
        -- 2,000 messages of 4,000 bytes (8 MB: more than the kernel's buffers hold for a
        -- peer that does not read, about 4 MB here, plus 256 KiB queued), posted 50 at a
        -- time on a connection each (pipelined); b reads them as they come, slow never does
        local text = string.rep("\u{1F600}", 1000)
        local body = cjson.encode({ name = "ann", text = text })
        local req = "POST /messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            .. "Content-Length: " .. #body .. "\r\n\r\n" .. body
        local id = seed.id
        for round = 1, 40 do
            local poster = srv:connect()
            assert(poster:send(string.rep(req, 50)))
            local rs, rerr = poster:read_responses(50, { timeout = 5 })
            assert(rs, "round " .. round .. ": " .. tostring(rerr) .. "\n" .. srv:log())
            for _, r in ipairs(rs) do
                assert.are.equal(201, r.status, r.body)
            end
            poster:close()
            for _ = 1, 50 do
                id = id + 1
                assert.are.same({ id = id, name = "ann", text = text }, next_json(b))
            end
        end
        -- the slow one was dropped (reset: its queue is discarded); the chat goes on
        assert.is_truthy(S.wait_for(function()
            return srv:log():find(": close (limit", 1, true) ~= nil
        end, 3), srv:log())
        local _, kind = slow:read_until_close(10)
        assert.are.equal("reset", kind)
        slow:close()
        local m = post_ok(srv, "bob", "after the drop")
        assert.are.same({ id = id + 1, name = "bob", text = "after the drop" }, m)
        assert.are.same(m, next_json(b))
        leave(b)
    end)
end)
