-- permessage-deflate with real clients that offer it by default: Python's websockets and
-- Node's ws negotiate it with apps/ws-echo?deflate=1, and large, small and incompressible
-- messages come back exactly both ways.
local S = require("spec.support.server")
local W = require("spec.support.ws")

local function run(cmd)
    local p = assert(io.popen(cmd .. " 2>&1"))
    local out = p:read("a")
    p:close()
    return out
end

describe("WebSocket permessage-deflate with real clients", function()
    local srv, url

    lazy_setup(function()
        srv = S.start({ app = W.APP })
        url = "ws://127.0.0.1:" .. srv.port .. "/?deflate=1&max_payload=200000"
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    it("Python's websockets", function()
        local out = run("timeout -s KILL 30 /usr/bin/python3 "
            .. S.shquote(S.root .. "/spec/support/ws_deflate_client.py") .. " " .. S.shquote(url))
        assert.are.equal("extensions ['permessage-deflate']\nstr 20010 True\nstr 5 True\n"
            .. "bytes 100000 True\nclose 1000\n", out)
    end)

    it("Node's ws", function()
        local out = run("NODE_PATH=/usr/share/nodejs timeout -s KILL 30 node "
            .. S.shquote(S.root .. "/spec/support/ws_deflate_client.js") .. " " .. S.shquote(url))
        assert.are.equal("extensions permessage-deflate\ntext 20010 true\ntext 5 true\n"
            .. "binary 100000 true\nclose 1000\n", out)
    end)
end)
