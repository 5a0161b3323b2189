-- lunaserve.mime: a file name's Content-Type from /etc/mime.types (Debian's media-types
-- package), read once on first use.
--
--   local mime = require("lunaserve.mime")
--   mime.type("index.html")        --> "text/html; charset=utf-8"
--   mime.type("photo.JPG")         --> "image/jpeg"    (extensions compare case-blind)
--   mime.type("x.tar.gz")          --> "application/gzip"
--   mime.type("README")            --> "application/octet-stream" (mime.DEFAULT)
--   mime.type("README", "text/plain") --> the default given instead
--
-- text/* types get "; charset=utf-8": the files a server ships are UTF-8 in practice, and a
-- browser that has to guess may guess otherwise. Other types get no parameter (JSON has no
-- charset parameter, RFC 8259). The longest extension wins: "a.sarif.json" is looked up as
-- "sarif.json", then "json". Without /etc/mime.types a short built-in list is used.
--
-- Plain Lua, no dependency: it also runs outside the server.
local mime = {}

mime.DEFAULT = "application/octet-stream"
mime.PATH = "/etc/mime.types"

local FALLBACK = {
    html = "text/html", htm = "text/html", css = "text/css", js = "text/javascript",
    mjs = "text/javascript", txt = "text/plain", json = "application/json",
    svg = "image/svg+xml", png = "image/png", jpg = "image/jpeg", jpeg = "image/jpeg",
    gif = "image/gif", ico = "image/vnd.microsoft.icon", wasm = "application/wasm",
    webp = "image/webp", pdf = "application/pdf", xml = "application/xml",
}

local by_ext

local function with_charset(t)
    if t:sub(1, 5) == "text/" then
        return t .. "; charset=utf-8"
    end
    return t
end

-- Reads a mime.types file ("type ext ext ..." lines, # comments); returns ext -> type (the
-- first line naming an extension wins), or nil, err.
function mime.load(path)
    local f, err = io.open(path or mime.PATH, "r")
    if not f then
        return nil, err
    end
    local map = {}
    for line in f:lines() do
        line = line:gsub("#.*", "")
        local t, exts = line:match("^%s*(%S+)%s+(.-)%s*$")
        if t then
            t = with_charset(t)
            for ext in exts:gmatch("%S+") do
                ext = ext:lower()
                if not map[ext] then
                    map[ext] = t
                end
            end
        end
    end
    f:close()
    return map
end

local function table_now()
    if not by_ext then
        by_ext = mime.load()
        if not by_ext then
            by_ext = {}
            for ext, t in pairs(FALLBACK) do
                by_ext[ext] = with_charset(t)
            end
        end
    end
    return by_ext
end

local function lookup(name)
    local map = table_now()
    local base = name:match("[^/]*$"):lower()
    local i = base:find(".", 2, true) -- a leading dot names a hidden file, not a type
    while i do
        local t = map[base:sub(i + 1)]
        if t then
            return t
        end
        i = base:find(".", i + 1, true)
    end
    return false
end

-- Answers by name, remembered: the lookup is five string calls, a server asks for the same
-- few names over and over (lunaserve.static, per request). At most CACHE_MAX names of at most
-- CACHE_NAME bytes are kept; then the cache starts again. mime.use empties it.
local CACHE_MAX, CACHE_NAME = 512, 256
local cache, ncache = {}, 0

-- The Content-Type for a file name (or path), else default (mime.DEFAULT if not given).
function mime.type(name, default)
    local t = cache[name]
    if t == nil then
        t = lookup(name)
        if #name <= CACHE_NAME then
            if ncache >= CACHE_MAX then
                cache, ncache = {}, 0
            end
            cache[name], ncache = t, ncache + 1
        end
    end
    return t or default or mime.DEFAULT
end

-- Replaces the table (a map from lower-case extension to type as mime.load returns). The
-- table is read as it is now: to change it later, call mime.use again.
function mime.use(map)
    by_ext = map
    cache, ncache = {}, 0
end

return mime
