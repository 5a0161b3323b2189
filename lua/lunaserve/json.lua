-- lunaserve.json: JSON on lua-cjson (Debian's 2.1.0), with what that version lacks:
-- - an explicit empty array: json.empty_array, or json.array(t) on a table that may be empty
--   (cjson writes every empty table as {});
-- - "/" written as is (cjson writes "\/");
-- - decode returns nil, err instead of raising, and whole numbers come back as integers
--   (cjson makes every number a float: 3 would read back as 3.0).
-- Also res:json(value[, status]) and req:json(), which lunaserve's req and res load from here
-- on first use.
local cjson = require("cjson")

local codec = cjson.new() -- our own settings, apart from other users of cjson
codec.decode_max_depth(200)
codec.encode_max_depth(200)

local encode_raw, decode_raw = codec.encode, codec.decode
local find, gsub, tointeger = string.find, string.gsub, math.tointeger
local type, pairs, next, getmetatable, setmetatable, error = type, pairs, next, getmetatable,
    setmetatable, error

local M = { null = cjson.null }

-- The metatable that marks a table as an array. It holds nothing; only its identity counts.
local array_mt = { __name = "lunaserve.json.array" }
M.array_mt = array_mt

-- Marks t (a new table if nil) as an array and returns it: written as [] when empty.
function M.array(t)
    return setmetatable(t or {}, array_mt)
end

-- The empty array, to share (do not add items to it).
M.empty_array = setmetatable({}, {
    __name = "lunaserve.json.array",
    __newindex = function() error("json.empty_array is read-only; use json.array()", 2) end,
})
local empty_array = M.empty_array

local function is_empty_array(v)
    return type(v) == "table" and next(v) == nil
        and (v == empty_array or getmetatable(v) == array_mt)
end

-- A string no value holds (checked while the value is walked): what an empty array is
-- replaced with before cjson sees it, then swapped for [] in the text.
local MARK = "\0lunaserve.json.empty_array\0"
local MARK_JSON = encode_raw(MARK)

-- A copy of v with every marked empty array replaced by MARK (v itself when it has none).
-- Called only on values cjson has encoded, so the depth is bounded and there is no cycle.
local function mark_arrays(v)
    if is_empty_array(v) then
        return MARK
    end
    if type(v) ~= "table" then
        if v == MARK then
            error("json.encode: the value holds a reserved string", 3)
        end
        return v
    end
    local copy
    for k, x in pairs(v) do
        if k == MARK then
            error("json.encode: the value holds a reserved string", 3)
        end
        local y = mark_arrays(x)
        if y ~= x then
            copy = copy or {}
            copy[k] = y
        end
    end
    if not copy then
        return v
    end
    for k, x in pairs(v) do
        if copy[k] == nil then
            copy[k] = x
        end
    end
    return copy
end

-- Encodes v; raises on what JSON cannot hold (functions, cycles, NaN, sparse arrays).
function M.encode(v)
    local s = encode_raw(v)
    -- An empty table is written "{}": only then can there be an empty array to fix (a "{}"
    -- inside a string just takes the longer way).
    if find(s, "{}", 1, true) then
        local marked = mark_arrays(v)
        if marked ~= v then
            s = gsub(encode_raw(marked), MARK_JSON, "[]")
        end
    end
    if find(s, "\\/", 1, true) then
        -- Every "/" is written "\/", and a "\" of an escape is never followed by a bare "/",
        -- so each "\/" is an escaped slash.
        s = gsub(s, "\\/", "/")
    end
    return s
end

-- Floats with a whole value come back as integers. (An empty array and an empty object both
-- come back as an empty table, which is written {} again: cjson 2.1.0 tells them apart no
-- more than Lua does.)
local function settle(v)
    local t = type(v)
    if t == "number" then
        return tointeger(v) or v
    end
    if t ~= "table" then
        return v
    end
    for k, x in pairs(v) do
        local tx = type(x)
        if tx == "number" then
            local i = tointeger(x)
            if i then
                v[k] = i
            end
        elseif tx == "table" then
            settle(x)
        end
    end
    return v
end

-- Decodes s: the value, or nil and a message.
function M.decode(s)
    if type(s) ~= "string" then
        return nil, "expected a string, got " .. type(s)
    end
    local ok, v = pcall(decode_raw, s)
    if not ok then
        return nil, (gsub(tostring(v), "^.-:%d+: ", ""))
    end
    return settle(v)
end

-- res:json(value[, status]): the whole response, as application/json.
function M.res_json(res, value, status)
    local body = M.encode(value)
    if status ~= nil then
        res.statusCode = status
    end
    res:setHeader("Content-Type", "application/json")
    return res:finish(body)
end

-- req:json(): the body decoded, or nil and why (a read error such as "too large", or the
-- JSON's error).
function M.req_json(req)
    local body, err = req:body()
    if not body then
        return nil, err
    end
    if body == "" then
        return nil, "empty body"
    end
    return M.decode(body)
end

return M
