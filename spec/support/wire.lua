-- Helpers shared by the wire specs of issue 9 (chunk_ext_spec, trailers_spec, host_authority_spec,
-- bare_cr_spec): one server with spec/apps/wire.lua, raw requests, and the two outcomes.
--
-- A refusal is checked as everywhere (Server:refused): the exact status, Connection: close, nothing
-- after it (the request pipelined behind is never answered), then a FIN. Being served is a 200
-- with the expected body, then the request pipelined behind answered too, and the connection
-- still open.

local S = require("spec.support.server")
local assert = require("luassert") -- what busted gives the spec files as assert

local W = {}

W.H = "Host: 127.0.0.1\r\n"
W.NEXT = "GET /next HTTP/1.1\r\n" .. W.H .. "\r\n" -- a request pipelined behind
W.CHUNKED = "POST /body HTTP/1.1\r\n" .. W.H .. "Transfer-Encoding: chunked\r\n\r\n"

W.q = S.q
local q = W.q

-- The server of the wire specs (--max-header 1024: limits are reached with small requests).
function W.start()
    return S.start({ app = S.app("wire.lua"), args = { "--max-header", "1024",
        "--header-timeout", "3", "--body-timeout", "3", "--linger-idle", "0.5",
        "--linger-time", "2" } })
end

-- After each test: whatever happened, the server still serves.
function W.still_serving(srv)
    local status, body = srv:get_body("/ping", 3)
    assert.are.equal(200, status)
    assert.are.equal("ok", body)
end

-- Sends `raw` on a fresh connection and checks the refusal (Server:refused: also that the
-- Connection field has no keep-alive token).
function W.refused(srv, raw, status)
    return srv:refused(raw, status)
end

-- Sends `raw` (one request, then NEXT) and checks both answers: the first a 200 with body
-- `body` (a string, or a function that checks it), the second the pipelined GET's "ok", and
-- the connection still open. Returns the first response.
function W.served(srv, raw, body)
    local c = srv:connect()
    local sent = c:send(raw .. W.NEXT)
    local res, err, partial = c:read_response({ timeout = 3 })
    local nxt, nerr = c:read_response({ timeout = 3 })
    local open = c:is_open(0.05)
    c:close()
    assert.is_truthy(sent, "could not send " .. q(raw))
    assert.is_truthy(res, "no response to " .. q(raw) .. ": " .. tostring(err) .. " got "
        .. q(partial and partial.raw or ""))
    assert.are.equal(200, res.status, "for " .. q(raw) .. " got " .. q(res.raw))
    if type(body) == "function" then
        body(res.body)
    else
        assert.are.equal(body, res.body, "for " .. q(raw))
    end
    assert.is_false(res:has_token("Connection", "close"), res.raw_head)
    assert.is_truthy(nxt, "the pipelined request after " .. q(raw) .. ": " .. tostring(nerr))
    assert.are.equal(200, nxt.status, nxt.raw)
    assert.are.equal("ok", nxt.body)
    assert.is_true(open, "closed after " .. q(raw))
    return res
end

return W
