-- lunaserve.http: a GET against lunaserve itself (apps/echo): status, reason, version,
-- lower-cased headers, the body, and the fields the client sends by default.
local H = require("spec.support.http_client")
local S = require("spec.support.server")
local cjson = require("cjson")

describe("http client GET", function()
    local client, upstream

    lazy_setup(function()
        upstream, client = H.start_all("upstream")
    end)

    lazy_teardown(function()
        H.stop_all(client, upstream)
    end)

    it("returns status, headers and body, and sends Host and User-Agent", function()
        local r = H.run(client, [[
            local res, err = http.request{url = "http://127.0.0.1:" .. arg.port
                .. "/echo/a?x=1", headers = {["X-Custom"] = "Some Value"}}
            return view(res, err)
        ]], { port = upstream.port })
        assert.are.equal(200, r.status)
        assert.are.equal("OK", r.reason)
        assert.are.equal("1.1", r.version)
        assert.are.equal("application/json", r.headers["content-type"])
        assert.are.equal(tostring(#r.body), r.headers["content-length"])
        assert.is_nil(r.headers["Content-Type"])
        local j = cjson.decode(r.body)
        assert.are.equal("GET", j.method)
        assert.are.equal("/echo/a", j.path)
        assert.are.equal("x=1", j.query)
        assert.are.equal("Some Value", j.headers["x-custom"])
        assert.are.equal("127.0.0.1:" .. upstream.port, j.headers.host)
        assert.are.equal("lunaserve/0.1.0", j.headers["user-agent"])
        assert.is_nil(j.headers["content-length"])
        assert.is_nil(j.headers["transfer-encoding"])
        assert.are.equal("", j.body)
        assert.are.equal("http://127.0.0.1:" .. upstream.port .. "/echo/a?x=1", r.url)
        assert.are.equal(0, r.redirects)
    end)

    it("keeps raw headers as received, in order", function()
        local r = H.run(client, [[
            local res, err = http.request("http://127.0.0.1:" .. arg.port .. "/echo")
            return view(res, err)
        ]], { port = upstream.port })
        assert.are.equal(200, r.status)
        local names = {}
        for i = 1, #r.raw_headers, 2 do
            names[#names + 1] = r.raw_headers[i]
            assert.are.equal(r.headers[r.raw_headers[i]:lower()], r.raw_headers[i + 1])
        end
        -- the same names, in the same order, as a raw read of the same response shows
        local S = require("spec.support.server")
        local raw = assert(upstream:fetch(S.get("/echo")))
        local expected = {}
        for _, f in ipairs(raw.header_list) do
            expected[#expected + 1] = f[1]
        end
        assert.are.equal(5, #expected)
        assert.are.same(expected, names)
    end)

    it("sends repeated fields for an array value, and lets the caller's Host and "
        .. "User-Agent replace the defaults", function()
        local r = H.run(client, [[
            local res, err = http.request{url = "http://127.0.0.1:" .. arg.port .. "/echo",
                headers = {["X-Multi"] = {"a", "b"}, Host = "example.test",
                           ["User-Agent"] = "spec/1"}}
            return view(res, err)
        ]], { port = upstream.port })
        local j = cjson.decode(r.body)
        assert.are.equal("a, b", j.headers["x-multi"])
        assert.are.equal("example.test", j.headers.host)
        assert.are.equal("spec/1", j.headers["user-agent"])
    end)

    it("gives an error for a refused connection", function()
        local r = H.run(client, [[
            return view(http.request{url = "http://127.0.0.1:" .. arg.port .. "/", timeout = 2000})
        ]], { port = S.free_port() })
        assert.are.equal("connection refused", r.err)
    end)
end)
