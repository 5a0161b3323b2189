-- lunaserve.tcp(): a socket closed while a reader and a writer wait on it ends both waits
-- with nil, "closed", the reader's first, and nothing touches the socket after the reader's
-- code has run, which may let it be collected. Here the reader is a reload's load (it fails on
-- "closed"), the writer a call of a timer that load started; the failed load's timers are
-- dropped, and the release of another call's socket runs code that collects garbage before
-- the writer's turn (under ASan this was a heap-use-after-free of the socket). The stop
-- closes the socket (the server drains while the load waits).

local S = require("spec.support.server")
local U = require("spec.support.upstream")

local V1 = [[
return function(req, res) res:finish("v1") end
]]

local V2 = [[
local lunaserve = require("lunaserve")
local shared = {}
-- W (the oldest call): reads Z, then runs a full collection
assert(lunaserve.timer.at(0, function()
    while not shared.Z do lunaserve.sleep(5) end
    local _, e = shared.Z:receive()
    collectgarbage()
    io.stderr:write("W: ", tostring(e), ", collected\n")
end))
-- V: connects Z (so V owns it), then sleeps
assert(lunaserve.timer.at(0.01, function()
    local z = lunaserve.tcp()
    z:settimeout(10000)
    assert(z:connect("127.0.0.1", PORT))
    assert(z:send("SILENT\n"))
    shared.Z = z
    lunaserve.sleep(60000)
end))
lunaserve.sleep(50)
local X = lunaserve.tcp()
X:settimeouts(5000, 60000, 60000)
assert(X:connect("127.0.0.1", PORT))
assert(X:send("NOREAD\n"))
-- T (the newest call): writes to X until the kernel's buffers are full, and waits
assert(lunaserve.timer.at(0, function()
    local n, e = X:send(string.rep("x", 16 * 1024 * 1024))
    io.stderr:write("T: ", tostring(n), " ", tostring(e), "\n")
end))
lunaserve.sleep(50)
local _, e = X:receive()
error("the load's socket: " .. tostring(e))
]]

describe("a socket closed under a waiting reader and writer", function()
    local up, dir, srv

    lazy_setup(function()
        up = U.start()
        dir = S.mktempdir()
    end)

    lazy_teardown(function()
        if srv and srv:alive() then
            srv:kill()
        end
        if up then
            up:stop()
        end
        os.execute("rm -rf " .. S.shquote(dir))
    end)

    it("ends both waits with 'closed' without touching it after the reader's code", function()
        local app = dir .. "/app.lua"
        S.write_file(app, V1)
        srv = S.start({ app = app })
        S.write_file_atomic(app, (V2:gsub("PORT", tostring(up.port))))
        srv:signal("HUP")
        S.sleep(0.5) -- the new code's load waits in X:receive(), T in X:send()
        assert.are.equal("v1", select(2, srv:get_body("/")))
        srv:signal("TERM")
        srv:assert_clean_exit(5)
        local log = srv:log()
        assert.is_truthy(log:find("reload failed, still serving the previous code: " .. app
            .. ":31: the load's socket: closed", 1, true), log)
        assert.is_truthy(log:find("W: closed, collected\n", 1, true), log)
        assert.is_truthy(log:find("T: nil closed\n", 1, true), log)
    end)
end)
