-- A handler sets its own request's body limit (req:setMaxBody), above or below --max-body,
-- before it reads: a body over it gets 413 and Connection: close, and the handler's read
-- returns nil, "too large" (not "aborted", which means the client left).

local S = require("spec.support.server")

local APP = S.app("max_body.lua")

local function post(target, body, extra)
    return "POST " .. target .. " HTTP/1.1\r\nHost: x\r\n" .. (extra or "")
        .. "Content-Length: " .. #body .. "\r\n\r\n" .. body
end

local function post_chunked(target, total, piece)
    local pieces = {}
    for i = 1, total // piece do
        pieces[i] = string.rep("c", piece)
    end
    return "POST " .. target .. " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        .. S.chunked(pieces)
end

describe("req:setMaxBody", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = APP, args = { "--max-body", "1k" } })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    local function last()
        local res = assert(srv:fetch(S.get("/last")))
        return res.body
    end

    local function ok(raw, body)
        local res = assert(srv:fetch(raw))
        assert.are.equal(200, res.status, res.raw)
        assert.are.equal(body, res.body)
    end

    it("leaves --max-body in force for a handler that sets nothing", function()
        srv:refused(post("/default", string.rep("d", 1025)), 413)
        assert.are.equal("nil too large aborted=false", last())
        ok(post("/default", string.rep("d", 1024)), "body 1024")
    end)

    it("raises the limit above --max-body for a Content-Length body", function()
        ok(post("/raise/4096", string.rep("r", 4096)), "body 4096")
        assert.are.equal("body 4096", last())
    end)

    it("raises the limit above --max-body for a chunked body", function()
        ok(post_chunked("/raise/4096", 4000, 500), "body 4000")
    end)

    it("answers 413 for a Content-Length over the raised limit, and tells the handler",
        function()
            srv:refused(post("/raise/4096", string.rep("r", 4097)), 413)
            assert.are.equal("nil (setMaxBody) too large aborted=false", last())
        end)

    it("answers 413 for a chunked body growing over the raised limit, and tells the handler",
        function()
            srv:refused(post_chunked("/raise/4096", 6000, 1000), 413)
            assert.are.equal("nil too large aborted=false", last())
        end)

    it("lowers the limit below --max-body", function()
        srv:refused(post("/lower/100", string.rep("l", 101)), 413)
        assert.are.equal("nil (setMaxBody) too large aborted=false", last())
        ok(post("/lower/100", string.rep("l", 100)), "body 100")
    end)

    it("tells a handler reading chunk by chunk \"too large\" for a chunked body over it",
        function()
            srv:refused(post_chunked("/read/100", 300, 50), 413)
            assert.are.equal("nil too large aborted=false", last())
            ok(post_chunked("/read/100", 100, 50), "read 100")
        end)

    it("takes a size with a suffix, as --max-body does", function()
        ok(post("/size/2k", string.rep("s", 2048)), "body 2048")
        srv:refused(post("/size/2k", string.rep("s", 2049)), 413)
    end)

    it("raises an error for a limit that is not a size", function()
        for _, target in ipairs({ "/size/lots", "/bad" }) do
            local res = assert(srv:fetch(post(target, "x")))
            assert.are.equal(500, res.status, target)
        end
    end)

    it("does not ask for a body over the limit with 100 Continue: 413 comes first", function()
        local c = srv:connect()
        assert(c:send("POST /raise/4096 HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
            .. "Content-Length: 5000\r\n\r\n"))
        local head = assert(c:read_until("\r\n\r\n", 3))
        assert.are.equal("HTTP/1.1 413 ", head:sub(1, 13))
        c:close()
    end)

    it("asks with 100 Continue for a body under a raised limit", function()
        local c = srv:connect()
        assert(c:send("POST /raise/4096 HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
            .. "Content-Length: 3000\r\n\r\n"))
        assert.are.equal("HTTP/1.1 100 Continue\r\n\r\n", assert(c:read_until("\r\n\r\n", 3)))
        assert(c:send(string.rep("e", 3000)))
        local res = assert(c:read_response({ timeout = 3 }))
        assert.are.equal(200, res.status)
        assert.are.equal("body 3000", res.body)
        c:close()
    end)

    it("answers 413 when the limit is lowered below a body that has arrived", function()
        srv:refused(post("/late/100", string.rep("a", 200)), 413)
        assert.are.equal("late 200 nil too large", last())
    end)

    it("still says \"aborted\" when the client leaves mid-body", function()
        local c = srv:connect()
        assert(c:send("POST /raise/4096 HTTP/1.1\r\nHost: x\r\nContent-Length: 4000\r\n\r\n"
            .. string.rep("x", 100)))
        S.sleep(0.2)
        c:close()
        assert(S.wait_for(function() return last() ~= "nil too large aborted=false" end, 3))
        assert.are.equal("nil aborted aborted=true", last())
    end)
end)
