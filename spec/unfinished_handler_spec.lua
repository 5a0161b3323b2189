-- A handler that returns without finishing its response, and leaves nothing that could still
-- finish it (no reference to res, no body or drain listener still due), used to leave its
-- client waiting forever, silently. Once the response is unreachable, the server answers as
-- for a handler error (500, or closes the connection if the head is out) and logs "handler
-- returned without finishing" with the request line. It notices soon even on an idle server:
-- a full collection shortly after such a handler returns, at most about one a second.

local S = require("spec.support.server")

local APP = S.app("unfinished.lua")

local function count(s, text)
    local n, i = 0, 1
    while true do
        local _, e = s:find(text, i, true)
        if not e then
            return n
        end
        n, i = n + 1, e + 1
    end
end

-- The head's field lines but Date, as "name: value" lines.
local function fields_but_date(res)
    local out = {}
    for _, h in ipairs(res.header_list) do
        if h[1]:lower() ~= "date" then
            out[#out + 1] = h[1] .. ": " .. h[2]
        end
    end
    return table.concat(out, "\n")
end

-- Sends `target` then GET /ping on one connection; returns both responses (the second nil
-- if the first said close, after checking that the connection then ended with a FIN).
local function with_next(srv, target)
    local c = srv:connect()
    assert(c:send(S.get(target) .. S.get("/ping")))
    local first, err, partial = c:read_response({ timeout = 4 })
    assert.is_truthy(first, tostring(err) .. " " .. string.format("%q", partial and partial.raw or ""))
    local second
    if first:has_token("Connection", "close") then
        local extra, kind = c:read_until_close(3)
        assert.are.equal("", extra)
        assert.are.equal("fin", kind)
    else
        second = assert(c:read_response({ timeout = 3 }))
    end
    c:close()
    return first, second
end

describe("a handler that returns without finishing", function()
    local srv

    before_each(function()
        srv = S.start({ app = APP })
    end)

    after_each(function()
        if srv then
            srv:stop_ok()
        end
    end)

    it("gets the error path's 500 once its response is unreachable, and the log line", function()
        local ref, ref_next = with_next(srv, "/error")
        assert.are.equal("HTTP/1.1 500 Internal Server Error", ref.status_line)
        local t0 = S.now()
        local res, res_next = with_next(srv, "/unfinished?x=1")
        local waited = S.now() - t0
        assert.are.equal("HTTP/1.1 500 Internal Server Error", res.status_line)
        assert.are.equal(fields_but_date(ref), fields_but_date(res))
        assert.are.equal(ref.body, res.body)
        -- the connection goes on (or ends) exactly as after a handler error
        assert.are.equal(ref_next == nil, res_next == nil)
        if res_next then
            assert.are.equal("pong", res_next.body)
        end
        assert.is_true(waited < 2, "answered after " .. waited .. " s")
        local line = "handler returned without finishing for GET /unfinished?x=1 (nothing "
            .. "refers to its response any more)"
        assert.is_true(srv:wait_log(line, 2), srv:log())
        assert.are.equal(1, count(srv:log(), "handler returned without finishing"), srv:log())
    end)

    it("gets a 500 when it returns unfinished after a wait, with Connection: close if asked",
        function()
            local c = srv:connect()
            assert(c:send(S.get("/unfinished-after-sleep", { Connection = "close" })))
            local res = assert(c:read_response({ timeout = 4 }))
            assert.are.equal("HTTP/1.1 500 Internal Server Error", res.status_line)
            assert.is_true(res:has_token("Connection", "close"), res.raw_head)
            local extra, kind = c:read_until_close(3)
            c:close()
            assert.are.equal("", extra)
            assert.are.equal("fin", kind)
            assert.is_true(srv:wait_log("handler returned without finishing for GET "
                .. "/unfinished-after-sleep (nothing refers to its response any more)", 2),
                srv:log())
        end)

    it("has its connection closed when the head was already out", function()
        local c = srv:connect()
        assert(c:send(S.get("/unfinished-after-write")))
        local res, err, partial = c:read_response({ timeout = 4 })
        c:close()
        assert.is_nil(res, "the response was completed")
        assert.is_truthy(err:find("closed", 1, true), err)
        assert.are.equal(200, partial.status)
        assert.are.equal("partial", partial.body)
        assert.is_true(srv:wait_log("handler returned without finishing for GET "
            .. "/unfinished-after-write (nothing refers to its response any more)", 2), srv:log())
        assert.are.equal("pong", assert(srv:fetch(S.get("/ping"))).body)
    end)

    it("gets a 500 when its 'end' listener has run without finishing", function()
        local c = srv:connect()
        assert(c:send("POST /end-without-finish HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            .. "Content-Length: 5\r\n\r\n"))
        S.sleep(0.3) -- the body is still due: the response is kept meanwhile
        assert.are.equal(0, count(srv:log(), "without finishing"), srv:log())
        assert(c:send("hello"))
        local res = assert(c:read_response({ timeout = 4 }))
        c:close()
        assert.are.equal("HTTP/1.1 500 Internal Server Error", res.status_line)
        assert.is_true(srv:wait_log("handler returned without finishing for POST "
            .. "/end-without-finish (nothing refers to its response any more)", 2), srv:log())
    end)

    it("is found by at most one forced collection a second", function()
        local c1, c2 = srv:connect(), srv:connect()
        local t0 = S.now()
        assert(c1:send(S.get("/unfinished")))
        local r1 = assert(c1:read_response({ timeout = 4 }))
        local t1 = S.now() - t0
        assert(c2:send(S.get("/unfinished")))
        local r2 = assert(c2:read_response({ timeout = 4 }))
        local t2 = S.now() - t0
        c1:close()
        c2:close()
        assert.are.equal(500, r1.status)
        assert.are.equal(500, r2.status)
        -- the first soon; the second waits for the next collection a second after the first
        assert.is_true(t1 < 0.9, "first answered after " .. t1 .. " s")
        assert.is_true(t2 >= 0.9, "second answered after " .. t2 .. " s")
        assert.is_true(t2 < 3, "second answered after " .. t2 .. " s")
    end)
end)
