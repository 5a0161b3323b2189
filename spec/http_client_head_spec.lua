-- lunaserve.http: the response to HEAD has no body whatever its fields say, and the
-- connection stays usable after it.
local H = require("spec.support.http_client")

describe("http client HEAD", function()
    local client, upstream, faulty

    lazy_setup(function()
        upstream, faulty, client = H.start_all("upstream", "faulty")
    end)

    lazy_teardown(function()
        H.stop_all(client, upstream, faulty)
    end)

    it("reads the head only, and the next request reuses the connection", function()
        local r = H.run(client, [[
            local base = "http://127.0.0.1:" .. arg.port
            local head = assert(http.request{url = base .. "/bytes/5000", method = "HEAD",
                pool = "head-spec", timeout = 2000})
            local get = assert(http.request{url = base .. "/bytes/10", pool = "head-spec",
                timeout = 2000})
            return {head = view(head), get = view(get)}
        ]], { port = upstream.port })
        assert.are.equal(200, r.head.status)
        assert.are.equal("5000", r.head.headers["content-length"])
        assert.are.equal("", r.head.body)
        assert.are.equal(0, r.head.reused)
        assert.are.equal(200, r.get.status)
        assert.are.equal("xxxxxxxxxx", r.get.body)
        assert.are.equal(1, r.get.reused)
    end)

    it("does not wait for a chunked body either", function()
        local r = H.run(client, [[
            local url = "http://127.0.0.1:" .. arg.port .. "/head-chunked"
            local a = view(http.request{url = url, method = "HEAD", timeout = 2000})
            local b = view(http.request{url = url, method = "HEAD", timeout = 2000})
            return {a = a, b = b}
        ]], { port = faulty.port })
        assert.are.equal(200, r.a.status)
        assert.are.equal("chunked", r.a.headers["transfer-encoding"])
        assert.are.equal("", r.a.body)
        assert.are.equal(1, r.b.reused)
        assert.are.same({ "conn 1", "request 1 1 HEAD /head-chunked 0",
            "request 1 2 HEAD /head-chunked 0" }, faulty:log())
    end)
end)
