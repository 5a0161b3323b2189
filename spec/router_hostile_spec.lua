-- lunaserve.router and hostile paths: bad percent escapes, %00 and dot segments (plain,
-- escaped, or brought in by %2F) get 400; very long paths and paths of thousands of segments
-- are answered like any other, and the server keeps serving.

local S = require("spec.support.server")
local cjson = require("cjson")

describe("router hostile paths", function()
    local srv

    lazy_setup(function()
        -- room for targets past the default 8 KiB, so that the router sees them
        srv = S.start({ app = S.app("router_basic.lua"),
            args = { "--max-url", "64k", "--max-header", "64k" } })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    local function bad(target)
        local res = assert(srv:fetch(S.get(target)))
        assert.are.equal(400, res.status, target)
        assert.are.equal("bad request\n", res.body, target)
    end

    it("answers 400 for a bad percent escape", function()
        for _, t in ipairs({ "/items/%", "/items/%4", "/items/%zz", "/items/%4g", "/items/a%" }) do
            bad(t)
        end
    end)

    it("answers 400 for an escaped NUL", function()
        bad("/items/a%00b")
        bad("/files/x/%00")
    end)

    it("answers 400 for dot segments, plain or escaped", function()
        for _, t in ipairs({ "/files/../x", "/files/./x", "/files/x/..", "/files/%2e%2e/x",
            "/files/%2E%2e/x", "/files/.%2e/x", "/items/%2e", "/..", "/files/a/../../b" }) do
            bad(t)
        end
    end)

    it("answers 400 for a dot segment brought in by %2F", function()
        bad("/items/..%2F..")
        bad("/files/a%2F..%2Fb")
        bad("/files/a%2F.")
    end)

    it("keeps dots that are not dot segments", function()
        local res = assert(srv:fetch(S.get("/files/.hidden/a..b/...")))
        assert.are.equal(200, res.status)
        assert.are.same({ route = "files", params = { path = ".hidden/a..b/..." } },
            cjson.decode(res.body))
    end)

    it("matches a very long segment", function()
        local id = string.rep("x", 12000)
        local res = assert(srv:fetch(S.get("/items/" .. id)))
        assert.are.equal(200, res.status)
        assert.are.equal(id, cjson.decode(res.body).params.id)
    end)

    it("gives a wildcard thousands of segments", function()
        local rest = string.rep("s/", 5000) .. "end"
        local res = assert(srv:fetch(S.get("/files/" .. rest)))
        assert.are.equal(200, res.status)
        assert.are.equal(rest, cjson.decode(res.body).params.path)
    end)

    it("answers 404 for thousands of segments no route takes, and keeps serving", function()
        local res = assert(srv:fetch(S.get(string.rep("/a", 6000))))
        assert.are.equal(404, res.status)
        assert.are.equal("not found\n", res.body)
        res = assert(srv:fetch(S.get(string.rep("/%41", 3000))))
        assert.are.equal(404, res.status)
        res = assert(srv:fetch(S.get("/items/1")))
        assert.are.equal(200, res.status)
    end)
end)
