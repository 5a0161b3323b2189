-- lunaserve.sse on a HEAD request (README, "Server-sent events"): the answer is the stream's
-- head alone (200, Content-Type: text/event-stream, no body) and it ends at once; send returns
-- nil, "closed", the stream is closed, and no keep-alive is armed. The same through a router's
-- GET route (which serves HEAD) and a plain handler. A request pipelined behind the HEAD is
-- answered next, so no body bytes came between.
--
-- spec/apps/sse_head.lua: /events and /plain/events (a stream that sends while send says
-- yes), /state and /plain/state (what the streams noted, and the pending timers).
local S = require("spec.support.server")
local E = require("spec.support.sse")

-- (the server leaves the body's framing fields out of an answer to HEAD)
local HEAD = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
    .. "Date: %s\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\n"

describe("lunaserve.sse answering HEAD", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = S.app("sse_head.lua") })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    for _, case in ipairs({ { "a router's GET route", "", "router_" },
        { "a plain handler", "/plain", "plain_" } }) do
        local name, base, prefix = case[1], case[2], case[3]
        it("sends the head alone and ends at once, on " .. name, function()
            local c = srv:connect()
            assert(c:send(S.request("HEAD", base .. "/events") .. S.get(base .. "/state")))
            E.read_head(c, 2, HEAD)
            -- next on the wire: the answer to the request behind it
            local res = assert(c:read_response({ timeout = 2 }))
            assert.are.equal(200, res.status)
            local st = S.parse_kv(res.body)
            assert.are.same({ closed = "true", rounds = "0", send = "nil,closed", pending = "0" },
                { closed = st[prefix .. "closed"], rounds = st[prefix .. "rounds"],
                    send = st[prefix .. "send"], pending = st.pending_timers })
            -- and nothing after it: no event, no keep-alive, no terminator
            assert.is_true(c:is_open(0.3), "bytes or a close after the answers")
            c:close()
        end)
    end
end)
