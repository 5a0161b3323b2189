-- lunaserve.http: a large body (apps/echo's /bytes/N) whole, streamed in bounded pieces, and
-- refused past max_body.
local H = require("spec.support.http_client")

describe("http client big body", function()
    local client, upstream

    lazy_setup(function()
        upstream, client = H.start_all("upstream")
    end)

    lazy_teardown(function()
        H.stop_all(client, upstream)
    end)

    it("reads 5 MB whole, byte for byte", function()
        local r = H.run(client, [[
            local res = assert(http.request("http://127.0.0.1:" .. arg.port .. "/bytes/5000000"))
            return {status = res.status, len = #res.body,
                    only_x = res.body:find("[^x]") == nil,
                    length = res.headers["content-length"]}
        ]], { port = upstream.port }, 30)
        assert.are.equal(200, r.status)
        assert.are.equal(5000000, r.len)
        assert.is_true(r.only_x)
        assert.are.equal("5000000", r.length)
    end)

    it("streams it in pieces of at most 64 KiB", function()
        local r = H.run(client, [[
            local res = assert(http.request{url = "http://127.0.0.1:" .. arg.port
                .. "/bytes/5000000", stream = true})
            local total, biggest, pieces = 0, 0, 0
            for piece in res.body_reader do
                total = total + #piece
                pieces = pieces + 1
                if #piece > biggest then biggest = #piece end
                if piece:find("[^x]") then return {bad = true} end
            end
            return {total = total, biggest = biggest, pieces = pieces}
        ]], { port = upstream.port }, 30)
        assert.is_nil(r.bad)
        assert.are.equal(5000000, r.total)
        assert.is_true(r.biggest <= 65536, "a piece of " .. r.biggest .. " bytes")
        assert.is_true(r.pieces >= 5000000 / 65536)
    end)

    it("stops at max_body with an error", function()
        local r = H.run(client, [[
            return view(http.request{url = "http://127.0.0.1:" .. arg.port .. "/bytes/300000",
                max_body = 100000})
        ]], { port = upstream.port })
        assert.are.equal("response body too large", r.err)
    end)
end)
