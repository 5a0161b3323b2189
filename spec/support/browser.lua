-- Test support: headless Chromium (Debian's `chromium`) driven through the DevTools protocol
-- by spec/support/browser.py (Debian's python3-websockets), for the pages of the bundled
-- apps. One call runs a plan of steps in a fresh browser and returns what the page said:
--
--   local B = require("spec.support.browser")
--   local r = B.run({
--       { open = "a", url = "http://127.0.0.1:" .. port .. "/" },
--       { eval = "a", js = "document.title" },
--       { wait = "a", js = "document.querySelectorAll('li').length >= 1", timeout = 5 },
--       { reload = "a" },
--   })                                  -- raises with the step and the reason on a failure
--   r[1]                                -- the results of the eval and wait steps, in order
--
-- Chromium is started and stopped for each run (by its PID, also when the driver dies).
local cjson = require("cjson")
local S = require("spec.support.server")

local B = {}

local PYTHON = "/usr/bin/python3" -- Debian's, which has python3-websockets
local RUN_TIMEOUT = 90

local function here()
    return debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "spec/support"
end

function B.run(steps)
    if not io.open("/usr/bin/chromium") then
        error("chromium is not installed (Debian's chromium package): make test installs it", 2)
    end
    local dir = S.mktempdir()
    local f = assert(io.open(dir .. "/plan.json", "w"))
    f:write(cjson.encode({ steps = steps }))
    f:close()
    local cmd = string.format("timeout -k 5 %d %s %s/browser.py %s/plan.json %s/chromium.pid 2>%s/err",
        RUN_TIMEOUT, PYTHON, here(), dir, dir, dir)
    local p = assert(io.popen(cmd))
    local out = p:read("a")
    p:close()
    local pid = tonumber((S.read_file(dir .. "/chromium.pid") or ""):match("%d+"))
    if pid and S.pid_alive(pid) then -- (the driver was killed before it could stop it)
        os.execute("kill -KILL -" .. pid .. " 2>/dev/null; kill -KILL " .. pid .. " 2>/dev/null")
    end
    local err = S.read_file(dir .. "/err") or ""
    os.execute("rm -rf " .. S.shquote(dir))
    local ok, r = pcall(cjson.decode, out ~= "" and out or "null")
    if not ok or type(r) ~= "table" then
        error("the browser driver failed: " .. tostring(out) .. "\n" .. S.tail(err, 20), 2)
    end
    if not r.ok then
        error(string.format("browser step %s failed: %s", tostring(r.step), tostring(r.error)), 2)
    end
    return r.results
end

return B
