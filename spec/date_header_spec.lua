-- Every response is HTTP/1.1 and carries one Date field, current, in IMF-fixdate form
-- (RFC 9110 section 6.6.1).

local S = require("spec.support.server")

local LIFECYCLE = S.app("lifecycle.lua")

describe("the Date field", function()
    local srv

    lazy_setup(function()
        srv = S.start({ app = LIFECYCLE })
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    it("answers with HTTP/1.1 and a Date in IMF-fixdate format", function()
        local res = assert(srv:fetch(S.get("/ping")))
        assert.are.equal("HTTP/1.1", res.version)
        assert.are.equal(1, res:header_count("Date"))
        assert.is_truthy(res:header("Date"):match(S.IMF_FIXDATE), res:header("Date"))
    end)

    it("sends a current Date", function()
        local res = assert(srv:fetch(S.get("/ping")))
        local months = { Jan = 1, Feb = 2, Mar = 3, Apr = 4, May = 5, Jun = 6, Jul = 7,
            Aug = 8, Sep = 9, Oct = 10, Nov = 11, Dec = 12 }
        local d, mon, y, h, mi, sec = res:header("Date"):match(
            "^%a+, (%d+) (%a+) (%d+) (%d+):(%d+):(%d+) GMT$")
        assert.is_truthy(d, res:header("Date"))
        local now = os.time()
        local utc_now = os.time(os.date("!*t", now))
        local t = os.time({ year = tonumber(y), month = months[mon], day = tonumber(d),
            hour = tonumber(h), min = tonumber(mi), sec = tonumber(sec) })
        assert.is_true(math.abs(t - utc_now) <= 3,
            "Date " .. res:header("Date") .. " is not now")
    end)
end)
