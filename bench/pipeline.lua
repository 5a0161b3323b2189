-- wrk script: DEPTH requests (GET /) written at once on each connection, so one write of the
-- client carries many requests and the client's cost per request is small (for measuring
-- what the server can do, e.g. --workers scaling). Usage: wrk -s bench/pipeline.lua URL -- DEPTH
local batch

function init(args)
    local depth = tonumber(args[1]) or 16
    local one = wrk.format("GET", "/")
    batch = string.rep(one, depth)
end

function request()
    return batch
end
