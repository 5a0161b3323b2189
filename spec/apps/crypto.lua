-- Test app for the specs of lunaserve.crypto (spec/crypto_*_spec.lua): runs the module inside
-- lunaserve and answers what it returned, byte for byte.
--
-- POST /call, body {"fn": NAME, "args": [ARG...]}: calls crypto[NAME](...) under pcall.
--   An ARG is a JSON number, or {"hex": H} (the bytes H spells), or {"hex": H, "rep": N}
--   (those bytes N times: a 1 MB input without a 1 MB request).
--   Answer: {"ok": true, "results": [R...]} with R {"hex": H} for a string, {"bool": b} for a
--   boolean, {"nil": true} for nil; or {"ok": false, "error": message}.
--   NAME may also be one of this app's own calls:
--     "hash_pieces" (alg, piece...): a hasher fed each piece by update(), then final()
--     "hasher_after_final" (alg, call): final(), then call ("update" or "final") again
--     "hasher_dropped" (alg, n): n hashers fed and left to the collector without final()
--     "hasher_closed" (alg): a to-be-closed hasher, then update() on it once closed
-- POST /upload/ALG: the request body, read chunk by chunk with req:read() into a hasher as it
--   streams in; answers "HEXDIGEST CHUNKS" (how many chunks the body came in).
-- GET /random: "PID AT_LOAD NOW": the serving process, 16 random bytes drawn as the app
--   loaded and 16 drawn now, in hex (for workers: does each draw its own?).
local cjson = require("cjson")
local crypto = require("lunaserve.crypto")

local own = {}

local at_load = crypto.to_hex(crypto.random_bytes(16))

function own.hash_pieces(alg, ...)
    local h = crypto.hasher(alg)
    for i = 1, select("#", ...) do
        assert(h:update(select(i, ...)) == h, "update() returns the hasher")
    end
    return h:final()
end

function own.hasher_after_final(alg, call)
    local h = crypto.hasher(alg)
    h:final()
    if call == "update" then
        return h:update("x")
    end
    return h:final()
end

function own.hasher_dropped(alg, n)
    for _ = 1, n do
        crypto.hasher(alg):update("left behind")
    end
    collectgarbage()
    collectgarbage()
    return true
end

function own.hasher_closed(alg)
    local kept
    do
        local h <close> = crypto.hasher(alg)
        h:update("x")
        kept = h
    end
    return kept:update("y")
end

local function arg_value(a)
    if type(a) == "table" then
        local s = assert(crypto.from_hex(a.hex))
        return a.rep and s:rep(a.rep) or s
    end
    return a
end

local function result_value(v)
    if type(v) == "string" then
        return { hex = crypto.to_hex(v) }
    elseif type(v) == "boolean" then
        return { bool = v }
    elseif v == nil then
        return { ["nil"] = true }
    end
    return { other = tostring(v) }
end

local function call(body)
    local req = cjson.decode(body)
    local args = {}
    for i, a in ipairs(req.args) do
        args[i] = arg_value(a)
    end
    local fn = own[req.fn] or crypto[req.fn]
    local out = table.pack(pcall(fn, table.unpack(args, 1, #req.args)))
    if not out[1] then
        return { ok = false, error = tostring(out[2]) }
    end
    local results = {}
    for i = 2, out.n do
        results[i - 1] = result_value(out[i])
    end
    return { ok = true, results = results }
end

local function upload(req, res, alg)
    local h = crypto.hasher(alg)
    local chunks = 0
    while true do
        local chunk, err = req:read()
        if chunk == nil then
            if err then
                res.statusCode = 400
                return res:finish(tostring(err))
            end
            break
        end
        chunks = chunks + 1
        h:update(chunk)
    end
    res:finish(crypto.to_hex(h:final()) .. " " .. chunks)
end

return function(req, res)
    local alg = req.path:match("^/upload/(%w+)$")
    if alg then
        return upload(req, res, alg)
    end
    if req.path == "/random" then
        local f = assert(io.open("/proc/self/stat"))
        local pid = f:read("n")
        f:close()
        return res:finish(pid .. " " .. at_load .. " " .. crypto.to_hex(crypto.random_bytes(16)))
    end
    if req.method == "POST" and req.path == "/call" then
        res:setHeader("Content-Type", "application/json")
        return res:finish(cjson.encode(call(req:body())))
    end
    res.statusCode = 404
    res:finish("not found\n")
end
