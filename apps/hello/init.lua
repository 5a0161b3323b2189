-- The default app: answers every request with a greeting.
return function(req, res)
    res:setHeader("Content-Type", "text/plain")
    res:finish("Hello, World!\n")
end
