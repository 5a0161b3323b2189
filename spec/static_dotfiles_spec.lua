-- lunaserve.static: a path with a segment that starts with "." (a dotfile such as .env, or
-- anything under a dot folder such as .git/) is 404 by default, encoded or not, and left out
-- of listings; {dotfiles = true} serves and lists them. `..` stays 404 either way.
local S = require("spec.support.server")

describe("lunaserve.static dotfiles", function()
    local srv, dir

    lazy_setup(function()
        dir = S.mktempdir()
        local root = dir .. "/root"
        assert(os.execute("mkdir -p " .. root .. "/.git " .. root .. "/pub/.well-known " .. dir .. "/outside"))
        S.write_file(root .. "/.env", "SECRET=1\n")
        S.write_file(root .. "/.git/config", "[core]\n")
        S.write_file(root .. "/pub/.well-known/x.txt", "known\n")
        S.write_file(root .. "/pub/a.txt", "a\n")
        S.write_file(root .. "/pub/.hidden", "h\n")
        S.write_file(root .. "/pub/b.c.txt", "b\n")
        S.write_file(dir .. "/outside/secret.txt", "secret\n")
        srv = S.start({ app = S.app("static_dotfiles.lua"), env = { STATIC_ROOT = root } })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
        if dir then
            os.execute("rm -rf " .. S.shquote(dir))
        end
    end)

    local function get(target)
        local r, err = srv:fetch(S.get(target))
        assert(r, err)
        return r
    end

    it("answers 404 for dotfiles and what is under dot folders by default", function()
        for _, t in ipairs({ "/.env", "/%2eenv", "/%2Eenv", "/.git/config", "/.git/", "/.git",
            "/pub/.hidden", "/pub/.well-known/x.txt", "/pub/%2ewell-known/x.txt", "/./pub/a.txt",
            "/pub/./a.txt" }) do
            local r = get(t)
            assert.are.same({ 404, "not found\n" }, { r.status, r.body }, t)
        end
    end)

    it("still serves names with a dot that is not their first character", function()
        assert.are.same({ 200, "a\n" }, { get("/pub/a.txt").status, get("/pub/a.txt").body })
        assert.are.same({ 200, "b\n" }, { get("/pub/b.c.txt").status, get("/pub/b.c.txt").body })
    end)

    it("leaves dotfiles out of a listing by default", function()
        local r = get("/pub/")
        assert.are.equal(200, r.status)
        assert.are.equal('<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>Index of /pub/'
            .. '</title></head>\n<body><h1>Index of /pub/</h1>\n<ul>\n'
            .. '<li><a href="../">../</a></li>\n'
            .. '<li><a href="a.txt">a.txt</a></li>\n'
            .. '<li><a href="b.c.txt">b.c.txt</a></li>\n'
            .. "</ul></body></html>\n", r.body)
    end)

    it("serves and lists them with dotfiles = true", function()
        assert.are.same({ 200, "SECRET=1\n" }, { get("/allow/.env").status, get("/allow/.env").body })
        assert.are.equal("SECRET=1\n", get("/allow/%2eenv").body)
        assert.are.equal("[core]\n", get("/allow/.git/config").body)
        assert.are.equal("known\n", get("/allow/pub/.well-known/x.txt").body)
        assert.are.equal("a\n", get("/allow/pub/./a.txt").body)
        local r = get("/allow/.git")
        assert.are.same({ 301, "/allow/.git/" }, { r.status, r.headers.location })
        r = get("/allow/pub/")
        assert.are.equal('<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>Index of /pub/'
            .. '</title></head>\n<body><h1>Index of /pub/</h1>\n<ul>\n'
            .. '<li><a href="../">../</a></li>\n'
            .. '<li><a href=".well-known/">.well-known/</a></li>\n'
            .. '<li><a href=".hidden">.hidden</a></li>\n'
            .. '<li><a href="a.txt">a.txt</a></li>\n'
            .. '<li><a href="b.c.txt">b.c.txt</a></li>\n'
            .. "</ul></body></html>\n", r.body)
    end)

    it("keeps .. out either way", function()
        for _, t in ipairs({ "/allow/../outside/secret.txt", "/allow/%2e%2e/outside/secret.txt",
            "/allow/pub/%2e%2e/%2e%2e/outside/secret.txt", "/../outside/secret.txt" }) do
            local r = get(t)
            assert.are.same({ 404, "not found\n" }, { r.status, r.body }, t)
        end
    end)
end)
