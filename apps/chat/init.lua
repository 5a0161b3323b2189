-- apps/chat: a chat over WebSocket or server-sent events, with an HTML page. A template to
-- copy.
--
--   build/lunaserve apps/chat                                   # one process, in memory
--   DATABASE_URL=postgresql://... build/lunaserve --workers 2 apps/chat   # shared
--   curl -N http://127.0.0.1:8080/events                        # the stream
--   curl -d '{"name":"ann","text":"hi"}' http://127.0.0.1:8080/messages
--
-- With DATABASE_URL, messages are stored in PostgreSQL (table chat_messages, made at load)
-- and every worker, on every host that uses the same database, hears of each one through
-- LISTEN/NOTIFY: a worker's listener passes it to the streams and WebSockets that worker
-- holds. Without it, messages stay in this process (fine for one worker).
--
-- GET /events sends each message as an event `message` whose id is the message's; a client
-- that reconnects with Last-Event-ID gets what it missed (with PostgreSQL), then the stream.
--
-- GET /ws is the same chat over a WebSocket: each message comes as a text frame holding the
-- JSON of the event's data; the recent ones come first (?after=ID: only those after ID). A
-- text frame from the client, {"name": ..., "text": ...}, is posted as POST /messages posts
-- its body; bad input gets a text frame {"error": ..., "field": ...} back (the 400's body),
-- and the connection stays open. The page uses the WebSocket, or the event stream when the
-- browser has no WebSocket, the WebSocket cannot connect, or the address has ?transport=sse.
local lunaserve = require("lunaserve")
local form = require("lunaserve.form")
local json = require("lunaserve.json")
local router = require("lunaserve.router")
local sse = require("lunaserve.sse")
local websocket = require("lunaserve").websocket

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
<p><span id="status">connecting</span> <small id="transport"></small></p>
<script>
const log = document.getElementById("log");
const seen = new Set();
let lastId = 0;
function status(s) { document.getElementById("status").textContent = s; }
function show(m) {
  if (seen.has(m.id)) return;
  seen.add(m.id);
  lastId = Math.max(lastId, m.id);
  const li = document.createElement("li");
  const who = document.createElement("b");
  who.textContent = m.name;
  li.appendChild(who);
  li.appendChild(document.createTextNode(m.text));
  log.appendChild(li);
}
// Sends a message: over the WebSocket while it is open, else with POST /messages.
let ws = null;
async function post(name, text) {
  if (ws && ws.readyState === WebSocket.OPEN) {
    ws.send(JSON.stringify({name, text}));
    return true;
  }
  const r = await fetch("/messages", {method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify({name, text})});
  if (!r.ok) status((await r.json()).error);
  return r.ok;
}
function useEvents() {
  document.getElementById("transport").textContent = "server-sent events";
  const events = new EventSource("/events");
  events.addEventListener("message", e => show(JSON.parse(e.data)));
  events.onopen = () => status("connected");
  events.onerror = () => status("reconnecting");
}
// The WebSocket; after a close it reconnects for what came since (the server restarted, or
// reloaded its code); if none ever opened, the event stream takes over.
let wsWorked = false;
function useWebSocket() {
  document.getElementById("transport").textContent = "WebSocket";
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  const sock = new WebSocket(scheme + location.host + "/ws?after=" + lastId);
  sock.onopen = () => { wsWorked = true; ws = sock; status("connected"); };
  sock.onmessage = e => {
    const m = JSON.parse(e.data);
    if (m.error) status(m.error); else show(m); // an error: for our last message
  };
  sock.onclose = () => {
    ws = null;
    if (!wsWorked) return useEvents();
    status("reconnecting");
    setTimeout(useWebSocket, 1000);
  };
}
if ("WebSocket" in window && new URLSearchParams(location.search).get("transport") !== "sse")
  useWebSocket();
else
  useEvents();
document.getElementById("send").addEventListener("submit", async e => {
  e.preventDefault();
  const text = document.getElementById("text");
  if (await post(document.getElementById("name").value, text.value)) text.value = "";
});
</script>
</body>
</html>
]]

---------------------------------------------------------------------------------------------
-- The streams and WebSockets this worker holds, and what reaches them
---------------------------------------------------------------------------------------------

local streams = {} -- stream -> true
-- The WebSockets: ws -> its state. `pending` is set while the handler sends the history: the
-- messages that arrive meanwhile wait there, so that the history goes first. `history`: the
-- ids it sent, not sent again (a message's notification can reach this worker after a new
-- client read it from the table).
local room = {}

-- When this code goes away (a reload, the worker stops), its streams end: a browser's
-- EventSource reconnects (to the new code) with Last-Event-ID and misses nothing. Its
-- WebSockets are closed with 1001 (going away): the page reconnects with ?after= the last id
-- it has. (At a stop the server sends 1001 to every WebSocket itself; the first is the one
-- close frame that goes out.)
assert(lunaserve.timer.every(60, function(premature)
    if premature then
        for stream in pairs(streams) do
            stream:close()
        end
        for ws in pairs(room) do
            ws:send_close(1001)
        end
    end
end))

local function deliver(msg)
    local data = json.encode(msg)
    for stream in pairs(streams) do
        stream:send({ event = "message", id = tostring(msg.id), data = data })
    end
    -- Sent from this coroutine to every other handler's WebSocket; a send may wait (this
    -- handler's own, at the high-water mark), so over a copy of the room: peers come and go
    -- meanwhile. A peer whose send fails is gone (or was dropped past --max-output): out of
    -- the room, its handler ends on its own.
    local peers = {}
    for ws in pairs(room) do
        peers[#peers + 1] = ws
    end
    for _, ws in ipairs(peers) do
        local peer = room[ws]
        if peer and peer.pending then
            peer.pending[#peer.pending + 1] = msg
        elseif peer and not peer.history[msg.id] and not ws:send_text(data) then
            room[ws] = nil
        end
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

-- Posts a message from a decoded body (nil and err: the JSON's error): the message, or nil,
-- the problem (the answer's body) and its status. POST /messages and the WebSocket's text
-- frames both come here.
local function post(body, err)
    if body == nil then
        return nil, { error = "bad JSON: " .. tostring(err), field = json.null }, 400
    end
    local m, problem = check(body)
    if not m then
        return nil, problem, 400
    end
    local msg, serr = store.add(m.name, m.text)
    if not msg then
        return nil, { error = "cannot store the message: " .. tostring(serr) }, 503
    end
    return msg
end

app:post("/messages", function(req, res)
    local msg, problem, status = post(req:json())
    if not msg then
        return res:json(problem, status)
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

-- A WebSocket's life in the room: the history, then what the client sends, until it leaves.
local function converse(ws, peer, after)
    local rows, err = store.since(after)
    if not rows then
        ws:send_text(json.encode({ error = "cannot read the messages: " .. tostring(err) }))
        rows = {}
    end
    for _, m in ipairs(rows) do
        peer.history[m.id] = true
        if not ws:send_text(json.encode(m)) then
            return
        end
    end
    -- what came while the history was read and sent (a send may wait: more can come)
    local i = 1
    while i <= #peer.pending do
        local m = peer.pending[i]
        if not peer.history[m.id] and not ws:send_text(json.encode(m)) then
            return
        end
        i = i + 1
    end
    peer.pending = nil
    while true do
        local data, typ = ws:recv_frame()
        if not data or typ == "close" then
            return -- gone, or closed (the protocol echoed the close), or a protocol error
        end
        local problem
        if typ == "text" then
            local body, jerr = nil, "empty body" -- as req:json() says of an empty body
            if data ~= "" then
                body, jerr = json.decode(data)
            end
            problem = select(2, post(body, jerr))
        elseif typ == "binary" then
            problem = { error = "messages are JSON in text frames", field = json.null }
        end
        -- (a message posted reaches this client as every other: through deliver)
        if problem and not ws:send_text(json.encode(problem)) then
            return
        end
    end
end

app:get("/ws", function(req, res)
    -- which worker serves it (for the specs, as the stream's first comment)
    res:setHeader("X-Chat-Worker", PID)
    -- a message is at most 1,040 characters (12 bytes each as JSON escapes at worst); an
    -- idle peer is pinged every 30 s; one that does not answer our close goes after 5 s
    local ws = websocket.upgrade(req, res, { max_payload = 16384, ping_interval = 30000,
        close_timeout = 5000 })
    if not ws then
        return -- a bad handshake was answered (400 or 426), or the client left
    end
    local q = form.parse(req.query or "") or {}
    local after = math.tointeger(tonumber(q.after or "")) or 0
    -- in the room before the history is read, so that nothing posted meanwhile is missed
    local peer = { pending = {}, history = {} }
    room[ws] = peer
    local ok, err = pcall(converse, ws, peer, after)
    room[ws] = nil
    if not ok then
        error(err, 0)
    end
end)

return app
