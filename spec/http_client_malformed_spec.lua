-- lunaserve.http: a response llhttp cannot parse is an error with llhttp's reason; a head
-- past max_head is refused.
local H = require("spec.support.http_client")

describe("http client malformed response", function()
    local client, faulty

    lazy_setup(function()
        faulty, client = H.start_all("faulty")
    end)

    lazy_teardown(function()
        H.stop_all(client, faulty)
    end)

    it("gives llhttp's reason", function()
        local r = H.run(client, [[
            return view(http.request{url = "http://127.0.0.1:" .. arg.port .. "/malformed",
                timeout = 2000})
        ]], { port = faulty.port })
        assert.are.equal("invalid response: Invalid response status", r.err)
    end)

    it("refuses a head larger than max_head", function()
        local r = H.run(client, [[
            local url = "http://127.0.0.1:" .. arg.port .. "/big-head"
            local _, small = http.request{url = url, timeout = 2000}
            local big = http.request{url = url, timeout = 2000, max_head = 200000}
            return {small = small, big = big and big.status}
        ]], { port = faulty.port })
        assert.are.equal("invalid response: response head too large", r.small)
        assert.are.equal(200, r.big)
    end)
end)
