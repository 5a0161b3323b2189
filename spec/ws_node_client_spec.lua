-- A real client, Node's `ws` (Debian's node-ws): text and binary echo (a 64-bit length),
-- its ping answered, and its close handshake completed with the code echoed.
local S = require("spec.support.server")
local W = require("spec.support.ws")

local NODE_PATH = "/usr/share/nodejs"

describe("WebSocket with Node's ws", function()
    local srv

    lazy_setup(function()
        local ok = os.execute("NODE_PATH=" .. NODE_PATH .. " node -e 'require(\"ws\")' 2>/dev/null")
        assert(ok, "node cannot load ws from " .. NODE_PATH .. ": install Debian's node-ws")
        srv = S.start({ app = W.APP })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    it("echoes, answers its ping, and completes its close", function()
        local script = S.root .. "/spec/support/ws_client.js"
        local cmd = "NODE_PATH=" .. NODE_PATH .. " timeout -s KILL 30 node " .. S.shquote(script)
            .. " " .. S.shquote("ws://127.0.0.1:" .. srv.port .. "/?max_payload=100000") .. " 2>&1"
        local p = assert(io.popen(cmd))
        local out = p:read("a")
        p:close()
        assert.are.equal("text héllo from node\nbinary 70000 0\npong nd\nclose 1000 ''\n", out)
    end)
end)
