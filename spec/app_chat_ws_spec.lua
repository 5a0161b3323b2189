-- apps/chat over WebSocket (README, "Bundled apps"): GET /ws sends the recent messages first,
-- then every message (from a WebSocket client, a POST, or another worker through PostgreSQL's
-- LISTEN/NOTIFY) as a text frame holding the JSON of the event stream's data; a client's
-- text frame {"name": ..., "text": ...} is posted as POST /messages posts its body, and bad
-- input gets a text frame {"error": ..., "field": ...} back while the connection stays open;
-- a client that leaves does not disturb the others; a reload closes them with 1001.
local S = require("spec.support.server")
local P = require("spec.support.postgres")
local W = require("spec.support.ws")
local C = require("spec.support.chat")
local cjson = require("cjson")

local APP = C.APP
local ws_open, next_json, say, sse_open, next_event, post_ok, assert_quiet, leave =
    C.ws_open, C.next_json, C.say, C.sse_open, C.next_event, C.post_ok, C.assert_quiet, C.leave

describe("apps/chat over WebSocket", function()
    describe("in one process, without a database", function()
        local srv

        before_each(function()
            srv = S.start({ app = APP })
        end)

        after_each(function()
            srv:stop_ok()
        end)

        it("sends the recent messages on connect, and only those after ?after=ID", function()
            local m1 = post_ok(srv, "ann", "one")
            local m2 = post_ok(srv, "bob", "two")
            assert.are.same({ id = 1, name = "ann", text = "one" }, m1)
            assert.are.same({ id = 2, name = "bob", text = "two" }, m2)
            local a, pid = ws_open(srv)
            assert.are.equal(tostring(srv.pid), pid)
            assert.are.same(m1, next_json(a))
            assert.are.same(m2, next_json(a))
            assert_quiet(a)
            local b = ws_open(srv, "/ws?after=1")
            assert.are.same(m2, next_json(b))
            assert_quiet(b)
            local c = ws_open(srv, "/ws?after=2")
            assert_quiet(c)
            -- then what comes next, as every client
            local m3 = post_ok(srv, "cy", "three")
            for _, x in ipairs({ a, b, c }) do
                assert.are.same(m3, next_json(x))
                leave(x)
            end
        end)

        it("posts a WebSocket client's message: it reaches every WebSocket and event stream", function()
            local seed = post_ok(srv, "ann", "seed") -- each client's history: in the room once read
            local s = sse_open(srv)
            assert.are.same(seed, next_event(s))
            local a, b = ws_open(srv), ws_open(srv)
            assert.are.same(seed, next_json(a))
            assert.are.same(seed, next_json(b))
            say(a, '{"name":"ann","text":"hello from a \\u00e9\\n"}')
            local want = { id = 2, name = "ann", text = "hello from a é\n" }
            assert.are.same(want, next_json(a)) -- the sender too
            assert.are.same(want, next_json(b))
            assert.are.same(want, next_event(s))
            -- stored as a POST's message is
            local r = assert(srv:fetch(S.get("/messages")))
            assert.are.equal(200, r.status)
            assert.are.same({ seed, want }, cjson.decode(r.body))
            assert_quiet(a)
            assert_quiet(b)
            leave(a)
            leave(b)
            s:close()
        end)

        it("sends a POSTed message to every WebSocket client", function()
            local seed = post_ok(srv, "ann", "seed")
            local a, b = ws_open(srv), ws_open(srv)
            assert.are.same(seed, next_json(a))
            assert.are.same(seed, next_json(b))
            local m = post_ok(srv, "bob", "posted")
            assert.are.same({ id = 2, name = "bob", text = "posted" }, m)
            assert.are.same(m, next_json(a))
            assert.are.same(m, next_json(b))
            leave(a)
            leave(b)
        end)

        it("answers bad input with an error frame naming the field, and stays open", function()
            local seed = post_ok(srv, "ann", "seed")
            local a, b = ws_open(srv), ws_open(srv)
            assert.are.same(seed, next_json(a))
            assert.are.same(seed, next_json(b))
            local cases = {
                { '{"text":"x"}', { error = "name is required", field = "name" } },
                { '{"name":"ann","text":"  "}', { error = "text is required", field = "text" } },
                { '{"name":"' .. string.rep("n", 41) .. '","text":"x"}',
                    { error = "name is longer than 40 characters", field = "name" } },
                { '{"name":"ann","text":"' .. string.rep("é", 1001) .. '"}',
                    { error = "text is longer than 1000 characters", field = "text" } },
                { '{"name":"ann","text":7}', { error = "text is required", field = "text" } },
                { '[1,2]', { error = "name is required", field = "name" } },
                { '"str"', { error = "the body must be a JSON object", field = cjson.null } },
                { 'null', { error = "the body must be a JSON object", field = cjson.null } },
                { '', { error = "bad JSON: empty body", field = cjson.null } },
            }
            for _, case in ipairs(cases) do
                say(a, case[1])
                assert.are.same(case[2], next_json(a), case[1])
            end
            say(a, "{nope")
            local e = next_json(a)
            assert.are.equal(cjson.null, e.field)
            assert.is_truthy(e.error:find("^bad JSON: "), e.error)
            assert(a:send(W.frame(W.BINARY, '{"name":"ann","text":"binary"}')))
            assert.are.same({ error = "messages are JSON in text frames", field = cjson.null },
                next_json(a))
            -- none of those was posted; the connection still serves
            assert_quiet(b)
            say(a, '{"name":"ann","text":"fine now"}')
            local want = { id = 2, name = "ann", text = "fine now" }
            assert.are.same(want, next_json(a))
            assert.are.same(want, next_json(b))
            leave(a)
            leave(b)
        end)

        it("keeps serving the others when a client leaves, by a close or by dropping the connection", function()
            local seed = post_ok(srv, "ann", "seed")
            local a, b, c = ws_open(srv), ws_open(srv), ws_open(srv)
            for _, x in ipairs({ a, b, c }) do
                assert.are.same(seed, next_json(x))
            end
            leave(a)
            c:close() -- no close frame: the connection just ends
            local m = post_ok(srv, "bob", "after they left")
            assert.are.same(m, next_json(b))
            say(b, '{"name":"bob","text":"still here"}')
            assert.are.same({ id = 3, name = "bob", text = "still here" }, next_json(b))
            -- a newcomer gets all of it
            local d = ws_open(srv)
            for _, want in ipairs({ seed, m, { id = 3, name = "bob", text = "still here" } }) do
                assert.are.same(want, next_json(d))
            end
            leave(b)
            leave(d)
        end)

        it("closes its WebSockets with 1001 (going away) when the code is reloaded (the page reconnects to the new code)", function()
            local seed = post_ok(srv, "ann", "seed")
            local a = ws_open(srv)
            assert.are.same(seed, next_json(a))
            srv:signal("HUP")
            local want = W.server_frame(W.CLOSE, W.close_payload(1001))
            assert.are.equal(want, a:receive_exact(#want, 5))
            assert(a:send(W.frame(W.CLOSE, W.close_payload(1001))))
            local rest, kind = a:read_until_close(5)
            assert.are.equal("", rest)
            assert.are.equal("fin", kind)
            a:close()
            -- the new code serves (its messages start afresh: without a database they were
            -- the old code's)
            local b = ws_open(srv)
            local m = post_ok(srv, "bob", "new code")
            assert.are.same({ id = 1, name = "bob", text = "new code" }, m)
            assert.are.same(m, next_json(b))
            leave(b)
        end)
    end)

    describe("with PostgreSQL and two workers", function()
        local pg, srv

        lazy_setup(function()
            pg = P.start()
            srv = S.start_beside(pg, { app = APP, args = { "--workers", "2" },
                env = { DATABASE_URL = pg.url }, any = true })
        end)

        lazy_teardown(function()
            S.stop_beside(pg, srv)
        end)

        it("delivers across workers: a WebSocket's message and a POST reach the other worker's WebSockets and streams", function()
            -- the history of each connection is its sync point: post one first
            local seed = post_ok(srv, "ann", "seed")
            -- WebSockets until two of them are served by different workers
            local by_worker = {}
            for _ = 1, 40 do
                local c, pid = ws_open(srv)
                assert.are.same(seed, next_json(c))
                if by_worker[pid] then
                    c:close() -- (a second on that worker: it just goes)
                else
                    by_worker[pid] = c
                end
                local n = 0
                for _ in pairs(by_worker) do n = n + 1 end
                if n == 2 then break end
            end
            local pids, two = {}, {}
            for pid, c in pairs(by_worker) do
                pids[#pids + 1] = pid
                two[#two + 1] = c
            end
            assert.are.equal(2, #two, "every WebSocket went to one worker")
            -- an event stream on each worker too
            local streams = {}
            for _ = 1, 40 do
                local s, pid = sse_open(srv)
                assert.are.same(seed, next_event(s))
                if by_worker[pid] and not streams[pid] then
                    streams[pid] = s
                else
                    s:close()
                end
                if streams[pids[1]] and streams[pids[2]] then break end
            end
            assert.is_truthy(streams[pids[1]] and streams[pids[2]], "every stream went to one worker")

            -- (a stream may get the seed twice: its notification can reach the stream's worker
            -- after the stream read it from the table; the page keeps one per id. A WebSocket
            -- does not: the handler remembers the history it sent.)
            local function next_new_event(c)
                local e = next_event(c)
                if e.id == seed.id then
                    e = next_event(c)
                end
                return e
            end
            -- from the first worker's WebSocket
            say(two[1], '{"name":"ann","text":"across workers"}')
            local m = next_json(two[1])
            assert.are.same({ name = "ann", text = "across workers" }, { name = m.name, text = m.text })
            assert.is_true(m.id > seed.id)
            assert.are.same(m, next_json(two[2]))
            for _, pid in ipairs(pids) do
                assert.are.same(m, next_new_event(streams[pid]))
            end
            -- and a POST
            local p = post_ok(srv, "bob", "posted")
            for _, c in ipairs(two) do
                assert.are.same(p, next_json(c))
            end
            for _, pid in ipairs(pids) do
                assert.are.same(p, next_event(streams[pid]))
            end
            -- a reconnect with ?after= gets what came after, from the database
            local back = ws_open(srv, "/ws?after=" .. m.id)
            assert.are.same(p, next_json(back))
            assert_quiet(back)
            leave(back)
            for _, c in ipairs(two) do
                leave(c)
            end
            for _, s in pairs(streams) do
                s:close()
            end
        end)
    end)
end)
