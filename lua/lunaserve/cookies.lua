-- lunaserve.cookies: req.cookies and res:setCookie, which lunaserve's req and res load from
-- here on first use.
--
-- Reading is lenient, as RFC 6265 5.4 has user agents write the header ("a=1; b=2") and real
-- ones stray from it: blanks around names and values are dropped, a value in double quotes
-- loses them, a pair without "=" or with an empty name is skipped, and the first of two
-- cookies with the same name wins (the user agent sends the one with the longest path first).
-- Values are not decoded. The work is linear in the header's length whatever it holds.
--
-- Writing is strict (RFC 6265 4.1): a name that is not a token, a value with a byte outside
-- cookie-octet, an attribute that would break the header, or an unknown option raises an
-- error that says which.
local byte, sub, find, format = string.byte, string.sub, string.find, string.format
local type, tostring, error, pairs, floor = type, tostring, error, pairs, math.floor

local M = {}

local SP, TAB, DQ = 32, 9, 34

-- The cookies of a Cookie header value (nil: none) as a table name -> value.
function M.parse(header)
    local jar = {}
    if type(header) ~= "string" then
        return jar
    end
    local n, pos = #header, 1
    local eq = 0 -- the next "=" at or after pos (false: none left); each byte is looked at once
    while pos <= n do
        local stop = find(header, ";", pos, true) or n + 1
        if eq and eq < pos then
            eq = find(header, "=", pos, true) or false
        end
        if eq and eq < stop then
            local a, b = pos, eq - 1 -- the name, trimmed
            while a <= b and (byte(header, a) == SP or byte(header, a) == TAB) do a = a + 1 end
            while b >= a and (byte(header, b) == SP or byte(header, b) == TAB) do b = b - 1 end
            local c, d = eq + 1, stop - 1 -- the value, trimmed
            while c <= d and (byte(header, c) == SP or byte(header, c) == TAB) do c = c + 1 end
            while d >= c and (byte(header, d) == SP or byte(header, d) == TAB) do d = d - 1 end
            if d > c and byte(header, c) == DQ and byte(header, d) == DQ then
                c, d = c + 1, d - 1
            end
            if a <= b then
                local name = sub(header, a, b)
                if jar[name] == nil then
                    jar[name] = sub(header, c, d)
                end
            end
        end
        pos = stop + 1
    end
    return jar
end

-- req.cookies (made once per request: req caches it)
function M.of_request(req)
    return M.parse(req.headers.cookie)
end

-- Raises at the caller of res:setCookie or serialize (past fail, build, the function, and the
-- C stub that loads this module on the first call of res:setCookie).
local function fail(msg, ...)
    local info = debug.getinfo(4, "S")
    error("setCookie: " .. format(msg, ...), info and info.what == "C" and 5 or 4)
end

-- RFC 9110 5.6.2 token
local function is_token(s)
    return #s > 0 and not find(s, "[^!#$%%&'*+%-.^_`|~0-9A-Za-z]")
end

-- cookie-value: cookie-octets, or the same in double quotes
local function is_cookie_value(s)
    if #s >= 2 and byte(s, 1) == DQ and byte(s, #s) == DQ then
        s = sub(s, 2, -2)
    end
    return not find(s, "[^\33\35-\43\45-\58\60-\91\94-\126%]]")
end

-- av-octet: any CHAR but controls and ";"
local function is_av_value(s)
    return not find(s, "[^\32-\58\60-\126]")
end

local DAYS = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" }
local MONTHS = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
    "Dec" }

-- IMF-fixdate of a time in seconds since the epoch (independent of the C locale)
local function http_date(t)
    local d = os.date("!*t", floor(t))
    return format("%s, %02d %s %04d %02d:%02d:%02d GMT", DAYS[d.wday], d.day, MONTHS[d.month],
        d.year, d.hour, d.min, d.sec)
end

local SAMESITE = { strict = "Strict", lax = "Lax", none = "None" }
local OPTIONS = { path = true, domain = true, maxAge = true, expires = true, httpOnly = true,
    secure = true, sameSite = true }

local function build(name, value, opts)
    if type(name) ~= "string" or not is_token(name) then
        fail("invalid cookie name %q (a token: letters, digits and !#$%%&'*+-.^_`|~)",
            tostring(name))
    end
    if type(value) == "number" then
        value = tostring(value)
    elseif type(value) ~= "string" then
        fail("the value of cookie %q must be a string, not %s", name, type(value))
    end
    if not is_cookie_value(value) then
        fail("invalid value for cookie %q: no controls, blanks, '\"', ',', ';' or '\\' "
            .. "(encode it first, e.g. as base64url)", name)
    end
    local out = { name, "=", value }
    if opts == nil then
        return out[1] .. out[2] .. out[3]
    end
    if type(opts) ~= "table" then
        fail("options must be a table")
    end
    for k in pairs(opts) do
        if not OPTIONS[k] then
            fail("unknown option %q (path, domain, maxAge, expires, httpOnly, secure, sameSite)",
                tostring(k))
        end
    end
    local max_age = opts.maxAge
    if max_age ~= nil then
        local i = type(max_age) == "number" and math.tointeger(max_age)
        if not i then
            fail("maxAge must be a whole number of seconds")
        end
        out[#out + 1] = "; Max-Age=" .. i
    end
    local domain = opts.domain
    if domain ~= nil then
        if type(domain) ~= "string" or not find(domain, "^%.?[%w%-]+[%w%-%.]*$") then
            fail("invalid domain %q", tostring(domain))
        end
        out[#out + 1] = "; Domain=" .. domain
    end
    local path = opts.path
    if path ~= nil then
        if type(path) ~= "string" or path == "" or not is_av_value(path) then
            fail("invalid path %q", tostring(path))
        end
        out[#out + 1] = "; Path=" .. path
    end
    local expires = opts.expires
    if expires ~= nil then
        if type(expires) == "number" then
            if expires ~= expires or expires < 0 or expires >= 253402300800 then
                fail("expires must be seconds since the epoch, before year 10000")
            end
            expires = http_date(expires)
        elseif type(expires) ~= "string" or expires == "" or not is_av_value(expires) then
            fail("expires must be a time in seconds since the epoch or an HTTP date")
        end
        out[#out + 1] = "; Expires=" .. expires
    end
    if opts.httpOnly then
        out[#out + 1] = "; HttpOnly"
    end
    if opts.secure then
        out[#out + 1] = "; Secure"
    end
    local same_site = opts.sameSite
    if same_site ~= nil then
        local v = type(same_site) == "string" and SAMESITE[same_site:lower()]
        if not v then
            fail("sameSite must be \"Strict\", \"Lax\" or \"None\"")
        end
        if v == "None" and not opts.secure then
            fail("sameSite \"None\" needs secure = true (browsers drop it otherwise)")
        end
        out[#out + 1] = "; SameSite=" .. v
    end
    return table.concat(out)
end

-- The Set-Cookie value for name, value and options (see res:setCookie).
function M.serialize(name, value, opts)
    return build(name, value, opts)
end

-- res:setCookie(name, value[, opts]): adds a Set-Cookie field (one per call); returns res.
function M.res_set_cookie(res, name, value, opts)
    local line = build(name, value, opts)
    local have = res:getHeader("Set-Cookie")
    if have == nil then
        return res:setHeader("Set-Cookie", line)
    end
    if type(have) == "string" then
        return res:setHeader("Set-Cookie", { have, line })
    end
    have[#have + 1] = line
    return res:setHeader("Set-Cookie", have)
end

return M
