-- lunaserve.http: what a URL may be. https:// is a clear error (no TLS yet), as are other
-- schemes and malformed URLs (returned as nil, err); bad arguments raise.
local H = require("spec.support.http_client")
local cjson = require("cjson")

describe("http client URLs and arguments", function()
    local client, upstream

    lazy_setup(function()
        upstream, client = H.start_all("upstream")
    end)

    lazy_teardown(function()
        H.stop_all(client, upstream)
    end)

    it("refuses https with a clear error", function()
        local r = H.run(client, [[
            local a, ea = http.request("https://127.0.0.1:" .. arg.port .. "/")
            local b, eb = http.request{url = "HTTPS://example.com/"}
            return {a == nil, ea, b == nil, eb}
        ]], { port = upstream.port })
        assert.are.same({ true, "https is not supported (no TLS yet)", true,
            "https is not supported (no TLS yet)" }, r)
    end)

    it("returns errors for other schemes and malformed URLs", function()
        local r = H.run(client, [[
            local out = {}
            for _, u in ipairs({"ftp://h/x", "127.0.0.1/x", "http:///x", "http://h:99999/",
                                "http://user@h/", "http://h/a b"}) do
                local res, err = http.request(u)
                out[#out + 1] = err
            end
            return out
        ]])
        assert.are.same({
            "unsupported URL scheme: ftp",
            "invalid URL: 127.0.0.1/x",
            "invalid URL (no host): http:///x",
            "invalid URL (port): http://h:99999/",
            "invalid URL (user info is not supported): http://user@h/",
            "invalid URL (spaces or control characters): http://h/a b",
        }, r)
    end)

    it("takes a URL without a path, and drops the fragment", function()
        local r = H.run(client, [[
            local a = assert(http.request("http://127.0.0.1:" .. arg.port))
            local b = assert(http.request("http://127.0.0.1:" .. arg.port .. "/echo?x=1#frag"))
            return {a.status, b.body}
        ]], { port = upstream.port })
        assert.are.equal(404, r[1]) -- "/" is not an echo route: it answered
        local j = cjson.decode(r[2])
        assert.are.equal("/echo", j.path)
        assert.are.equal("x=1", j.query)
    end)

    local function has_ipv6_loopback()
        local f = io.open("/proc/net/if_inet6")
        local s = f and f:read("a") or ""
        if f then f:close() end
        return s:find("^00000000000000000000000000000001 ") ~= nil
            or s:find("\n00000000000000000000000000000001 ") ~= nil
    end

    it("connects to a name, and to a bracketed IPv6 literal", function()
        if not has_ipv6_loopback() then
            pending("no IPv6 loopback address here")
            return
        end
        local r = H.run(client, [[
            local a, ea = http.request{url = "http://localhost:" .. arg.port .. "/echo",
                timeout = 2000}
            local b, eb = http.request{url = "http://[::1]:" .. arg.port .. "/echo",
                timeout = 2000}
            return {a and a.status or ea, b and b.status or eb,
                    a and cjson.decode(a.body).headers.host}
        ]], { port = upstream.port })
        assert.are.equal(200, r[1])
        -- the upstream listens on 127.0.0.1 only: [::1] is refused, not misparsed
        assert.are.equal("connection refused", r[2])
        assert.are.equal("localhost:" .. upstream.port, r[3])
    end)

    it("raises for bad arguments", function()
        local r = H.run(client, [[
            local out = {}
            local cases = {
                {},
                {url = 42},
                {url = "http://h/", method = "GE T"},
                {url = "http://h/", headers = {["X-A"] = "a\r\nX-Injected: 1"}},
                {url = "http://h/", headers = {["Bad Name"] = "v"}},
                {url = "http://h/", body = {}},
                {url = "http://h/", timeout = -1},
                {url = "http://h/", headers = "x"},
            }
            for i, c in ipairs(cases) do
                local ok, err = pcall(http.request, c)
                -- the error names the caller's line
                out[i] = ok and "no error" or tostring(err):gsub("^spec:%d+: ", "")
            end
            local ok, err = pcall(http.request, 42)
            out[#out + 1] = ok and "no error" or tostring(err):gsub("^spec:%d+: ", "")
            return out
        ]])
        assert.are.same({
            "lunaserve.http.request: url must be a string",
            "lunaserve.http.request: url must be a string",
            "lunaserve.http.request: invalid method",
            "lunaserve.http.request: invalid value for header X-A",
            "lunaserve.http.request: invalid header name \"Bad Name\"",
            "lunaserve.http.request: body must be a string or a function",
            "lunaserve.http.request: timeout must be a number of milliseconds",
            "lunaserve.http.request: headers must be a table",
            "lunaserve.http.request: a table of options (or a URL) expected",
        }, r)
    end)

    it("loads as require(\"lunaserve\").http too", function()
        local r = H.run(client, [[
            return {require("lunaserve").http == http, http.USER_AGENT}
        ]])
        assert.are.same({ true, "lunaserve/0.1.0" }, r)
    end)
end)
