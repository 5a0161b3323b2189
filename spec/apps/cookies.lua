-- req.cookies and res:setCookie.
local kit = require("testkit")

return kit.router({
    -- the cookies as sorted "name=value" lines, "[same]" when a second read gives the same table
    ["/cookies"] = function(req, res)
        local jar = req.cookies
        local out = kit.kv(jar)
        res:finish(out .. (req.cookies == jar and "[same]" or "[other]"))
    end,
    ["/count"] = function(req, res)
        local n = 0
        for _ in pairs(req.cookies) do
            n = n + 1
        end
        res:finish(tostring(n))
    end,
    ["/set"] = function(_, res)
        res:setCookie("sid", "abc123", { path = "/", httpOnly = true, secure = true,
            sameSite = "lax", maxAge = 3600 })
        res:setCookie("theme", "dark")
        res:setCookie("old", "", { maxAge = 0, domain = "example.com", path = "/app",
            expires = 0 })
        res:setCookie("q", '"quoted"', { expires = 784111777, sameSite = "None", secure = true })
        res:finish("ok")
    end,
    -- setCookie with a bad argument: the error message, or "accepted"
    ["/bad"] = function(req, res)
        local cases = {
            name = function() res:setCookie("bad name", "v") end,
            semicolon = function() res:setCookie("a", "x;y") end,
            space = function() res:setCookie("a", "x y") end,
            comma = function() res:setCookie("a", "x,y") end,
            crlf = function() res:setCookie("a", "x\r\nSet-Cookie: evil=1") end,
            path = function() res:setCookie("a", "b", { path = "/;evil" }) end,
            domain = function() res:setCookie("a", "b", { domain = "a b.com" }) end,
            maxage = function() res:setCookie("a", "b", { maxAge = 1.5 }) end,
            samesite = function() res:setCookie("a", "b", { sameSite = "sometimes" }) end,
            none = function() res:setCookie("a", "b", { sameSite = "None" }) end,
            unknown = function() res:setCookie("a", "b", { httponly = true }) end,
            table = function() res:setCookie("a", {}) end,
            empty = function() res:setCookie("", "b") end,
        }
        local ok, err = pcall(cases[req.query])
        res:finish(ok and "accepted" or tostring(err))
    end,
})
