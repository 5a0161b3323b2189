-- Redis through OpenResty's own library (issue 10): Debian's lua-resty-redis, unmodified, on
-- the cosocket (spec/apps/redis.lua), against a real redis-server. GET and SET, checked from
-- the side with a separate client, with any bytes as values.

local S = require("spec.support.server")
local R = require("spec.support.redis")

describe("lua-resty-redis GET and SET", function()
    local redis, srv

    lazy_setup(function()
        redis, srv = R.start_with_app("redis.lua")
    end)

    lazy_teardown(function()
        R.stop_with_app(redis, srv)
    end)

    local function set(key, value)
        local res = assert(srv:fetch(S.request("POST", "/set?k=" .. key, nil, value)))
        assert.are.equal(200, res.status, res.body)
        return res.body
    end

    local function get(key)
        local res = assert(srv:fetch(S.get("/get?k=" .. key)))
        assert.are.equal(200, res.status, res.body)
        return res.body, res:header("X-Redis-Type")
    end

    it("SET stores the value in Redis and GET reads it back", function()
        assert.are.equal("OK", set("greeting", "hello"))
        assert.are.equal("hello", redis:command("GET", "greeting"))
        local body, kind = get("greeting")
        assert.are.equal("hello", body)
        assert.are.equal("string", kind)
    end)

    it("GET reads what another client set", function()
        assert.are.equal("OK", redis:command("SET", "from-side", "set by redis-cli's peer"))
        assert.are.equal("set by redis-cli's peer", (get("from-side")))
    end)

    it("GET of a missing key gives ngx.null", function()
        local body, kind = get("no-such-key")
        assert.are.equal("null", body)
        assert.are.equal("null", kind)
    end)

    it("an empty value is an empty string, not ngx.null", function()
        assert.are.equal("OK", set("empty", ""))
        assert.are.equal("", redis:command("GET", "empty"))
        local body, kind = get("empty")
        assert.are.equal("", body)
        assert.are.equal("string", kind)
    end)

    it("keeps every byte: all 256 byte values, CR LF inside", function()
        local bytes = {}
        for b = 0, 255 do
            bytes[#bytes + 1] = string.char(b)
        end
        local value = table.concat(bytes) .. "\r\n$3\r\n*1\r\n"
        assert.are.equal("OK", set("binary", value))
        assert.are.equal(value, redis:command("GET", "binary"))
        assert.are.equal(value, (get("binary")))
    end)

    it("reads a 512 KiB value whole", function()
        local value = string.rep("0123456789abcdef", 32768)
        assert.are.equal("OK", redis:command("SET", "big", value))
        local body = get("big")
        assert.are.equal(#value, #body)
        assert.is_true(value == body, "the 512 KiB value came back changed")
    end)
end)
