-- lunaserve.form: percent-decoding, query strings and application/x-www-form-urlencoded
-- bodies (the WHATWG URL standard's parser: `&`-separated, `+` is a space, the first `=`
-- splits name from value).
--
--   local form = require("lunaserve.form")
--   form.parse("a=1&b=x+y&a=2")        --> {a = {"1", "2"}, b = "x y"}
--   form.pairs("a=1&b=2")              --> {{"a", "1"}, {"b", "2"}} (in order)
--   form.unescape("%2e%2e%2F")         --> "../" (nil, err for a bad escape)
--   form.encode{b = "x y", a = {"1", "2"}}  --> "a=1&a=2&b=x%20y"
--
-- Plain Lua, no dependency: it also runs outside the server.
local form = {}

local char, tonumber, byte = string.char, tonumber, string.byte

-- The most fields a body or query may hold (as Node's querystring); past it, nil, err.
form.MAX_FIELDS = 1000

local function hexpair(h)
  return char(tonumber(h, 16))
end

-- Strict percent-decoding (for paths): every `%` must start two hex digits. Returns the
-- bytes, or nil and an error naming the position. `+` stays a `+`.
function form.unescape(s)
  local bad = s:find("%%%X") or s:find("%%%x%X") or s:find("%%%x?$")
  if bad then
    return nil, "bad percent-escape at byte " .. bad
  end
  return (s:gsub("%%(%x%x)", hexpair))
end

-- Lenient decoding for form fields: `+` is a space, a `%` that does not start two hex
-- digits is kept as it is (as browsers and the WHATWG parser do).
local function decode_field(s)
  if s:find("+", 1, true) then
    s = s:gsub("+", " ")
  end
  if s:find("%", 1, true) then
    s = s:gsub("%%(%x%x)", hexpair)
  end
  return s
end
form.decode_field = decode_field

-- The fields of a query string or urlencoded body, in order: a list of {name, value}.
-- Empty pieces (`a=1&&b=2`) are skipped; a piece without `=` has the value "". nil, err past
-- MAX_FIELDS (or opts.max_fields).
function form.pairs(s, opts)
  local max = opts and opts.max_fields or form.MAX_FIELDS
  local out, n = {}, 0
  if not s or s == "" then
    return out
  end
  for piece in s:gmatch("[^&]+") do
    n = n + 1
    if n > max then
      return nil, "too many fields (more than " .. max .. ")"
    end
    local eq = piece:find("=", 1, true)
    local name, value
    if eq then
      name, value = piece:sub(1, eq - 1), piece:sub(eq + 1)
    else
      name, value = piece, ""
    end
    out[n] = { decode_field(name), decode_field(value) }
  end
  return out
end

-- The fields as a table: a name seen once maps to its value, a repeated name to the list of
-- its values in order (as Node's querystring.parse). nil, err as form.pairs.
function form.parse(s, opts)
  local list, err = form.pairs(s, opts)
  if not list then
    return nil, err
  end
  local t = {}
  for i = 1, #list do
    local name, value = list[i][1], list[i][2]
    local have = t[name]
    if have == nil then
      t[name] = value
    elseif type(have) == "table" then
      have[#have + 1] = value
    else
      t[name] = { have, value }
    end
  end
  return t
end

-- Percent-encodes everything but the unreserved characters (RFC 3986 §2.3).
function form.escape(s)
  return (tostring(s):gsub("[^%w%-%._~]", function(c)
    return ("%%%02X"):format(byte(c))
  end))
end

-- A query string or urlencoded body from a table (name -> value or list of values), names
-- in sorted order so that the same table gives the same text.
function form.encode(t)
  local names = {}
  for name in pairs(t) do
    names[#names + 1] = tostring(name)
  end
  table.sort(names)
  local out = {}
  for _, name in ipairs(names) do
    local v = t[name]
    if type(v) ~= "table" then
      v = { v }
    end
    for _, item in ipairs(v) do
      out[#out + 1] = form.escape(name) .. "=" .. form.escape(item)
    end
  end
  return table.concat(out, "&")
end

-- req:form(): the fields of an application/x-www-form-urlencoded request body (read whole,
-- within the body limit), as form.parse gives them; nil, err for another Content-Type, a
-- body that could not be read, or too many fields.
function form.req_form(req)
  local ctype = req.headers["content-type"] or ""
  local mtype = ctype:match("^%s*([^;%s]+)")
  if not mtype or mtype:lower() ~= "application/x-www-form-urlencoded" then
    return nil, "not a form (Content-Type: " .. (ctype ~= "" and ctype or "none") .. ")"
  end
  local body, err = req:body()
  if not body then
    return nil, err
  end
  return form.parse(body)
end

return form
