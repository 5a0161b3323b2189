-- lunaserve.static: a precompressed NAME.gz is served for NAME when Accept-Encoding allows
-- gzip, with Content-Encoding: gzip and Vary: Accept-Encoding (also on the plain answer).
local T = require("spec.support.static_tree")

describe("lunaserve.static precompressed files", function()
    local srv

    lazy_setup(function()
        srv = T.start()
    end)

    lazy_teardown(function()
        T.stop(srv)
    end)

    local function get(ae, target)
        return T.fetch(srv, "GET", target or "/app.js", ae and { ["Accept-Encoding"] = ae } or nil)
    end

    it("serves app.js.gz to a client that takes gzip", function()
        for _, ae in ipairs({ "gzip", "gzip, deflate, br", "br;q=1.0, GZIP;q=0.5", "*", "x-gzip" }) do
            local r = get(ae)
            assert.are.equal(200, r.status, ae)
            assert.are.equal("gzip", r.headers["content-encoding"], ae)
            assert.are.equal("Accept-Encoding", r.headers.vary, ae)
            assert.are.equal("text/javascript; charset=utf-8", r.headers["content-type"], ae)
            assert.are.equal(T.GZ, r.body, ae)
            assert.are.equal(string.format('"6553f100-%x"', #T.GZ), r.headers.etag, ae)
        end
    end)

    it("serves app.js, with Vary, to a client that does not", function()
        for _, ae in ipairs({ false, "identity", "gzip;q=0", "br", "*;q=0", "gzip;q=0, *" }) do
            local r = get(ae or nil)
            assert.are.equal(200, r.status, tostring(ae))
            assert.is_nil(r.headers["content-encoding"], tostring(ae))
            assert.are.equal("Accept-Encoding", r.headers.vary, tostring(ae))
            assert.are.equal(T.JS, r.body, tostring(ae))
        end
    end)

    it("keeps Vary on a 304, and has no Vary where there is no .gz", function()
        local r = get("gzip")
        local r304 = T.fetch(srv, "GET", "/app.js", { ["Accept-Encoding"] = "gzip",
            ["If-None-Match"] = r.headers.etag })
        assert.are.same({ 304, "Accept-Encoding", "" }, { r304.status, r304.headers.vary, r304.body })
        assert.is_nil(get("gzip", "/hello.txt").headers.vary)
        assert.is_nil(get("gzip", "/hello.txt").headers["content-encoding"])
    end)

    it("applies a range to the compressed file", function()
        local r = T.fetch(srv, "GET", "/app.js", { ["Accept-Encoding"] = "gzip", Range = "bytes=0-1" })
        assert.are.same({ 206, "\31\139", "gzip" }, { r.status, r.body, r.headers["content-encoding"] })
    end)
end)
