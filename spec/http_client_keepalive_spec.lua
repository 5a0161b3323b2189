-- lunaserve.http: a connection goes back to the cosocket's pool only after a response read
-- to its end that allows keep-alive; otherwise it is closed.
local H = require("spec.support.http_client")

describe("http client keep-alive", function()
    local client, upstream, faulty

    lazy_setup(function()
        upstream, client = H.start_all("upstream")
    end)

    lazy_teardown(function()
        H.stop_all(client, upstream)
    end)

    before_each(function()
        faulty = H.start_faulty()
    end)

    after_each(function()
        if faulty then faulty:stop() end
    end)

    -- Runs the requests `paths` (in one handler, one after the other) against the faulty
    -- upstream; returns their bodies (or errors).
    local function requests(paths, extra)
        local list = {}
        for i, p in ipairs(paths) do
            list[i] = string.format("%q", p)
        end
        return H.run(client, [[
            local out = {}
            for i, path in ipairs({]] .. table.concat(list, ",") .. [[}) do
                local res, err = http.request{url = "http://127.0.0.1:" .. arg.port .. path,
                    timeout = 3000]] .. (extra or "") .. [[}
                out[i] = res and (res.body .. " reused " .. res.reused) or ("error " .. err)
            end
            return out
        ]], { port = faulty.port })
    end

    it("reuses one connection for requests in one handler", function()
        local r = requests({ "/ok", "/ok", "/ok" })
        assert.are.same({ "conn 1 req 1 reused 0", "conn 1 req 2 reused 1",
            "conn 1 req 3 reused 2" }, r)
        assert.are.equal(1, faulty:count("conn "))
    end)

    it("reuses the pooled connection in the next handler", function()
        assert.are.same({ "conn 1 req 1 reused 0" }, requests({ "/ok" }))
        assert.are.same({ "conn 1 req 2 reused 1" }, requests({ "/ok" }))
        assert.are.equal(1, faulty:count("conn "))
    end)

    it("does the same against lunaserve", function()
        local r = H.run(client, [[
            local out = {}
            for i = 1, 3 do
                local res = assert(http.request{url = "http://127.0.0.1:" .. arg.port
                    .. "/echo", pool = "ka-lunaserve"})
                out[i] = res.reused
            end
            return out
        ]], { port = upstream.port })
        assert.are.same({ 0, 1, 2 }, r)
    end)

    it("closes after a response that says Connection: close", function()
        local r = H.run(client, [[
            local base = "http://127.0.0.1:" .. arg.port
            local a = assert(http.request{url = base .. "/close", pool = "ka-close"})
            local b = assert(http.request{url = base .. "/echo", pool = "ka-close"})
            return {a.body, a.headers.connection, b.reused}
        ]], { port = upstream.port })
        assert.are.same({ "bye", "close", 0 }, r)
    end)

    it("closes when asked with keepalive = false (and says Connection: close)", function()
        local r = requests({ "/echo-raw", "/ok" }, ", keepalive = false")
        assert.is_truthy(r[1]:find("\r\nConnection: close\r\n", 1, true), r[1])
        assert.are.equal("conn 2 req 1 reused 0", r[2])
    end)

    it("closes after a response with bytes after its end", function()
        assert.are.same({ "ok reused 0", "conn 2 req 1 reused 0" },
            requests({ "/extra", "/ok" }))
    end)

    it("closes after a body that ended with the connection", function()
        assert.are.same({ "body until close reused 0", "conn 2 req 1 reused 0" },
            requests({ "/until-close", "/ok" }))
    end)

    it("drops a pooled connection the upstream closed, and connects anew", function()
        local r = requests({ "/ok-then-close" })
        assert.are.same({ "conn 1 req 1 reused 0" }, r)
        faulty:wait_log(function(lines) return lines[#lines] == "close 1" end)
        assert.are.same({ "conn 2 req 1 reused 0" }, requests({ "/ok" }))
    end)

    it("closes a streamed response left unread", function()
        local r = H.run(client, [[
            local base = "http://127.0.0.1:" .. arg.port
            local a = assert(http.request{url = base .. "/bytes/1000000", stream = true,
                pool = "ka-unread"})
            local first = a:read()
            a:close()
            local after = {a:read()}
            local b = assert(http.request{url = base .. "/echo", pool = "ka-unread"})
            return {#first > 0, after[1] == nil, after[2], b.reused}
        ]], { port = upstream.port })
        assert.are.same({ true, true, "closed", 0 }, r)
    end)
end)
