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
end)
