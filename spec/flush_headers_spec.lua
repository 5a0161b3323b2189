-- res:flushHeaders() (Node's name) sends the head at once: a client sees the status and
-- fields before the first body byte is written, with chunked framing when there is no
-- Content-Length.
local S = require("spec.support.server")

local APP = S.app("flush_headers.lua")

describe("res:flushHeaders()", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = APP })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    local function state()
        return S.parse_kv(assert(srv:fetch(S.get("/state"))).body)
    end

    it("sends the head before the first write, chunked without a length", function()
        local c = srv:connect()
        local t0 = S.now()
        assert(c:send(S.get("/stream")))
        local head = assert(c:read_until("\r\n\r\n", 2))
        local waited = S.now() - t0
        assert.is_true(waited < 0.25, "the head came after " .. waited .. " s")
        local date = head:match("\r\nDate: ([^\r]+)\r\n")
        assert.are.equal("HTTP/1.1 200 OK\r\nX-Early: yes\r\nDate: " .. tostring(date)
            .. "\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\n", head)
        assert.is_nil(c:read_until("\r\n", 0.1), "body bytes came with the head")
        assert.are.equal("4\r\nlate\r\n0\r\n\r\n", assert(c:receive_exact(14, 2)))
        c:close()
        local st = state()
        assert.are.equal("true", st.flush)
        assert.are.equal("true", st.sent)
    end)

    it("keeps a Content-Length the handler set", function()
        local c = srv:connect()
        assert(c:send(S.get("/length")))
        local head = assert(c:read_until("\r\n\r\n", 0.25))
        assert.is_truthy(head:find("\r\nContent-Length: 4\r\n", 1, true), head)
        assert.is_falsy(head:find("Transfer-Encoding", 1, true), head)
        assert.are.equal("body", assert(c:receive_exact(4, 2)))
        c:close()
    end)

    it("does nothing the second time; the head is final after it", function()
        local res = assert(srv:fetch(S.get("/twice")))
        assert.is_truthy(res.body:match("^true|false|.*headers"), res.body)
        assert.is_nil(res:header("x-late"))
    end)

    it("returns true after finish and changes nothing", function()
        local res = assert(srv:fetch(S.get("/after-finish")))
        assert.are.equal("done", res.body)
        assert.are.equal("4", res:header("content-length"))
        assert.are.equal("true", S.wait_for(function() return state().after_finish end, 2, 0.05))
    end)

    it("a 204 head has no framing fields", function()
        local c = srv:connect()
        assert(c:send(S.get("/no-content")))
        local head = assert(c:read_until("\r\n\r\n", 0.09))
        assert.is_truthy(head:match("^HTTP/1.1 204 No Content\r\n"), head)
        assert.is_falsy(head:find("Transfer-Encoding", 1, true), head)
        assert.is_falsy(head:find("Content-Length", 1, true), head)
        -- the connection stays usable
        S.sleep(0.15)
        assert(c:send(S.get("/state")))
        assert.are.equal(200, assert(c:read_response()).status)
        c:close()
    end)

    it("returns false, 'closed' once the client has gone", function()
        local c = srv:connect()
        assert(c:send(S.get("/leave")))
        assert(c:read_until("\r\n\r\n", 0.25))
        c:close()
        local v = S.wait_for(function() return state().leave end, 3, 0.05)
        assert.are.equal("false,closed", v)
    end)
end)
