-- An early 413 to a client still uploading (docs/ARCHITECTURE.md, the connection contract,
-- point 2): the client can send its whole body and then read the whole response; nothing resets
-- the connection first.

local S = require("spec.support.server")

local ECHO = S.root .. "/apps/echo"

describe("early 413 to a client still uploading", function()
    describe("from a handler that does not read (apps/echo /reject-upload)", function()
        local srv

        lazy_setup(function()
            -- a --max-body above the upload, so that the 413 comes from the handler that does not
            -- read (apps/echo /reject-upload), not from the server's own limit
            srv = S.start({ app = ECHO, args = { "--max-body", "64m", "--linger-time", "5",
                "--linger-idle", "1" } })
        end)

        lazy_teardown(function()
            if srv then
                srv:stop_ok()
            end
        end)

        it("lets a client that uploads 20 MB before reading read the whole early 413, 20 times, never a reset",
            function()
                local total = 20 * 1024 * 1024
                local t_start = S.now()
                for i = 1, 20 do
                    assert.is_true(S.now() - t_start < 25, "too slow: round " .. i .. " after 25s")
                    local c = srv:connect()
                    assert(c:send("POST /reject-upload HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        .. "Content-Length: " .. total .. "\r\n\r\n"))
                    local sent, err = c:upload(total, 10)
                    assert.are.equal(total, sent, "round " .. i .. ": upload cut off after " .. sent
                        .. " bytes: " .. tostring(err))
                    local res, extra, kind = c:read_final(5)
                    assert.are.equal(413, res.status, "round " .. i)
                    assert.are.equal("upload rejected\n", res.body, "round " .. i)
                    assert.are.equal("length", res.framing)
                    assert.is_true(res:has_token("Connection", "close"), "round " .. i)
                    assert.are.equal("", extra, "round " .. i)
                    assert.are.equal("fin", kind, "round " .. i .. ": reset instead of FIN")
                    c:close()
                end
            end)
    end)

    it("lets the client upload on and then read the whole 413 for a body over --max-body",
        function()
            local srv = S.start({ app = ECHO })
            finally(function() srv:stop_ok() end)
            local total = 8 * 1024 * 1024
            local c = srv:connect()
            assert(c:send("POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                .. "Content-Length: " .. total .. "\r\n\r\n"))
            local sent, err = c:upload(total, 10)
            local res, rerr = c:read_response({ timeout = 5 })
            assert.is_truthy(res, "the 413 was not readable: " .. tostring(rerr))
            assert.are.equal(413, res.status)
            assert.is_true(res:has_token("Connection", "close"))
            local extra, kind = c:read_until_close(5)
            assert.are.equal("", extra)
            assert.are.equal("fin", kind, "reset instead of FIN")
            assert.are.equal(total, sent, "the upload was cut off after " .. sent .. " bytes: "
                .. tostring(err))
            c:close()
        end)
end)
