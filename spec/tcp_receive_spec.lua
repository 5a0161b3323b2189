-- lunaserve.tcp(): sock:receive(pattern) and sock:receiveany(max) (issue 10), as OpenResty's:
-- a number reads exactly that many bytes (a string that looks like a number too), '*l' (the
-- default, also 'l') one line without its LF and with every CR ignored, '*a' everything until
-- the peer closes ("" once at the end); receiveany(max) whatever has come, at most max bytes.
-- On an error: nil, the error and the partial data. A read timeout leaves the socket usable
-- (the partial data is handed over, what comes later is read next); the peer's end or a reset
-- closes it ("closed" afterwards).

local C = require("spec.support.cosocket")

describe("sock:receive and sock:receiveany", function()
    local env

    lazy_setup(function()
        env = C.start()
    end)

    lazy_teardown(function()
        if env then
            env:stop()
        end
    end)

    it("receive(n) returns exactly n bytes, then nil, 'closed' and the partial data", function()
        env:expect_run("SENDCLOSE hello world", { "5", "1", "5", "3", "1" }, {
            '5: "hello", nil, nil',
            '1: " ", nil, nil',
            '5: "world", nil, nil',
            '3: nil, "closed", ""',
            '1: nil, "closed", nil',
        })
    end)

    it("receive(n) that the peer's end cuts short returns what came as partial", function()
        env:expect_run("SENDCLOSE abc", { "5" }, { '5: nil, "closed", "abc"' })
    end)

    it("receive('n') with a string that looks like a number reads n bytes", function()
        env:expect_run("SENDCLOSE hello", { "str=3", "str=2" }, {
            'str=3: "hel", nil, nil',
            'str=2: "lo", nil, nil',
        })
    end)

    it("receive(0) returns an empty string at once", function()
        env:expect_run("SILENT", { "0" }, { '0: "", nil, nil' })
    end)

    it("'*l' returns a line without its LF, ignoring every CR", function()
        env:expect_run("SENDCLOSE a\\r\\nb\\rc\\r\\n\\r\\nlast", { "*l", "*l", "*l", "*l", "*l" }, {
            '*l: "a", nil, nil',
            '*l: "bc", nil, nil',
            '*l: "", nil, nil',
            '*l: nil, "closed", "last"',
            '*l: nil, "closed", nil',
        })
    end)

    it("reads a line by default, and with 'l'", function()
        env:expect_run("SENDCLOSE one\\ntwo\\n", { "default", "l", "default" }, {
            'default: "one", nil, nil',
            'l: "two", nil, nil',
            'default: nil, "closed", ""',
        })
    end)

    it("'*a' reads until the peer closes, then returns '' at the end", function()
        env:expect_run("SENDCLOSE all of it\\nand more", { "*a", "*a", "a", "1" }, {
            '*a: "all of it\\nand more", nil, nil',
            '*a: "", nil, nil',
            'a: "", nil, nil',
            '1: nil, "closed", ""',
        })
    end)

    it("'*a' on a peer that goes quiet returns nil, 'timeout' and the partial data", function()
        env:expect_run("STALL 5", { "timeout=200", "*a" }, { '*a: nil, "timeout", "abcde"' })
    end)

    it("receiveany(max) returns what has come, at most max bytes", function()
        env:expect_run("SENDCLOSE abcdefgh", { "sleep=100", "any=3", "any=100", "any=1" }, {
            'any=3: "abc", nil',
            'any=100: "defgh", nil',
            'any=1: nil, "closed"',
        })
    end)

    it("receiveany returns nil, 'timeout' on a silent peer, and the socket stays usable",
        function()
            env:expect_run("AFTER 400 late",
                { "timeout=150", "any=10", "timeout=3000", "any=10" }, {
                'any=10: nil, "timeout"',
                'any=10: "late", nil',
            })
        end)

    it("a read timeout hands over the partial data and leaves the socket usable", function()
        env:expect_run("STALL 10", { "timeout=200", "100", "100", "send=more", "any=5" }, {
            '100: nil, "timeout", "abcdefghij"',
            '100: nil, "timeout", ""',
            "send=more: 4, nil",
            'any=5: nil, "timeout"',
        })
    end)

    it("after a read timeout, what comes later is read by the next receive", function()
        env:expect_run("ECHOALL",
            { "send=ab", "timeout=150", "*l", "timeout=3000", "send=cd\\n", "*l" }, {
            "send=ab: 2, nil",
            '*l: nil, "timeout", "ab"',
            "send=cd\\n: 3, nil",
            '*l: "cd", nil, nil',
        })
    end)

    it("a line that comes in pieces is read whole", function()
        env:expect_run("DRIP 10 pie\\r\\nces\\n", { "*l", "*l" }, {
            '*l: "pie", nil, nil',
            '*l: "ces", nil, nil',
        })
    end)

    it("a reset returns nil, 'connection reset by peer' with the partial data, then 'closed'",
        function()
            env:expect_run("SENDRESET abc", { "10", "send=x", "1" }, {
                '10: nil, "connection reset by peer", "abc"',
                'send=x: nil, "closed"',
                '1: nil, "closed", nil',
            })
        end)

    it("the peer's end closes the socket: sends say 'closed' after it", function()
        env:expect_run("SENDCLOSE ab", { "3", "send=x", "any=1" }, {
            '3: nil, "closed", "ab"',
            'send=x: nil, "closed"',
            'any=1: nil, "closed"',
        })
    end)
end)
