-- lunaserve.http: a request on a reused connection that the upstream closes before any byte
-- of the response is sent again once on a new connection, only when its method is
-- idempotent (and its body can be sent again).
local H = require("spec.support.http_client")

describe("http client retry on a reused connection", function()
    local client, faulty

    lazy_setup(function()
        client = H.start_client()
    end)

    lazy_teardown(function()
        H.stop_all(client)
    end)

    before_each(function()
        faulty = H.start_faulty()
    end)

    after_each(function()
        if faulty then faulty:stop() end
    end)

    -- The first request (GET) leaves a pooled connection; the second, with `second` (a Lua
    -- table constructor's fields), meets it closed by the upstream.
    local function two(path, second)
        return H.run(client, [[
            local url = "http://127.0.0.1:" .. arg.port .. "]] .. path .. [["
            local a = assert(http.request{url = url, timeout = 3000})
            local b, err = http.request{url = url, timeout = 3000, ]] .. second .. [[}
            return {first = view(a), second = view(b, err)}
        ]], { port = faulty.port })
    end

    it("sends a GET again on a new connection after a FIN", function()
        local r = two("/close-on-reuse", "")
        assert.are.equal("conn 1 req 1", r.first.body)
        assert.are.equal(200, r.second.status)
        assert.are.equal("conn 2 req 1", r.second.body)
        assert.are.equal(0, r.second.reused)
        assert.are.same({ "conn 1", "request 1 1 GET /close-on-reuse 0",
            "request 1 2 GET /close-on-reuse 0", "close 1",
            "conn 2", "request 2 1 GET /close-on-reuse 0" }, faulty:log())
    end)

    it("sends a GET again after a reset", function()
        local r = two("/reset-on-reuse", "")
        assert.are.equal(200, r.second.status)
        assert.are.equal("conn 2 req 1", r.second.body)
    end)

    it("sends PUT and DELETE again too", function()
        local put = two("/close-on-reuse", [[method = "PUT", body = "data"]])
        assert.are.equal("conn 2 req 1", put.second.body)
        faulty:stop()
        faulty = H.start_faulty()
        local del = two("/close-on-reuse", [[method = "DELETE"]])
        assert.are.equal("conn 2 req 1", del.second.body)
    end)

    it("does not send a POST again", function()
        local r = two("/close-on-reuse", [[method = "POST", body = "data"]])
        assert.are.equal("closed", r.second.err)
        local lines = faulty:wait_log(function(l) return l[#l] == "close 1" end)
        assert.are.same({ "conn 1", "request 1 1 GET /close-on-reuse 0",
            "request 1 2 POST /close-on-reuse 4", "close 1" }, lines)
    end)

    it("does not send a PUT again when its body came from a function", function()
        local r = two("/close-on-reuse", [[method = "PUT",
            body = coroutine.wrap(function() coroutine.yield("data") end)]])
        assert.are.equal("closed", r.second.err)
        assert.are.equal(1, faulty:count("conn "))
    end)

    it("does not retry on a new connection", function()
        local r = H.run(client, [[
            return view(http.request{url = "http://127.0.0.1:" .. arg.port .. "/reset",
                timeout = 3000})
        ]], { port = faulty.port })
        assert.are.equal("connection reset by peer", r.err)
        assert.are.equal(1, faulty:count("conn "))
    end)
end)
