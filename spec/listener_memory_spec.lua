-- What a request with listeners leaves is freed: events that find no listener of their own
-- leave nothing behind on the Lua stack (the heap stays flat over many requests).

local S = require("spec.support.server")

local LIFECYCLE = S.app("lifecycle.lua")

describe("listeners", function()
    it("frees what a request with a listener for some events leaves when the others fire (1500 requests, Lua heap flat)",
        function()
            local srv = S.start({ app = LIFECYCLE })
            finally(function() srv:stop() end)
            local function lua_bytes()
                local status, body = srv:get_body("/lua-memory", 3)
                assert.are.equal(200, status, tostring(body))
                return assert(tonumber(body), body)
            end
            local function burst(n) -- 100 requests a connection (below --max-requests)
                local c
                for i = 1, n do
                    if i % 100 == 1 then
                        if c then c:close() end
                        c = srv:connect()
                    end
                    assert(c:send(S.get("/listen-close")))
                    local res = assert(c:read_response({ timeout = 3 }))
                    assert.are.equal("ok", res.body)
                end
                c:close()
            end
            burst(100) -- warm up: coroutines, interned strings
            local before = lua_bytes()
            burst(1500)
            local after = lua_bytes()
            -- with the bug: 3 leaked values per request, about 240 bytes (360 KB here)
            assert.is_true(after - before < 64 * 1024, "Lua heap grew by " .. (after - before)
                .. " bytes over 1500 requests (" .. before .. " -> " .. after .. ")")
        end)
end)
