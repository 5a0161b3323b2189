-- Helpers for the access log specs: reading the log file, and the parts of a combined line.
local S = require("spec.support.server")

local A = {}

-- The log's lines (without their newlines) and whether the file ends with one.
function A.lines(path)
    local text = S.read_file(path) or ""
    local lines = {}
    for line in text:gmatch("([^\n]*)\n") do
        lines[#lines + 1] = line
    end
    return lines, text == "" or text:sub(-1) == "\n"
end

-- Waits (at most `timeout` seconds) until the log has at least n lines; returns them.
function A.wait_lines(path, n, timeout)
    local lines
    S.wait_for(function()
        lines = A.lines(path)
        return #lines >= n
    end, timeout or 5)
    return A.lines(path)
end

-- nginx's $time_local of the second `t`, in the server's time zone (the spec's, TZ unset).
function A.time_local(t)
    return os.date("%d/%b/%Y:%H:%M:%S %z", t)
end

-- A combined line with its time stamp replaced by TIME, and the time stamp; fails when the
-- line does not have nginx's shape.
function A.split_combined(line)
    local before, stamp, after = line:match("^(%S+ %- %S+ %[)([^%]]+)(%] \".*)$")
    assert(stamp, "not a combined line: " .. line)
    return before .. "TIME" .. after, stamp
end

-- The pattern of any whole combined line.
A.COMBINED = '^%S+ %- %S+ %[%d%d/%a%a%a/%d%d%d%d:%d%d:%d%d:%d%d [+-]%d%d%d%d%] "[^"]*" %d%d%d %d+ "[^"]*" "[^"]*"$'

return A
