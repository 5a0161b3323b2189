-- lunaserve.pg's pool is bounded (issue 11, "Pool"): 200 requests at once through a pool of
-- 10 all get their answer while PostgreSQL never sees more than 10 connections from the app;
-- past its size a caller waits in line, gets a connection given back in time, or a clear
-- error once its wait_timeout has passed; past the line's length (backlog) the error comes
-- at once.

local P = require("spec.support.postgres")
local J = require("spec.support.pg_client")
local S = require("spec.support.server")

describe("pg pool", function()
    local pg, srv

    lazy_setup(function()
        pg, srv = P.start_with_app("pg_pool.lua")
    end)

    lazy_teardown(function()
        J.stop(pg, srv)
    end)

    it("answers 200 concurrent requests with size = 10, PostgreSQL seeing at most 10 connections",
        function()
            local N = 200
            local pending = {}
            for i = 1, N do
                pending[i] = J.start(srv, "/work?i=" .. i)
            end
            -- what the server sees while they run (psql connects as another role)
            local samples = {}
            for k = 1, 5 do
                samples[k] = pg:connections()
            end
            local max_seen, min_seen = 0, math.huge
            for i = 1, N do
                local t = pending[i]:finish(10)
                assert.are.equal(2 * i, t.v, J.show(t))
                max_seen = math.max(max_seen, t.seen)
                min_seen = math.min(min_seen, t.seen)
            end
            for k, n in ipairs(samples) do
                assert.is_true(n <= 10, "sample " .. k .. ": PostgreSQL saw " .. n .. " connections")
            end
            -- the queries saw the pool full, never beyond
            assert.are.equal(10, max_seen)
            assert.is_true(min_seen >= 1)
            local s = J.get(srv, "/stats?pool=main")
            assert.are.same({ 10, 10, 0 }, { s.live, s.idle, s.waiting }, J.show(s))
            assert.are.equal(10, pg:connections())
        end)

    describe("with size = 1 and its connection busy", function()
        -- /sleep on the pool "one" holds its only connection for s seconds
        local function hold(s)
            local req = J.start(srv, "/sleep?pool=one&s=" .. s)
            assert.is_truthy(S.wait_for(function() return J.sleeping(pg) == 1 end, 2, 0.02),
                "the holder's pg_sleep never ran")
            return req
        end

        it("gives the connection to a caller waiting in line when it comes back", function()
            -- (0.8 s: under load, seeing the holder's pg_sleep run (psql) can take a few tenths
            -- of it; the wait left must still be over 0.2 s, and under wait_timeout, 1 s)
            local holder = hold(0.8)
            local t = J.get(srv, "/acquire?pool=one")
            assert.is_true(t.ok, J.show(t))
            assert.is_true(t.took > 0.2 and t.took < 1, "waited " .. t.took .. " s")
            local h = holder:finish(3)
            assert.is_true(h.ok, J.show(h))
        end)

        it("fails a caller that waited wait_timeout (1 s) with a clear error, and one past the backlog (1) at once",
            function()
                local holder = hold(2)
                local waiter = J.start(srv, "/acquire?pool=one")
                local s, ok = J.wait_stats(srv, "one", function(st) return st.waiting == 1 end, 1)
                assert.is_true(ok, "nobody waits in line: " .. J.show(s))
                -- the line is full: the error comes at once
                local t, took = J.get(srv, "/acquire?pool=one")
                assert.are.same({ ok = false, err = "too many waiting for a connection from the pool" },
                    { ok = t.ok, err = t.err })
                assert.is_true(t.took < 0.05, "the refusal took " .. t.took .. " s")
                assert.is_true(took < 0.5)
                -- the one in line gives up after its wait_timeout
                local w = waiter:finish(3)
                assert.are.same({ ok = false, err = "timeout waiting for a connection from the pool" },
                    { ok = w.ok, err = w.err })
                assert.is_true(w.took >= 0.99 and w.took < 1.4, "gave up after " .. w.took .. " s")
                local h = holder:finish(3)
                assert.is_true(h.ok, J.show(h))
                -- and the pool serves again, from its idle connection
                local again = J.get(srv, "/acquire?pool=one")
                assert.is_true(again.ok, J.show(again))
                assert.is_true(again.took < 0.05, "took " .. again.took .. " s")
                local st = J.get(srv, "/stats?pool=one")
                assert.are.same({ 1, 1, 0 }, { st.live, st.idle, st.waiting }, J.show(st))
            end)
    end)
end)
