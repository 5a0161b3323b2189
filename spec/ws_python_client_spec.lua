-- A real client, Python's `websockets` (Debian's python3-websockets): text and binary echo,
-- its ping answered, and its close handshake completed with the code echoed.
local S = require("spec.support.server")
local W = require("spec.support.ws")

local PY = "/usr/bin/python3"

describe("WebSocket with Python's websockets", function()
    local srv

    lazy_setup(function()
        local ok = os.execute(PY .. " -c 'import websockets' 2>/dev/null")
        assert(ok, PY .. " cannot import websockets: install Debian's python3-websockets")
        srv = S.start({ app = W.APP })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    it("echoes, answers its ping, and completes its close", function()
        local script = S.root .. "/spec/support/ws_client.py"
        local cmd = "timeout -s KILL 30 " .. PY .. " " .. S.shquote(script) .. " "
            .. S.shquote("ws://127.0.0.1:" .. srv.port .. "/?max_payload=100000") .. " 2>&1"
        local p = assert(io.popen(cmd))
        local out = p:read("a")
        p:close()
        assert.are.equal("text 'héllo from python'\nbinary 76800 True\npong ok\n"
            .. "close 1000 ''\n", out)
    end)
end)
