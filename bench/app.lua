-- The app the benchmark harness measures: GET / and GET /64k, as the peers in
-- ../shared/bench answer them.
local big = string.rep("x", 65536)

return function(req, res)
    if req.path == "/64k" then
        res:setHeader("Content-Type", "application/octet-stream")
        res:finish(big)
    else
        res:setHeader("Content-Type", "text/plain")
        res:finish("Hello, World!\n")
    end
end
