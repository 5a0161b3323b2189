-- Hot reload and WebSockets (README, "WebSocket"): a live WebSocket keeps running the code it
-- started with until it closes; new WebSockets get the new code. The old code's state lives
-- until its last WebSocket ends.
local S = require("spec.support.server")
local W = require("spec.support.ws")

local function app_source(version)
    return string.format([[
local websocket = require("lunaserve.websocket")
local VERSION = %q
return function(req, res)
    if req.path ~= "/ws" then
        res:finish(VERSION)
        return
    end
    local ws = assert(websocket.upgrade(req, res))
    while true do
        local data, typ = ws:recv_frame()
        if not data or typ == "close" then
            return
        end
        ws:send_text(VERSION .. ":" .. data)
    end
end
]], version)
end

local function echo(c, text, want)
    assert(c:send(W.frame(W.TEXT, text)))
    local frame = W.server_frame(W.TEXT, want)
    assert.are.equal(frame, c:receive_exact(#frame, 5))
end

describe("WebSocket across a reload", function()
    local dir, srv

    before_each(function()
        dir = S.mktempdir()
        S.write_file(dir .. "/app.lua", app_source("A"))
        srv = S.start({ app = dir .. "/app.lua" })
    end)

    after_each(function()
        if srv then
            srv:stop_ok()
        end
        os.execute("rm -rf " .. S.shquote(dir))
    end)

    it("keeps a live WebSocket on its code; a new one gets the new code", function()
        local old = W.open(srv, "/ws")
        echo(old, "x", "A:x")
        S.write_file_atomic(dir .. "/app.lua", app_source("B"))
        srv:signal("HUP")
        assert.is_truthy(S.wait_for(function()
            local status, body = srv:get_body("/", 3)
            return status == 200 and body == "B"
        end, 5), "the reload did not take")
        S.sleep(1.5) -- the old code's state is collected once nothing holds it: not while a
        -- WebSocket's handler runs in it
        echo(old, "y", "A:y")
        local new = W.open(srv, "/ws")
        echo(new, "z", "B:z")
        echo(old, "still", "A:still")
        -- the old WebSocket still closes cleanly
        assert(old:send(W.frame(W.CLOSE, W.close_payload(1000))))
        local want = W.server_frame(W.CLOSE, W.close_payload(1000))
        assert.are.equal(want, old:receive_exact(#want, 5))
        local rest, kind = old:read_until_close(5)
        assert.are.equal("", rest)
        assert.are.equal("fin", kind)
        old:close()
        echo(new, "after", "B:after")
        new:close()
    end)
end)
