-- apps/static: a static file server on lunaserve.static. It serves the directory in
-- STATIC_ROOT, or this app's own public/ folder.
--
--   build/lunaserve apps/static
--   STATIC_ROOT=/srv/www STATIC_LISTING=1 STATIC_CACHE_CONTROL="public, max-age=300" \
--     build/lunaserve --port 8080 apps/static
--
-- STATIC_LISTING=1 lists directories without an index.html; STATIC_CACHE_CONTROL sets
-- Cache-Control on every file; STATIC_DOTFILES=1 serves dotfiles (.env, .git/...), which are
-- 404 otherwise.
local static = require("lunaserve.static")

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local root = os.getenv("STATIC_ROOT")
if not root or root == "" then
    root = here .. "/public"
end

return static.handler({
    root = root,
    listing = os.getenv("STATIC_LISTING") == "1",
    cache_control = os.getenv("STATIC_CACHE_CONTROL"),
    dotfiles = os.getenv("STATIC_DOTFILES") == "1",
})
