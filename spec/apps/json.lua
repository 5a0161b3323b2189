-- res:json and req:json, and the lunaserve.json module as the server runs it.
local json = require("lunaserve.json")
local kit = require("testkit")

local last_err = "none" -- the last error req:json gave

return kit.router({
    ["/value"] = function(_, res)
        res:json({ name = "a/b", tags = json.empty_array, list = json.array({ 1, 2 }),
            none = json.array(), obj = {} })
    end,
    ["/created"] = function(_, res)
        res:json(json.array(), 201)
    end,
    ["/string"] = function(_, res)
        res:json("</script>")
    end,
    ["/bad-value"] = function(_, res)
        res:json({ f = print })
    end,
    -- the decoded body, written back with its Lua types
    ["/echo"] = function(req, res)
        local v, err = req:json()
        if v == nil then
            last_err = tostring(err)
            res.statusCode = 400
            return res:finish("error: " .. tostring(err))
        end
        local types = {}
        if type(v) == "table" then
            for k, x in pairs(v) do
                types[#types + 1] = k .. ":" .. (math.type(x) or type(x))
            end
            table.sort(types)
        end
        res:json({ value = v, types = table.concat(types, ",") })
    end,
    ["/last-error"] = function(_, res)
        res:finish(last_err)
    end,
    -- decode called directly: nil, err for what is not JSON
    ["/decode"] = function(req, res)
        local body = req:body()
        local v, err = json.decode(body)
        res:finish(tostring(v == nil) .. "|" .. tostring(err))
    end,
})
