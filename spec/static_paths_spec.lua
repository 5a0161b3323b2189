-- lunaserve.static: which paths are served. Percent-decoding before the check; `..`, `%2e%2e`,
-- `%00` and symlinks leading outside the root are 404; only GET and HEAD; directories (301
-- keeping the query, index.html, listing with escaped names).
local S = require("spec.support.server")
local T = require("spec.support.static_tree")

describe("lunaserve.static paths", function()
    local srv

    lazy_setup(function()
        srv = T.start()
    end)

    lazy_teardown(function()
        T.stop(srv)
    end)

    local function get(target, headers)
        return T.fetch(srv, "GET", target, headers)
    end

    it("serves a file with its type, length, validators and Cache-Control", function()
        local r = get("/hello.txt")
        assert.are.equal("HTTP/1.1 200 OK", r.status_line)
        assert.are.equal(table.concat({
            'ETag: "6553f100-d"',
            "Last-Modified: " .. T.LASTMOD,
            "Cache-Control: public, max-age=60",
            "Accept-Ranges: bytes",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Length: 13",
            "Connection: keep-alive",
            "Keep-Alive: timeout=5",
        }, "\n"), T.fields(r))
        assert.are.equal("hello, world\n", r.body)
        r = get("/plain/hello.txt")
        assert.are.equal("hello, world\n", r.body)
        assert.is_nil(r.headers["cache-control"])
        assert.are.same({ 200, "0", "" }, { get("/empty.txt").status, get("/empty.txt").headers["content-length"], get("/empty.txt").body })
        assert.are.equal("application/octet-stream", get("/data.bin").headers["content-type"])
    end)

    it("answers HEAD with the same head and no body", function()
        local r = T.fetch(srv, "HEAD", "/hello.txt")
        assert.are.equal(200, r.status)
        assert.are.equal("13", r.headers["content-length"])
        assert.are.equal('"6553f100-d"', r.headers.etag)
        assert.are.equal("", r.body)
    end)

    it("answers other methods 405 with Allow", function()
        for _, m in ipairs({ "POST", "PUT", "DELETE", "OPTIONS" }) do
            local r = T.fetch(srv, m, "/hello.txt")
            assert.are.equal(405, r.status, m)
            assert.are.equal("GET, HEAD", r.headers.allow, m)
            assert.are.equal("method not allowed\n", r.body, m)
        end
    end)

    it("decodes the path before looking at it", function()
        assert.are.equal("hello, world\n", get("/hell%6F.txt").body)
        assert.are.equal("x", get("/docs/x%20y.txt").body)
        assert.are.equal("x", get("/docs/a%26b%3Cc%3E.txt").body)
        local r = get("/hello%zz.txt")
        assert.are.same({ 400, "bad percent-escape in the path\n" }, { r.status, r.body })
    end)

    it("refuses .., %2e%2e, %00 and symlinks that leave the root with 404", function()
        for _, t in ipairs({ "/../outside/secret.txt", "/%2e%2e/outside/secret.txt",
            "/%2E%2E%2Foutside%2Fsecret.txt", "/docs/%2e%2e/%2e%2e/outside/secret.txt",
            "/docs/..%2fhello.txt", "/hello.txt%00.png", "/hello.txt%00", "/out.txt",
            "/outdir/secret.txt", "/outdir/", "/fifo", "/nope.txt", "/hello.txt/",
            "/plain/%2e%2e/outside/secret.txt" }) do
            local r = get(t)
            assert.are.equal(404, r.status, t)
            assert.are.equal("not found\n", r.body, t)
        end
        assert.are.equal("hello, world\n", get("/in.txt").body) -- a symlink inside is fine
    end)

    it("redirects a directory without its trailing slash, keeping the query", function()
        local r = get("/site?a=1&b=%20")
        assert.are.equal("HTTP/1.1 301 Moved Permanently", r.status_line)
        assert.are.equal("/site/?a=1&b=%20", r.headers.location)
        r = get("//site")
        assert.are.same({ 301, "/site/" }, { r.status, r.headers.location }) -- not //site/
        r = get("/plain/site")
        assert.are.same({ 301, "/plain/site/" }, { r.status, r.headers.location })
    end)

    it("serves index.html for a directory", function()
        local r = get("/site/")
        assert.are.same({ 200, "site\n", "text/html; charset=utf-8" },
            { r.status, r.body, r.headers["content-type"] })
        assert.are.equal("<h1>home</h1>\n", get("/").body)
        assert.are.equal("<h1>home</h1>\n", get("/plain/").body)
    end)

    it("lists a directory without index when enabled, names escaped; 404 otherwise", function()
        local r = get("/docs/")
        assert.are.equal(200, r.status)
        assert.are.equal("text/html; charset=utf-8", r.headers["content-type"])
        assert.are.equal('<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>Index of /docs/'
            .. '</title></head>\n<body><h1>Index of /docs/</h1>\n<ul>\n'
            .. '<li><a href="../">../</a></li>\n'
            .. '<li><a href="sub/">sub/</a></li>\n'
            .. '<li><a href="a%26b%3Cc%3E.txt">a&amp;b&lt;c&gt;.txt</a></li>\n'
            .. '<li><a href="x%20y.txt">x y.txt</a></li>\n'
            .. "</ul></body></html>\n", r.body)
        assert.are.equal(tostring(#r.body), r.headers["content-length"])
        r = get("/plain/docs/")
        assert.are.same({ 404, "not found\n" }, { r.status, r.body })
    end)
end)
