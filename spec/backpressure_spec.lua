-- Backpressure: res:write() returns false above the high-water mark and res:drain() or 'drain'
-- waits for the queue; a handler that ignores it loses its connection past --max-output; the
-- server's memory stays bounded while clients do not read.

local S = require("spec.support.server")

local LIFECYCLE = S.app("lifecycle.lua")
local ECHO = S.root .. "/apps/echo"

local q = S.q

describe("backpressure", function()
    describe("res:write() and res:drain()", function()
        local srv

        lazy_setup(function()
            srv = S.start({ app = LIFECYCLE })
        end)

        lazy_teardown(function()
            if srv then
                srv:stop_ok()
            end
        end)

        it("returns false from write above the high-water mark and resumes after res:drain()",
            function()
                local c = srv:connect()
                assert(c:send(S.get("/fill")))
                S.sleep(0.3)
                local res = assert(c:read_response({ timeout = 20 }))
                assert.are.equal(200, res.status)
                local pieces, went_false, drained = res.body:match(
                    "\nEND pieces=(%d+) false=(%a+) drained=(%a+)$")
                assert.is_truthy(pieces, res.body:sub(-80))
                assert.are.equal("true", went_false)
                assert.are.equal("true", drained)
                assert.is_true(tonumber(pieces) < 512)
                assert.are.equal(tonumber(pieces) * 65536, #res.body - #res.body:match("\nEND.*$"))
                c:close()
            end)

        it("emits 'drain' once the queue is below the high-water mark", function()
            local c = srv:connect()
            assert(c:send(S.get("/drain-event")))
            S.sleep(0.3)
            local res = assert(c:read_response({ timeout = 20 }))
            local went_false, how = res.body:match("\nEND pieces=%d+ false=(%a+) drain=(%a+)$")
            assert.are.equal("true", went_false)
            assert.are.equal("event", how)
            c:close()
        end)
    end)

    describe("res:drain() while a nested coroutine waits", function()
        local srv

        lazy_setup(function()
            srv = S.start({ app = LIFECYCLE, args = { "--keepalive-timeout", "1" } })
        end)

        lazy_teardown(function()
            if srv then
                srv:stop_ok()
            end
        end)

        it("raises a Lua error in res:drain() while a coroutine the handler created waits in req:read(), and keeps serving",
            function()
                local c = srv:connect()
                -- the body is never sent: the reader (and with it the handler) waits until
                -- the connection goes
                assert(c:send("POST /drain-race HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n\r\n"))
                srv:state_when("reader_waiting")
                local status, body = srv:get_body("/drain-race-drain", 3)
                assert.are.equal(200, status, tostring(body))
                local msg = S.parse_kv(body).drain
                assert.is_truthy(msg and msg:find("^error:"), "res:drain() did not raise: " .. q(msg))
                assert.is_truthy(msg:find("another coroutine already waits on this request", 1, true), msg)
                c:close()
                -- the waiting reader is not lost: it wakes when the request ends
                local st = srv:state_when("reader_done")
                assert.is_truthy(st.reader_result:find("^nil,"), st.reader_result)
                -- then the handler's resume returns: true and nothing else
                st = srv:state_when("reader_start")
                assert.are.equal("ok:", st.reader_start)
                local log = srv:log()
                assert.is_falsy(log:find("handler error for POST /drain-race", 1, true), log)
                srv:assert_still_serving()
            end)
    end)

    describe("--max-output", function()
        it("drops a handler's connection that ignores write() == false past --max-output 1m, with bounded memory, and keeps serving",
            function()
                local srv = S.start({ app = LIFECYCLE, args = { "--max-output", "1m" } })
                finally(function() srv:stop() end)
                local rss0 = assert(srv:status_kb("VmRSS"))
                local c = srv:connect()
                assert(c:send(S.get("/flood")))
                local peak = rss0
                local data, kind
                local deadline = S.now() + 8
                -- read to the end, sampling the server's memory meanwhile
                local got = {}
                while not c.eof and S.now() < deadline do
                    c:fill(0.05)
                    got[#got + 1] = c:discard()
                    peak = math.max(peak, srv:status_kb("VmRSS") or 0)
                end
                data = table.concat(got)
                kind = c.eof and c:end_kind() or "timeout"
                c:close()
                assert.are_not.equal("timeout", kind, "the connection was not dropped within 8 s ("
                    .. #data .. " bytes read)")
                assert.is_true(#data < 400000000, "all 400 MB were delivered")
                local st = srv:state_when("flood_done", 5)
                local hwm = srv:status_kb("VmHWM") or 0
                peak = math.max(peak, srv:status_kb("VmRSS") or 0)
                local info = string.format("RSS before %d KiB, peak sampled %d KiB, VmHWM %d KiB; "
                    .. "bytes read %d, end %s, writes that returned false %s, finish %s", rss0, peak,
                    hwm, #data, kind, tostring(st.flood_false), tostring(st.flood_finish))
                assert.is_true(peak < 100 * 1024, info)
                assert.is_true(hwm < 100 * 1024, info)
                assert.are.equal("0", st.flood_errors, info)
                assert.is_truthy(srv:log():find("output over", 1, true), srv:log())
                srv:assert_still_serving()
                srv:stop_ok()
            end)
    end)

    describe("clients that never read", function()
        local srv

        lazy_setup(function()
            srv = S.start({ app = ECHO })
        end)

        lazy_teardown(function()
            if srv then
                srv:stop_ok()
            end
        end)

        it("keeps its memory bounded with 200 clients that request /bytes/10000000 and never read",
            function()
                -- Premise: what the kernel can hold per connection (the server's send buffer, at
                -- most tcp_wmem max, plus our 64 KiB receive buffer) is well under 10 MB, so most
                -- of each response must wait in the server or not be produced yet.
                local wmem = S.read_file("/proc/sys/net/ipv4/tcp_wmem") or ""
                local wmem_max = tonumber(wmem:match("(%d+)%s*$"))
                assert.is_truthy(wmem_max, q(wmem))
                assert.is_true(wmem_max + 65536 < 5000000, "tcp_wmem max " .. wmem_max
                    .. " lets the kernel absorb the responses")
                -- warm up (the Lua state, the first coroutines) before the baseline
                for _ = 1, 3 do
                    assert.are.equal(200, assert(srv:fetch(S.get("/bytes/100000"))).status)
                end
                local before = assert(srv:status_kb("VmRSS"))
                local conns = {}
                finally(function()
                    for _, c in ipairs(conns) do
                        c:close()
                    end
                end)
                for i = 1, 200 do
                    conns[i] = S.connect_with(srv.port, { rcvbuf = 65536 })
                    assert(conns[i]:send(S.get("/bytes/10000000")))
                end
                -- a normal request while the server pushes the 200 responses into the kernel (it
                -- waits for that, ~0.4 s alone, seconds on a loaded machine)
                local r = assert(srv:fetch(S.get("/bytes/5"), { timeout = 10 }))
                assert.are.equal("xxxxx", r.body)
                -- let every response run into backpressure (about 1 s on loopback: 200 x 4 MB
                -- into the kernel); keep the highest RSS seen
                local peak = before
                local t0 = S.now()
                while S.now() - t0 < 2 do
                    peak = math.max(peak, (assert(srv:status_kb("VmRSS"))))
                    S.sleep(0.05)
                end
                -- and one more once they are all stuck
                r = assert(srv:fetch(S.get("/bytes/5"), { timeout = 3 }))
                assert.are.equal("xxxxx", r.body)
                peak = math.max(peak, (assert(srv:status_kb("VmRSS"))))
                -- Bound: apps/echo queues at most one 64 KiB piece above the 64 KiB high-water
                -- mark, i.e. 128 KiB per connection, 25 MiB for 200; with the per-connection
                -- input buffer, parser, request and coroutine (some KiB each) and allocator
                -- slack, 40 MiB of growth. A server that queued what the handlers want to send
                -- would need 200 x ~6 MB, over 1 GB. (Measured: about 2 MiB, release and ASan.)
                local grew = peak - before
                assert.is_true(grew < 40 * 1024, string.format(
                    "RSS grew by %.1f MiB (from %.1f to %.1f MiB) with 200 clients not reading",
                    grew / 1024, before / 1024, peak / 1024))
                for i = 1, 200 do
                    conns[i]:close()
                end
                conns = {}
                assert.are.equal("xx", assert(srv:fetch(S.get("/bytes/2"))).body)
            end)
    end)
end)
