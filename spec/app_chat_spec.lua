-- apps/chat (README, "Bundled apps"): messages posted as JSON reach every stream of
-- GET /events as server-sent events; bad input gets 400 naming the field; with PostgreSQL
-- and --workers 2 a message reaches the streams of both workers (LISTEN/NOTIFY), a stream
-- that reconnects with Last-Event-ID gets what it missed, and in headless Chromium a message
-- sent from one page appears in the other: one page on the WebSocket (GET /ws), one on the
-- event stream (?transport=sse). The WebSocket side: spec/app_chat_ws_spec.lua.
local S = require("spec.support.server")
local P = require("spec.support.postgres")
local B = require("spec.support.browser")
local cjson = require("cjson")

local APP = S.root .. "/apps/chat"

-- An open event stream: its text so far, read as it comes.
local function open_stream(srv, last_id)
    local c = srv:connect()
    assert(c:send("GET /events HTTP/1.1\r\nHost: x\r\n"
        .. (last_id and ("Last-Event-ID: " .. last_id .. "\r\n") or "") .. "\r\n"))
    local st = { c = c, text = "" }
    function st.wait(pattern, timeout)
        local deadline = S.now() + (timeout or 5)
        while not st.text:find(pattern) do
            if S.now() > deadline then
                return nil
            end
            c:fill(math.max(0, math.min(0.1, deadline - S.now())))
            st.text = st.text .. c:discard()
        end
        return st.text:match(pattern)
    end
    return st
end

local function post(srv, body)
    local c = srv:connect()
    assert(c:send("POST /messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        .. "Content-Length: " .. #body .. "\r\n\r\n" .. body))
    local r = assert(c:read_response({ timeout = 5 }))
    c:close()
    return r
end

describe("apps/chat", function()
    describe("in one process, without a database", function()
        local srv

        lazy_setup(function()
            srv = S.start({ app = APP })
        end)

        lazy_teardown(function()
            srv:stop_ok()
        end)

        it("streams a posted message to every open stream as an event", function()
            local a, b = open_stream(srv), open_stream(srv)
            assert.is_truthy(a.wait("\r\n\r\n"), a.text)
            assert.is_truthy(a.text:find("^HTTP/1%.1 200 OK\r\n"))
            assert.is_truthy(a.text:find("\r\nContent%-Type: text/event%-stream\r\n"), a.text)
            assert.is_truthy(b.wait(": worker %d+\n\n"), b.text)
            local r = post(srv, '{"name":"ann","text":"hello\\nthere"}')
            assert.are.equal(201, r.status, r.body)
            local msg = cjson.decode(r.body)
            local id = math.tointeger(msg.id)
            assert.are.same({ id = id, name = "ann", text = "hello\nthere" }, msg)
            local want = ("event: message\nid: " .. id .. "\ndata: "):gsub("%p", "%%%0")
            for _, s in ipairs({ a, b }) do
                local got = s.wait(want .. "([^\n]*)\n\n")
                assert.is_truthy(got, s.text)
                assert.are.same(msg, cjson.decode(got))
                s.c:close()
            end
        end)

        it("answers bad input with 400 and the field", function()
            for body, want in pairs({
                ['{"text":"x"}'] = { error = "name is required", field = "name" },
                ['{"name":"ann","text":"  "}'] = { error = "text is required", field = "text" },
                ['{"name":"' .. string.rep("n", 41) .. '","text":"x"}'] =
                    { error = "name is longer than 40 characters", field = "name" },
                ['[1,2]'] = { error = "name is required", field = "name" },
                ['"str"'] = { error = "the body must be a JSON object", field = cjson.null },
            }) do
                local r = post(srv, body)
                assert.are.equal(400, r.status, body)
                assert.are.same(want, cjson.decode(r.body), body)
            end
            local r = post(srv, "{nope")
            assert.are.equal(400, r.status)
            local e = cjson.decode(r.body)
            assert.are.equal(cjson.null, e.field)
            assert.is_truthy(e.error:find("^bad JSON: "), e.error)
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

        it("delivers a message to the streams of both workers, and replays what a reconnect missed", function()
            -- streams until two of them are served by different workers
            local by_worker, streams = {}, {}
            for _ = 1, 40 do
                local s = open_stream(srv)
                local pid = s.wait(": worker (%d+)\n\n")
                assert.is_truthy(pid, s.text)
                streams[#streams + 1] = s
                by_worker[pid] = by_worker[pid] or s
                local n = 0
                for _ in pairs(by_worker) do n = n + 1 end
                if n == 2 then break end
            end
            local two = {}
            for _, s in pairs(by_worker) do two[#two + 1] = s end
            assert.are.equal(2, #two, "every stream went to one worker")
            local r = post(srv, '{"name":"bob","text":"across workers"}')
            assert.are.equal(201, r.status, r.body)
            local msg = cjson.decode(r.body)
            local id = math.tointeger(msg.id)
            local want = ("event: message\nid: " .. id .. "\ndata: "):gsub("%p", "%%%0")
            for _, s in ipairs(two) do
                local got = s.wait(want .. "([^\n]*)\n\n")
                assert.is_truthy(got, s.text)
                assert.are.same(msg, cjson.decode(got))
            end
            for _, s in ipairs(streams) do s.c:close() end

            -- a client that saw the message before it reconnects gets only what came after
            local r2 = post(srv, '{"name":"bob","text":"while away"}')
            local id2 = math.tointeger(cjson.decode(r2.body).id)
            local back = open_stream(srv, tostring(id))
            assert.is_truthy(back.wait("id: " .. id2 .. "\n"), back.text)
            assert.is_nil(back.text:find("id: " .. id .. "\n", 1, true))
            back.c:close()
        end)

        it("shows a message sent from one page in the other, over WebSocket and over events (headless Chromium)", function()
            local url = "http://127.0.0.1:" .. srv.port .. "/"
            local text = "hello from page a " .. tostring(os.time())
            local reply = "and back from page b " .. tostring(os.time())
            local function has(page, who, what)
                return { wait = page, timeout = 10, js = "[...document.querySelectorAll('#log li')]"
                    .. ".map(li => li.textContent).includes(" .. cjson.encode(who .. what) .. ")" }
            end
            local function send(page, who, what)
                return { eval = page, js = "document.getElementById('name').value = " .. cjson.encode(who) .. ";"
                    .. "document.getElementById('text').value = " .. cjson.encode(what) .. ";"
                    .. "document.querySelector('#send button').click(); true" }
            end
            local r = B.run({
                { open = "a", url = url },                     -- a WebSocket where the browser has one
                { open = "b", url = url .. "?transport=sse" }, -- the event stream and POST
                { wait = "a", js = "document.getElementById('status').textContent === 'connected'" },
                { wait = "b", js = "document.getElementById('status').textContent === 'connected'" },
                { eval = "a", js = "document.getElementById('transport').textContent" },
                { eval = "b", js = "document.getElementById('transport').textContent" },
                send("a", "ann", text),
                has("b", "ann", text),
                has("a", "ann", text),
                { eval = "a", js = "document.getElementById('text').value" },
                send("b", "bob", reply),
                has("a", "bob", reply),
                { wait = "b", js = "document.getElementById('text').value === ''" }, -- (after the POST's answer)
            })
            -- the form was sent and cleared on each page
            assert.are.same({ true, true, "WebSocket", "server-sent events", true, true, true, "",
                true, true, true }, r)
        end)
    end)
end)
