-- lunaserve.sse: the head at once, events framed to the byte, fields that would break the
-- framing refused.
local S = require("spec.support.server")

local E = require("spec.support.sse")

describe("lunaserve.sse events", function()
    local sse, srv, get, state, open, chunk

    lazy_setup(function()
        sse = E.start()
        srv, get, state, open, chunk = sse.srv, sse.get, sse.state, sse.open, sse.chunk
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    it("sends the head at once, then events framed to the byte", function()
        local c = open("a")
        assert.are.equal("true,nil", get("/send?name=a&set=full"))
        assert.are.equal("event: update\nid: 7\nretry: 2500\ndata: one\ndata: two\ndata: three\n"
            .. "data: four\n\n", chunk(c))
        assert.are.equal("true,nil", get("/send?name=a&set=plain"))
        assert.are.equal("data: hello\n\n", chunk(c))
        get("/send?name=a&set=trailing")
        assert.are.equal("data: a\ndata: \n\n", chunk(c))
        get("/send?name=a&set=empty")
        assert.are.equal("data: \n\n", chunk(c))
        get("/send?name=a&set=id")
        assert.are.equal("id: \n\n", chunk(c))
        get("/send?name=a&set=number")
        assert.are.equal("event: n\ndata: 42\n\n", chunk(c))
        assert.are.equal("true,nil", get("/comment?name=a"))
        assert.are.equal(": note\n: second\n\n", chunk(c))
        c:close()
    end)

    it("raises on fields that would break the framing", function()
        local c = open("b")
        local expect = {
            event = "sse: event must be one line",
            id = "sse: id must be one line without NUL",
            nul = "sse: id must be one line without NUL",
            retry = "sse: retry must be a whole number of milliseconds >= 0",
            data = "sse: data must be a string",
            nothing = "sse: send needs at least one of event, data, id, retry",
        }
        for case, msg in pairs(expect) do
            assert.are.equal(msg, get("/bad?name=b&case=" .. case), case)
        end
        assert.is_nil(c:read_until("\r\n", 0.1), "a bad send wrote something")
        c:close()
    end)
end)
