-- lunaserve.static: Range requests (RFC 9110 14): single, open and suffix ranges (206),
-- several as multipart/byteranges, 416 with Content-Range: bytes */len, If-Range, and the
-- whole file for overlapping or excessive range sets (as nginx); data.bin is 1000 bytes.
local T = require("spec.support.static_tree")

describe("lunaserve.static ranges", function()
    local srv
    local ETAG = '"6553f100-3e8"'

    lazy_setup(function()
        srv = T.start()
    end)

    lazy_teardown(function()
        T.stop(srv)
    end)

    local function get(range, extra)
        local h = { { "Range", range } }
        for k, v in pairs(extra or {}) do
            h[#h + 1] = { k, v }
        end
        return T.fetch(srv, "GET", "/data.bin", h)
    end

    local function single(range, first, last)
        local r = get(range)
        assert.are.equal("HTTP/1.1 206 Partial Content", r.status_line, range)
        assert.are.equal(string.format("bytes %d-%d/1000", first, last), r.headers["content-range"], range)
        assert.are.equal(tostring(last - first + 1), r.headers["content-length"], range)
        assert.are.equal(T.DATA:sub(first + 1, last + 1), r.body, range)
        assert.are.equal("application/octet-stream", r.headers["content-type"], range)
        assert.are.equal(ETAG, r.headers.etag, range)
    end

    it("serves a single, an open and a suffix range", function()
        single("bytes=0-0", 0, 0)
        single("bytes=10-19", 10, 19)
        single("bytes=990-5000", 990, 999)
        single("bytes=995-", 995, 999)
        single("bytes=-7", 993, 999)
        single("bytes=-5000", 0, 999)
        single("BYTES = 1-2", 1, 2)
    end)

    it("answers unsatisfiable ranges with 416 and Content-Range: bytes */len", function()
        for _, range in ipairs({ "bytes=1000-", "bytes=5000-6000", "bytes=-0", "bytes=1000-1001,2000-" }) do
            local r = get(range)
            assert.are.equal("HTTP/1.1 416 Range Not Satisfiable", r.status_line, range)
            assert.are.equal("bytes */1000", r.headers["content-range"], range)
            assert.are.equal("range not satisfiable\n", r.body, range)
        end
    end)

    it("ignores a malformed or non-bytes Range (200, the whole file)", function()
        for _, range in ipairs({ "bytes=5-1", "bytes=a-b", "items=0-1", "bytes=", "bytes=1-2-3" }) do
            local r = get(range)
            assert.are.equal(200, r.status, range)
            assert.are.equal(T.DATA, r.body, range)
            assert.is_nil(r.headers["content-range"], range)
        end
    end)

    it("sends several ranges as multipart/byteranges", function()
        local r = get("bytes=0-1,10-12,-2")
        assert.are.equal(206, r.status)
        local b = r.headers["content-type"]:match("^multipart/byteranges; boundary=(%S+)$")
        assert.is_truthy(b, r.headers["content-type"])
        assert.are.equal("\r\n--" .. b .. "\r\nContent-Type: application/octet-stream\r\n"
            .. "Content-Range: bytes 0-1/1000\r\n\r\n01"
            .. "\r\n--" .. b .. "\r\nContent-Type: application/octet-stream\r\n"
            .. "Content-Range: bytes 10-12/1000\r\n\r\n012"
            .. "\r\n--" .. b .. "\r\nContent-Type: application/octet-stream\r\n"
            .. "Content-Range: bytes 998-999/1000\r\n\r\n89"
            .. "\r\n--" .. b .. "--\r\n", r.body)
        assert.are.equal(tostring(#r.body), r.headers["content-length"])
        assert.is_nil(r.headers["content-range"])
    end)

    it("sends several ranges of a big file, each through the kernel, as they drain", function()
        local S = require("spec.support.server")
        local c = srv:connect()
        assert(c:send(S.request("GET", "/big.bin", { { "Range", "bytes=8-15,1048576-2097151,-16" } })))
        local r = assert(c:read_response({ timeout = 20 }))
        c:close()
        assert.are.equal(206, r.status)
        local b = r.headers["content-type"]:match("^multipart/byteranges; boundary=(%S+)$")
        local function part(first, last)
            return "\r\n--" .. b .. "\r\nContent-Type: application/octet-stream\r\n"
                .. string.format("Content-Range: bytes %d-%d/%d\r\n\r\n", first, last, #T.BIG)
                .. T.BIG:sub(first + 1, last + 1)
        end
        local want = part(8, 15) .. part(1048576, 2097151) .. part(#T.BIG - 16, #T.BIG - 1)
            .. "\r\n--" .. b .. "--\r\n"
        assert.are.equal(#want, #r.body)
        assert.is_true(want == r.body, "the multipart body differs")
        assert.are.equal(tostring(#want), r.headers["content-length"])
    end)

    it("answers overlapping or excessive range sets with the whole file", function()
        for _, range in ipairs({ "bytes=0-10,5-20", "bytes=0-1,-999", "bytes=0-0,2-2,4-4,6-6,8-8",
            "bytes=0-999,0-999" }) do
            local r = get(range)
            assert.are.equal(200, r.status, range)
            assert.are.equal(T.DATA, r.body, range)
        end
        assert.are.equal(206, get("bytes=0-0,2-2,4-4,6-6").status) -- max_ranges = 4
    end)

    it("honours If-Range: the range when it matches, else the whole file", function()
        local r = get("bytes=0-3", { ["If-Range"] = ETAG })
        assert.are.same({ 206, "0123" }, { r.status, r.body })
        r = get("bytes=0-3", { ["If-Range"] = T.LASTMOD })
        assert.are.same({ 206, "0123" }, { r.status, r.body })
        for _, ir in ipairs({ '"other"', "W/" .. ETAG, "Tue, 14 Nov 2023 22:13:21 GMT" }) do
            r = get("bytes=0-3", { ["If-Range"] = ir })
            assert.are.same({ 200, T.DATA }, { r.status, r.body }, ir)
        end
    end)

    it("ignores Range on HEAD", function()
        local r = T.fetch(srv, "HEAD", "/data.bin", { Range = "bytes=0-1" })
        assert.are.same({ 200, "1000", "" }, { r.status, r.headers["content-length"], r.body })
    end)
end)
