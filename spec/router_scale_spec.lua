-- lunaserve.router: matching costs the same with 10 routes or 5000 (a tree keyed by path
-- segment, not a scan of patterns). Shown without timing: the router counts the tree nodes
-- it visits (router.debug.steps), and the spec app reports the count for each request.

local S = require("spec.support.server")

describe("router matching cost", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = S.app("router_scale.lua") })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    -- The status of GET target and the steps its routing took.
    local function steps(target)
        local c = srv:connect()
        assert(c:send(S.get(target) .. S.get("/last-steps")))
        local list = assert(c:read_responses(2))
        c:close()
        return list[1].status, tonumber(list[2].body)
    end

    it("takes as many steps for a static route among 5000 as among 10", function()
        local st_small, small = steps("/small/route9/leaf")
        local st_first, first = steps("/big/route1/leaf")
        local st_last, last = steps("/big/route4999/leaf")
        assert.are.same({ 200, 200, 200 }, { st_small, st_first, st_last })
        assert.are.equal(small, first)
        assert.are.equal(small, last)
        -- the path's depth in steps, nowhere near the number of routes
        assert.is_true(last > 0 and last <= 10, "steps: " .. tostring(last))
    end)

    it("takes as many steps for parameter and wildcard routes among 5000 as among 10", function()
        local _, small = steps("/small/users/1/posts/2")
        local st, big = steps("/big/users/1/posts/2")
        assert.are.equal(200, st)
        assert.are.equal(small, big)
        _, small = steps("/small/files/a/b")
        st, big = steps("/big/files/a/b")
        assert.are.equal(200, st)
        assert.are.equal(small, big)
    end)

    it("takes as many steps to answer 404 among 5000 routes as among 10", function()
        local st_small, small = steps("/small/route5001/leaf")
        local st_big, big = steps("/big/route5001/leaf")
        assert.are.same({ 404, 404 }, { st_small, st_big })
        assert.are.equal(small, big)
        assert.is_true(big <= 20, "steps: " .. tostring(big))
    end)
end)
