-- The app the benchmark harness measures: GET / and GET /64k, as the peers in
-- ../shared/bench answer them. Like the nginx peers (keepalive_requests 1000000), it does
-- not end keep-alive connections every 1000 requests.
local big = string.rep("x", 65536)

local function handle(req, res)
    if req.path == "/64k" then
        res:setHeader("Content-Type", "application/octet-stream")
        res:finish(big)
    else
        res:setHeader("Content-Type", "text/plain")
        res:finish("Hello, World!\n")
    end
end

return { handle = handle, max_requests = 1000000 }
