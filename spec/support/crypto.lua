-- For the specs of lunaserve.crypto: calls into spec/apps/crypto.lua over HTTP.
local cjson = require("cjson")
local S = require("spec.support.server")
local assert = require("luassert")

local M = {}

function M.hex(s)
    return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

function M.unhex(h)
    return (h:gsub("%x%x", function(x) return string.char(tonumber(x, 16)) end))
end

-- An argument of M.call: `s` repeated `n` times, built inside the app.
function M.rep(s, n)
    return { hex = M.hex(s), rep = n }
end

-- Starts the crypto test app.
function M.start(opts)
    opts = opts or {}
    opts.app = S.app("crypto.lua")
    return S.start(opts)
end

local function post(srv, path, body)
    local c = srv:connect()
    assert(c:send(S.request("POST", path, { ["Content-Type"] = "application/json" }, body)))
    local res = assert(c:read_response({ timeout = 10 }))
    c:close()
    return res
end

-- crypto[fn](...) inside the server: true, results... (strings as bytes, nil as nil), or
-- false, the error message. Arguments: strings (any bytes), numbers, or M.rep(...).
function M.call(srv, fn, ...)
    local args = table.pack(...)
    local out = {}
    for i = 1, args.n do
        local a = args[i]
        out[i] = type(a) == "string" and { hex = M.hex(a) } or a
    end
    local body = cjson.encode({ fn = fn, args = out })
    local res = post(srv, "/call", body)
    assert.are.equal(200, res.status, res.body)
    local r = cjson.decode(res.body)
    if not r.ok then
        return false, r.error
    end
    local vals = { n = #r.results }
    for i, v in ipairs(r.results) do
        if v.hex then
            vals[i] = M.unhex(v.hex)
        elseif v.bool ~= nil then
            vals[i] = v.bool
        elseif v.other then
            error("unexpected result " .. v.other)
        end
    end
    return true, table.unpack(vals, 1, vals.n)
end

-- Like M.call, for a call that must succeed: its results, with the results' count first.
function M.ok(srv, fn, ...)
    local r = table.pack(M.call(srv, fn, ...))
    assert(r[1], "crypto." .. fn .. " failed: " .. tostring(r[2]))
    return r.n - 1, table.unpack(r, 2, r.n)
end

return M
