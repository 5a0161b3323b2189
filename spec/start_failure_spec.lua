-- A start that fails after the server was made (the port taken, a bad --metrics-listen, the
-- metrics port taken) says why in one line and exits 1, having freed what it made: under
-- the sanitizer build a leak report would follow the line.

local S = require("spec.support.server")
local socket = require("socket")

describe("a start that fails", function()
    local taken, port

    lazy_setup(function()
        taken = assert(socket.bind("127.0.0.1", 0))
        port = select(2, taken:getsockname())
    end)

    lazy_teardown(function()
        taken:close()
    end)

    local function fails(args, line)
        local _, err, code = S.run(args, { timeout = 10 })
        assert.are.equal(1, code, err)
        assert.are.equal(line, err)
    end

    it("names the port that is taken", function()
        fails({ "--port", tostring(port) }, "lunaserve: cannot listen on 127.0.0.1:" .. port
            .. ": address already in use\n")
    end)

    it("names a --metrics-listen that is not ADDR:PORT", function()
        fails({ "--port", "0", "--metrics-listen", "nope" },
            "lunaserve: --metrics-listen nope: expected ADDR:PORT (127.0.0.1:9145, [::1]:9145) or off\n")
    end)

    it("names a metrics port that is taken, with the access log already open", function()
        local dir = S.mktempdir()
        fails({ "--port", "0", "--access-log", dir .. "/a.log", "--metrics-listen",
            "127.0.0.1:" .. port }, "lunaserve: --metrics-listen 127.0.0.1:" .. port
            .. ": address already in use\n")
    end)
end)
