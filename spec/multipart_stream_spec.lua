-- lunaserve.multipart over a real socket: a multipart/form-data upload is read part by part
-- as it streams in (an 8 MiB file never sits in the Lua heap), and a malformed body is
-- refused with its reason.
local S = require("spec.support.server")

local B = "lsb-7MA4YWxkTrZu0gW"

describe("multipart.parts(req)", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = S.app("multipart_stream.lua"), args = { "--max-body", "32m" } })
    end)

    lazy_teardown(function()
        srv:stop_ok()
    end)

    local function post(body, ctype)
        local c = srv:connect()
        assert(c:send("POST / HTTP/1.1\r\nHost: x\r\nContent-Type: " .. (ctype or
            "multipart/form-data; boundary=" .. B) .. "\r\nContent-Length: " .. #body .. "\r\n\r\n"))
        for i = 1, #body, 65536 do
            assert(c:send(body:sub(i, i + 65535), 10))
        end
        local r, err = c:read_response({ timeout = 20 })
        c:close()
        return assert(r, err)
    end

    it("reads every part as it streams in, an 8 MiB file without holding it", function()
        local file = string.rep("0123456789abcdef", 8 * 65536) .. "END!" -- 8 MiB + 4
        local body = "--" .. B .. "\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nmy file\r\n"
            .. "--" .. B .. "\r\nContent-Disposition: form-data; name=\"f\"; filename=\"big.bin\"\r\n"
            .. "Content-Type: application/octet-stream\r\n\r\n" .. file .. "\r\n"
            .. "--" .. B .. "--\r\n"
        local r = post(body)
        assert.are.equal(200, r.status, r.body)
        local lines = {}
        for l in r.body:gmatch("[^\n]+") do
            lines[#lines + 1] = l
        end
        assert.are.equal("title||text/plain|7|6d792066696c65|6d792066696c65", lines[1])
        assert.are.equal("f|big.bin|application/octet-stream|8388612|3031323334353637|63646566454e4421", lines[2])
        local peak = tonumber(lines[3]:match("^peak KiB (%d+)$"))
        assert.is_truthy(peak, lines[3])
        assert.is_true(peak < 1024, "the Lua heap grew by " .. peak .. " KiB while reading")
    end)

    it("answers a body cut before the closing boundary with the reason", function()
        local r = post("--" .. B .. "\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue")
        assert.are.equal(400, r.status)
        assert.are.equal("the body ended before the closing boundary\n", r.body)
    end)

    it("answers a Content-Type without a boundary, or not multipart, with the reason", function()
        local r = post("x", "multipart/form-data")
        assert.are.same({ 400, "no valid boundary (1 to 70 characters)\n" }, { r.status, r.body })
        r = post("a=1", "application/x-www-form-urlencoded")
        assert.are.same({ 400, "not multipart: application/x-www-form-urlencoded\n" }, { r.status, r.body })
    end)
end)
