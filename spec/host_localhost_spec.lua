-- Issue 12, "--host": localhost is taken (it used to fail with "invalid argument") and means
-- the IPv4 loopback; the listening line names the address.

local H = require("spec.support.host_server")

describe("--host localhost", function()
    it("listens on 127.0.0.1", function()
        local srv = H.start("localhost")
        finally(function() srv:stop_ok() end)
        assert.are.equal("lunaserve listening on http://127.0.0.1:" .. srv.port .. "/", srv.line)
        local res = srv:get("127.0.0.1")
        assert.is_truthy(res:match("^HTTP/1%.1 200 OK\r\n"), res)
    end)
end)
