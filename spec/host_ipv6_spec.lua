-- Issue 12, "--host": an IPv6 address, bare or in brackets as in a URL, is listened on, and
-- the listening line prints it in brackets, a URL that works as printed.

local H = require("spec.support.host_server")

describe("--host with an IPv6 address", function()
    for _, case in ipairs({
        { host = "::1", shown = "[::1]", connect = "::1" },
        { host = "[::1]", shown = "[::1]", connect = "::1" },
        { host = "[::]", shown = "[::]", connect = "::1" },
        { host = "::", shown = "[::]", connect = "::1" },
    }) do
        it("listens on " .. case.host .. " and prints http://" .. case.shown .. ":PORT/",
            function()
                local srv = H.start(case.host)
                finally(function() srv:stop_ok() end)
                assert.are.equal("lunaserve listening on http://" .. case.shown .. ":"
                    .. srv.port .. "/", srv.line)
                local res = srv:get(case.connect)
                assert.is_truthy(res:match("^HTTP/1%.1 200 OK\r\n"), res)
                assert.is_truthy(res:match("\r\n\r\nHello, World!\n?$"), res)
            end)
    end
end)
