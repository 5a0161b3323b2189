-- lunaserve.tcp(): the connection pool (issue 10, "Pool"), as OpenResty's setkeepalive and
-- getreusedtimes: a connection put back with setkeepalive is reused by the next connect to
-- the same host:port or pool name, getreusedtimes counts the reuses, the socket object is
-- closed afterwards; a socket with unread data is refused (and stays usable); an idle connection
-- that the peer closes or sends data on is dropped and the next connect makes a fresh one;
-- the idle time and the pool's size bound what is kept.

local S = require("spec.support.server")
local U = require("spec.support.upstream")
local C = require("spec.support.cosocket")

local lines = C.lines

describe("the connection pool", function()
    local env

    lazy_setup(function()
        env = C.start()
    end)

    lazy_teardown(function()
        if env then
            env:stop()
        end
    end)

    -- /pool's answer for a connection reused `n` times, put back with setkeepalive
    local function pooled(n, line)
        line = line or "ping"
        return lines({
            "connect: 1, nil",
            "reused: " .. n .. ", nil",
            "send: " .. (#line + 1) .. ", nil",
            'receive: "' .. line .. '", nil, nil',
            "keepalive: 1, nil",
            'send after: nil, "closed"',
            'receive after: nil, "closed", nil',
            'reused after: nil, "closed"',
            'keepalive again: nil, "closed"',
            'close after: nil, "closed"',
        })
    end

    local function one_open(tag)
        local list = env.up:tagged(tag)
        assert.are.equal(1, #list, "connections tagged " .. tag .. ": " .. U.describe(list))
        assert.is_true(list[1].open, U.describe(list))
        return list[1]
    end

    it("reuses a connection put back with setkeepalive, by host:port", function()
        for n = 0, 3 do
            assert.are.equal(pooled(n), env:route("pool", { tag = "hp", port = env.port }))
        end
        local c = one_open("hp")
        assert.are.equal(4 * #"ping\n", c.bytes_in)
    end)

    it("reuses by pool name, apart from the host:port pool", function()
        assert.are.equal(pooled(0), env:route("pool", { tag = "n1", pool = "named" }))
        assert.are.equal(pooled(1), env:route("pool", { tag = "n1", pool = "named" }))
        assert.are.equal(pooled(0), env:route("pool", { tag = "n2", pool = "other" }))
        assert.are.equal(pooled(1), env:route("pool", { tag = "n2", pool = "other" }))
        one_open("n1")
        one_open("n2")
    end)

    it("refuses a socket with unread data, which stays usable (as OpenResty's)", function()
        local body = env:route("unread", { tag = "ur" })
        assert.are.equal(lines({
            "connect: 1, nil",
            "send: 14, nil",
            'receive: "ex", nil, nil',
            'keepalive: nil, "unread data in buffer"',
            'receive after: "tra", nil, nil',
            "close: 1, nil",
        }), body)
        assert.is_truthy(env.up:wait_closed("ur", 2))
    end)

    -- an idle connection told to act while in the pool; then the next connect is fresh
    local function dropped(what, tag)
        local pool = "drop-" .. tag
        local cmd = what == "close" and "CLOSEIN 100" or "SAYIN 100 junk\\n"
        local body = env:route("pool_notify", { tag = tag, what = what, ms = 100, pool = pool })
        assert.are.equal(lines({
            "connect: 1, nil",
            "reused: 0, nil",
            "send: " .. (#cmd + 1) .. ", nil",
            'receive: "ok", nil, nil',
            "keepalive: 1, nil",
        }), body)
        local list, last = env.up:wait_closed(tag, 2)
        assert.is_truthy(list, "still open: " .. U.describe(last))
        S.sleep(0.1)
        -- the next connect of that pool makes a new connection
        assert.are.equal(pooled(0), env:route("pool", { tag = tag .. "-next", pool = pool }))
        assert.are.equal(1, #env.up:tagged(tag .. "-next"))
    end

    it("drops an idle connection that the peer closes", function()
        dropped("close", "idle-fin")
    end)

    it("drops (and closes) an idle connection that receives data", function()
        dropped("data", "idle-data")
    end)

    it("closes an idle connection after setkeepalive's idle time", function()
        local t0 = S.now()
        assert.are.equal(pooled(0), env:route("pool", { tag = "idle", pool = "idle", idle = 200 }))
        local list = env.up:wait_closed("idle", 2)
        assert.is_truthy(list, "still open 2 s after a 200 ms keep-alive")
        C.within(S.now() - t0, 0.15, 2, "the idle close")
        assert.are.equal(pooled(0), env:route("pool", { tag = "idle2", pool = "idle" }))
    end)

    -- three connections at once under `pool`, put back in order with setkeepalive(nil, size)
    local function three(pool, tag, extra)
        local t = { tag = tag, n = 3, pool = pool }
        for k, v in pairs(extra) do
            t[k] = v
        end
        return env:route("pool_many", t)
    end

    local function many(reused)
        local t = {}
        for i, n in ipairs(reused) do
            t[#t + 1] = "connect " .. i .. ": 1, nil"
            t[#t + 1] = "reused " .. i .. ": " .. n .. ", nil"
            t[#t + 1] = "receive " .. i .. ': "hi", nil, nil'
        end
        for i = 1, #reused do
            t[#t + 1] = "keepalive " .. i .. ": 1, nil"
        end
        return lines(t)
    end

    local function open_tags(prefix)
        local open = {}
        for _, c in ipairs((env.up:stats())) do
            if c.tag:sub(1, #prefix) == prefix and c.open then
                open[#open + 1] = c.tag
            end
        end
        table.sort(open)
        return table.concat(open, " ")
    end

    it("keeps at most setkeepalive's size idle, closing the least recently used", function()
        assert.are.equal(many({ 0, 0, 0 }), three("sz", "sz", { size = 2 }))
        -- put back 1, 2, 3 into room for 2: the first goes
        assert.is_truthy(env.up:wait_closed("sz1", 2))
        assert.are.equal("sz2 sz3", open_tags("sz"))
        -- the two kept are reused, the third connect is new
        assert.are.equal(many({ 1, 1, 0 }), three("sz", "sz", { size = 2 }))
    end)

    it("keeps at most connect's pool_size idle", function()
        assert.are.equal(many({ 0, 0, 0 }), three("ps", "ps", { pool_size = 1 }))
        assert.is_truthy(env.up:wait_closed("ps2", 2))
        assert.are.equal("ps3", open_tags("ps"))
        assert.are.equal(many({ 1, 0, 0 }), three("ps", "ps", { pool_size = 1 }))
    end)
end)
