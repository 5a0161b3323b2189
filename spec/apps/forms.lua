-- Test app for spec/form_request_spec.lua: req:form() answered as sorted "name=value" lines
-- (a repeated name's values joined with ","), or "error: ..." with 400.
return function(req, res)
    local t, err = req:form()
    if not t then
        res.statusCode = 400
        return res:finish("error: " .. tostring(err) .. "\n")
    end
    local names = {}
    for k in pairs(t) do names[#names + 1] = k end
    table.sort(names)
    local out = {}
    for _, k in ipairs(names) do
        local v = t[k]
        out[#out + 1] = k .. "=" .. (type(v) == "table" and table.concat(v, ",") or v) .. "\n"
    end
    res:finish(table.concat(out))
end
