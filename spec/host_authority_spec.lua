-- The Host field (issue 9, RFC 9110 7.2): uri-host [ ":" port ] with RFC 3986's host
-- (IP-literal, IPv4address or reg-name) and port = *DIGIT. Cases that fail on d473277 (which
-- only checked the characters): a port that is not decimal, several colons, an empty host with
-- a port, brackets that do not hold an IP-literal, a % that is not pct-encoded. The rest guard.

local W = require("spec.support.wire")

local NEXT, q, refused, served = W.NEXT, W.q, W.refused, W.served

describe("Host (RFC 9110 7.2, RFC 3986 3.2.2-3.2.3)", function()
    local srv

    lazy_setup(function()
        srv = W.start()
    end)

    lazy_teardown(function()
        if srv then
            srv:stop_ok()
        end
    end)

    after_each(function()
        W.still_serving(srv)
    end)

    local valid = { "", "example.com", "example.com:", "example.com:8080", "127.0.0.1:80",
        "[::1]", "[::1]:8080", "[2001:db8::ffff:1.2.3.4]", "[v1.fe:x]", "a%20b",
        "ex-am_ple.com~!$&'()*+,;=", "EXAMPLE.COM:00080" }
    for _, v in ipairs(valid) do
        it("serves Host: " .. q(v), function()
            served(srv, "GET /h HTTP/1.1\r\nHost: " .. v .. "\r\n\r\n", "ok")
        end)
    end

    local invalid = { "example.com:abc", "example.com:8o", "example.com:80:81", ":80",
        "user@example.com", "user:pw@example.com", "[::1", "::1", "[::1]x", "[::1]:a",
        "[example.com]", "[1.2.3.4]", "[v1.]", "[fe80::1%25eth0]", "a]", "a[b", "a%2",
        "a%zz", "a/b", "a?b", "a#b", "a\"b", "a<b>", "a\\b", "a^b", "a{b}", "a|b",
        "\195\169.example" }
    for _, v in ipairs(invalid) do
        it("answers 400 and closes for Host: " .. q(v), function()
            refused(srv, "GET /h HTTP/1.1\r\nHost: " .. v .. "\r\n\r\n" .. NEXT, 400)
        end)
    end
end)
