-- lunaserve.tcp(): sock:receiveuntil(pattern[, {inclusive = true}]) (issue 10), as OpenResty's
-- tcpsock:receiveuntil: the iterator returns the data before the pattern (with it when
-- inclusive), also when the pattern is ambiguous or comes in pieces; called with a size it
-- streams the data in pieces of at most that size, then returns nil, nil, nil once the pattern
-- is reached, and starts again after that (README.markdown's own example); each iterator keeps
-- its own state, and iterators mix with other reads.

local C = require("spec.support.cosocket")

describe("sock:receiveuntil", function()
    local env

    lazy_setup(function()
        env = C.start()
    end)

    lazy_teardown(function()
        if env then
            env:stop()
        end
    end)

    it("returns the data before the pattern, then nil, 'closed' and the rest at the end",
        function()
            env:expect_run("SENDCLOSE abc--def--ghi", { "until=--", "until=--", "until=--" }, {
                'until=--: "abc", nil, nil',
                'until=--: "def", nil, nil',
                'until=--: nil, "closed", "ghi"',
            })
        end)

    it("with inclusive = true returns the pattern too", function()
        env:expect_run("SENDCLOSE abc--def--", { "incl=--", "incl=--", "incl=--" }, {
            'incl=--: "abc--", nil, nil',
            'incl=--: "def--", nil, nil',
            'incl=--: nil, "closed", ""',
        })
    end)

    it("finds an ambiguous pattern (abcabd in abcabcabd)", function()
        env:expect_run("SENDCLOSE abcabcabdabcabd\\n",
            { "incl=abcabd", "incl=abcabd", "incl=abcabd" }, {
            'incl=abcabd: "abcabcabd", nil, nil',
            'incl=abcabd: "abcabd", nil, nil',
            'incl=abcabd: nil, "closed", "\\n"',
        })
        env:expect_run("SENDCLOSE abcabcaad", { "until=aa", "until=aa" }, {
            'until=aa: "abcabc", nil, nil',
            'until=aa: nil, "closed", "d"',
        })
    end)

    it("finds a pattern whose bytes come one at a time", function()
        env:expect_run("DRIP 5 abc--def--", { "until=--", "until=--" }, {
            'until=--: "abc", nil, nil',
            'until=--: "def", nil, nil',
        })
    end)

    it("called with a size streams pieces, then nil, nil, nil (OpenResty's example)", function()
        env:expect_run("SENDCLOSE hello, world! -agentzh\\r\\n--abcedhb blah blah",
            { "chunks=\\r\\n--abcedhb/4", "until=\\r\\n--abcedhb/4" }, {
                'chunks=\\r\\n--abcedhb/4: "hell" + "o, w" + "orld" + "! -a" + "gent" + "zh" '
                    .. "then nil, nil, nil",
                -- the iterator starts again after the end
                'until=\\r\\n--abcedhb/4: nil, "closed", " blah blah"',
            })
    end)

    it("with a size and inclusive = true streams the data and the pattern, then the end",
        function()
            local cmd = "SENDCLOSE hello, world ----abc\\n"
            local body = env:run(cmd, { "chunksincl=--abc/4", "1", "1" })
            local chunks = body:match("chunksincl=%-%-abc/4: (.-) then nil, nil, nil\n")
            assert.is_truthy(chunks, body)
            local joined = chunks:gsub('" %+ "', "")
            assert.are.equal('"hello, world ----abc"', joined)
            assert.are.equal(C.script(cmd, {
                "chunksincl=--abc/4: " .. chunks .. " then nil, nil, nil",
                '1: "\\n", nil, nil',
                '1: nil, "closed", ""',
            }), body)
        end)

    it("mixes with other reads (OpenResty's inclusive receiveuntil test 10)", function()
        env:expect_run("SENDCLOSE hello, world ----abc\\n", { "incl=--abc/4", "1",
            "incl=--abc/4", "1", "incl=--abc/4", "1", "incl=--abc/4", "1", "incl=--abc/4", "1" }, {
            'incl=--abc/4: "hell", nil, nil',
            '1: "o", nil, nil',
            'incl=--abc/4: ", wo", nil, nil',
            '1: "r", nil, nil',
            'incl=--abc/4: "ld -", nil, nil',
            '1: "-", nil, nil',
            'incl=--abc/4: "--abc", nil, nil',
            '1: "\\n", nil, nil',
            "incl=--abc/4: nil, nil, nil",
            '1: nil, "closed", ""',
        })
    end)

    it("keeps each iterator's state apart, also for the same pattern", function()
        -- the first iterator returned its pattern: its own next call returns the end, but a
        -- new iterator with the same pattern reads on
        env:expect_run("SENDCLOSE ab--cd--", { "incl=--/10", "incl=--/10", "fresh", "incl=--/10",
            "incl=--/10", "incl=--/10" }, {
            'incl=--/10: "ab", nil, nil',
            'incl=--/10: "--", nil, nil',
            'incl=--/10: "cd", nil, nil',
            'incl=--/10: "--", nil, nil',
            "incl=--/10: nil, nil, nil",
        })
    end)

    it("returns nil, 'timeout' and the partial data, and the socket stays usable", function()
        env:expect_run("ECHOALL", { "send=abc-", "timeout=150", "until=--", "timeout=3000",
            "send=-def--", "until=--" }, {
            "send=abc-: 4, nil",
            'until=--: nil, "timeout", "abc-"',
            "send=-def--: 6, nil",
            'until=--: "-def", nil, nil',
        })
    end)
end)
