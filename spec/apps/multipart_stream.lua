-- Test app for spec/multipart_stream_spec.lua: POST / with a multipart/form-data body, read with
-- req:parts(); each
-- part is read as it streams in and answered as one line
--   name|filename|type|bytes|first 8 bytes (hex)|last 8 bytes (hex)
-- then a last line "peak KiB N": the most the Lua heap grew over its size before the body
-- was read, sampled after every chunk. A malformed body answers 400 with the error.

local function hex(s)
    return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

return function(req, res)
    collectgarbage()
    local base, peak = collectgarbage("count"), 0
    local lines = {}
    for part, err in req:parts() do
        if not part then
            res.statusCode = 400
            return res:finish(err .. "\n")
        end
        local n, first, last = 0, "", ""
        while true do
            local chunk, rerr = part:read()
            if not chunk then
                if rerr then
                    res.statusCode = 400
                    return res:finish(rerr .. "\n")
                end
                break
            end
            if #first < 8 then
                first = (first .. chunk):sub(1, 8)
            end
            last = (last .. chunk):sub(-8)
            n = n + #chunk
            peak = math.max(peak, collectgarbage("count") - base)
        end
        lines[#lines + 1] = table.concat({ part.name or "", part.filename or "", part.type, n,
            hex(first), hex(last) }, "|")
    end
    lines[#lines + 1] = "peak KiB " .. math.floor(peak)
    res:finish(table.concat(lines, "\n") .. "\n")
end
