-- lunaserve.http against an upstream that resets the connection: an error, not a hang, be
-- it before the response or inside its body.
local H = require("spec.support.http_client")

describe("http client reset by the upstream", function()
    local client, faulty

    lazy_setup(function()
        faulty, client = H.start_all("faulty")
    end)

    lazy_teardown(function()
        H.stop_all(client, faulty)
    end)

    it("gives the reset as an error before the response", function()
        local r, took = H.run(client, [[
            return view(http.request{url = "http://127.0.0.1:" .. arg.port .. "/reset",
                timeout = 3000})
        ]], { port = faulty.port })
        assert.are.equal("connection reset by peer", r.err)
        assert.is_true(took < 2, "took " .. took .. " s")
    end)

    it("gives it inside the body, to the one-shot form and to a stream", function()
        local r, took = H.run(client, [[
            local url = "http://127.0.0.1:" .. arg.port .. "/reset-mid-body"
            local _, err = http.request{url = url, timeout = 3000}
            local res = assert(http.request{url = url, timeout = 3000, stream = true})
            local pieces, serr = {}, nil
            while true do
                local piece, e = res:read()
                if not piece then serr = e break end
                pieces[#pieces + 1] = piece
            end
            return {err = err, pieces = table.concat(pieces), serr = serr}
        ]], { port = faulty.port })
        assert.are.equal("connection reset by peer", r.err)
        assert.are.equal("0123456789", r.pieces)
        assert.are.equal("connection reset by peer", r.serr)
        assert.is_true(took < 2, "took " .. took .. " s")
    end)
end)
