-- The /metrics listener's connections close with the server: at SIGTERM an idle keep-alive
-- scrape connection gets a FIN and the server exits cleanly.

local S = require("spec.support.server")

describe("the metrics listener at SIGTERM", function()
    it("ends an idle scrape connection with a FIN, and the server exits cleanly", function()
        local mport = S.free_port()
        local srv = S.start({ args = { "--metrics-listen", "127.0.0.1:" .. mport } })
        local c = assert(S.connect(mport, 5))
        assert(c:send(S.get("/metrics")))
        local res = assert(c:read_response({ timeout = 5 }))
        assert.are.equal(200, res.status)
        assert.is_false(res:has_token("Connection", "close"), res.raw_head)
        srv:signal("TERM")
        local kind, rest = c:wait_close(5)
        assert.are.equal("fin", kind)
        assert.are.equal("", rest)
        c:close()
        srv:assert_clean_exit(5)
    end)
end)
