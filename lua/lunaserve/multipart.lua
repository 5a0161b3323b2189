-- lunaserve.multipart: multipart/form-data (RFC 7578 on RFC 2046's framing), parsed as it
-- streams in, so that an upload goes to disk without the file ever being held in memory.
--
--   local multipart = require("lunaserve.multipart")
--   for part, err in multipart.parts(req) do
--       if not part then res.statusCode = 400; return res:finish(err) end
--       -- part.name, part.filename (nil for a plain field), part.type, part.headers
--       local f = part.filename and io.open("/tmp/upload", "wb")
--       while true do
--           local chunk, rerr = part:read()        -- bytes as they arrive; nil at the end
--           if not chunk then break end
--           if f then f:write(chunk) end
--       end
--   end
--
-- The parser itself (multipart.parser) is plain Lua: feed it the body's chunks, it returns
-- what it found. multipart.parts drives it from anything with :read() (a request).
local form = require("lunaserve.form")

local multipart = {}

multipart.MAX_HEADER = 16 * 1024 -- the bytes of one part's header block at most
multipart.MAX_PARTS = 1000

local find, sub, lower = string.find, string.sub, string.lower

-- The boundary of a multipart Content-Type, or nil and why.
function multipart.boundary(content_type)
  if type(content_type) ~= "string" then
    return nil, "no Content-Type"
  end
  local mtype = content_type:match("^%s*([^;%s]+)")
  if not mtype or lower(mtype):sub(1, 10) ~= "multipart/" then
    return nil, "not multipart: " .. tostring(mtype)
  end
  local b = content_type:match(';%s*[Bb][Oo][Uu][Nn][Dd][Aa][Rr][Yy]="([^"]*)"')
      or content_type:match(";%s*[Bb][Oo][Uu][Nn][Dd][Aa][Rr][Yy]=([^;%s]+)")
  if not b or #b < 1 or #b > 70 then
    return nil, "no valid boundary (1 to 70 characters)"
  end
  return b
end

-- A header's parameters (`form-data; name="a"; filename="b.txt"`): the value before the
-- first `;`, and a table of lower-case parameter names to values (quoted strings unescaped).
function multipart.params(value)
  local main, rest = value:match("^%s*([^;]*)(.*)$")
  local params = {}
  local pos = 1
  while true do
    local s, e, name = find(rest, "^%s*;%s*([^=;%s]+)%s*=%s*", pos)
    if not s then
      break
    end
    pos = e + 1
    local v
    if sub(rest, pos, pos) == '"' then
      local buf, i = {}, pos + 1
      while i <= #rest do
        local c = sub(rest, i, i)
        if c == "\\" and i < #rest then
          buf[#buf + 1] = sub(rest, i + 1, i + 1)
          i = i + 2
        elseif c == '"' then
          break
        else
          buf[#buf + 1] = c
          i = i + 1
        end
      end
      v = table.concat(buf)
      pos = i + 1
    else
      local ve
      _, ve, v = find(rest, "^([^;]*)", pos)
      v = v:gsub("%s+$", "")
      pos = ve + 1
    end
    params[lower(name)] = v
  end
  return (main:gsub("%s+$", "")), params
end

-- RFC 5987's ext-value (`UTF-8''na%C3%AFve.txt`), decoded; nil when it is not one (or has a
-- bad escape).
local function ext_value(v)
  local charset, text = v:match("^([%w!#$%%&+%-^_`{}~]+)'[^']*'(.*)$")
  if not charset then
    return nil
  end
  return form.unescape(text)
end

-- The part's header block ("Name: value" lines) as a table of lower-case names (a repeated
-- name keeps the last), or nil, err.
local function parse_headers(block)
  local headers = {}
  for line in (block .. "\r\n"):gmatch("(.-)\r\n") do
    if line ~= "" then
      local name, value = line:match("^([!#$%%&'*+%-.^_`|~%w]+):[ \t]*(.-)[ \t]*$")
      if not name then
        return nil, "malformed part header line"
      end
      headers[lower(name)] = value
    end
  end
  return headers
end

---------------------------------------------------------------------------------------------
-- The streaming parser
---------------------------------------------------------------------------------------------

local Parser = {}
Parser.__index = Parser

-- A parser for the body of one multipart message with this boundary. opts: max_header,
-- max_parts.
function multipart.parser(boundary, opts)
  opts = opts or {}
  return setmetatable({
    dash = "--" .. boundary,            -- the first delimiter may start the body
    delim = "\r\n--" .. boundary,        -- every other one follows a CRLF
    buf = "",
    state = "preamble",
    at_start = true,                     -- nothing of the body seen yet
    parts = 0,
    max_header = opts.max_header or multipart.MAX_HEADER,
    max_parts = opts.max_parts or multipart.MAX_PARTS,
  }, Parser)
end

-- Feeds the next chunk of the body (nil: the body ended). Returns a list of events, in order:
--   {"part", headers}   a part begins (headers: lower-case names)
--   {"data", bytes}     a piece of its body
--   {"done"}            the closing delimiter: the message is complete
-- or nil and an error (the message is malformed; the parser is then unusable).
function Parser:feed(chunk)
  if self.err then
    return nil, self.err
  end
  local events = {}
  local function fail(msg)
    self.err = msg
    return nil, msg
  end
  if chunk == nil then
    if self.state ~= "epilogue" then
      return fail("the body ended before the closing boundary")
    end
    return events
  end
  local buf = self.buf .. chunk
  local pos = 1
  while true do
    local state = self.state
    if state == "preamble" then
      -- the first delimiter: at the body's very first byte, or after a CRLF
      local s, e
      if self.at_start then
        if #buf < #self.dash and sub(self.dash, 1, #buf) == buf then
          break -- (too few bytes yet to tell)
        end
        self.at_start = false
        if sub(buf, 1, #self.dash) == self.dash then
          s, e = 1, #self.dash
        end
      end
      if not s then
        s, e = find(buf, self.delim, pos, true)
      end
      if not s then
        -- keep what could be the start of a delimiter
        pos = math.max(pos, #buf - #self.delim + 1)
        if pos < 1 then pos = 1 end
        break
      end
      pos = e + 1
      self.state = "after_delim"
    elseif state == "after_delim" then
      -- "--" closes; else optional transport padding, then CRLF
      if #buf - pos + 1 < 2 then
        break
      end
      if sub(buf, pos, pos + 1) == "--" then
        self.state = "epilogue"
        events[#events + 1] = { "done" }
        pos = #buf + 1
        break
      end
      local s, e = find(buf, "^[ \t]*\r\n", pos)
      if not s then
        if find(buf, "^[ \t]*\r?$", pos) and #buf - pos < 256 then
          break -- (more padding or the LF may follow)
        end
        return fail("malformed delimiter line")
      end
      pos = e + 1
      self.parts = self.parts + 1
      if self.parts > self.max_parts then
        return fail("too many parts (more than " .. self.max_parts .. ")")
      end
      self.state = "headers"
    elseif state == "headers" then
      local s, e
      if sub(buf, pos, pos + 1) == "\r\n" then
        s, e = pos, pos + 1 -- no header at all
      else
        s, e = find(buf, "\r\n\r\n", pos, true)
      end
      if not s then
        if #buf - pos + 1 > self.max_header then
          return fail("part header too large (more than " .. self.max_header .. " bytes)")
        end
        break
      end
      if s - pos > self.max_header then
        return fail("part header too large (more than " .. self.max_header .. " bytes)")
      end
      local headers, herr = parse_headers(sub(buf, pos, s - 1))
      if not headers then
        return fail(herr)
      end
      events[#events + 1] = { "part", headers }
      pos = e + 1
      self.state = "body"
    elseif state == "body" then
      local s, e = find(buf, self.delim, pos, true)
      if s then
        if s > pos then
          events[#events + 1] = { "data", sub(buf, pos, s - 1) }
        end
        pos = e + 1
        self.state = "after_delim"
      else
        -- all but what could be the start of a delimiter is the part's
        local keep = #self.delim - 1
        local upto = #buf - keep
        if upto >= pos then
          events[#events + 1] = { "data", sub(buf, pos, upto) }
          pos = upto + 1
        end
        break
      end
    else -- epilogue: ignored
      pos = #buf + 1
      break
    end
  end
  self.buf = sub(buf, pos)
  return events
end

---------------------------------------------------------------------------------------------
-- Parts of a request
---------------------------------------------------------------------------------------------

local Part = {}
Part.__index = Part

-- The next piece of the part's body, or nil at its end (nil, err when the message is
-- malformed or the body could not be read).
function Part:read()
  return self._next(self)
end

-- The whole rest of the part's body (for small fields), or nil, err.
function Part:text()
  local out = {}
  while true do
    local chunk, err = self:read()
    if not chunk then
      if err then
        return nil, err
      end
      return table.concat(out)
    end
    out[#out + 1] = chunk
  end
end

-- An iterator over the parts of a multipart/form-data request (anything with `headers` and
-- :read(), which returns chunks, then nil at the end, or nil, err). Each part is read before
-- the next one comes (what is left of it is skipped). A malformed or unreadable body gives
-- `false, err` once (a for loop sees it: `for part, err in ...`), then the iteration ends.
function multipart.parts(req, opts)
  local headers = req.headers or {}
  local boundary, berr = multipart.boundary(headers["content-type"])
  local parser = boundary and multipart.parser(boundary, opts)
  local queue, qi = {}, 1 -- events not yet taken
  local current           -- the part being read
  local body_ended, over = false, false

  -- the next event, reading the body as needed: {"part", h}, {"data", s}, {"done"}, or
  -- nil, err
  local function next_event()
    while qi > #queue do
      if body_ended then
        return nil, "the body ended before the closing boundary"
      end
      local chunk, rerr = req:read()
      if chunk == nil and rerr then
        return nil, rerr
      end
      body_ended = chunk == nil
      local events, perr = parser:feed(chunk)
      if not events then
        return nil, perr
      end
      queue, qi = events, 1
    end
    local ev = queue[qi]
    qi = qi + 1
    return ev
  end

  local function read_part(part)
    if part ~= current or part._ended or over then
      return nil
    end
    local ev, err = next_event()
    if not ev then
      part._ended = true
      part._err = err
      return nil, err
    end
    if ev[1] == "data" then
      return ev[2]
    end
    qi = qi - 1 -- the next part (or the end) is the iterator's
    part._ended = true
    return nil
  end

  local function stop(err)
    over = true
    if err then
      return false, err
    end
    return nil
  end

  return function()
    if over then
      return nil
    end
    if berr then
      return stop(berr)
    end
    if current then
      while not current._ended do -- the rest of the part, not read
        read_part(current)
      end
      if current._err then
        return stop(current._err)
      end
    end
    local ev, err = next_event()
    if not ev then
      return stop(err)
    end
    if ev[1] == "done" then
      return stop()
    end
    -- (after a delimiter the parser gives a part, or the end)
    local h = ev[2]
    local disp, dparams = multipart.params(h["content-disposition"] or "")
    current = setmetatable({
      headers = h,
      disposition = lower(disp),
      name = dparams.name,
      filename = dparams["filename*"] and ext_value(dparams["filename*"]) or dparams.filename,
      type = h["content-type"] or "text/plain",
      _next = read_part,
    }, Part)
    return current
  end
end

-- req:parts([opts]): multipart.parts(req, opts).
function multipart.req_parts(req, opts)
  return multipart.parts(req, opts)
end

return multipart
