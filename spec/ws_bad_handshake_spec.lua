-- A WebSocket handshake the server cannot accept gets 426 with Sec-WebSocket-Version: 13 for
-- a version it does not speak (RFC 6455 4.4), 400 for the rest, and the connection stays
-- HTTP: the next request on it is served.
local S = require("spec.support.server")
local W = require("spec.support.ws")

describe("WebSocket bad handshake", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = W.APP })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    local function answer(req)
        local c = srv:connect()
        assert(c:send(req))
        local res = assert(c:read_response())
        return res, c
    end

    it("answers 426 with Sec-WebSocket-Version: 13 to version 8", function()
        local res, c = answer(W.request("/", { ["Sec-WebSocket-Version"] = "8" }))
        assert.are.equal(426, res.status)
        assert.are.equal("13", res.headers["sec-websocket-version"])
        assert.are.equal("unsupported Sec-WebSocket-Version (13 is supported)\n", res.body)
        c:close()
    end)

    it("answers 400 to a missing key, then serves the next request on the connection", function()
        local res, c = answer(W.request("/", { ["Sec-WebSocket-Key"] = false }))
        assert.are.equal(400, res.status)
        assert.are.equal("missing or invalid Sec-WebSocket-Key\n", res.body)
        assert.is_nil(res.headers["sec-websocket-accept"])
        assert(c:send(W.request("/")))
        local head = assert(c:read_until("\r\n\r\n", 5))
        assert.are.equal(W.RESPONSE_101, W.strip_date(head))
        c:close()
    end)

    it("answers 400 to a key that is not 16 bytes of base64", function()
        local res, c = answer(W.request("/", { ["Sec-WebSocket-Key"] = "c2hvcnQ=" }))
        assert.are.equal(400, res.status)
        assert.are.equal("missing or invalid Sec-WebSocket-Key\n", res.body)
        c:close()
    end)

    it("answers 400 to a POST", function()
        local res, c = answer((W.request("/"):gsub("^GET", "POST")))
        assert.are.equal(400, res.status)
        assert.are.equal("a WebSocket handshake must be a GET\n", res.body)
        c:close()
    end)
end)
