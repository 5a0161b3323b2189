-- res:setCookie: one Set-Cookie field per cookie, written strictly (RFC 6265 4.1); bad names,
-- values and attributes raise.
local S = require("spec.support.server")

local APP = S.app("cookies.lua")

describe("res:setCookie", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = APP })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    it("res:setCookie adds one Set-Cookie field per cookie, attributes in a fixed order",
        function()
            local c = srv:connect()
            assert(c:send(S.get("/set")))
            local res = assert(c:read_response())
            c:close()
            assert.are.equal(200, res.status)
            local set = {}
            for _, h in ipairs(res.header_list) do
                if h[1]:lower() == "set-cookie" then
                    set[#set + 1] = h[2]
                end
            end
            assert.are.same({
                "sid=abc123; Max-Age=3600; Path=/; HttpOnly; Secure; SameSite=Lax",
                "theme=dark",
                "old=; Max-Age=0; Domain=example.com; Path=/app; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
                'q="quoted"; Expires=Sun, 06 Nov 1994 08:49:37 GMT; Secure; SameSite=None',
            }, set)
        end)

    it("res:setCookie raises on bad names, values and attributes", function()
        local function bad(case)
            return assert(srv:fetch(S.get("/bad?" .. case))).body
        end
        local token = "(a token: letters, digits and !#$%&'*+-.^_`|~)"
        local value = "no controls, blanks, '\"', ',', ';' or '\\' (encode it first, e.g. as base64url)"
        assert.are.equal('cookies.lua:30: setCookie: invalid cookie name "bad name" ' .. token,
            bad("name"):gsub("^.*/", ""))
        for _, case in ipairs({ "semicolon", "space", "comma", "crlf" }) do
            assert.are.equal('setCookie: invalid value for cookie "a": ' .. value,
                bad(case):gsub("^.-setCookie", "setCookie"), case)
        end
        local expect = {
            path = 'setCookie: invalid path "/;evil"',
            domain = 'setCookie: invalid domain "a b.com"',
            maxage = "setCookie: maxAge must be a whole number of seconds",
            samesite = 'setCookie: sameSite must be "Strict", "Lax" or "None"',
            none = 'setCookie: sameSite "None" needs secure = true (browsers drop it otherwise)',
            unknown = 'setCookie: unknown option "httponly" (path, domain, maxAge, expires, '
                .. "httpOnly, secure, sameSite)",
            table = 'setCookie: the value of cookie "a" must be a string, not table',
            empty = 'setCookie: invalid cookie name "" ' .. token,
        }
        for case, msg in pairs(expect) do
            assert.are.equal(msg, bad(case):gsub("^.-setCookie", "setCookie"), case)
        end
    end)
end)
