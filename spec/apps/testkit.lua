-- Helpers shared by the spec apps (found through the app folder on package.path).
local M = {}

-- A table as sorted "key=value" lines, for /state routes.
function M.kv(t)
    local keys = {}
    for k in pairs(t) do
        keys[#keys + 1] = k
    end
    table.sort(keys)
    local out = {}
    for _, k in ipairs(keys) do
        out[#out + 1] = k .. "=" .. tostring(t[k]) .. "\n"
    end
    return table.concat(out)
end

-- The value of a query parameter, or nil.
function M.param(req, name)
    local q = req.query or ""
    return q:match("^" .. name .. "=([^&]*)") or q:match("&" .. name .. "=([^&]*)")
end

-- A handler that runs routes[req.path](req, res), and answers 404 "no route PATH" for a path
-- with no route.
function M.router(routes)
    return function(req, res)
        local route = routes[req.path]
        if not route then
            res.statusCode = 404
            return res:finish("no route " .. req.path)
        end
        route(req, res)
    end
end

return M
