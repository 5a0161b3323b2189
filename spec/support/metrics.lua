-- Helpers for the metrics specs: a scrape, parsed by Prometheus's own Python parser
-- (python3-prometheus-client), and lookups in what it gave.
local S = require("spec.support.server")
local cjson = require("cjson")

local M = {}

local PARSER = S.root .. "/spec/support/prom_parse.py"

-- Parses exposition text; fails the spec with the parser's message if it refuses it.
function M.parse(text)
    local dir = S.mktempdir()
    S.write_file(dir .. "/in", text)
    local p = assert(io.popen("/usr/bin/python3 " .. S.shquote(PARSER) .. " <" .. dir .. "/in 2>"
        .. dir .. "/err"))
    local out = p:read("a")
    local ok = p:close()
    local err = S.read_file(dir .. "/err") or ""
    os.execute("rm -rf " .. S.shquote(dir))
    assert(ok, "Prometheus's parser refused the text: " .. err .. "\n" .. text)
    return cjson.decode(out)
end

-- GET /metrics on host:port (a new connection each time): status, raw text, parsed families.
function M.scrape(port, path)
    local c = assert(S.connect(port, 5))
    assert(c:send(S.get(path or "/metrics")))
    local res = assert(c:read_response({ timeout = 5 }))
    c:close()
    return res, res.status == 200 and M.parse(res.body) or nil
end

-- The value of the sample `name` with exactly these labels (nil if absent).
function M.value(families, family, name, labels)
    local f = families[family]
    if not f then
        return nil
    end
    for _, s in ipairs(f.samples) do
        if s[1] == name then
            local same = true
            local want = labels or {}
            for k, v in pairs(want) do
                same = same and s[2][k] == v
            end
            for k in pairs(s[2]) do
                same = same and want[k] ~= nil
            end
            if same then
                return s[3]
            end
        end
    end
    return nil
end

return M
