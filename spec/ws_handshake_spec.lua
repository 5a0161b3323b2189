-- WebSocket opening handshake (RFC 6455 4.2.2): a valid request gets exactly a 101 with
-- Upgrade, the Sec-WebSocket-Accept of its key (the RFC's own example) and Connection: Upgrade,
-- and frames sent right behind the request (in the same write) are served after the 101.
local S = require("spec.support.server")
local W = require("spec.support.ws")

describe("WebSocket handshake", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = W.APP })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    it("answers 101 with the RFC's accept value for its key", function()
        local c = srv:connect()
        assert(c:send(W.request("/")))
        local head = assert(c:read_until("\r\n\r\n", 5))
        assert.are.equal(W.RESPONSE_101, W.strip_date(head))
        assert.truthy(head:find("\r\nDate: [A-Z][a-z][a-z], %d%d [A-Z][a-z][a-z] %d%d%d%d "))
        assert.are.equal(0, c:buffered())
        c:close()
    end)

    it("serves a frame that came in the same write as the request", function()
        local c = srv:connect()
        assert(c:send(W.request("/") .. W.frame(W.TEXT, "early")))
        local head = assert(c:read_until("\r\n\r\n", 5))
        assert.are.equal(W.RESPONSE_101, W.strip_date(head))
        local op, payload = W.read_frame(c, 5)
        assert.are.equal(W.TEXT, op)
        assert.are.equal("early", payload)
        c:close()
    end)

    it("selects the first offered subprotocol the app speaks", function()
        local c = srv:connect()
        assert(c:send(W.request("/?protocols=chat,superchat", nil,
            "Sec-WebSocket-Protocol: soap, superchat, chat\r\n")))
        local head = assert(c:read_until("\r\n\r\n", 5))
        assert.are.equal("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            .. "Sec-WebSocket-Accept: " .. W.ACCEPT .. "\r\n"
            .. "Sec-WebSocket-Protocol: superchat\r\nConnection: Upgrade\r\n\r\n",
            W.strip_date(head))
        c:close()
    end)

    it("reads Connection, Upgrade and Sec-WebSocket-Protocol from every field of the name", function()
        local c = srv:connect()
        assert(c:send(W.request("/?protocols=chat,superchat", { Connection = "keep-alive" },
            "Connection: Upgrade\r\nSec-WebSocket-Protocol: soap\r\n"
            .. "Sec-WebSocket-Protocol: chat, superchat\r\n")))
        local head = assert(c:read_until("\r\n\r\n", 5))
        assert.are.equal("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            .. "Sec-WebSocket-Accept: " .. W.ACCEPT .. "\r\n"
            .. "Sec-WebSocket-Protocol: chat\r\nConnection: Upgrade\r\n\r\n",
            W.strip_date(head))
        c:close()
    end)
end)
