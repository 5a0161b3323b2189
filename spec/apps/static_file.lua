-- Test app for spec/static_file_spec.lua: lunaserve.file beneath FILE_ROOT, over HTTP.
--   GET /open?<path>       "file|dir|other <size> <mtime>", or "nil <kind>"
--   GET /walk?<path>       the same through the component walk (file.root(dir, {walk = true}))
--   GET /send?<path>&<off>&<len>   the range with Content-Length (sendFile), the file closed
--                                  at once; off and len may be empty (defaults)
--   GET /list?<path>       the entries, sorted, one "name/" (directory) or "name" a line
--   GET /bad?<path>        res:sendFile with an offset past the end: the error
local file = require("lunaserve.file")
local form = require("lunaserve.form")

local root = assert(file.root(os.getenv("FILE_ROOT")))
local walk = assert(file.root(os.getenv("FILE_ROOT"), { walk = true }))

local function args(q)
    local out = {}
    for a in (q .. "&"):gmatch("([^&]*)&") do
        out[#out + 1] = assert(form.unescape(a))
    end
    return out
end

return function(req, res)
    local a = args(req.query)
    local f, _, kind = (req.path == "/walk" and walk or root):open(a[1])
    if not f then
        return res:finish("nil " .. kind .. "\n")
    end
    if req.path == "/open" or req.path == "/walk" then
        f:close()
        return res:finish(string.format("%s %d %d\n", f.type, f.size, f.mtime))
    elseif req.path == "/list" then
        local names = {}
        for _, e in ipairs(assert(f:list())) do
            names[#names + 1] = e.name .. (e.dir and "/" or "")
        end
        f:close()
        table.sort(names)
        return res:finish(table.concat(names, "\n") .. "\n")
    elseif req.path == "/send" then
        local off, len = tonumber(a[2]), tonumber(a[3])
        res:setHeader("Content-Length", len or (f.size - (off or 0)))
        assert(res:sendFile(f, off, len) ~= nil)
        f:close()
        return res:finish()
    elseif req.path == "/bad" then
        local ok, err = pcall(res.sendFile, res, f, f.size + 1)
        f:close()
        return res:finish(tostring(ok) .. " " .. tostring(err):gsub("^.-: ", "") .. "\n")
    end
end
