-- Test app for spec/static_dotfiles_spec.lua: lunaserve.static over STATIC_ROOT, with a
-- listing.
--   /allow/...   static.handler{root, listing = true, dotfiles = true}, given the path under
--                /allow
--   anything else: static.handler{root, listing = true} (dotfiles not served, the default)
local static = require("lunaserve.static")

local root = assert(os.getenv("STATIC_ROOT"), "STATIC_ROOT is not set")
local hidden = static.handler({ root = root, listing = true })
local allowed = static.handler({ root = root, listing = true, dotfiles = true })

return function(req, res)
    local rest = req.path:match("^/allow(/.*)$")
    if rest then
        return allowed(req, res, rest)
    end
    return hidden(req, res)
end
