-- lunaserve.file over a real socket: files open beneath a root (openat2 RESOLVE_BENEATH, or
-- the O_NOFOLLOW walk), `..` and symlinks that leave the root are refused, res:sendFile sends
-- a range from the kernel, a directory lists its entries.
local S = require("spec.support.server")

describe("lunaserve.file", function()
    local srv, dir, outside

    local function sh(cmd)
        assert(os.execute(cmd), cmd)
    end

    lazy_setup(function()
        dir = S.mktempdir()
        outside = S.mktempdir()
        S.write_file(outside .. "/secret.txt", "secret\n")
        local root = dir .. "/root"
        sh("mkdir -p " .. root .. "/sub/deep")
        S.write_file(root .. "/hello.txt", "hello, world\n")
        S.write_file(root .. "/sub/deep/a.txt", "0123456789")
        local big = {}
        for i = 0, 99999 do
            big[#big + 1] = string.format("%07d\n", i)
        end
        S.write_file(root .. "/big.bin", table.concat(big)) -- 800000 bytes
        sh("ln -s " .. outside .. "/secret.txt " .. root .. "/abs_out")
        sh("ln -s ../../" .. outside:match("[^/]+$") .. "/secret.txt " .. root .. "/rel_out")
        sh("ln -s hello.txt " .. root .. "/rel_in")
        sh("ln -s " .. outside .. " " .. root .. "/dir_out")
        sh("mkfifo " .. root .. "/fifo")
        sh("touch -d @1700000000 " .. root .. "/hello.txt")
        srv = S.start({ app = S.app("static_file.lua"), env = { FILE_ROOT = root } })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
        os.execute("rm -rf " .. S.shquote(dir) .. " " .. S.shquote(outside))
    end)

    local function get(target)
        local r, err = srv:fetch(S.get(target))
        assert(r, err)
        assert.are.equal(200, r.status, r.body)
        return r.body
    end

    it("opens a file beneath the root with its size, mtime and type", function()
        assert.are.equal("file 13 1700000000\n", get("/open?hello.txt"))
        assert.are.equal("file 13 1700000000\n", get("/open?/hello.txt"))
        assert.are.equal("file 10", get("/open?sub/deep/a.txt"):match("^%S+ %d+"))
        assert.are.equal("dir", get("/open?sub"):match("^%S+"))
        assert.are.equal("dir", get("/open?"):match("^%S+"))
        assert.are.equal("other 0", get("/open?fifo"):match("^%S+ %d+"))
        assert.are.equal("nil notfound\n", get("/open?nope.txt"))
        assert.are.equal("nil notfound\n", get("/open?hello.txt/x"))
    end)

    it("refuses .. that leaves the root, symlinks out of it, and NUL", function()
        assert.are.equal("nil outside\n", get("/open?..%2f" .. outside:match("[^/]+$") .. "%2fsecret.txt"))
        assert.are.equal("nil outside\n", get("/open?sub%2f..%2f..%2fx"))
        assert.are.equal("nil outside\n", get("/open?abs_out"))
        assert.are.equal("nil outside\n", get("/open?rel_out"))
        assert.are.equal("nil outside\n", get("/open?dir_out%2fsecret.txt"))
        assert.are.equal("nil notfound\n", get("/open?hello.txt%00.png"))
        -- inside the root, .. and a symlink are fine
        assert.are.equal("file 13 1700000000\n", get("/open?sub%2f..%2fhello.txt"))
        assert.are.equal("file 13 1700000000\n", get("/open?rel_in"))
    end)

    it("the component walk refuses every .. and symlink", function()
        assert.are.equal("file 13 1700000000\n", get("/walk?hello.txt"))
        assert.are.equal("file 10", get("/walk?sub%2f%2fdeep%2f.%2fa.txt"):match("^%S+ %d+"))
        assert.are.equal("nil outside\n", get("/walk?sub%2f..%2fhello.txt"))
        assert.are.equal("nil outside\n", get("/walk?rel_in"))
        assert.are.equal("nil outside\n", get("/walk?abs_out"))
        assert.are.equal("nil notfound\n", get("/walk?dir_out%2fsecret.txt"))
        assert.are.equal("nil notfound\n", get("/walk?nope"))
    end)

    it("res:sendFile sends the whole file or a range", function()
        local c = srv:connect()
        assert(c:send(S.get("/send?hello.txt") .. S.get("/send?big.bin")
            .. S.get("/send?big.bin&799992&") .. S.get("/send?big.bin&8&16")
            .. S.get("/send?hello.txt&13&")))
        local list, err = c:read_responses(5, { timeout = 10 })
        c:close()
        assert(list, err)
        assert.are.equal("HTTP/1.1 200 OK", list[1].status_line)
        assert.are.equal("13", list[1].headers["content-length"])
        assert.is_nil(list[1].headers["transfer-encoding"])
        assert.are.equal("hello, world\n", list[1].body)
        assert.are.equal(800000, #list[2].body)
        assert.are.equal("0000000\n0000001\n", list[2].body:sub(1, 16))
        assert.are.equal("0099999\n", list[2].body:sub(-8))
        assert.are.equal("0099999\n", list[3].body)
        assert.are.equal("0000001\n0000002\n", list[4].body)
        assert.are.equal("", list[5].body)
        assert.are.equal("0", list[5].headers["content-length"])
    end)

    it("res:sendFile on a HEAD request sends no body", function()
        local c = srv:connect()
        assert(c:send(S.request("HEAD", "/send?big.bin") .. S.get("/send?hello.txt")))
        local r1 = assert(c:read_response({ head = true }))
        local r2 = assert(c:read_response())
        c:close()
        assert.are.same({ "800000", "" }, { r1.headers["content-length"], r1.body })
        assert.are.equal("hello, world\n", r2.body)
    end)

    it("res:sendFile refuses a range past the end", function()
        assert.are.equal("false bad argument #3 to '?' (offset outside the file)\n",
            get("/bad?hello.txt"))
    end)

    it("closes every descriptor it opened: sent, dropped by HEAD, or cut by a reset", function()
        local function fds()
            local p = io.popen("ls /proc/" .. srv.pid .. "/fd | wc -l")
            local n = tonumber(p:read("a"))
            p:close()
            return n
        end
        get("/open?hello.txt") -- the first request's one-time descriptors
        S.sleep(0.3) -- (the server sees the client's FIN and closes that connection)
        local before = fds()
        for _ = 1, 5 do
            get("/send?big.bin")
            local r = assert(srv:fetch(S.request("HEAD", "/send?big.bin"), { head = true }))
            assert.are.equal(200, r.status)
        end
        -- a client that stops reading, then resets: the queued file segment is dropped
        local c = S.connect_with(srv.port, { rcvbuf = 4096 })
        assert(c:send(S.get("/send?big.bin")))
        S.sleep(0.2)
        c:reset()
        local n = S.wait_for(function()
            local now = fds()
            return now == before and now
        end, 5)
        assert.are.equal(before, n or fds())
    end)

    it("lists a directory's entries, directories marked", function()
        assert.are.equal("a.txt\n", get("/list?sub/deep"))
        assert.are.equal("abs_out\nbig.bin\ndir_out/\nfifo\nhello.txt\nrel_in\nrel_out\nsub/\n",
            get("/list?"))
    end)
end)
