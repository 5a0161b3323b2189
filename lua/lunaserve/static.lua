-- lunaserve.static: files from a directory, sent by the kernel (res:sendFile, sendfile(2)).
--
--   local static = require("lunaserve.static")
--   return static.handler{root = "public"}          -- a whole app
--   -- or inside a handler: h(req, res[, path]) where path (default req.path) is the part of
--   -- the URL path under the root, still percent-encoded.
--
-- Settings: root (required; a relative root is relative to the current directory),
-- index ("index.html"; false: none), listing (false: a directory without index is 404),
-- cache_control (nil: no Cache-Control), gzip (true: serve NAME.gz for NAME when
-- Accept-Encoding allows gzip), max_ranges (16: more ranges are answered with the whole file),
-- walk (false; true: lunaserve.file's component walk instead of openat2, no symlinks at all),
-- dotfiles (false: a path with a segment that starts with "." is 404 and listings leave such
-- names out; true: served and listed like any other).
--
-- What it answers:
-- * GET and HEAD; anything else 405 with `Allow: GET, HEAD`.
-- * The path is percent-decoded first (a bad escape: 400), then a `..` segment or a NUL
--   anywhere is 404 (so is a dotfile or anything under a dot folder, unless dotfiles), and
--   the file is opened beneath the root (lunaserve.file: openat2 with
--   RESOLVE_BENEATH), so a symlink leading outside is 404 too: what is not served is not
--   found, whatever the reason. A file the server may not read is 403. Only regular files and
--   directories are served (a FIFO or a device is 404).
-- * A directory without its trailing slash: 301 to the same path with it, query kept. With
--   one: its index file, else the listing (names HTML-escaped, links percent-encoded) if
--   enabled, else 404.
-- * ETag `"<mtime hex>-<size hex>"` (strong) and Last-Modified; RFC 9110 13.2.2's order:
--   If-Match, else If-Unmodified-Since (412 when false); If-None-Match, else
--   If-Modified-Since (304 when false: ETag, Last-Modified, Cache-Control and Vary, no body
--   and no Content-Length); then Range for GET, unless If-Range names another version.
-- * Range: "bytes=" with single, open (`500-`) and suffix (`-500`) ranges: 206 with
--   Content-Range; several: multipart/byteranges; none satisfiable: 416 with
--   `Content-Range: bytes */<size>`; overlapping ranges, more than max_ranges, or more bytes
--   than the file: the whole file (200), as nginx does; a malformed header is ignored (200).
-- * gzip: when NAME.gz exists (a regular file) every answer for NAME has
--   `Vary: Accept-Encoding`, and a client whose Accept-Encoding takes gzip gets NAME.gz with
--   `Content-Encoding: gzip` (its own ETag and length; ranges apply to it).
local file = require("lunaserve.file")
local form = require("lunaserve.form")
local mime = require("lunaserve.mime")

local static = {}

local fmt, concat = string.format, table.concat

local function http_date(t)
    return os.date("!%a, %d %b %Y %H:%M:%S GMT", t)
end

local MONTHS = { jan = 1, feb = 2, mar = 3, apr = 4, may = 5, jun = 6, jul = 7, aug = 8,
    sep = 9, oct = 10, nov = 11, dec = 12 }

-- Days since 1970-01-01 of a civil date (proleptic Gregorian).
local function days_from_civil(y, m, d)
    if m <= 2 then
        y = y - 1
    end
    local era = (y >= 0 and y or y - 399) // 400
    local yoe = y - era * 400
    local mp = (m + 9) % 12
    local doy = (153 * mp + 2) // 5 + d - 1
    local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468
end

-- An HTTP-date (IMF-fixdate, RFC 850 or asctime; RFC 9110 5.6.7) as seconds, or nil.
local function parse_date(s)
    if not s then
        return nil
    end
    local d, mon, y, h, mi, sec = s:match("^%a+, (%d%d) (%a%a%a) (%d%d%d%d) (%d%d):(%d%d):(%d%d) GMT$")
    if not d then
        d, mon, y, h, mi, sec = s:match("^%a+, (%d%d)%-(%a%a%a)%-(%d%d) (%d%d):(%d%d):(%d%d) GMT$")
        if y then
            y = tonumber(y)
            y = y + (y < 70 and 2000 or 1900)
        end
    end
    if not d then
        mon, d, h, mi, sec, y = s:match("^%a+ (%a%a%a) +(%d%d?) (%d%d):(%d%d):(%d%d) (%d%d%d%d)$")
    end
    local m = mon and MONTHS[mon:lower()]
    if not m then
        return nil
    end
    d, y, h, mi, sec = tonumber(d), tonumber(y), tonumber(h), tonumber(mi), tonumber(sec)
    if d < 1 or d > 31 or h > 23 or mi > 59 or sec > 60 then
        return nil
    end
    return ((days_from_civil(y, m, d) * 24 + h) * 60 + mi) * 60 + sec
end
static.parse_date = parse_date

-- The entity-tags of an If-Match / If-None-Match value: "*" or a list of {weak, opaque}.
local function etag_list(v)
    if v:match("^%s*%*%s*$") then
        return "*"
    end
    local list = {}
    for weak, tag in v:gmatch('%s*(W?/?)("[^"]*")%s*,?') do
        list[#list + 1] = { weak == "W/", tag }
    end
    return list
end

-- Does the header value name our (strong) etag? strong: the strong comparison.
local function etag_matches(v, etag, strong)
    local list = etag_list(v)
    if list == "*" then
        return true
    end
    for _, t in ipairs(list) do
        if t[2] == etag and not (strong and t[1]) then
            return true
        end
    end
    return false
end

-- Does Accept-Encoding allow gzip? (q=0 refuses; "*" counts unless gzip is named.)
local function accepts_gzip(v)
    if not v then
        return false
    end
    local star
    for item in v:gmatch("[^,]+") do
        local coding, params = item:match("^%s*([^;%s]+)%s*(.-)%s*$")
        if coding then
            local q = tonumber(params:match("[qQ]%s*=%s*([%d.]+)") or "1") or 0
            coding = coding:lower()
            if coding == "gzip" or coding == "x-gzip" then
                return q > 0
            elseif coding == "*" then
                star = q > 0
            end
        end
    end
    return star == true
end

-- The ranges of a Range value for a representation of `size` bytes: a list of {first, last},
-- "unsatisfiable", or nil when the header is to be ignored (not bytes, malformed).
local function parse_ranges(v, size)
    local set = v:match("^%s*[bB][yY][tT][eE][sS]%s*=%s*(.-)%s*$")
    if not set then
        return nil
    end
    local out, any = {}, false
    for spec in (set .. ","):gmatch("([^,]*),") do
        spec = spec:match("^%s*(.-)%s*$")
        if spec ~= "" then
            any = true
            local a, b = spec:match("^(%d*)%-(%d*)$")
            if not a or (a == "" and b == "") or #a > 18 or #b > 18 then
                return nil
            end
            local first, last
            if a == "" then -- suffix
                local n = tonumber(b)
                if n > 0 and size > 0 then
                    first, last = math.max(size - n, 0), size - 1
                end
            else
                first = tonumber(a)
                last = b == "" and size - 1 or math.min(tonumber(b), size - 1)
                if b ~= "" and tonumber(b) < first then
                    return nil -- last before first: invalid
                end
                if first >= size then
                    first = nil
                end
            end
            if first then
                out[#out + 1] = { first, last }
            end
        end
    end
    if not any then
        return nil
    end
    if #out == 0 then
        return "unsatisfiable"
    end
    return out
end
static.parse_ranges = parse_ranges

-- The ranges as given, or nil for the whole file: overlapping, too many, or more bytes than
-- the file (as nginx's range filter).
local function reasonable(ranges, size, max)
    if #ranges > max then
        return nil
    end
    local total = 0
    for _, r in ipairs(ranges) do
        total = total + (r[2] - r[1] + 1)
    end
    if total > size then
        return nil
    end
    local sorted = {}
    for i, r in ipairs(ranges) do
        sorted[i] = r
    end
    table.sort(sorted, function(x, y) return x[1] < y[1] end)
    for i = 2, #sorted do
        if sorted[i][1] <= sorted[i - 1][2] then
            return nil
        end
    end
    return ranges
end

local function html_escape(s)
    return (s:gsub("[&<>\"']", { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;",
        ['"'] = "&quot;", ["'"] = "&#39;" }))
end

local function plain(res, status, text, extra)
    res.statusCode = status
    res:setHeader("Content-Type", "text/plain; charset=utf-8")
    res:setHeader("Content-Length", #text)
    for k, v in pairs(extra or {}) do
        res:setHeader(k, v)
    end
    return res:finish(text)
end

local boundary_seq = 0
local function new_boundary()
    boundary_seq = boundary_seq + 1
    return fmt("lunaserve-%08x%08x-%x", math.random(0, 0x7fffffff), math.random(0, 0x7fffffff),
        boundary_seq)
end

local function send_listing(res, is_head, dir, shown_path, hide_dots)
    local entries = assert(dir:list())
    if hide_dots then
        local kept = {}
        for _, e in ipairs(entries) do
            if e.name:sub(1, 1) ~= "." then
                kept[#kept + 1] = e
            end
        end
        entries = kept
    end
    table.sort(entries, function(a, b)
        if a.dir ~= b.dir then
            return a.dir
        end
        return a.name < b.name
    end)
    local title = html_escape("Index of " .. shown_path)
    local out = { "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>", title,
        "</title></head>\n<body><h1>", title, "</h1>\n<ul>\n" }
    if shown_path ~= "/" then
        out[#out + 1] = "<li><a href=\"../\">../</a></li>\n"
    end
    for _, e in ipairs(entries) do
        local suffix = e.dir and "/" or ""
        out[#out + 1] = fmt("<li><a href=\"%s%s\">%s%s</a></li>\n", form.escape(e.name), suffix,
            html_escape(e.name), suffix)
    end
    out[#out + 1] = "</ul></body></html>\n"
    local body = concat(out)
    res.statusCode = 200
    res:setHeader("Content-Type", "text/html; charset=utf-8")
    res:setHeader("Content-Length", #body)
    return res:finish(not is_head and body or nil)
end

-- A file's validators and length as strings, made once per (size, mtime): formatting them
-- (snprintf under string.format and tostring) was a good part of a small file's cost. At most
-- VALIDATORS_MAX sizes are kept; then the cache starts again.
local VALIDATORS_MAX = 256
local validators, nvalidators = {}, 0
local function validators_of(size, mtime)
    local v = validators[size]
    if v and v[1] == mtime then
        return v
    end
    if nvalidators >= VALIDATORS_MAX then
        validators, nvalidators = {}, 0
    end
    if not v then
        nvalidators = nvalidators + 1
    end
    -- { mtime, ETag, Last-Modified, Content-Length }
    v = { mtime, fmt('"%x-%x"', mtime, size), http_date(mtime), tostring(size) }
    validators[size] = v
    return v
end

local function set_validators(opts, res, v, vary)
    res:setHeader("ETag", v[2])
    res:setHeader("Last-Modified", v[3])
    if opts.cache_control then
        res:setHeader("Cache-Control", opts.cache_control)
    end
    if vary then
        res:setHeader("Vary", "Accept-Encoding")
    end
end

-- Sends f (already opened; size and mtime its) for a GET or HEAD, with conditionals and
-- ranges.
local function send_file(opts, req, res, is_head, f, size, mtime, ctype, vary, encoding)
    local h = req.headers
    local v = validators_of(size, mtime)
    local etag = v[2]

    -- RFC 9110 13.2.2: preconditions in this order
    local im, ius = h["if-match"], parse_date(h["if-unmodified-since"])
    if (im and not etag_matches(im, etag, true)) or (not im and ius and mtime > ius) then
        return plain(res, 412, "precondition failed\n")
    end
    local inm = h["if-none-match"]
    local ims = not inm and parse_date(h["if-modified-since"])
    if (inm and etag_matches(inm, etag, false)) or (ims and mtime <= ims) then
        res.statusCode = 304
        set_validators(opts, res, v, vary)
        return res:finish()
    end

    local range = h.range
    local ranges = range and not is_head and parse_ranges(range, size)
    if ranges and h["if-range"] then
        local ir = h["if-range"]
        local ok
        if ir:match('^%s*W?/?"') then
            ok = ir:match('^%s*(.-)%s*$') == etag
        else
            ok = parse_date(ir) == mtime
        end
        if not ok then
            ranges = nil
        end
    end
    if ranges == "unsatisfiable" then
        return plain(res, 416, "range not satisfiable\n", { ["Content-Range"] = "bytes */" .. size })
    end
    set_validators(opts, res, v, vary)
    res:setHeader("Accept-Ranges", "bytes")
    if encoding then
        res:setHeader("Content-Encoding", encoding)
    end
    ranges = ranges and reasonable(ranges, size, opts.max_ranges)

    if not ranges then
        res.statusCode = 200
        res:setHeader("Content-Type", ctype)
        res:setHeader("Content-Length", v[4])
        if size > 0 then
            res:sendFile(f)
        end
        return res:finish()
    end
    res.statusCode = 206
    if #ranges == 1 then
        local r = ranges[1]
        res:setHeader("Content-Type", ctype)
        res:setHeader("Content-Range", fmt("bytes %d-%d/%d", r[1], r[2], size))
        res:setHeader("Content-Length", r[2] - r[1] + 1)
        res:sendFile(f, r[1], r[2] - r[1] + 1)
        return res:finish()
    end
    local boundary = new_boundary()
    local heads, total = {}, 0
    for i, r in ipairs(ranges) do
        heads[i] = fmt("\r\n--%s\r\nContent-Type: %s\r\nContent-Range: bytes %d-%d/%d\r\n\r\n",
            boundary, ctype, r[1], r[2], size)
        total = total + #heads[i] + (r[2] - r[1] + 1)
    end
    local tail = "\r\n--" .. boundary .. "--\r\n"
    res:setHeader("Content-Type", "multipart/byteranges; boundary=" .. boundary)
    res:setHeader("Content-Length", total + #tail)
    for i, r in ipairs(ranges) do
        local a = res:write(heads[i])
        local b = res:sendFile(f, r[1], r[2] - r[1] + 1)
        if not (a and b) then
            res:drain()
        end
    end
    return res:finish(tail)
end

function static.handler(opts)
    assert(type(opts) == "table" and type(opts.root) == "string",
        "static.handler{root = DIR, ...}: root is required")
    local settings = {
        root = opts.root,
        index = opts.index == nil and "index.html" or opts.index,
        listing = opts.listing == true,
        cache_control = opts.cache_control,
        gzip = opts.gzip ~= false,
        max_ranges = opts.max_ranges or 16,
        dotfiles = opts.dotfiles == true,
    }
    local root = assert(file.root(opts.root, { walk = opts.walk }))
    local index = settings.index

    local function open(path)
        local f, err, kind = root:open(path)
        if not f then
            return nil, kind, err
        end
        return f
    end

    local function refuse(res, kind, err)
        if kind == "denied" then
            return plain(res, 403, "forbidden\n")
        elseif kind == "notfound" or kind == "outside" then
            return plain(res, 404, "not found\n")
        end
        error("static: " .. tostring(err))
    end

    -- A directory (raw ends with "/", or it redirects): its index, else the listing, else 404.
    -- Returns f and its path when there is a file to send, else nothing (answered).
    local function directory(req, res, raw, path, dir)
        if raw:sub(-1) ~= "/" then
            dir:close()
            local q = req.query
            -- one leading slash: "//host" would be another site's URL
            local loc = "/" .. req.path:gsub("^/+", "") .. "/" .. (q ~= "" and "?" .. q or "")
            plain(res, 301, "moved permanently\n", { Location = loc })
            return nil
        end
        if index then
            local idx, kind, err = open(path .. "/" .. index)
            if idx and idx.type == "file" then
                dir:close()
                return idx, path .. "/" .. index
            elseif idx then
                idx:close()
            elseif kind ~= "notfound" then
                dir:close()
                refuse(res, kind, err)
                return nil
            end
        end
        if settings.listing then
            local shown = path:sub(1, 1) == "/" and path or "/" .. path
            local ok, e = pcall(send_listing, res, req.method == "HEAD", dir, shown,
                not settings.dotfiles)
            dir:close()
            if not ok then
                error(e)
            end
            return nil
        end
        dir:close()
        plain(res, 404, "not found\n")
        return nil
    end

    return function(req, res, raw)
        local method = req.method
        if method ~= "GET" and method ~= "HEAD" then
            return plain(res, 405, "method not allowed\n", { Allow = "GET, HEAD" })
        end
        raw = raw or req.path
        local path = raw
        if raw:find("%", 1, true) then
            path = form.unescape(raw)
            if not path then
                return plain(res, 400, "bad percent-escape in the path\n")
            end
            if path:find("\0", 1, true) then
                return plain(res, 404, "not found\n")
            end
        end
        -- (a NUL in raw itself: root:open refuses it as not found, 404 too)
        -- a segment that starts with "." (dotfiles, ".." and ".")
        if ("/" .. path):find("/.", 1, true) and
            (not settings.dotfiles or ("/" .. path .. "/"):find("/%.%./")) then
            return plain(res, 404, "not found\n")
        end
        local f, ftype
        -- "dir/": its index file first, which is what is asked for most (one open where the
        -- directory, then its index, would be two); anything else takes the long way.
        if index and raw:sub(-1) == "/" then
            f = open(path .. "/" .. index)
            if f then
                ftype = f.type
                if ftype == "file" then
                    path = path .. "/" .. index
                else
                    f:close()
                    f = nil
                end
            end
        end
        if not f then
            local kind, err
            f, kind, err = open(path)
            if not f then
                return refuse(res, kind, err)
            end
            ftype = f.type
            if ftype == "dir" then
                f, path = directory(req, res, raw, path, f)
                if not f then
                    return
                end
                ftype = "file"
            end
        end
        if ftype ~= "file" then
            f:close()
            return plain(res, 404, "not found\n")
        end
        local ctype = mime.type(path)
        local vary, encoding = false, nil
        if settings.gzip and not path:find("%.gz$") then
            local gz = open(path .. ".gz")
            if gz then
                if gz.type == "file" then
                    vary = true
                    if accepts_gzip(req.headers["accept-encoding"]) then
                        f:close()
                        f, encoding = gz, "gzip"
                    else
                        gz:close()
                    end
                else
                    gz:close()
                end
            end
        end
        local ok, e = pcall(send_file, settings, req, res, method == "HEAD", f, f.size, f.mtime,
            ctype, vary, encoding)
        f:close()
        if not ok then
            error(e, 0)
        end
    end
end

return static
