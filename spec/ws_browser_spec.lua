-- Headless Chromium (Debian's chromium) opens apps/ws-echo's page, whose script opens a
-- WebSocket, sends a message, gets its echo, and closes with 1000.
local S = require("spec.support.server")
local W = require("spec.support.ws")
local B = require("spec.support.browser")

describe("WebSocket in a browser", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = W.APP })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    it("echoes the page's message, and the close completes with 1000", function()
        local r = B.run({
            { open = "a", url = "http://127.0.0.1:" .. srv.port .. "/" },
            { wait = "a", js = "window.wsClose !== undefined", timeout = 10 },
            { eval = "a", js = "window.wsEcho" },
            { eval = "a", js = "window.wsClose" },
        })
        assert.are.equal("hello from the browser é", r[2])
        assert.are.equal(1000, r[3])
    end)

    it("negotiates permessage-deflate and echoes a long message both ways compressed", function()
        local r = B.run({
            { open = "a", url = "http://127.0.0.1:" .. srv.port .. "/?deflate=1&repeat=200" },
            { wait = "a", js = "window.wsClose !== undefined", timeout = 10 },
            { eval = "a", js = "window.wsExtensions" },
            { eval = "a", js = "window.wsEcho === 'hello from the browser \\u00e9'.repeat(200)" },
            { eval = "a", js = "window.wsClose" },
        })
        assert.are.equal("permessage-deflate; server_no_context_takeover; client_no_context_takeover",
            r[2])
        assert.is_true(r[3])
        assert.are.equal(1000, r[4])
    end)
end)
