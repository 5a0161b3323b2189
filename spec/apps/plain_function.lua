-- An app that returns a plain handler function.
return function(req, res)
    res:finish("plain " .. req.method .. " " .. req.path)
end
