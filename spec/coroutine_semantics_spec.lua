-- Coroutines in a handler keep standard Lua's semantics while waits happen between their
-- yields: ordinary yields, statuses, isyieldable, close, errors (with wrap's position in
-- front). The handler's own coroutine is the top level, like a script's main thread. And a
-- coroutine suspended in a wait belongs to that wait: other code cannot resume or close it.

local S = require("spec.support.server")

local APP = S.app("coroutine_semantics.lua")

describe("coroutines in a handler", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = APP })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    it("behave as in plain Lua, line for line, with real waits between their yields", function()
        -- the same script in plain Lua (this process), where its waits do nothing
        local script = dofile(S.app("coroutine_script.lua"))
        local waits = 0
        local lines = script(function()
            waits = waits + 1
        end)
        local expected = table.concat(lines, "\n") .. "\nwaits=" .. waits .. "\n"
        assert.is_true(waits >= 15, "the script waits " .. waits .. " times")
        local t0 = S.now()
        local status, body = srv:get_body("/script", 5)
        local elapsed = S.now() - t0
        assert.are.equal(200, status, tostring(body))
        assert.are.equal(expected, body)
        -- each wait was a real 5 ms sleep
        assert.is_true(elapsed >= waits * 0.005, "answered after " .. elapsed .. " s")
    end)

    it("refuse to resume or close a coroutine suspended in a wait, from another request", function()
        local c = srv:connect()
        assert(c:send(S.get("/hold")))
        S.sleep(0.1) -- /hold waits in its coroutine's 300 ms sleep
        local status, body = srv:get_body("/poke", 3)
        assert.are.equal(200, status, tostring(body))
        local msg = "cannot resume a coroutine that waits in a lunaserve call"
        local cmsg = "cannot close a coroutine that waits in a lunaserve call"
        assert.are.equal(table.concat({
            "status suspended suspended",
            "resume false " .. msg,
            "resume handler false " .. msg,
            "close false " .. cmsg,
            "close handler false " .. cmsg,
        }, "\n") .. "\n", body)
        -- the wait itself is untouched: the sleep ends and the coroutine returns its value
        local res = assert(c:read_response({ timeout = 3 }))
        c:close()
        assert.are.equal("hold true 42 dead", res.body)
    end)
end)
