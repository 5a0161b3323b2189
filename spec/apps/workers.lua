-- Test app for workers_spec, lua_memory_limit_spec and shutdown_spec: every answer names the process that made it
-- (its pid, read at load from /proc/self/stat), so a client can tell the workers apart.
--
-- With LUNASERVE_SPEC_DIR set, each load appends "<pid>\n" to $LUNASERVE_SPEC_DIR/loads, and a
-- load exits at once (status 7) while $LUNASERVE_SPEC_DIR/crash-on-load exists: a worker that
-- dies right after every start.

local lunaserve = require("lunaserve")

local f = assert(io.open("/proc/self/stat", "r"))
local PID = f:read("l"):match("^(%d+)")
f:close()

local DIR = os.getenv("LUNASERVE_SPEC_DIR")
if DIR and DIR ~= "" then
    local log = io.open(DIR .. "/loads", "a")
    if log then
        log:write(PID, "\n")
        log:close()
    end
    local flag = io.open(DIR .. "/crash-on-load", "r")
    if flag then
        flag:close()
        os.exit(7)
    end
end

local param = require("testkit").param

return function(req, res)
    res:setHeader("Content-Type", "text/plain")
    local path = req.path
    if path == "/pid" then
        res:finish(PID)
    elseif path == "/sleep" then
        -- waits without blocking the loop, then answers "slept MS PID"
        local ms = tonumber(param(req, "ms")) or 300
        lunaserve.sleep(ms)
        res:finish("slept " .. ms .. " " .. PID)
    elseif path == "/exit" then
        -- the process ends with this status in the middle of a request
        os.exit(tonumber(param(req, "code")) or 3)
    elseif path == "/crash-loop" then
        -- from now on every load exits at once; then this process exits too
        local flag = assert(io.open(DIR .. "/crash-on-load", "w"))
        flag:close()
        os.exit(7)
    elseif path == "/hog" then
        -- ~200 MB of live strings unless the allocator refuses first
        local t = {}
        for i = 1, 200000 do
            t[i] = string.rep("x", 1000) .. i
        end
        res:finish("survived " .. #t .. " " .. PID)
    elseif path == "/alloc" then
        -- holds MB megabytes of strings for the length of the handler, then answers
        local mb = tonumber(param(req, "mb")) or 16
        local t = {}
        for i = 1, mb * 1024 do
            t[i] = string.rep("y", 1000) .. i
        end
        res:finish("allocated " .. mb .. " " .. #t .. " " .. PID)
    else
        res.statusCode = 404
        res:finish("not found\n")
    end
end
