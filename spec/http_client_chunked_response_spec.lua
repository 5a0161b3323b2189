-- lunaserve.http: chunked responses (parsed by llhttp) whole and streamed, with trailers.
local H = require("spec.support.http_client")

describe("http client chunked response", function()
    local client, upstream, faulty

    lazy_setup(function()
        upstream, faulty, client = H.start_all("upstream", "faulty")
    end)

    lazy_teardown(function()
        H.stop_all(client, upstream, faulty)
    end)

    local function expected(n)
        local t = {}
        for i = 1, n do
            t[i] = "chunk " .. i .. "\n"
        end
        return table.concat(t)
    end

    it("is read whole by the one-shot form", function()
        local r = H.run(client, [[
            return view(http.request("http://127.0.0.1:" .. arg.port .. "/stream/200"))
        ]], { port = upstream.port })
        assert.are.equal(200, r.status)
        assert.are.equal("chunked", r.headers["transfer-encoding"])
        assert.is_nil(r.headers["content-length"])
        assert.are.equal(expected(200), r.body)
    end)

    it("comes piece by piece from res:read() and res.body_reader(), then nil", function()
        local r = H.run(client, [[
            local url = "http://127.0.0.1:" .. arg.port .. "/stream/2000"
            local res = assert(http.request{url = url, stream = true, pool = "chunked-spec"})
            local parts, n = {}, 0
            while true do
                local piece, err = res:read()
                if not piece then
                    assert(err == nil, err)
                    break
                end
                n = n + 1
                parts[#parts + 1] = piece
            end
            local after = {res:read()}
            local res2 = assert(http.request{url = url, stream = true, pool = "chunked-spec"})
            local parts2 = {}
            for piece in res2.body_reader do parts2[#parts2 + 1] = piece end
            return {status = res.status, body = table.concat(parts), pieces = n,
                    after = #after, has_body = res.body ~= nil,
                    body2 = table.concat(parts2), reused1 = res.reused,
                    reused2 = res2.reused}
        ]], { port = upstream.port })
        assert.are.equal(200, r.status)
        assert.are.equal(expected(2000), r.body)
        assert.is_true(r.pieces >= 1)
        assert.are.equal(0, r.after) -- nil after the end, with no error
        assert.is_false(r.has_body)
        assert.are.equal(expected(2000), r.body2)
        assert.are.equal(0, r.reused1)
        assert.are.equal(1, r.reused2) -- read to its end: the connection was pooled
    end)

    it("gives trailer fields in res.trailers, apart from the headers", function()
        local r = H.run(client, [[
            return view(http.request("http://127.0.0.1:" .. arg.port .. "/trailers"))
        ]], { port = faulty.port })
        assert.are.equal(200, r.status)
        assert.are.equal("hello world", r.body)
        assert.are.same({ ["x-sum"] = "42" }, r.trailers)
        assert.is_nil(r.headers["x-sum"])
        assert.are.equal("X-Sum", r.headers.trailer)
    end)
end)
