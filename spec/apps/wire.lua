-- Test app for spec/wire_spec.lua (chunk extensions, trailers, Host, bare CR).
--   /body      the request body as received, text/plain
--   /trailers  reads the body, then answers JSON: req.headers, req.rawHeaders and
--              req.trailers (as seen after the body ended), what req.trailers was before the
--              body was read (`before`), the body, and whether the same table comes back
--   anything else: "ok"
local cjson = require("cjson")

local function send(res, ctype, body)
    res:setHeader("Content-Type", ctype)
    res:finish(body)
end

return function(req, res)
    if req.path == "/body" then
        local body = req:body()
        if body then
            send(res, "text/plain", body)
        end
    elseif req.path == "/trailers" then
        local before = req.trailers
        local before_kind = type(before)
        local before_empty = before_kind == "table" and next(before) == nil
        local body = req:body()
        if not body then
            return
        end
        local doc = cjson.encode({
            headers = req.headers,
            rawHeaders = req.rawHeaders,
            trailers = req.trailers,
            before = before_kind .. (before_empty and " empty" or ""),
            same = req.trailers == req.trailers,
            body = body,
        })
        send(res, "application/json", doc)
    else
        send(res, "text/plain", "ok")
    end
end
