-- A directory app: the server loads init.lua.
return {
    handle = function(req, res)
        res:setHeader("Content-Type", "text/plain")
        res:finish("from dir app")
    end,
}
