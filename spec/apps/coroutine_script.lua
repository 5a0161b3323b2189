-- Coroutine behaviours of standard Lua, run twice by spec/coroutine_semantics_spec.lua: inside
-- a lunaserve handler, where wait() really waits (lunaserve.sleep), and by plain Lua in the
-- spec, where wait() does nothing. The two runs must give the same lines: waits in between
-- change nothing that Lua code can see.
return function(wait)
    local out = {}
    local function put(...)
        local parts = {}
        for i = 1, select("#", ...) do
            parts[i] = tostring((select(i, ...)))
        end
        out[#out + 1] = (table.concat(parts, " "):gsub("[^%s:]*coroutine_script%.lua", "script"))
    end

    -- 1. a producer and a consumer passing values with ordinary yields, waiting on both sides
    local producer = coroutine.create(function(n)
        for i = 1, n do
            wait()
            local ack = coroutine.yield("item" .. i)
            put("producer got", ack, coroutine.isyieldable(), coroutine.status(coroutine.running()))
        end
        return "producer done"
    end)
    put("status before", coroutine.status(producer))
    local ok, v = coroutine.resume(producer, 3)
    while coroutine.status(producer) ~= "dead" do
        put("consumer got", ok, v, coroutine.status(producer))
        wait()
        ok, v = coroutine.resume(producer, "ack-" .. v)
    end
    put("consumer got", ok, v, coroutine.status(producer))
    put("resume dead", coroutine.resume(producer))

    -- 2. statuses seen from inside: running, normal, suspended, dead
    local outer
    outer = coroutine.create(function()
        local inner = coroutine.create(function()
            put("inner sees outer", coroutine.status(outer))
            wait()
            put("inner sees itself", coroutine.status(coroutine.running()))
            put("resume the normal outer", coroutine.resume(outer))
            put("close the normal outer", pcall(coroutine.close, outer))
            coroutine.yield("inner yielded")
        end)
        put("outer resumes inner", coroutine.resume(inner))
        wait()
        put("inner is", coroutine.status(inner))
        put("close inner", coroutine.close(inner), coroutine.status(inner))
        return "outer done"
    end)
    put("outer", coroutine.resume(outer))

    -- 3. the top level cannot yield; a coroutine can
    put("top isyieldable", coroutine.isyieldable())
    put("yield at top", pcall(coroutine.yield, 1))
    put("inside isyieldable", coroutine.wrap(function()
        wait()
        return coroutine.isyieldable()
    end)())

    -- 4. errors: through resume, and through wrap (which puts the caller's position in front
    -- of a string), error objects that are not strings, a dead wrapped function
    local bad = coroutine.create(function()
        wait()
        error("boom")
    end)
    put("resume error", coroutine.resume(bad))
    put("status after error", coroutine.status(bad))
    put("wrap error", pcall(coroutine.wrap(function()
        wait()
        error("wrapped boom")
    end)))
    local function call_wrapped()
        local f = coroutine.wrap(function()
            wait()
            error("in wrap")
        end)
        return f()
    end
    put("wrap error from Lua", pcall(call_wrapped))
    local _, obj = pcall(coroutine.wrap(function()
        wait()
        error({ code = 7 })
    end))
    put("wrap table error", type(obj), obj.code)
    put("wrap error level 0", pcall(coroutine.wrap(function()
        wait()
        error("plain", 0)
    end)))
    local w = coroutine.wrap(function()
        return 1
    end)
    w()
    put("wrap dead", pcall(w))
    put("wrap dead from Lua", pcall(function()
        return w()
    end))
    put("resume a non-coroutine", pcall(coroutine.resume, 42))

    -- 5. close: a suspended coroutine runs its to-be-closed variables; a dead one gives its
    -- error; the running one cannot be closed
    local closed = {}
    local tbc = coroutine.create(function()
        local x <close> = setmetatable({}, {
            __close = function()
                closed[#closed + 1] = "closed x"
            end,
        })
        wait()
        coroutine.yield(1)
        put("never here")
    end)
    put("tbc resume", coroutine.resume(tbc))
    put("close suspended", coroutine.close(tbc), table.concat(closed, ","), coroutine.status(tbc))
    put("close dead with error", coroutine.close(bad))
    put("close running", pcall(coroutine.close, coroutine.running()))
    put("close running from Lua", pcall(function()
        return coroutine.close(coroutine.running())
    end))

    -- 6. a yield inside pcall inside a coroutine, then an error caught by that pcall
    local pc = coroutine.wrap(function()
        local ok2, e = pcall(function()
            wait()
            coroutine.yield("yielded in pcall")
            error("after yield")
        end)
        return "pcall gave", ok2, e
    end)
    put(pc())
    put(pc())

    -- 7. a wrapped generator in a for loop
    local gen = coroutine.wrap(function()
        for i = 1, 3 do
            wait()
            coroutine.yield(i, i * i)
        end
    end)
    for a, b in gen do
        put("gen", a, b)
    end

    -- 8. values through resume, nils included
    put("values", coroutine.resume(coroutine.create(function(...)
        wait()
        return select("#", ...), ...
    end), nil, 2, nil))
    return out
end
