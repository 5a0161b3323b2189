-- The second app of api_bench: more of the binding per call than bench/app.lua (the
-- headers table, req.method / path / query, the statusCode setter, two setHeader calls, a
-- req 'end' listener, a write that commits a chunked head, then finish).
-- For `GET /?a=1` with User-Agent `api_bench` and Accept `*/*` the body is
-- "GET /?a=1\n" .. "api_bench */*\n": 24 bytes, sent chunked.
local ends = 0

local function handle(req, res)
    local headers = req.headers
    res.statusCode = 200
    res:setHeader("Content-Type", "text/plain")
    res:setHeader("Cache-Control", "no-store")
    req:on("end", function() ends = ends + 1 end)
    res:write(req.method .. " " .. req.path .. "?" .. req.query .. "\n")
    res:finish(headers["user-agent"] .. " " .. headers.accept .. "\n")
end

return {
    handle = handle,
    -- read by api_bench, ignored by lunaserve
    bench_body_length = 24,
    bench_check = function(calls)
        if ends ~= calls then
            return false, ("%d 'end' events for %d calls"):format(ends, calls)
        end
        return true
    end,
}
