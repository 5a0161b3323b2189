-- A real client, undici's WebSocket (Debian's node-undici): the WHATWG API browsers have, a
-- subprotocol chosen from its offer, no extension (permessage-deflate is not negotiated), text
-- and binary echo, and a clean close.
local S = require("spec.support.server")
local W = require("spec.support.ws")

local NODE_PATH = "/usr/share/nodejs"

describe("WebSocket with undici", function()
    local srv

    lazy_setup(function()
        local ok = os.execute("NODE_PATH=" .. NODE_PATH
            .. " node -e 'if (!require(\"undici\").WebSocket) process.exit(1)' 2>/dev/null")
        assert(ok, "node cannot load undici's WebSocket from " .. NODE_PATH
            .. ": install Debian's node-undici")
        srv = S.start({ app = W.APP })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    it("opens with a chosen subprotocol, echoes, and closes cleanly", function()
        local script = S.root .. "/spec/support/ws_undici_client.js"
        local cmd = "NODE_PATH=" .. NODE_PATH .. " timeout -s KILL 30 node --no-warnings "
            .. S.shquote(script)
            .. " " .. S.shquote("ws://127.0.0.1:" .. srv.port .. "/?protocols=superchat,chat&max_payload=100000")
            .. " 2>&1"
        local p = assert(io.popen(cmd))
        local out = p:read("a")
        p:close()
        assert.are.equal('open protocol=chat extensions=""\ntext héllo from undici\n'
            .. "binary 70000 true\nclose 1000 clean=true\n", out)
    end)
end)
