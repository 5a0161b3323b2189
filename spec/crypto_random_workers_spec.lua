-- lunaserve.crypto.random_bytes under --workers: each worker process draws its own bytes
-- (OpenSSL's generator is not shared or copied between them), at load and per request.
local S = require("spec.support.server")

describe("crypto random_bytes with --workers 2", function()
    local srv

    setup(function()
        srv = S.start_any({ app = S.app("crypto.lua"), args = { "--workers", "2" } })
    end)

    teardown(function()
        srv:stop_ok()
    end)

    it("gives different bytes in each worker, at load and per request", function()
        assert(srv:wait_children(2, 3))
        local by_pid, pids, seen = {}, {}, {}
        S.wait_for(function()
            local status, body = srv:get_body("/random")
            assert.are.equal(200, status, tostring(body))
            local pid, at_load, now = body:match("^(%d+) (%x+) (%x+)$")
            assert.is_truthy(pid, body)
            assert.are.equal(32, #at_load)
            assert.is_nil(seen[now], "the same 16 bytes twice: " .. now)
            seen[now] = true
            if not by_pid[pid] then
                by_pid[pid] = at_load
                pids[#pids + 1] = pid
            end
            assert.are.equal(by_pid[pid], at_load) -- (one load per worker)
            return #pids == 2
        end, 5, 0)
        assert.are.equal(2, #pids, "only one worker answered")
        assert.are_not.equal(by_pid[pids[1]], by_pid[pids[2]])
    end)
end)
