-- lunaserve.static: conditional requests (RFC 9110 13): a strong ETag from mtime and size,
-- Last-Modified, If-None-Match over If-Modified-Since, 304 without a body or framing fields,
-- 412 for If-Match and If-Unmodified-Since.
local T = require("spec.support.static_tree")

describe("lunaserve.static conditional requests", function()
    local srv
    local ETAG = '"6553f100-d"'
    local BEFORE = "Tue, 14 Nov 2023 22:13:19 GMT"

    lazy_setup(function()
        srv = T.start()
    end)

    lazy_teardown(function()
        T.stop(srv)
    end)

    local function get(headers, method)
        return T.fetch(srv, method or "GET", "/hello.txt", headers)
    end

    it("answers a matching If-None-Match with 304 and no body or framing fields", function()
        for _, inm in ipairs({ ETAG, "W/" .. ETAG, '"other", ' .. ETAG, "*" }) do
            local r = get({ ["If-None-Match"] = inm })
            assert.are.equal("HTTP/1.1 304 Not Modified", r.status_line, inm)
            assert.are.equal(table.concat({
                "ETag: " .. ETAG,
                "Last-Modified: " .. T.LASTMOD,
                "Cache-Control: public, max-age=60",
                "Connection: keep-alive",
                "Keep-Alive: timeout=5",
            }, "\n"), T.fields(r), inm)
            assert.are.equal("", r.body)
            assert.are.equal("none", r.framing)
        end
        local r = get({ ["If-None-Match"] = ETAG }, "HEAD")
        assert.are.same({ 304, nil }, { r.status, r.headers["content-length"] })
    end)

    it("serves the file when If-None-Match does not match", function()
        local r = get({ ["If-None-Match"] = '"6553f100-e"' })
        assert.are.same({ 200, "hello, world\n" }, { r.status, r.body })
    end)

    it("answers If-Modified-Since (all three date formats) with 304 when not newer", function()
        for _, d in ipairs({ T.LASTMOD, "Tue, 14 Nov 2023 22:13:21 GMT",
            "Tuesday, 14-Nov-23 22:13:20 GMT", "Tue Nov 14 22:13:20 2023" }) do
            local r = get({ ["If-Modified-Since"] = d })
            assert.are.equal(304, r.status, d)
            assert.are.equal("", r.body, d)
        end
        local r = get({ ["If-Modified-Since"] = BEFORE })
        assert.are.same({ 200, "hello, world\n" }, { r.status, r.body })
        r = get({ ["If-Modified-Since"] = "yesterday" }) -- not a date: ignored
        assert.are.equal(200, r.status)
    end)

    it("lets If-None-Match take precedence over If-Modified-Since", function()
        local r = get({ ["If-None-Match"] = '"nope"', ["If-Modified-Since"] = T.LASTMOD })
        assert.are.same({ 200, "hello, world\n" }, { r.status, r.body })
        r = get({ ["If-None-Match"] = ETAG, ["If-Modified-Since"] = BEFORE })
        assert.are.equal(304, r.status)
    end)

    it("answers a failed If-Match with 412, a matching one with the file", function()
        for _, im in ipairs({ '"nope"', "W/" .. ETAG }) do -- If-Match compares strongly
            local r = get({ ["If-Match"] = im })
            assert.are.same({ "HTTP/1.1 412 Precondition Failed", "precondition failed\n" },
                { r.status_line, r.body }, im)
        end
        assert.are.equal(200, get({ ["If-Match"] = ETAG }).status)
        assert.are.equal(200, get({ ["If-Match"] = '"a", ' .. ETAG }).status)
        assert.are.equal(200, get({ ["If-Match"] = "*" }).status)
    end)

    it("answers If-Unmodified-Since before the mtime with 412; If-Match takes precedence", function()
        local r = get({ ["If-Unmodified-Since"] = BEFORE })
        assert.are.same({ 412, "precondition failed\n" }, { r.status, r.body })
        assert.are.equal(200, get({ ["If-Unmodified-Since"] = T.LASTMOD }).status)
        assert.are.equal(200, get({ ["If-Match"] = ETAG, ["If-Unmodified-Since"] = BEFORE }).status)
    end)

    it("makes the ETag from mtime and size", function()
        assert.are.equal('"6553f100-3e8"', T.fetch(srv, "GET", "/data.bin").headers.etag)
    end)
end)
