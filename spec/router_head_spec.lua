-- lunaserve.router: HEAD is served by the GET route (the server sends its head and no body),
-- unless the path has a HEAD route of its own.

local S = require("spec.support.server")

describe("router HEAD", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = S.app("router_basic.lua") })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    it("runs the GET route for HEAD and puts no body on the wire", function()
        local c = srv:connect()
        -- a GET right behind: its status line must come next, not the HEAD's body
        assert(c:send(S.request("HEAD", "/sized") .. S.get("/plain")))
        local head = assert(c:read_response({ head = true }))
        assert.are.equal(200, head.status)
        assert.are.equal("HEAD", head:header("X-Method-Seen"))
        assert.are.equal("12", head:header("Content-Length"))
        local next_res = assert(c:read_response())
        assert.are.equal(200, next_res.status, "bytes after the HEAD response: " .. next_res.raw)
        assert.are.equal("plain", require("cjson").decode(next_res.body).route)
        c:close()
    end)

    it("uses a HEAD route where there is one", function()
        local c = srv:connect()
        assert(c:send(S.request("HEAD", "/own-head") .. S.get("/own-head")))
        local head = assert(c:read_response({ head = true }))
        assert.are.equal(200, head.status)
        assert.are.equal("head", head:header("X-Own"))
        local get = assert(c:read_response())
        assert.are.equal("get body", get.body)
        assert.is_nil(get:header("X-Own"))
        c:close()
    end)

    it("answers HEAD on a path without GET with 405 and no body", function()
        local c = srv:connect()
        assert(c:send(S.request("HEAD", "/items") .. S.get("/plain")))
        local head = assert(c:read_response({ head = true }))
        assert.are.equal(405, head.status)
        assert.are.equal("POST", head:header("Allow"))
        local next_res = assert(c:read_response())
        assert.are.equal(200, next_res.status, "bytes after the HEAD response: " .. next_res.raw)
        c:close()
    end)
end)
