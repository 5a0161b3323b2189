-- lunaserve.multipart's parser (plain Lua): RFC 2046 framing as it streams in, the same
-- events whatever the chunking, and malformed messages refused with a reason.
package.path = "lua/?.lua;" .. package.path
local multipart = require("lunaserve.multipart")

local B = "----lsb7MA4YWxkTrZu0gW"

local function message(parts, opts)
    opts = opts or {}
    local out = { opts.preamble or "" }
    for _, p in ipairs(parts) do
        out[#out + 1] = "--" .. B .. "\r\n" .. p .. "\r\n"
    end
    out[#out + 1] = "--" .. B .. "--\r\n" .. (opts.epilogue or "")
    local s = table.concat(out)
    if opts.preamble then
        s = s:gsub("^(" .. opts.preamble:gsub("%p", "%%%0") .. ")", "%1\r\n")
    end
    return s
end

-- Feeds text in pieces of `size` bytes and merges the data events, for comparison.
local function parse(text, size, opts)
    local p = multipart.parser(B, opts)
    local out = {}
    local function take(events)
        for _, ev in ipairs(events) do
            local last = out[#out]
            if ev[1] == "data" and last and last[1] == "data" then
                last[2] = last[2] .. ev[2]
            else
                out[#out + 1] = { ev[1], ev[2] }
            end
        end
    end
    size = math.max(1, size or #text)
    for i = 1, #text, size do
        local events, err = p:feed(text:sub(i, i + size - 1))
        if not events then
            return nil, err
        end
        take(events)
    end
    local events, err = p:feed(nil)
    if not events then
        return nil, err
    end
    take(events)
    return out
end

describe("lunaserve.multipart parser", function()
    local body = message({
        'Content-Disposition: form-data; name="title"\r\n\r\nhello\r\nworld',
        'Content-Disposition: form-data; name="file"; filename="a\\"b.bin"\r\n'
            .. "Content-Type: application/octet-stream\r\n\r\n" .. "\r\n--" .. B:sub(1, 10)
            .. "x\0\255" .. string.rep("z", 3000),
        "Content-Disposition: form-data; name=\"empty\"\r\n\r\n",
    }, { preamble = "ignored preamble", epilogue = "ignored epilogue" })

    local want = {
        { "part", { ["content-disposition"] = 'form-data; name="title"' } },
        { "data", "hello\r\nworld" },
        { "part", { ["content-disposition"] = 'form-data; name="file"; filename="a\\"b.bin"',
            ["content-type"] = "application/octet-stream" } },
        { "data", "\r\n--" .. B:sub(1, 10) .. "x\0\255" .. string.rep("z", 3000) },
        { "part", { ["content-disposition"] = 'form-data; name="empty"' } },
        { "done" },
    }

    it("gives the parts, their headers and bodies, preamble and epilogue ignored", function()
        assert.are.same(want, assert(parse(body)))
    end)

    it("gives the same whatever the chunks (1, 2, 7, 64 bytes)", function()
        for _, size in ipairs({ 1, 2, 7, 64 }) do
            assert.are.same(want, assert(parse(body, size)), "chunks of " .. size)
        end
    end)

    it("starts with the delimiter at the very first byte, or after a preamble", function()
        local plain = message({ 'Content-Disposition: form-data; name="a"\r\n\r\n1' })
        assert.are.equal("--", plain:sub(1, 2))
        assert.are.same({ { "part", { ["content-disposition"] = 'form-data; name="a"' } },
            { "data", "1" }, { "done" } }, assert(parse(plain, 3)))
    end)

    it("takes a delimiter without a CRLF before it only at the body's first byte", function()
        local inner = "x--" .. B .. "\r\nnot a part\r\n"
        local text = inner .. message({ 'Content-Disposition: form-data; name="a"\r\n\r\n1' })
            :gsub("^%-%-", "\r\n--")
        for _, size in ipairs({ 1, 3, #text }) do
            assert.are.same({ { "part", { ["content-disposition"] = 'form-data; name="a"' } },
                { "data", "1" }, { "done" } }, assert(parse(text, size)), "chunks of " .. size)
        end
    end)

    it("refuses a body that ends before the closing delimiter", function()
        local cut = message({ 'Content-Disposition: form-data; name="a"\r\n\r\n1' }):sub(1, -8)
        local out, err = parse(cut)
        assert.is_nil(out)
        assert.are.equal("the body ended before the closing boundary", err)
        assert.are.same({ nil, "the body ended before the closing boundary" }, { parse("") })
    end)

    it("refuses a header block over the limit, a bad header line, a bad delimiter line", function()
        local big = message({ "X-Big: " .. string.rep("a", 20000) .. "\r\n\r\nv" })
        assert.are.same({ nil, "part header too large (more than 16384 bytes)" }, { parse(big, 1000) })
        assert.are.same({ nil, "malformed part header line" },
            { parse(message({ "no colon here\r\n\r\nv" })) })
        assert.are.same({ nil, "malformed delimiter line" },
            { parse("--" .. B .. "garbage\r\n\r\nv\r\n--" .. B .. "--") })
    end)

    it("refuses more than max_parts parts", function()
        local parts = {}
        for i = 1, 4 do
            parts[i] = 'Content-Disposition: form-data; name="p' .. i .. '"\r\n\r\nv'
        end
        assert.are.same({ nil, "too many parts (more than 3)" },
            { parse(message(parts), nil, { max_parts = 3 }) })
    end)

    it("reads the boundary from the Content-Type (token or quoted), and refuses others", function()
        assert.are.equal("abc", multipart.boundary("multipart/form-data; boundary=abc"))
        assert.are.equal("a b;c", multipart.boundary('Multipart/Form-Data; charset=x; BOUNDARY="a b;c"'))
        assert.are.same({ nil, "not multipart: text/plain" }, { multipart.boundary("text/plain; boundary=x") })
        assert.are.same({ nil, "no valid boundary (1 to 70 characters)" },
            { multipart.boundary("multipart/form-data; boundary=" .. string.rep("x", 71)) })
        assert.are.same({ nil, "no Content-Type" }, { multipart.boundary(nil) })
    end)

    it("parses Content-Disposition parameters, quoted strings and RFC 5987 names", function()
        local main, params = multipart.params('form-data; name="a\\"b"; filename=plain.txt; filename*=UTF-8\'\'na%C3%AFve.txt')
        assert.are.equal("form-data", main)
        assert.are.same({ name = 'a"b', filename = "plain.txt", ["filename*"] = "UTF-8''na%C3%AFve.txt" }, params)
    end)
end)
