-- Test support for the specs that drive spec/apps/pg_values.lua: a POST of a JSON body, its
-- JSON answer decoded. The app shows each Lua value as one string that names its type
-- ("int:7", "float:0.5", "str:text", "bytes:00ff", "bool:true", "null", "nil"; tables as
-- "{...}"): see the app's header.
--
--   local V = require("spec.support.pg_values")
--   local out = V.post(srv, "/query", { sql = "SELECT $1::int AS a", params = "1" })
--   out.rows[1].a  --> "int:1"

local assert = require("luassert")
local cjson = require("cjson")
local S = require("spec.support.server")

local V = {}

-- POSTs `body` (a table, sent as JSON) to `path`; returns the decoded answer, and the
-- seconds the whole exchange took on the spec's clock. Fails on anything but a 200 within
-- `timeout` seconds (default 5).
function V.post(srv, path, body, timeout)
    local started = S.now()
    local res, err = srv:fetch(S.request("POST", path, { ["Content-Type"] = "application/json" },
        cjson.encode(body)), { timeout = timeout or 5 })
    local took = S.now() - started
    assert(res, "POST " .. path .. ": " .. tostring(err) .. " after " .. took .. " s\n"
        .. srv:log())
    assert.are.equal(200, res.status, res.body)
    return cjson.decode(res.body), took
end

-- POSTs each of `bodies` to `path` on a connection of its own, all sent before any answer is
-- read (the server works on them together); returns their decoded answers in order, and the
-- seconds until the last one came. Fails on anything but a 200 within `timeout` seconds.
function V.post_all(srv, path, bodies, timeout)
    local started = S.now()
    local conns = {}
    for i, body in ipairs(bodies) do
        conns[i] = srv:connect()
        assert(conns[i]:send(S.request("POST", path, { ["Content-Type"] = "application/json" },
            cjson.encode(body))))
    end
    local outs = {}
    for i, c in ipairs(conns) do
        local left = math.max(0.1, (timeout or 5) - (S.now() - started))
        local res, err = c:read_response({ timeout = left })
        c:close()
        assert(res, "POST " .. path .. " #" .. i .. ": " .. tostring(err) .. " after "
            .. (S.now() - started) .. " s\n" .. srv:log())
        assert.are.equal(200, res.status, res.body)
        outs[i] = cjson.decode(res.body)
    end
    return outs, S.now() - started
end

-- The bytes of s in hex, as the app shows bytes.
function V.hex(s)
    return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

-- The hex of every byte value 0..255 in order.
function V.all_bytes_hex()
    local t = {}
    for b = 0, 255 do
        t[#t + 1] = string.format("%02x", b)
    end
    return table.concat(t)
end

return V
