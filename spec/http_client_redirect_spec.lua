-- lunaserve.http: redirects are followed only when asked; 301/302/303 turn into GET, 307
-- and 308 repeat the method and the body; the number of hops is bounded.
local H = require("spec.support.http_client")
local cjson = require("cjson")

describe("http client redirects", function()
    local client, upstream

    lazy_setup(function()
        upstream, client = H.start_all("upstream")
    end)

    lazy_teardown(function()
        H.stop_all(client, upstream)
    end)

    local function run(opts)
        return H.run(client, [[
            local o = ]] .. opts .. [[
            o.url = "http://127.0.0.1:" .. arg.port .. o.url
            return view(http.request(o))
        ]], { port = upstream.port })
    end

    it("are not followed unless asked", function()
        local r = run([[{url = "/redirect/302?to=/echo/there"}]])
        assert.are.equal(302, r.status)
        assert.are.equal("/echo/there", r.headers.location)
        assert.are.equal("moved to /echo/there", r.body)
        assert.are.equal(0, r.redirects)
    end)

    it("are followed with follow_redirects, to a relative Location", function()
        local r = run([[{url = "/redirect/301?to=/echo/there%3Fa=1", follow_redirects = true}]])
        assert.are.equal(200, r.status)
        assert.are.equal(1, r.redirects)
        assert.are.equal("http://127.0.0.1:" .. upstream.port .. "/echo/there?a=1", r.url)
        local j = cjson.decode(r.body)
        assert.are.equal("GET", j.method)
        assert.are.equal("/echo/there", j.path)
        assert.are.equal("a=1", j.query)
    end)

    it("follow an absolute Location", function()
        local target = "http://127.0.0.1:" .. upstream.port .. "/echo/abs"
        local r = run([[{url = "/redirect/302?to=]] .. target:gsub(":", "%%3A")
            .. [[", follow_redirects = true}]])
        assert.are.equal(200, r.status)
        assert.are.equal(target, r.url)
        assert.are.equal("/echo/abs", cjson.decode(r.body).path)
    end)

    for _, status in ipairs({ 301, 302, 303 }) do
        it("turn a POST into a GET without a body on " .. status, function()
            local r = run([[{url = "/redirect/]] .. status .. [[?to=/echo/after",
                method = "POST", body = "payload", follow_redirects = true,
                headers = {["Content-Type"] = "text/plain", ["X-Kept"] = "yes"}}]])
            assert.are.equal(200, r.status)
            local j = cjson.decode(r.body)
            assert.are.equal("GET", j.method)
            assert.are.equal("", j.body)
            assert.is_nil(j.headers["content-length"])
            assert.is_nil(j.headers["content-type"])
            assert.are.equal("yes", j.headers["x-kept"])
        end)
    end

    for _, status in ipairs({ 307, 308 }) do
        it("repeat the method and the body on " .. status, function()
            local r = run([[{url = "/redirect/]] .. status .. [[?to=/echo/after",
                method = "PUT", body = "payload", follow_redirects = true}]])
            assert.are.equal(200, r.status)
            local j = cjson.decode(r.body)
            assert.are.equal("PUT", j.method)
            assert.are.equal("payload", j.body)
        end)
    end

    it("stop at a 307 when the body was a function (it cannot be sent twice)", function()
        local r = H.run(client, [[
            local sent = false
            return view(http.request{url = "http://127.0.0.1:" .. arg.port
                .. "/redirect/307?to=/echo/after", method = "POST", follow_redirects = true,
                body = function() if sent then return nil end sent = true return "once" end})
        ]], { port = upstream.port })
        assert.are.equal(307, r.status)
    end)

    it("are bounded by max_redirects", function()
        local ok = run([[{url = "/hops/3", max_redirects = 3}]])
        assert.are.equal(200, ok.status)
        assert.are.equal(3, ok.redirects)
        assert.are.equal("/echo/done", cjson.decode(ok.body).path)
        local r = run([[{url = "/hops/3", max_redirects = 2}]])
        assert.are.equal("too many redirects", r.err)
        local d = run([[{url = "/hops/6", follow_redirects = true}]])
        assert.are.equal("too many redirects", d.err) -- the default is 5
    end)

    it("to another host do not carry Host, Authorization or Cookie", function()
        local target = "http://localhost:" .. upstream.port .. "/echo/other"
        local r = run([[{url = "/redirect/302?to=]] .. target:gsub(":", "%%3A")
            .. [[", follow_redirects = true, headers = {Authorization = "secret",
            Cookie = "a=1", Host = "mine.test", ["X-Kept"] = "yes"}}]])
        assert.are.equal(200, r.status)
        local j = cjson.decode(r.body)
        assert.are.equal("localhost:" .. upstream.port, j.headers.host)
        assert.is_nil(j.headers.authorization)
        assert.is_nil(j.headers.cookie)
        assert.are.equal("yes", j.headers["x-kept"])
    end)

    it("to the same host carry them", function()
        local r = run([[{url = "/redirect/302?to=/echo/same", follow_redirects = true,
            headers = {Authorization = "secret", Cookie = "a=1"}}]])
        local j = cjson.decode(r.body)
        assert.are.equal("secret", j.headers.authorization)
        assert.are.equal("a=1", j.headers.cookie)
    end)

    it("to https give the https error", function()
        local r = run([[{url = "/redirect/302?to=https%3A//127.0.0.1/", follow_redirects = true}]])
        assert.are.equal("https is not supported (no TLS yet)", r.err)
    end)
end)
