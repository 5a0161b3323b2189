-- Chunk extensions (issue 9, RFC 9112 7.1.1): every form the grammar allows is served and
-- ignored; the invalid ones are a 400 and a close. Cases that fail on d473277 (llhttp 8.1
-- parsed the line): the quoted-pairs, delimiters in quotes, BWS, several extensions, one after
-- a name=token one or (with BWS) after a quoted value, the line that arrives byte by byte,
-- the --max-header bound, and ";=b", ";a;;b", ";a=" that it accepted. The others guard forms
-- that were right already.

local W = require("spec.support.wire")

local NEXT, CHUNKED, q, refused, served = W.NEXT, W.CHUNKED, W.q, W.refused, W.served

describe("chunk extensions (RFC 9112 7.1.1)", function()
    local srv

    lazy_setup(function()
        srv = W.start()
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    after_each(function()
        W.still_serving(srv)
    end)

    -- chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] ),
    -- chunk-ext-val = token / quoted-string; unknown extensions are ignored.
    local valid = {
        { "a name alone", "5;a" },
        { "name=token", "5;a=b" },
        { "a quoted-string", '5;a="b c"' },
        { "an empty quoted-string", '5;a=""' },
        { "a quoted-pair \\\"", '5;a="b\\"c"' },
        { "a quoted-pair \\\\", '5;a="b\\\\"' },
        { "delimiters inside quotes", '5;a=";=, ;x=\\"y\\" "' },
        { "obs-text and HTAB inside quotes", '5;a="\t\128\255"' },
        { "BWS before ;", "5 ;a" },
        { "BWS after ;", "5; a" },
        { "BWS around =", "5;a = b" },
        { "HTAB as BWS", "5\t;\ta\t=\t\"b\"" },
        { "several extensions", '5;a;b=c;d="e;f";g' },
        { "an extension after a name=token one", "5;a=b;c" },
        { "an extension after a quoted value", '5;a="b" ;c=d' },
        { "tchar names and values", "5;!#$%&'*+-.^_`|~09AZaz=!#$%&'*+-.^_`|~09AZaz" },
    }
    for _, case in ipairs(valid) do
        it("serves a chunk with " .. case[1] .. ": " .. q(case[2]), function()
            served(srv, CHUNKED .. case[2] .. "\r\nhello\r\n0\r\n\r\n", "hello")
        end)
    end

    it("serves extensions on the last chunk and on every chunk", function()
        served(srv, CHUNKED .. '5;x="1\\\\"\r\nhello\r\n6 ; y = z\r\n world\r\n'
            .. '0;end="\\"done\\""; more\r\n\r\n', "hello world")
    end)

    it("serves a chunk line with extensions that arrives one byte at a time", function()
        local c = srv:connect()
        finally(function() c:close() end)
        local raw = CHUNKED .. '3 ; n = "a;\\"b\\"" ;m\r\nabc\r\n0 ;z\r\n\r\n' .. NEXT
        assert(c:send_slowly(raw, 1, 0.002))
        local res = assert(c:read_response({ timeout = 3 }))
        assert.are.equal(200, res.status, res.raw)
        assert.are.equal("abc", res.body)
        assert.are.equal("ok", assert(c:read_response({ timeout = 3 })).body)
    end)

    it("serves a chunk line just under --max-header (1024) and refuses one over it", function()
        -- (guards the bound on a line that is kept until it is complete)
        served(srv, CHUNKED .. "5;a=\"" .. string.rep("x", 900) .. "\"\r\nhello\r\n0\r\n\r\n",
            "hello")
        refused(srv, CHUNKED .. "5;a=\"" .. string.rep("x", 1100) .. "\"\r\nhello\r\n0\r\n\r\n"
            .. NEXT, 400)
    end)

    local invalid = {
        { "an unterminated quoted-string", '5;a="b\r\nhello\r\n0\r\n\r\n' },
        { "a control character in a token", "5;a=b\1\r\nhello\r\n0\r\n\r\n" },
        { "a control character in quotes", '5;a="b\1"\r\nhello\r\n0\r\n\r\n' },
        { "a bare = without a name", "5;=b\r\nhello\r\n0\r\n\r\n" },
        { "a ; without a name", "5;\r\nhello\r\n0\r\n\r\n" },
        { "an empty extension between two ;", "5;a;;b\r\nhello\r\n0\r\n\r\n" },
        { "= without a value", "5;a=\r\nhello\r\n0\r\n\r\n" },
        { "a space inside a token value", "5;a=b c\r\nhello\r\n0\r\n\r\n" },
        { "text after a quoted value", '5;a="b"c\r\nhello\r\n0\r\n\r\n' },
        { "a name that is not a token", "5;a@b\r\nhello\r\n0\r\n\r\n" },
        { "whitespace before the line's CRLF", "5;a \r\nhello\r\n0\r\n\r\n" },
        { "an LF without CR", "5;a\nhello\r\n0\r\n\r\n" },
    }
    for _, case in ipairs(invalid) do
        it("answers 400 and closes for " .. case[1], function()
            refused(srv, CHUNKED .. case[2] .. NEXT, 400)
        end)
    end
end)
