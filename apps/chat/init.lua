-- apps/chat: a chat over server-sent events, with an HTML page. A template to copy.
--
--   build/lunaserve apps/chat                                   # one process, in memory
--   DATABASE_URL=postgresql://... build/lunaserve --workers 2 apps/chat   # shared
--   curl -N http://127.0.0.1:8080/events                        # the stream
--   curl -d '{"name":"ann","text":"hi"}' http://127.0.0.1:8080/messages
--
-- With DATABASE_URL, messages are stored in PostgreSQL (table chat_messages, made at load)
-- and every worker, on every host that uses the same database, hears of each one through
-- LISTEN/NOTIFY: a worker's listener passes it to the streams that worker holds. Without it,
-- messages stay in this process (fine for one worker).
--
-- GET /events sends each message as an event `message` whose id is the message's; a client
-- that reconnects with Last-Event-ID gets what it missed (with PostgreSQL), then the stream.
local lunaserve = require("lunaserve")
local json = require("lunaserve.json")
local router = require("lunaserve.router")
local sse = require("lunaserve.sse")

local URL = os.getenv("DATABASE_URL")
-- this worker's process id (Linux), shown on each stream: which worker serves it
local PID = "?"
do
    local f = io.open("/proc/self/stat")
    if f then
        PID = (f:read("l") or ""):match("^(%d+)") or "?"
        f:close()
    end
end
local CHANNEL = "lunaserve_chat"
local HISTORY = 50

local PAGE = [[<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Chat</title>
<style>body{font-family:sans-serif;max-width:40em;margin:2em auto}#log{list-style:none;padding:0}
#log li{padding:.2em 0}#log b{margin-right:.5em}</style></head>
<body>
<h1>Chat</h1>
<ul id="log"></ul>
<form id="send">
  <input id="name" placeholder="name" required maxlength="40">
  <input id="text" placeholder="message" required maxlength="1000" autocomplete="off">
  <button type="submit">Send</button>
</form>
<p id="status">connecting</p>
<script>
const log = document.getElementById("log");
const seen = new Set();
function show(m) {
  if (seen.has(m.id)) return;
  seen.add(m.id);
  const li = document.createElement("li");
  const who = document.createElement("b");
  who.textContent = m.name;
  li.appendChild(who);
  li.appendChild(document.createTextNode(m.text));
  log.appendChild(li);
}
const events = new EventSource("/events");
events.addEventListener("message", e => show(JSON.parse(e.data)));
events.onopen = () => { document.getElementById("status").textContent = "connected"; };
events.onerror = () => { document.getElementById("status").textContent = "reconnecting"; };
document.getElementById("send").addEventListener("submit", async e => {
  e.preventDefault();
  const text = document.getElementById("text");
  const r = await fetch("/messages", {method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify({name: document.getElementById("name").value, text: text.value})});
  if (r.ok) text.value = "";
});
</script>
</body>
</html>
]]

---------------------------------------------------------------------------------------------
-- The streams this worker holds, and what reaches them
---------------------------------------------------------------------------------------------

local streams = {} -- stream -> true

-- When this code goes away (a reload, the worker stops), its streams end: a browser's
-- EventSource reconnects (to the new code) with Last-Event-ID and misses nothing.
assert(lunaserve.timer.every(60, function(premature)
    if premature then
        for stream in pairs(streams) do
            stream:close()
        end
    end
end))

local function deliver(msg)
    local data = json.encode(msg)
    for stream in pairs(streams) do
        stream:send({ event = "message", id = tostring(msg.id), data = data })
    end
end

---------------------------------------------------------------------------------------------
-- Where messages live: PostgreSQL, or this process
---------------------------------------------------------------------------------------------

local store = {}

if URL then
    local pg = require("lunaserve.pg")
    local pool = pg.pool({ url = URL, size = 5 })
    -- the table, made once (a lock keeps workers that load together from racing)
    assert(pool:transaction(function(db)
        assert(db:query("SELECT pg_advisory_xact_lock(hashtext('lunaserve_chat_schema'))"))
        assert(db:query([[
            CREATE TABLE IF NOT EXISTS chat_messages (
                id bigserial PRIMARY KEY,
                name text NOT NULL,
                text text NOT NULL,
                at timestamptz NOT NULL DEFAULT now())]]))
        return true
    end))

    function store.add(name, text)
        local rows, err = pool:query("INSERT INTO chat_messages (name, text) VALUES ($1, $2)"
            .. " RETURNING id, name, text", name, text)
        if not rows then
            return nil, err
        end
        local msg = rows[1]
        -- every worker's listener (this one's too) hears it and delivers it
        local ok, nerr = pool:notify(CHANNEL, json.encode(msg))
        if not ok then
            return nil, nerr
        end
        return msg
    end

    function store.since(after)
        local rows, err = pool:query("SELECT id, name, text FROM (SELECT id, name, text FROM"
            .. " chat_messages WHERE id > $1 ORDER BY id DESC LIMIT $2) m ORDER BY id",
            after or 0, HISTORY)
        return rows, err
    end

    -- The listener: one connection of its own per worker, listening before the worker
    -- serves (so no message posted after that is missed), then waiting for notifications in
    -- a timer until the code is replaced or the worker stops; it reconnects after a failure.
    local first = assert(pg.connect(URL))
    assert(first:listen(CHANNEL))
    assert(lunaserve.timer.at(0, function(premature)
        if premature then
            return
        end
        while not lunaserve.exiting() do
            local db, err = first, nil
            first = nil
            if not db then
                db, err = pg.connect(URL)
                local listening, lerr = db and db:listen(CHANNEL)
                if db and not listening then
                    db:close()
                    db, err = nil, lerr
                end
            end
            if db then
                while not lunaserve.exiting() do
                    local note, werr = db:wait_for_notification(2)
                    if note then
                        local ok, msg = pcall(json.decode, note.payload)
                        if ok and msg then
                            deliver(msg)
                        end
                    elseif werr ~= "timeout" then
                        break
                    end
                end
            else
                io.stderr:write("chat: cannot listen: ", tostring(err), "\n")
            end
            if db then
                db:close()
            end
            if not lunaserve.exiting() then
                lunaserve.sleep(1000)
            end
        end
    end))
else
    local messages, next_id = {}, 1

    function store.add(name, text)
        local msg = { id = next_id, name = name, text = text }
        next_id = next_id + 1
        messages[#messages + 1] = msg
        if #messages > HISTORY then
            table.remove(messages, 1)
        end
        deliver(msg)
        return msg
    end

    function store.since(after)
        local out = {}
        for _, m in ipairs(messages) do
            if m.id > (after or 0) then
                out[#out + 1] = m
            end
        end
        return out
    end
end

---------------------------------------------------------------------------------------------
-- Routes
---------------------------------------------------------------------------------------------

local app = router.new()

app:get("/", function(req, res)
    res:setHeader("Content-Type", "text/html; charset=utf-8")
    res:finish(PAGE)
end)

-- A message's fields, checked: the message, or nil and the error naming the field.
local function check(body)
    if type(body) ~= "table" then
        return nil, { error = "the body must be a JSON object", field = json.null }
    end
    for _, f in ipairs({ { "name", 40 }, { "text", 1000 } }) do
        local v = body[f[1]]
        if type(v) ~= "string" or v:match("^%s*$") then
            return nil, { error = f[1] .. " is required", field = f[1] }
        end
        if utf8.len(v) == nil then
            return nil, { error = f[1] .. " must be UTF-8 text", field = f[1] }
        end
        if utf8.len(v) > f[2] then
            return nil, { error = f[1] .. " is longer than " .. f[2] .. " characters", field = f[1] }
        end
    end
    return { name = body.name, text = body.text }
end

app:post("/messages", function(req, res)
    local body, err = req:json()
    if body == nil then
        return res:json({ error = "bad JSON: " .. tostring(err), field = json.null }, 400)
    end
    local m, problem = check(body)
    if not m then
        return res:json(problem, 400)
    end
    local msg, serr = store.add(m.name, m.text)
    if not msg then
        return res:json({ error = "cannot store the message: " .. tostring(serr) }, 503)
    end
    res:json(msg, 201)
end)

app:get("/messages", function(req, res)
    local rows, err = store.since(0)
    if not rows then
        return res:json({ error = tostring(err) }, 503)
    end
    res:json(json.array(rows))
end)

app:get("/events", function(req, res)
    local stream = sse(res)
    streams[stream] = true
    stream:on_close(function()
        streams[stream] = nil
    end)
    -- which worker serves this stream, then what the client missed (or the recent ones);
    -- a message that arrives meanwhile may come twice: the page keeps one per id
    stream:comment("worker " .. PID)
    local last = tonumber(req.headers["last-event-id"] or "")
    for _, m in ipairs(store.since(last or 0) or {}) do
        stream:send({ event = "message", id = tostring(m.id), data = json.encode(m) })
    end
end)

return app
