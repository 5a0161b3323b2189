-- lunaserve.http: 204 and 304 responses have no body, interim 1xx responses are skipped, and
-- the connection is reused after each.
local H = require("spec.support.http_client")

describe("http client responses without a body", function()
    local client, upstream, faulty

    lazy_setup(function()
        upstream, faulty, client = H.start_all("upstream", "faulty")
    end)

    lazy_teardown(function()
        H.stop_all(client, upstream, faulty)
    end)

    it("reads 204 and 304 as empty and keeps the connection", function()
        local r = H.run(client, [[
            local base = "http://127.0.0.1:" .. arg.port
            local out = {}
            for i, s in ipairs({204, 304, 204}) do
                out[i] = view(http.request{url = base .. "/status/" .. s, pool = "nobody-spec",
                    timeout = 2000})
            end
            return out
        ]], { port = upstream.port })
        assert.are.same({ 204, 304, 204 }, { r[1].status, r[2].status, r[3].status })
        assert.are.same({ "", "", "" }, { r[1].body, r[2].body, r[3].body })
        assert.are.same({ 0, 1, 2 }, { r[1].reused, r[2].reused, r[3].reused })
    end)

    it("skips 100 and 103 before the final response", function()
        local r = H.run(client, [[
            return view(http.request{url = "http://127.0.0.1:" .. arg.port .. "/interim",
                timeout = 2000})
        ]], { port = faulty.port })
        assert.are.equal(200, r.status)
        assert.are.equal("final", r.body)
        assert.is_nil(r.headers.link)
    end)
end)
