-- lunaserve.http against an upstream that sends 100 MB: the one-shot form stops at max_body
-- with an error, a stream reads in bounded pieces (and a bounded Lua heap) and can stop.
-- (The process's RSS is no measure here: under ASan, freed memory stays in quarantine.)
local H = require("spec.support.http_client")

describe("http client huge body", function()
    local client, faulty

    lazy_setup(function()
        faulty, client = H.start_all("faulty")
    end)

    lazy_teardown(function()
        H.stop_all(client, faulty)
    end)

    -- Whether the upstream's log shows connection n ended (by the client: the upstream
    -- itself never ends a /huge connection before its 100 MB are out); how many bytes of
    -- the body it had handed to its kernel then.
    local function ended(lines, n)
        for _, l in ipairs(lines) do
            local sent = l:match("^huge " .. n .. " (%d+)$")
            if sent then
                return true, tonumber(sent)
            end
        end
        return false
    end

    it("stops the one-shot form at max_body, and closes the connection", function()
        local r, took = H.run(client, [[
            return view(http.request{url = "http://127.0.0.1:" .. arg.port .. "/huge",
                timeout = 5000, max_body = 4 * 1024 * 1024})
        ]], { port = faulty.port }, 20)
        assert.are.equal("response body too large", r.err)
        assert.is_true(took < 10, "took " .. took .. " s")
        -- the upstream sees the end long before its 100 MB are out
        local lines = faulty:wait_log(function(l) return ended(l, 1) end, 5)
        local done, sent = ended(lines, 1)
        assert.is_true(done, table.concat(lines, "\n"))
        assert.is_true(sent < 50 * 1024 * 1024, "the upstream sent " .. tostring(sent))
    end)

    it("reads a stream in bounded pieces, and res:close() ends it", function()
        local r = H.run(client, [[
            collectgarbage()
            local base = collectgarbage("count")
            local res = assert(http.request{url = "http://127.0.0.1:" .. arg.port .. "/huge",
                timeout = 5000, stream = true})
            local total, biggest, peak = 0, 0, 0
            while total < 20 * 1024 * 1024 do
                local piece = assert(res:read())
                total = total + #piece
                if #piece > biggest then biggest = #piece end
                peak = math.max(peak, collectgarbage("count") - base)
            end
            res:close()
            return {total = total, biggest = biggest, length = res.headers["content-length"],
                    peak_kib = peak}
        ]], { port = faulty.port }, 30)
        assert.are.equal("104857600", r.length)
        assert.is_true(r.total >= 20 * 1024 * 1024)
        assert.is_true(r.biggest <= 65536, "a piece of " .. r.biggest .. " bytes")
        local lines = faulty:wait_log(function(l) return ended(l, 2) end, 5)
        local done, sent = ended(lines, 2)
        assert.is_true(done, table.concat(lines, "\n"))
        assert.is_true(sent < 50 * 1024 * 1024, "the upstream sent " .. tostring(sent))
        -- what it read stayed garbage for the collector, not a growing heap
        assert.is_true(r.peak_kib < 8 * 1024, "the Lua heap grew by " .. r.peak_kib .. " KiB")
    end)
end)
