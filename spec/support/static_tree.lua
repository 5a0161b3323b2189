-- The directory tree the spec/static_*_spec.lua files serve, and lunaserve on it
-- (spec/apps/static.lua). T.start() -> srv, root; T.stop(srv) stops it and removes the tree.
local S = require("spec.support.server")

local T = {}

T.MTIME = 1700000000 -- Tue, 14 Nov 2023 22:13:20 GMT
T.LASTMOD = "Tue, 14 Nov 2023 22:13:20 GMT"
T.DATA = string.rep("0123456789", 100) -- data.bin: 1000 bytes

local function sh(cmd)
    assert(os.execute(cmd), cmd)
end

function T.start()
    local dir = S.mktempdir()
    local root, outside = dir .. "/root", dir .. "/outside"
    sh("mkdir -p " .. root .. "/docs/sub " .. root .. "/site " .. outside)
    S.write_file(outside .. "/secret.txt", "secret\n")
    S.write_file(root .. "/hello.txt", "hello, world\n")
    S.write_file(root .. "/data.bin", T.DATA)
    S.write_file(root .. "/index.html", "<h1>home</h1>\n")
    local big = {}
    for i = 0, 3 * 131072 - 1 do
        big[#big + 1] = string.format("%07x\n", i)
    end
    T.BIG = table.concat(big) -- big.bin: 3 MiB, line i is i in hex
    S.write_file(root .. "/big.bin", T.BIG)
    S.write_file(root .. "/empty.txt", "")
    S.write_file(root .. "/site/index.html", "site\n")
    S.write_file(root .. "/docs/a&b<c>.txt", "x")
    S.write_file(root .. "/docs/x y.txt", "x")
    S.write_file(root .. "/app.js", string.rep("console.log('hello');\n", 20))
    sh("gzip -kn9 " .. root .. "/app.js")
    sh("ln -s " .. outside .. "/secret.txt " .. root .. "/out.txt")
    sh("ln -s ../outside " .. root .. "/outdir")
    sh("ln -s hello.txt " .. root .. "/in.txt")
    sh("mkfifo " .. root .. "/fifo")
    sh("cd " .. root .. " && touch -h -d @" .. T.MTIME .. " hello.txt data.bin index.html empty.txt "
        .. "site/index.html app.js app.js.gz")
    T.GZ = S.read_file(root .. "/app.js.gz")
    T.JS = S.read_file(root .. "/app.js")
    local srv = S.start({ app = S.app("static.lua"), env = { STATIC_ROOT = root } })
    srv.tree = dir
    return srv, root
end

function T.stop(srv)
    if srv then
        srv:stop_ok()
        os.execute("rm -rf " .. S.shquote(srv.tree))
    end
end

-- The response's head without its status line and Date, one "Name: value" a line: for exact
-- comparisons.
function T.fields(r)
    local out = {}
    for _, h in ipairs(r.header_list) do
        if h[1]:lower() ~= "date" then
            out[#out + 1] = h[1] .. ": " .. h[2]
        end
    end
    return table.concat(out, "\n")
end

-- One request; the response (asserted to come).
function T.fetch(srv, method, target, headers)
    local r, err = srv:fetch(S.request(method, target, headers), { head = method == "HEAD" })
    assert(r, err)
    return r
end

return T
