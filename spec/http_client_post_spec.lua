-- lunaserve.http: requests with a string body against lunaserve itself (apps/echo), sent
-- with Content-Length, and the exact bytes of such a request (the faulty upstream echoes
-- them).
local H = require("spec.support.http_client")
local cjson = require("cjson")

describe("http client POST with a body", function()
    local client, upstream, faulty

    lazy_setup(function()
        upstream, faulty, client = H.start_all("upstream", "faulty")
    end)

    lazy_teardown(function()
        H.stop_all(client, upstream, faulty)
    end)

    it("sends the body with its Content-Length", function()
        local r = H.run(client, [[
            return view(http.request{url = "http://127.0.0.1:" .. arg.port .. "/echo/post",
                method = "POST", body = "hello=world&n=42",
                headers = {["Content-Type"] = "application/x-www-form-urlencoded"}})
        ]], { port = upstream.port })
        assert.are.equal(200, r.status)
        local j = cjson.decode(r.body)
        assert.are.equal("POST", j.method)
        assert.are.equal("hello=world&n=42", j.body)
        assert.are.equal("16", j.headers["content-length"])
        assert.are.equal("application/x-www-form-urlencoded", j.headers["content-type"])
        assert.is_nil(j.headers["transfer-encoding"])
    end)

    it("sends any bytes, CR, LF and NUL included, and other methods", function()
        local r = H.run(client, [[
            local body = "a\r\nb\0c\r\n\r\nd"
            local out = {}
            for _, m in ipairs({"PUT", "PATCH", "DELETE"}) do
                local res, err = http.request{url = "http://127.0.0.1:" .. arg.port .. "/echo",
                    method = m, body = body}
                out[m] = res and res.body or err
            end
            return out
        ]], { port = upstream.port })
        for _, m in ipairs({ "PUT", "PATCH", "DELETE" }) do
            local j = cjson.decode(r[m])
            assert.are.equal(m, j.method)
            assert.are.equal("a\r\nb\0c\r\n\r\nd", j.body)
            assert.are.equal(11, j.bodyLength)
        end
    end)

    it("says Content-Length: 0 for a POST without a body, and nothing for a GET", function()
        local r = H.run(client, [[
            local a = http.request{url = "http://127.0.0.1:" .. arg.port .. "/echo", method = "POST"}
            local b = http.request{url = "http://127.0.0.1:" .. arg.port .. "/echo"}
            return {a = a.body, b = b.body}
        ]], { port = upstream.port })
        assert.are.equal("0", cjson.decode(r.a).headers["content-length"])
        assert.is_nil(cjson.decode(r.b).headers["content-length"])
    end)

    it("puts exactly these bytes on the wire", function()
        local r = H.run(client, [[
            return view(http.request{url = "http://127.0.0.1:" .. arg.port .. "/echo-raw?q=1",
                method = "POST", body = "xyz", headers = {["X-B"] = "2", ["X-A"] = {"1", "3"}}})
        ]], { port = faulty.port })
        assert.are.equal(200, r.status)
        assert.are.equal("POST /echo-raw?q=1 HTTP/1.1\r\n"
            .. "Host: 127.0.0.1:" .. faulty.port .. "\r\n"
            .. "User-Agent: lunaserve/0.1.0\r\n"
            .. "X-A: 1\r\nX-A: 3\r\nX-B: 2\r\n"
            .. "Content-Length: 3\r\n\r\nxyz", r.body)
    end)
end)
