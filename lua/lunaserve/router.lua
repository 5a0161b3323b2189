-- lunaserve.router: routes a request by method and path to a handler, with path parameters
-- in req.params, 404 and 405 (with Allow) answered for the app, HEAD served by GET routes,
-- sub-routers mounted under a prefix, and handlers that run before the routes.
--
--   local router = require("lunaserve.router")
--   local app = router.new()
--   app:get("/items/:id", function(req, res) res:finish(req.params.id) end)
--   return app                          -- a table with `handle`: an app as it is
--
-- Routes live in a tree keyed by path segment: a static segment is one table lookup, so the
-- cost of a match grows with the depth of the path, not with the number of routes.
-- At each node a static child is tried first, then the node's parameter (`:name`, one whole
-- non-empty segment), then its wildcard (`*name`, the rest of the path); a branch that leads
-- nowhere is left for the next one (`/a/b/c` and `/a/:x/d` both match what they should).
--
-- Paths, as chosen here:
-- - each segment is percent-decoded on its own, so `%2F` stays inside its parameter; a bad
--   escape (`%`, `%4`, `%zz`), a `%00`, and a `.` or `..` segment (written plainly, as
--   `%2e%2e`, or inside a segment between `%2F`s) get 400: a client normalises dot segments
--   before it sends (RFC 3986 5.2.4), so on the wire they are a mistake or an attack (this
--   400 comes before the handlers of router:use: the request names nothing);
-- - a trailing slash is part of the path: `/items/` is not `/items`. When no route takes the
--   path but the other form has a route for the method, the answer is 308 to that form (the
--   query kept; 308 keeps the method and the body);
-- - an empty segment elsewhere (`/a//b`) matches no route: 404;
-- - a wildcard takes at least one segment; its value is the decoded segments joined by `/`,
--   with the trailing slash if the path has one (`/files/*path` on `/files/a/b/` is `a/b/`).
--   A `%2F` inside one of them is a `/` in the value too (never next to a dot segment, see
--   above); a handler that maps the value to a file still checks it.
local form = require("lunaserve.form")

local M = {}

-- Steps taken by the matcher (tree nodes visited), for the specs: they show that a match
-- costs the same with ten routes or thousands.
M.debug = { steps = 0 }

local METHODS = { "get", "head", "post", "put", "patch", "delete", "options" }

local Router = {}
Router.__index = Router

-- A router's tree and handlers, kept off the router table: an app's table holds `handle`
-- and settings, and the router is returned as the app as it is.
local state = setmetatable({}, { __mode = "k" })

local function new_node()
    return { static = {}, param = nil, wild = nil, handlers = nil, mount = nil }
end

-- The segments of a path that starts with "/": "/" is none, "/a/b/" is {"a", "b", ""}.
local function split(path)
    local segs = {}
    if path == "/" then
        return segs
    end
    for seg in (path:sub(2) .. "/"):gmatch("([^/]*)/") do
        segs[#segs + 1] = seg
    end
    return segs
end

-- The decoded segment, or nil for one the router refuses (400).
local function decode(seg)
    if seg == "." or seg == ".." then
        return nil
    end
    if not seg:find("%", 1, true) then
        return seg
    end
    local out = form.unescape(seg) -- (nil: a % not followed by two hex digits)
    -- nor a NUL, nor a dot segment brought in by %2F ("..%2F.." would be one parameter "../..")
    if not out or out:find("\0", 1, true) or ("/" .. out .. "/"):find("/%.%.?/") then
        return nil
    end
    return out
end

---------------------------------------------------------------------------------------------------
-- Building the tree
---------------------------------------------------------------------------------------------------

local function check_pattern(pattern, what)
    if type(pattern) ~= "string" or pattern:sub(1, 1) ~= "/" then
        error(what .. " must be a string that starts with '/' (got " .. tostring(pattern) .. ")", 3)
    end
end

-- The node for `pattern`, made as needed.
local function node_for(root, pattern)
    check_pattern(pattern, "a route's path")
    local segs = split(pattern)
    local node = root
    for i, seg in ipairs(segs) do
        local last = i == #segs
        local kind, name = seg:sub(1, 1), seg:sub(2)
        if seg == "" and not last then
            error("route '" .. pattern .. "' has an empty segment", 3)
        elseif (kind == ":" or kind == "*") and not name:match("^[%a_][%w_]*$") then
            error("route '" .. pattern .. "': a parameter needs a name (:name or *name)", 3)
        elseif kind == ":" then
            if node.param and node.param.name ~= name then
                error("route '" .. pattern .. "': ':" .. name .. "' where another route has ':"
                    .. node.param.name .. "'", 3)
            end
            node.param = node.param or { name = name, node = new_node() }
            node = node.param.node
        elseif kind == "*" then
            if not last then
                error("route '" .. pattern .. "': a wildcard must be the last segment", 3)
            end
            if node.wild and node.wild.name ~= name then
                error("route '" .. pattern .. "': '*" .. name .. "' where another route has '*"
                    .. node.wild.name .. "'", 3)
            end
            node.wild = node.wild or { name = name, node = new_node() }
            node = node.wild.node
        else
            node.static[seg] = node.static[seg] or new_node()
            node = node.static[seg]
        end
    end
    return node
end

-- router:route(method or {methods}, pattern, handler): handler(req, res) for those methods.
function Router:route(methods, pattern, handler)
    if type(methods) == "string" then
        methods = { methods }
    end
    if type(handler) ~= "function" then
        error("route '" .. tostring(pattern) .. "' needs a handler function", 2)
    end
    local node = node_for(state[self].root, pattern)
    node.handlers = node.handlers or {}
    for _, method in ipairs(methods) do
        if type(method) ~= "string" or not method:match("^[!#$%%&'*+%-.^_`|~%w]+$") then
            error("not a method name: " .. tostring(method), 2)
        end
        if node.handlers[method] then
            error("a " .. method .. " route for '" .. pattern .. "' exists already", 2)
        end
        node.handlers[method] = handler
    end
    return self
end

for _, m in ipairs(METHODS) do
    local method = m:upper()
    Router[m] = function(self, pattern, handler)
        return self:route(method, pattern, handler)
    end
end

-- router:use(fn): fn(req, res) runs for every request that reaches this router, before its
-- routes, in the order given. Once one has finished the response (or sent its head), the
-- rest and the routes do not run.
function Router:use(fn)
    if type(fn) ~= "function" then
        error("router:use needs a function", 2)
    end
    local before = state[self].before
    before[#before + 1] = fn
    return self
end

-- router:mount(prefix, sub): the sub-router answers the paths under the static `prefix`
-- that none of this router's routes takes (for the request's method), its own handlers run
-- first, and its 404 and 405 are its own. Its patterns are written without the prefix.
function Router:mount(prefix, sub)
    check_pattern(prefix, "a mount's prefix")
    if getmetatable(sub) ~= Router or sub == self then
        error("router:mount needs another router made by lunaserve.router.new()", 2)
    end
    local node = state[self].root
    for _, seg in ipairs(split(prefix)) do
        if seg == "" or seg:match("^[:*]") then
            error("mount prefix '" .. prefix .. "' must be static, without a trailing slash", 2)
        end
        node.static[seg] = node.static[seg] or new_node()
        node = node.static[seg]
    end
    if node.mount then
        error("a router is mounted at '" .. prefix .. "' already", 2)
    end
    node.mount = sub
    return self
end

---------------------------------------------------------------------------------------------------
-- Matching
---------------------------------------------------------------------------------------------------

local debug = M.debug

-- The node under `node` that takes segs[i..n] and answers `accept(node)`, filling params on
-- the way back (so a branch that failed leaves none behind).
local function match(node, segs, i, n, params, accept)
    debug.steps = debug.steps + 1
    if i > n then
        return node.handlers and accept(node.handlers) and node or nil
    end
    local seg = segs[i]
    local child = node.static[seg]
    if child then
        local found = match(child, segs, i + 1, n, params, accept)
        if found then
            return found
        end
    end
    if seg == "" then
        return nil
    end
    local p = node.param
    if p then
        local found = match(p.node, segs, i + 1, n, params, accept)
        if found then
            params[p.name] = seg
            return found
        end
    end
    local w = node.wild
    if w and w.node.handlers and accept(w.node.handlers) then
        debug.steps = debug.steps + 1
        params[w.name] = table.concat(segs, "/", i, n)
        return w.node
    end
    return nil
end

-- Every method some route of the path has (for Allow): all branches, not the first.
local function methods_of(node, segs, i, n, out)
    debug.steps = debug.steps + 1
    if i > n then
        for m in pairs(node.handlers or {}) do
            out[m] = true
        end
        return
    end
    local seg = segs[i]
    if node.static[seg] then
        methods_of(node.static[seg], segs, i + 1, n, out)
    end
    if seg ~= "" then
        if node.param then
            methods_of(node.param.node, segs, i + 1, n, out)
        end
        if node.wild then
            methods_of(node.wild.node, segs, n + 1, n, out)
        end
    end
end

local function for_method(method)
    if method == "HEAD" then
        return function(h) return h.HEAD or h.GET end
    end
    return function(h) return h[method] end
end

-- The deepest mount along the static segments from segs[i]: the router and the index of
-- the first segment after its prefix.
local function mount_for(node, segs, i, n)
    local sub, at = node.mount, i
    while i <= n do
        node = node.static[segs[i]]
        debug.steps = debug.steps + 1
        if not node then
            break
        end
        i = i + 1
        if node.mount then
            sub, at = node.mount, i
        end
    end
    return sub, at
end

local function answer(res, status, body, allow)
    res.statusCode = status
    res:setHeader("Content-Type", "text/plain; charset=utf-8")
    if allow then
        res:setHeader("Allow", allow)
    end
    res:finish(body)
end

-- Runs the router's handlers that come before routes; true once one has answered.
local function run_before(self, req, res)
    for _, fn in ipairs(state[self].before) do
        fn(req, res)
        if res.finished or res.headersSent then
            return true
        end
    end
    return false
end

-- What the router found for one request: the path as decoded segments, the raw ones (for a
-- redirect's Location), and the request.
local function dispatch(self, req, res, segs, raw, i)
    if run_before(self, req, res) then
        return
    end
    local root, n, method = state[self].root, #segs, req.method
    local params = {}
    local node = match(root, segs, i, n, params, for_method(method))
    if node then
        req.params = params
        local h = node.handlers
        return (h[method] or h.GET)(req, res)
    end
    local sub, at = mount_for(root, segs, i, n)
    if sub then
        return dispatch(sub, req, res, segs, raw, at)
    end
    local allow = {}
    methods_of(root, segs, i, n, allow)
    if next(allow) then
        if allow.GET then
            allow.HEAD = true
        end
        local list = {}
        for m in pairs(allow) do
            list[#list + 1] = m
        end
        table.sort(list)
        return answer(res, 405, "method not allowed\n", table.concat(list, ", "))
    end
    -- the other form of a trailing slash
    local alt, alt_raw = {}, {}
    for k = 1, n do
        alt[k], alt_raw[k] = segs[k], raw[k]
    end
    if n > 0 and segs[n] == "" then
        alt[n], alt_raw[n] = nil, nil
    elseif n > 0 then
        alt[n + 1], alt_raw[n + 1] = "", ""
    end
    if n > 0 and match(root, alt, i, #alt, {}, for_method(method)) then
        local q = req.query
        res:setHeader("Location", "/" .. table.concat(alt_raw, "/") .. (q ~= "" and "?" .. q or ""))
        return answer(res, 308, "")
    end
    return answer(res, 404, "not found\n")
end

-- A path with an empty segment: the handlers that run before routes still run; then 404.
local function dispatch_empty(self, req, res)
    if run_before(self, req, res) then
        return
    end
    return answer(res, 404, "not found\n")
end

-- What router.handle does (an app's table calls it as handle(req, res)).
local function handle(self, req, res)
    local path = req.path
    if path:sub(1, 1) ~= "/" then -- "*" (OPTIONS *) names no resource here
        return answer(res, 404, "not found\n")
    end
    local raw = split(path)
    local segs = {}
    for k, seg in ipairs(raw) do
        local d = decode(seg)
        if not d then
            return answer(res, 400, "bad request\n")
        end
        segs[k] = d
    end
    for k = 1, #segs - 1 do
        if raw[k] == "" then
            -- an empty segment before the end: no route has one (and no redirect makes "//x")
            return dispatch_empty(self, req, res)
        end
    end
    return dispatch(self, req, res, segs, raw, 1)
end

-- router.new(): an empty router. It is an app as it is: `return router` from the app file.
function M.new()
    local self = setmetatable({}, Router)
    state[self] = { root = new_node(), before = {} }
    self.handle = function(a, b, c) -- app.handle(req, res) and app:handle(req, res) alike
        if rawequal(a, self) then
            return handle(self, b, c)
        end
        return handle(self, a, b)
    end
    return self
end

M.Router = Router

return M
