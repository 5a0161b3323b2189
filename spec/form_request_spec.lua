-- req:form() (README, "Forms and uploads"): an application/x-www-form-urlencoded body's fields,
-- repeated names kept in order, + and %XX decoded; another Content-Type, or too many fields,
-- is an error the handler gets (here answered 400).
local S = require("spec.support.server")

describe("req:form()", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = S.app("forms.lua") })
    end)

    lazy_teardown(function()
        srv:stop_ok()
    end)

    local function post(body, ctype)
        local c = srv:connect()
        assert(c:send("POST / HTTP/1.1\r\nHost: x\r\nContent-Type: " .. ctype
            .. "\r\nContent-Length: " .. #body .. "\r\n\r\n" .. body))
        local r = assert(c:read_response({ timeout = 5 }))
        c:close()
        return r.status, r.body
    end

    it("gives the fields, repeated names in order, decoded", function()
        assert.are.same({ 200, "a=1,3\nb=x y\nc=&=\nz=\n" },
            { post("a=1&b=x+y&a=3&c=%26%3D&z", "application/x-www-form-urlencoded") })
        assert.are.same({ 200, "k=v\n" }, { post("k=v", "Application/X-WWW-Form-Urlencoded; charset=UTF-8") })
        assert.are.same({ 200, "" }, { post("", "application/x-www-form-urlencoded") })
    end)

    it("is an error for another Content-Type, or too many fields", function()
        assert.are.same({ 400, "error: not a form (Content-Type: text/plain)\n" },
            { post("a=1", "text/plain") })
        assert.are.same({ 400, "error: too many fields (more than 1000)\n" },
            { post(string.rep("a=1&", 1001), "application/x-www-form-urlencoded") })
    end)
end)
