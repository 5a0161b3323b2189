-- apps/upload: an HTML form whose files are streamed to disk as they arrive, each with its
-- SHA-256 computed on the way, and a JSON list of what was uploaded. A template to copy.
--
--   build/lunaserve apps/upload                  # UPLOAD_DIR (default: /tmp/lunaserve-uploads)
--   curl -F file=@photo.jpg http://127.0.0.1:8080/upload
--   curl http://127.0.0.1:8080/files
--
-- - An upload larger than UPLOAD_MAX (default 50 MiB) is refused: at once with 413 when its
--   Content-Length says so, else as soon as it goes past the limit.
-- - A file is written under a temporary name and renamed once complete: a client that goes
--   away mid-upload, or a body that is malformed or too large, leaves no partial file.
-- - The list lives in UPLOAD_DIR/uploads.jsonl, one JSON line per file (appended whole, so
--   several workers can share it).
local cjson = require("cjson")
local crypto = require("lunaserve.crypto")
local multipart = require("lunaserve.multipart")
local router = require("lunaserve.router")

local DIR = os.getenv("UPLOAD_DIR") or "/tmp/lunaserve-uploads"
local MAX = math.tointeger(tonumber(os.getenv("UPLOAD_MAX") or "")) or 50 * 1024 * 1024
local INDEX = DIR .. "/uploads.jsonl"

assert(os.execute("mkdir -p '" .. DIR:gsub("'", "'\\''") .. "'"), "cannot create " .. DIR)

local PAGE = [[<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Upload</title></head>
<body>
<h1>Upload files</h1>
<form method="post" action="/upload" enctype="multipart/form-data">
  <input type="file" name="file" multiple>
  <button type="submit">Upload</button>
</form>
<h2>Uploaded</h2>
<ul id="files"></ul>
<script>
fetch("/files").then(r => r.json()).then(files => {
  const ul = document.getElementById("files");
  for (const f of files) {
    const li = document.createElement("li");
    li.textContent = f.name + " (" + f.size + " bytes, sha256 " + f.sha256 + ")";
    ul.appendChild(li);
  }
});
</script>
</body>
</html>
]]

local function json(res, status, value)
    res.statusCode = status
    res:setHeader("Content-Type", "application/json")
    res:finish(cjson.encode(value))
end

-- A name safe to show and store: the last path component, printable ASCII only.
local function clean_name(name)
    name = (name or ""):match("([^/\\]*)$"):gsub("[^%w%._%- ]", "_")
    if name == "" or name:match("^%.+$") then
        name = "file"
    end
    return name:sub(1, 200)
end

local function random_name()
    return DIR .. "/.partial-" .. crypto.to_hex(crypto.random_bytes(8))
end

-- Streams one part to a temporary file, hashing it. Returns {name, size, sha256} and the
-- temporary path, or nil, an HTTP status and a reason (the partial file is gone).
local function store(part, budget)
    local tmp = random_name()
    local f = assert(io.open(tmp, "wb"))
    local h = crypto.hasher("sha256")
    local size = 0
    while true do
        local chunk, err = part:read()
        if not chunk then
            if err then
                f:close()
                os.remove(tmp)
                return nil, 400, err
            end
            break
        end
        size = size + #chunk
        if size > budget then
            f:close()
            os.remove(tmp)
            return nil, 413, "upload larger than " .. MAX .. " bytes"
        end
        h:update(chunk)
        f:write(chunk)
    end
    f:close()
    return { name = clean_name(part.filename), size = size, sha256 = crypto.to_hex(h:final()) }, tmp
end

local app = router.new()

app:get("/", function(req, res)
    res:setHeader("Content-Type", "text/html; charset=utf-8")
    res:finish(PAGE)
end)

app:post("/upload", function(req, res)
    -- This route's own body limit (MAX and the multipart framing around the files), set
    -- before the first wait; the server's max_body stays in force for the other routes. A
    -- Content-Length over it gets the server's 413 without a byte of the body read.
    local fits = req:setMaxBody(MAX + 64 * 1024)
    local length = tonumber(req.headers["content-length"] or "")
    if not fits or (length and length > MAX) then -- before reading any of it
        res.shouldKeepAlive = false
        return json(res, 413, { error = "upload larger than " .. MAX .. " bytes" })
    end
    local stored, temps = {}, {}
    local function fail(status, why)
        for _, t in ipairs(temps) do
            os.remove(t)
        end
        if status == 413 then
            res.shouldKeepAlive = false
        end
        return json(res, status, { error = why })
    end
    local used = 0
    for part, err in multipart.parts(req) do
        if not part then
            return fail(400, err)
        end
        if part.filename then
            local info, tmp_or_status, why = store(part, MAX - used)
            if not info then
                if why == "aborted" then -- the client went away: nobody to answer
                    return fail(400, why)
                end
                return fail(tmp_or_status, why)
            end
            used = used + info.size
            temps[#temps + 1] = tmp_or_status
            stored[#stored + 1] = info
        end
    end
    -- all complete: give each its final name and record it
    local index = assert(io.open(INDEX, "a"))
    for i, info in ipairs(stored) do
        local final = DIR .. "/" .. info.sha256:sub(1, 16) .. "-" .. info.name
        assert(os.rename(temps[i], final))
        index:write(cjson.encode(info), "\n")
    end
    index:close()
    json(res, 201, stored)
end)

app:get("/files", function(req, res)
    local list = {}
    local f = io.open(INDEX, "r")
    if f then
        for line in f:lines() do
            local ok, v = pcall(cjson.decode, line)
            if ok then
                list[#list + 1] = v
            end
        end
        f:close()
    end
    res:setHeader("Content-Type", "application/json")
    -- (an empty list must still be a JSON array)
    res:finish(#list == 0 and "[]" or cjson.encode(list))
end)

return app
