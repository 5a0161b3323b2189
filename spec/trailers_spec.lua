-- Trailer fields (issue 9, RFC 9110 6.5): kept out of req.headers and req.rawHeaders, given
-- as req.trailers once the body has ended, each trailer section bounded by --max-header on its
-- own, invalid names refused, and the request pipelined behind served intact. Every case fails
-- on d473277 (trailers were merged into req.headers; a trailer "Connection: close" made llhttp
-- swallow the next request).

local W = require("spec.support.wire")
local cjson = require("cjson")

local H, NEXT, q, refused, served = W.H, W.NEXT, W.q, W.refused, W.served

describe("trailer fields (RFC 9110 6.5)", function()
    local srv

    lazy_setup(function()
        srv = W.start()
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    after_each(function()
        W.still_serving(srv)
    end)

    local T = "POST /trailers HTTP/1.1\r\n" .. H .. "X-Head: h\r\n"
        .. "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"

    it("keeps them out of req.headers and req.rawHeaders and gives them as req.trailers",
        function()
            served(srv, T .. "0\r\nX-Checksum: abc\r\nX-Rep: 1\r\nx-rep: 2\r\n"
                .. "Host: trailer.example\r\n\r\n", function(body)
                    local j = cjson.decode(body)
                    assert.are.equal("hello", j.body)
                    assert.are.same({ host = "127.0.0.1", ["x-head"] = "h",
                        ["transfer-encoding"] = "chunked" }, j.headers)
                    assert.are.same({ "Host", "127.0.0.1", "X-Head", "h",
                        "Transfer-Encoding", "chunked" }, j.rawHeaders)
                    assert.are.same({ ["x-checksum"] = "abc", ["x-rep"] = "1, 2",
                        host = "trailer.example" }, j.trailers)
                    assert.are.equal("table empty", j.before,
                        "req.trailers before the body ended")
                    assert.is_true(j.same, "req.trailers is not the same table twice")
                end)
        end)

    it("gives an empty req.trailers for a chunked body without trailers", function()
        served(srv, T .. "0\r\n\r\n", function(body)
            local j = cjson.decode(body)
            assert.are.same({}, j.trailers)
            assert.are.equal("hello", j.body)
        end)
    end)

    it("serves the next pipelined request intact, whatever the trailer fields say", function()
        -- Connection: close in the trailer section must not end the connection (llhttp
        -- 8.1 took it as its own keep-alive answer and then swallowed the next request);
        -- Content-Length and Upgrade there frame nothing.
        for _, tr in ipairs({ "X-T: 1\r\n", "Connection: close\r\n", "Content-Length: 5\r\n",
            "Connection: upgrade\r\nUpgrade: websocket\r\n" }) do
            served(srv, T .. "0\r\n" .. tr .. "\r\n", function(body)
                local j = cjson.decode(body)
                assert.are.equal("hello", j.body)
                assert.is_nil(j.headers.connection, q(tr))
                assert.is_truthy(next(j.trailers), q(tr))
            end)
        end
    end)

    it("serves two pipelined chunked requests with trailers, then a GET", function()
        local c = srv:connect()
        finally(function() c:close() end)
        assert(c:send(T .. "0\r\nX-A: 1\r\n\r\n" .. T .. "0\r\nX-B: 2\r\n\r\n" .. NEXT))
        local list = assert(c:read_responses(3, { timeout = 3 }))
        assert.are.same({ ["x-a"] = "1" }, cjson.decode(list[1].body).trailers)
        assert.are.same({ ["x-b"] = "2" }, cjson.decode(list[2].body).trailers)
        assert.is_nil(cjson.decode(list[2].body).headers["x-a"])
        assert.are.equal("ok", list[3].body)
    end)

    it("answers 400 and closes for a trailer field name that is not a token", function()
        for _, tr in ipairs({ "A B: c", "A : c", ": c", "A\1: c" }) do
            refused(srv, T .. "0\r\n" .. tr .. "\r\n\r\n" .. NEXT, 400)
        end
    end)

    it("bounds the trailer section by --max-header (1024) on its own: 431", function()
        -- a head and a trailer section of 700 bytes each are served (not 1400 bytes
        -- against one budget); a trailer section over the limit is a 431
        local pad = string.rep("p", 700)
        served(srv, "POST /trailers HTTP/1.1\r\n" .. H .. "X-Pad: " .. pad .. "\r\n"
            .. "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-Pad: " .. pad
            .. "\r\n\r\n", function(body)
                assert.are.equal(pad, cjson.decode(body).trailers["x-pad"])
            end)
        refused(srv, T .. "0\r\nX-Pad: " .. string.rep("p", 1100) .. "\r\n\r\n" .. NEXT, 431)
        local many = {}
        for i = 1, 400 do -- 1600 bytes of short field lines
            many[i] = "X:\r\n"
        end
        refused(srv, T .. "0\r\n" .. table.concat(many) .. "\r\n" .. NEXT, 431)
    end)
end)
