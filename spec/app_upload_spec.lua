-- apps/upload (README, "Bundled apps"): multipart uploads streamed to disk with their SHA-256,
-- a JSON list, an early 413 past the size limit, and no partial file left behind by a client
-- that goes away or a body that is malformed or too large.
local S = require("spec.support.server")
local cjson = require("cjson")

local B = "lsupload7MA4YWxkTrZu0gW"

local function sha256_hex(data)
    local dir = S.mktempdir()
    S.write_file(dir .. "/f", data)
    local p = assert(io.popen("sha256sum " .. S.shquote(dir .. "/f")))
    local out = p:read("a")
    p:close()
    os.execute("rm -rf " .. S.shquote(dir))
    return out:match("^(%x+)")
end

local function multipart_body(files)
    local out = {}
    for _, f in ipairs(files) do
        out[#out + 1] = "--" .. B .. "\r\nContent-Disposition: form-data; name=\"file\"; filename=\""
            .. f.name .. "\"\r\nContent-Type: application/octet-stream\r\n\r\n" .. f.data .. "\r\n"
    end
    out[#out + 1] = "--" .. B .. "\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhi\r\n"
    out[#out + 1] = "--" .. B .. "--\r\n"
    return table.concat(out)
end

-- The names in the upload folder (the index and the stored files), sorted.
local function stored(dir)
    local p = assert(io.popen("ls -A " .. S.shquote(dir)))
    local names = {}
    for l in p:lines() do
        names[#names + 1] = l
    end
    p:close()
    table.sort(names)
    return names
end

describe("apps/upload", function()
    local srv, dir

    lazy_setup(function()
        dir = S.mktempdir()
        srv = S.start({ app = S.root .. "/apps/upload", env = { UPLOAD_DIR = dir,
            UPLOAD_MAX = tostring(3 * 1024 * 1024) } })
    end)

    lazy_teardown(function()
        srv:stop_ok()
        os.execute("rm -rf " .. S.shquote(dir))
    end)

    local function post(body, headers)
        local c = srv:connect()
        assert(c:send("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary="
            .. B .. "\r\n" .. (headers or ("Content-Length: " .. #body .. "\r\n")) .. "\r\n"))
        for i = 1, #body, 65536 do
            if not c:send(body:sub(i, i + 65535), 10) then
                break
            end
        end
        local r, err = c:read_response({ timeout = 10 })
        c:close()
        return assert(r, err)
    end

    it("serves the form", function()
        local status, body = srv:get_body("/", 3)
        assert.are.equal(200, status)
        assert.is_truthy(body:find('<form method="post" action="/upload" enctype="multipart/form-data">', 1, true))
    end)

    it("streams files to disk with their SHA-256 and lists them", function()
        local a = string.rep("A", 1000) .. "\0\255"
        local b = string.rep("0123456789", 150000) -- 1.5 MB
        local r = post(multipart_body({ { name = "a.bin", data = a }, { name = "../../etc/b.txt", data = b } }))
        assert.are.equal(201, r.status, r.body)
        local got = cjson.decode(r.body)
        assert.are.same({
            { name = "a.bin", size = #a, sha256 = sha256_hex(a) },
            { name = "b.txt", size = #b, sha256 = sha256_hex(b) },
        }, got)
        assert.are.equal(a, S.read_file(dir .. "/" .. got[1].sha256:sub(1, 16) .. "-a.bin"))
        assert.are.equal(b, S.read_file(dir .. "/" .. got[2].sha256:sub(1, 16) .. "-b.txt"))
        local status, list = srv:get_body("/files", 3)
        assert.are.equal(200, status)
        assert.are.same(got, cjson.decode(list))
    end)

    it("answers 413 at once when the Content-Length is over the limit", function()
        local before = stored(dir)
        local c = srv:connect()
        assert(c:send("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary="
            .. B .. "\r\nContent-Length: " .. (10 * 1024 * 1024) .. "\r\n\r\n"))
        local r = assert(c:read_response({ timeout = 5 }))
        -- (the route sets its body limit just above UPLOAD_MAX: the answer comes before any
        -- of the body is read, and the connection closes)
        assert.are.equal(413, r.status)
        assert.are.equal("close", r.headers["connection"])
        assert.are.equal("fin", (c:wait_close(5)))
        c:close()
        assert.are.same(before, stored(dir))
    end)

    it("answers 413 when a chunked upload goes past the limit, leaving no partial file", function()
        local before = stored(dir)
        local body = multipart_body({ { name = "big.bin", data = string.rep("x", 4 * 1024 * 1024) } })
        local chunked = {}
        for i = 1, #body, 65536 do
            local piece = body:sub(i, i + 65535)
            chunked[#chunked + 1] = string.format("%x\r\n%s\r\n", #piece, piece)
        end
        chunked[#chunked + 1] = "0\r\n\r\n"
        local r = post(table.concat(chunked), "Transfer-Encoding: chunked\r\n")
        assert.are.equal(413, r.status, r.body)
        assert.are.same(before, stored(dir))
    end)

    it("leaves no partial file when the client goes away mid-upload", function()
        local before = stored(dir)
        local body = multipart_body({ { name = "gone.bin", data = string.rep("y", 2 * 1024 * 1024) } })
        local c = srv:connect()
        assert(c:send("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary="
            .. B .. "\r\nContent-Length: " .. #body .. "\r\n\r\n" .. body:sub(1, 1024 * 1024), 10))
        assert.is_truthy(S.wait_for(function()
            for _, n in ipairs(stored(dir)) do
                if n:find("^%.partial%-") then return true end
            end
        end, 3, 0.01), "no partial file while uploading")
        c:close()
        assert.is_truthy(S.wait_for(function()
            local now = stored(dir)
            return #now == #before
        end, 3, 0.02), "left behind: " .. table.concat(stored(dir), " "))
        assert.are.same(before, stored(dir))
    end)

    it("answers 400 for a malformed body, leaving no partial file", function()
        local before = stored(dir)
        local body = multipart_body({ { name = "cut.bin", data = string.rep("z", 100000) } })
        local r = post(body:sub(1, -20))
        assert.are.equal(400, r.status)
        assert.are.same({ error = "the body ended before the closing boundary" }, cjson.decode(r.body))
        assert.are.same(before, stored(dir))
    end)
end)
