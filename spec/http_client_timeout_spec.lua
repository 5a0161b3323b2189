-- lunaserve.http against an upstream that stops answering: "timeout" within the timeout,
-- whether nothing came, part of the head, or part of the body; the server serves others
-- meanwhile.
local H = require("spec.support.http_client")
local S = require("spec.support.server")

describe("http client timeouts", function()
    local client, faulty

    lazy_setup(function()
        faulty, client = H.start_all("faulty")
    end)

    lazy_teardown(function()
        H.stop_all(client, faulty)
    end)

    local function timed(path, extra)
        return H.run(client, [[
            local res, err = http.request{url = "http://127.0.0.1:" .. arg.port .. "]] .. path
            .. [[", timeout = 400]] .. (extra or "") .. [[}
            return view(res, err)
        ]], { port = faulty.port })
    end

    it("gives nil, \"timeout\" when the upstream never answers", function()
        local r, took = timed("/silent")
        assert.are.equal("timeout", r.err)
        assert.is_true(took >= 0.35 and took < 2, "took " .. took .. " s")
    end)

    it("gives the timeout when the head stalls", function()
        local r, took = timed("/stall-head")
        assert.are.equal("timeout", r.err)
        assert.is_true(took >= 0.35 and took < 2, "took " .. took .. " s")
    end)

    it("gives the timeout when the body stalls", function()
        local r, took = timed("/stall-body")
        assert.are.equal("timeout", r.err)
        assert.is_true(took >= 0.35 and took < 2, "took " .. took .. " s")
    end)

    it("gives the body's first bytes, then the timeout, to a stream", function()
        local r, took = H.run(client, [[
            local res = assert(http.request{url = "http://127.0.0.1:" .. arg.port
                .. "/stall-body", read_timeout = 400, stream = true})
            local first = res:read()
            local second, err = res:read()
            local third, err3 = res:read()
            return {status = res.status, first = first, second = second, err = err,
                    err3 = err3}
        ]], { port = faulty.port })
        assert.are.equal(200, r.status)
        assert.are.equal("0123456789", r.first)
        assert.is_nil(r.second)
        assert.are.equal("timeout", r.err)
        assert.are.equal("timeout", r.err3) -- the response stays failed
        assert.is_true(took >= 0.35 and took < 2, "took " .. took .. " s")
    end)

    it("does not hold up other requests while it waits", function()
        local c = client:connect()
        assert(c:send(S.request("POST", "/run?port=" .. faulty.port, nil, [[
            return view(http.request{url = "http://127.0.0.1:" .. arg.port .. "/silent",
                timeout = 1500})
        ]])))
        S.sleep(0.1)
        local r, took = H.run(client, [[ return {pong = true} ]])
        assert.is_true(r.pong)
        assert.is_true(took < 0.5, "a concurrent request took " .. took .. " s")
        local res = assert(c:read_response({ timeout = 5 }))
        assert.are.equal('{"err":"timeout"}', res.body)
        c:close()
    end)
end)
