-- Test app for the spec/static_*_spec.lua files: lunaserve.static over STATIC_ROOT.
--   /plain/...   static.handler{root} with the defaults (no listing, no Cache-Control),
--                given the path under /plain
--   anything else: static.handler{root, listing = true, cache_control = "public, max-age=60",
--                max_ranges = 4}
local static = require("lunaserve.static")

local root = assert(os.getenv("STATIC_ROOT"), "STATIC_ROOT is not set")
local full = static.handler({ root = root, listing = true, cache_control = "public, max-age=60",
    max_ranges = 4 })
local defaults = static.handler({ root = root })

return function(req, res)
    local rest = req.path:match("^/plain(/.*)$")
    if rest then
        return defaults(req, res, rest)
    end
    return full(req, res)
end
