-- Memory is bounded (issue 14): 200 peers that never read while the server broadcasts to them.
-- Each peer upgraded with {max_output = 262144}; the broadcaster's handler sends every
-- message to every peer (sends from its coroutine never wait: they queue). A peer's queue can
-- hold at most max_output and one message before it is dropped, and large payloads are
-- queued in place (every peer shares each message's string), so the server's RSS stays
-- under 200 x (a queue's own blocks + a connection's own cost) + the messages, however long
-- the broadcast goes on; every peer is dropped (the sender's next send to it returns nil,
-- "closed"), and the broadcaster is served all along.
local S = require("spec.support.server")
local W = require("spec.support.ws")
local WM = require("spec.support.ws_memory")

local PEERS = 200
local MAX_OUTPUT = 262144 -- as spec/apps/ws_broadcast_memory.lua
local MSG = 32768

describe("WebSocket broadcast memory", function()
    it("200 peers that never read: dropped past max_output, RSS bounded, the broadcaster served",
        function()
            WM.ensure_nofile(2 * PEERS + 200)
            local asan = WM.asan()
            local env = WM.env()
            local srv = S.start({ app = S.app("ws_broadcast_memory.lua"), env = env })
            local peers, b = {}, nil
            finally(function()
                for _, c in ipairs(peers) do
                    c:close()
                end
                if b then
                    b:close()
                end
                srv:stop()
            end)
            local fds_base = WM.fd_count(srv)
            local payload = string.rep("0123456789abcdef", MSG // 16)
            local frame = W.frame(W.BINARY, payload)

            -- the broadcaster first, with a round to no one: what the first WebSocket loads
            -- (libcrypto for the handshake, the app's paths) is not the peers' cost
            b = W.open(srv, "/broadcaster")
            assert(b:send(frame, 10))
            local op, report = W.read_frame(b, 10)
            assert.are.equal(W.TEXT, op)
            assert.are.equal("sent=0 failed=0 errors=- peers=0", report)
            S.sleep(0.2)
            local before = WM.rss_kb(srv)

            -- the peers: a small receive buffer, so the kernel takes little of what the
            -- server sends them; each reads its 101 and "joined", then never reads again
            local joined = W.server_frame(W.TEXT, "joined")
            for i = 1, PEERS do
                local c = S.connect_with(srv.port, { rcvbuf = 4096, timeout = 10 })
                peers[i] = c
                assert(c:send(W.request("/peer")))
            end
            for i, c in ipairs(peers) do
                local head, err = c:read_until("\r\n\r\n", 10)
                assert(head and W.strip_date(head) == W.RESPONSE_101,
                    "peer " .. i .. ": no 101: " .. tostring(head or err))
                assert.are.equal(joined, c:receive_exact(#joined, 10))
            end
            local status, body = srv:get_body("/count", 5)
            assert.are.equal(200, status)
            assert.are.equal("peers=" .. PEERS .. " ended=0", body)

            -- the broadcast: binary messages of 32 KiB until every peer is gone (bounded)
            local rounds, failed, sent, errors = 0, 0, 0, {}
            local left = PEERS
            local deadline = S.now() + 15
            while left > 0 do
                assert.is_true(S.now() < deadline, string.format(
                    "%d peers still served after %d rounds (%d dropped)", left, rounds, failed))
                assert(b:send(frame, 10))
                op, report = W.read_frame(b, 10)
                assert.are.equal(W.TEXT, op, "the broadcaster got no report: " .. tostring(report))
                local s, f, e, p = report:match("^sent=(%d+) failed=(%d+) errors=(%S+) peers=(%d+)$")
                assert.is_truthy(s, report)
                rounds = rounds + 1
                sent, failed = sent + tonumber(s), failed + tonumber(f)
                if e ~= "-" then
                    errors[e] = true
                end
                assert.are.equal(left, tonumber(s) + tonumber(f), report)
                left = tonumber(p)
            end
            local hwm = assert(srv:status_kb("VmHWM"))
            assert.are.equal(PEERS, failed)
            assert.are.same({ closed = true }, errors)

            -- the broadcaster is still served: a round with no peer left
            assert(b:send(frame, 10))
            op, report = W.read_frame(b, 10)
            assert.are.equal(W.TEXT, op)
            assert.are.equal("sent=0 failed=0 errors=- peers=0", report)

            -- every peer's connection was dropped by the server (its handler ended, its
            -- socket is closed), each drop logged
            assert.is_truthy(S.wait_for(function()
                local _, c = srv:get_body("/count", 3)
                return c == "peers=0 ended=" .. PEERS
            end, 5), select(2, srv:get_body("/count", 3)))
            assert.is_truthy(S.wait_for(function() return WM.fd_count(srv) == fds_base + 1 end, 5),
                "the server holds " .. WM.fd_count(srv) .. " descriptors, " .. fds_base
                .. " + the broadcaster expected")
            assert.are.equal(PEERS, S.count(srv:log(), "websocket output over " .. MAX_OUTPUT
                .. " bytes: dropped"), S.tail(srv:log(), 5))

            -- Bound: a peer's queue holds at most max_output and one message (the check
            -- comes before each send). Payloads of 8 KiB and more are queued in place, so
            -- the peers share each message's one string: what a peer's queue costs of its
            -- own is a 4 KiB block per message for its frame header (the output queue copies
            -- small pieces into 4 KiB blocks), (256 + 32) / 32 x 4 = 36 KiB, and with the
            -- connection's own cost (spec/ws_memory_spec.lua: under 16 KiB, 48 under ASan)
            -- 52 KiB per peer (half as much again for the blocks under ASan: redzones and
            -- shadow memory), plus 8 MiB for the strings themselves (at most 9 messages are
            -- queued anywhere at once), the Lua garbage of the broadcast, allocator slack
            -- and ASan's quarantine (kept to 8 MiB). Measured (2026-11-30): 41.6 KiB per peer,
            -- 86.3 under ASan. Copying each payload instead cost 328 KiB per peer; without
            -- the bound, the queues would grow by 32 KiB a peer with every round, for as
            -- long as the broadcast lasts.
            local queued_kb = (MAX_OUTPUT + MSG) // MSG * 4
            if asan then
                queued_kb = queued_kb * 3 // 2
            end
            local per_peer = queued_kb + (asan and 48 or 16)
            local bound = PEERS * per_peer + 8 * 1024
            local grew = hwm - before
            print(string.format("\n[ws_broadcast_memory] %d peers dropped after %d rounds of"
                .. " %d KiB (%d sends queued): peak RSS %d -> %d KiB, +%.1f KiB per peer"
                .. " (bound %d KiB in all)%s", PEERS, rounds, MSG // 1024, sent, before, hwm,
                grew / PEERS, bound, asan and " (ASan build)" or ""))
            assert.is_true(grew < bound, string.format(
                "peak RSS grew by %d KiB with %d peers not reading (bound %d KiB)",
                grew, PEERS, bound))

            assert(b:send(W.frame(W.CLOSE, W.close_payload(1000))))
            assert.are.equal(W.server_frame(W.CLOSE, W.close_payload(1000)), b:receive_exact(4, 5))
            b:close()
            b = nil
            for _, c in ipairs(peers) do
                c:close()
            end
            peers = {}
            srv:stop_ok()
        end)
end)
