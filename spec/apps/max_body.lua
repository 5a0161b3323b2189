-- Test app for spec/req_set_max_body_spec.lua: req:setMaxBody per route. Each handler's
-- last outcome (what its read returned, and req.aborted) is kept for GET /last.
--   /raise/N     setMaxBody(N), then req:body()
--   /lower/N     the same (N below --max-body)
--   /read/N      setMaxBody(N), then req:read() until the end
--   /size/TEXT   setMaxBody("TEXT") (a size such as "8k"), then req:body()
--   /late/N      req:body() for a body that has arrived, then setMaxBody(N), then answers
--   /bad         setMaxBody(-1)
--   /default     req:body() under --max-body
local lunaserve = require("lunaserve")

local last = "none"

local function record(req, body, err)
    if body then
        last = "body " .. #body
    else
        last = "nil " .. tostring(err) .. " aborted=" .. tostring(req.aborted)
    end
end

return function(req, res)
    local path = req.path
    if path == "/last" then
        return res:finish(last)
    end
    local kind, arg = path:match("^/(%a+)/?(.*)$")
    if kind == "raise" or kind == "lower" or kind == "size" then
        -- nil, "too large" at once when the declared length is already over it
        local ok, err = req:setMaxBody(math.tointeger(tonumber(arg)) or arg)
        if not ok then
            return record(req, nil, "(setMaxBody) " .. tostring(err))
        end
    elseif kind == "read" then
        assert(req:setMaxBody(math.tointeger(tonumber(arg))))
        local n = 0
        while true do
            local chunk, err = req:read()
            if not chunk then
                if err then
                    last = "nil " .. tostring(err) .. " aborted=" .. tostring(req.aborted)
                    return
                end
                break
            end
            n = n + #chunk
        end
        last = "read " .. n
        return res:finish("read " .. n)
    elseif kind == "late" then
        local body = assert(req:body())
        lunaserve.sleep(10) -- a wait: the limit is set after the handler's first run
        local ok, err = req:setMaxBody(math.tointeger(tonumber(arg)))
        last = "late " .. #body .. " " .. tostring(ok) .. " " .. tostring(err)
        return res:finish("late " .. #body)
    elseif kind == "bad" then
        req:setMaxBody(-1)
    end
    local body, err = req:body()
    record(req, body, err)
    if body then
        res:finish("body " .. #body)
    end
end
