-- A reload whose new code waits while it loads, and whose own timer (started by that load)
-- ends the wait: the timer's call closes the socket the load reads, so the load fails right
-- inside the timer's call. The failed code is dropped (its timers cancelled) while that call
-- is still running: the call goes on to its end, the old code keeps serving, and the worker
-- exits cleanly (under ASan: no use of the call's freed memory).

local S = require("spec.support.server")
local U = require("spec.support.upstream")

local V1 = [[
return function(req, res) res:finish("v1") end
]]

local V2 = [[
local lunaserve = require("lunaserve")
local sock = lunaserve.tcp()
sock:settimeout(5000)
assert(sock:connect("127.0.0.1", PORT))
assert(sock:send("SILENT\n"))
assert(lunaserve.timer.at(0.05, function()
    sock:close()
    local t = {}
    for i = 1, 100 do t[i] = tostring(i) end
    io.stderr:write("the timer's call went on: ", #table.concat(t), "\n")
end))
local data, err = sock:receive()
error("the load's socket: " .. tostring(err))
]]

describe("a reload's load failed by its own timer's call", function()
    local up, dir, srv

    lazy_setup(function()
        up = U.start()
        dir = S.mktempdir()
    end)

    lazy_teardown(function()
        if srv then
            srv:stop()
        end
        if up then
            up:stop()
        end
        os.execute("rm -rf " .. S.shquote(dir))
    end)

    it("lets the call finish, keeps the old code serving, and exits cleanly", function()
        local app = dir .. "/app.lua"
        S.write_file(app, V1)
        srv = S.start({ app = app })
        S.write_file_atomic(app, (V2:gsub("PORT", tostring(up.port))))
        srv:signal("HUP")
        assert.is_true(srv:wait_log("reload failed, still serving the previous code: "
            .. app .. ":13: the load's socket: closed", 3), srv:log())
        assert.is_true(srv:wait_log("the timer's call went on: 192", 3), srv:log())
        local status, body = srv:get_body("/")
        assert.are.equal(200, status, tostring(body) .. "\n" .. srv:log())
        assert.are.equal("v1", body)
        srv:stop_ok()
    end)
end)
