-- Pipelining (RFC 9112 section 9.3.2; docs/ARCHITECTURE.md, the connection contract, point 2):
-- requests sent before their answers are answered in order, whatever their bodies and however
-- they arrive; an answer is not held back behind a slow request that follows it.

local S = require("spec.support.server")

local LIFECYCLE = S.app("lifecycle.lua")
local ECHO = S.root .. "/apps/echo"

describe("pipelining", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = LIFECYCLE })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    it("answers 10 requests sent in one write, in order", function()
        local reqs = {}
        for i = 1, 10 do
            reqs[#reqs + 1] = S.get("/req-info?i=" .. i)
        end
        local c = srv:connect()
        assert(c:send(table.concat(reqs)))
        local list = assert(c:read_responses(10))
        for i = 1, 10 do
            assert.are.equal(200, list[i].status)
            assert.are.equal(tostring(i), S.parse_kv(list[i].body).query:match("i=(%d+)"))
        end
        assert.is_true(c:is_open(0.1))
        c:close()
    end)

    it("keeps order when an early pipelined request is slow", function()
        local echo = S.start({ app = ECHO })
        finally(function() echo:stop_ok() end)
        local reqs = { S.get("/slow/200"), S.get("/echo?i=2"), S.get("/slow/50"),
            S.get("/echo?i=4"), S.get("/bytes/5"), S.get("/stream/2"),
            S.request("POST", "/echo?i=7", nil, "body7"), S.get("/status/204"),
            S.get("/echo?i=9"), S.get("/echo?i=10", { { "Connection", "close" } }) }
        local c = echo:connect()
        assert(c:send(table.concat(reqs)))
        local list = assert(c:read_responses(10))
        local cjson = require("cjson")
        assert.are.equal("slow", list[1].body)
        assert.are.equal("i=2", cjson.decode(list[2].body).query)
        assert.are.equal("slow", list[3].body)
        assert.are.equal("i=4", cjson.decode(list[4].body).query)
        assert.are.equal("xxxxx", list[5].body)
        assert.are.equal("chunk 1\nchunk 2\n", list[6].body)
        assert.are.equal("body7", cjson.decode(list[7].body).body)
        assert.are.equal(204, list[8].status)
        assert.are.equal("i=9", cjson.decode(list[9].body).query)
        assert.are.equal("i=10", cjson.decode(list[10].body).query)
        assert.is_true(list[10]:has_token("Connection", "close"))
        local extra, kind = c:read_until_close(3)
        assert.are.equal("", extra)
        assert.are.equal("fin", kind)
        c:close()
    end)

    it("sends the answer to a pipelined request at once when the next one is slow", function()
        -- answers to requests that arrive together are held back (TCP_CORK) only until the
        -- server's work on them is done: never while a handler waits
        local echo = S.start({ app = ECHO })
        finally(function() echo:stop_ok() end)
        local c = echo:connect()
        local t0 = S.now()
        assert(c:send(S.get("/echo?i=1") .. S.get("/bytes/3") .. S.get("/slow/700")
            .. S.get("/echo?i=4")))
        local list = assert(c:read_responses(2, { timeout = 3 }))
        local t_first = S.now() - t0
        assert.are.equal("xxx", list[2].body)
        assert.is_true(t_first < 0.15, "the answers before the slow request took "
            .. t_first .. " s (held back behind it)")
        local rest = assert(c:read_responses(2, { timeout = 3 }))
        assert.are.equal("slow", rest[1].body)
        assert.is_true(S.now() - t0 >= 0.65, "the slow request was answered early")
        assert.are.equal("i=4", require("cjson").decode(rest[2].body).query)
        c:close()
    end)

    it("answers pipelined requests with bodies, including chunked ones, in order",
        function()
            local c = srv:connect()
            local raw = S.request("POST", "/body", nil, "first")
                .. "POST /body HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                .. "Transfer-Encoding: chunked\r\n\r\n" .. S.chunked({ "sec", "ond" })
                .. S.request("POST", "/body", nil, "third")
            assert(c:send(raw))
            local list = assert(c:read_responses(3))
            assert.are.equal("first", list[1].body)
            assert.are.equal("second", list[2].body)
            assert.are.equal("third", list[3].body)
            c:close()
        end)

    it("answers requests pipelined one byte at a time", function()
        local c = srv:connect()
        local raw = S.get("/req-info?i=1") .. S.get("/req-info?i=2")
        assert(c:send_slowly(raw, 1, 0))
        local list = assert(c:read_responses(2))
        assert.are.equal("i=1", S.parse_kv(list[1].body).query)
        assert.are.equal("i=2", S.parse_kv(list[2].body).query)
        c:close()
    end)
end)
