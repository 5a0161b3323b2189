-- apps/todo: a JSON REST API for a todo list on PostgreSQL, with an HTML page. A template to
-- copy.
--
--   sh apps/todo/start-postgres.sh                       # a throwaway PostgreSQL, if need be
--   DATABASE_URL=postgresql://... build/lunaserve apps/todo
--   curl -i -H 'Content-Type: application/json' -d '{"title":"milk"}' http://127.0.0.1:8080/todos
--   curl -i 'http://127.0.0.1:8080/todos?limit=20'
--
-- The API (bodies are JSON; a todo is {"id", "title", "done", "version", "created_at",
-- "updated_at"}):
--   GET    /todos?limit=N&after=ID  a page, oldest first: {"items": [...], "next": URL or null}
--                                   (limit 1..100, default 20; "next" and a Link header give
--                                   the following page)
--   POST   /todos                   {"title": "...", "done": false}: 201, Location
--   GET    /todos/:id               200, or 404
--   PATCH  /todos/:id               any of title and done
--   PUT    /todos/:id               title and done, both
--   DELETE /todos/:id               204
-- - Bad input is 400 with {"error": "...", "field": "title"}; "body" names the body itself
--   (not JSON, not an object). A body that is not application/json is 415.
-- - GET answers carry a strong ETag ("ID-VERSION" for a todo: the version goes up with every
--   change; a hash of the body for a page): If-None-Match that matches gives 304, no body.
--   PATCH, PUT and DELETE take If-Match: a todo that has changed since gives 412.
--
-- The schema is a numbered list of SQL steps (MIGRATIONS below), applied as the app loads,
-- each recorded in schema_migrations, under an advisory lock, so processes that load at once
-- (the workers of --workers 2 on a reload, servers on several hosts) wait for each other and
-- the steps run once.
local json = require("lunaserve.json")
local router = require("lunaserve.router")
local form = require("lunaserve.form")
local crypto = require("lunaserve.crypto")

local HERE = (debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "apps/todo")

local URL = os.getenv("DATABASE_URL")
if not URL or URL == "" then
    -- one line and out (an error would add its traceback, which says nothing more here); only
    -- the first load gets here, since a reload sees the same environment
    io.stderr:write("apps/todo needs DATABASE_URL; start a throwaway PostgreSQL with: sh ", HERE,
        "/start-postgres.sh\n")
    os.exit(1)
end

local pg = require("lunaserve.pg")
local pool = pg.pool({ url = URL, size = 10 })

---------------------------------------------------------------------------------------------
-- Migrations
---------------------------------------------------------------------------------------------

-- Append new steps at the end; never change one that has been applied somewhere. Each is
-- one script (db:exec: several statements may go in one step) run in the transaction that
-- records it.
local MIGRATIONS = {
    { name = "create the todos table", sql = [[
        CREATE TABLE todos (
            id bigserial PRIMARY KEY,
            title text NOT NULL,
            done boolean NOT NULL DEFAULT false,
            created_at timestamptz NOT NULL DEFAULT now())]] },
    { name = "a version and an update time for each todo (ETags)", sql = [[
        ALTER TABLE todos
            ADD COLUMN version integer NOT NULL DEFAULT 1,
            ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now()]] },
}

local function migrate(db)
    -- a lock held until this transaction ends: another worker loading now waits here, then
    -- finds the steps applied
    assert(db:query("SELECT pg_advisory_xact_lock(hashtext('lunaserve apps/todo migrations'))"))
    assert(db:query([[
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version integer PRIMARY KEY,
            name text NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now())]]))
    local rows = assert(db:query("SELECT coalesce(max(version), 0) AS v FROM schema_migrations"))
    local applied = {}
    for v = rows[1].v + 1, #MIGRATIONS do
        local step = MIGRATIONS[v]
        local ok, err = db:exec(step.sql)
        if not ok then
            error(string.format("migration %d (%s) failed: %s", v, step.name, err), 0)
        end
        assert(db:query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", v,
            step.name))
        applied[#applied + 1] = v
    end
    return applied
end

do
    local applied, err = pool:transaction(migrate)
    if not applied then
        error("apps/todo: cannot bring the database up to date: " .. tostring(err), 0)
    end
    for _, v in ipairs(applied) do
        io.stderr:write(string.format("todo: applied migration %d (%s)\n", v, MIGRATIONS[v].name))
    end
end

---------------------------------------------------------------------------------------------
-- Representations
---------------------------------------------------------------------------------------------

local COLUMNS = [[id, title, done, version,
    to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS created_at,
    to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS updated_at]]

-- A todo as JSON, its keys in a fixed order: the same todo is always the same bytes, which a
-- strong ETag promises.
local function todo_json(t)
    return string.format('{"id":%d,"title":%s,"done":%s,"version":%d,"created_at":"%s",'
        .. '"updated_at":"%s"}', t.id, json.encode(t.title), tostring(t.done), t.version,
        t.created_at, t.updated_at)
end

local function etag_of(t)
    return string.format('"%d-%d"', t.id, t.version)
end

local function send(res, status, body, etag)
    res.statusCode = status
    res:setHeader("Content-Type", "application/json")
    if etag then
        res:setHeader("ETag", etag)
        res:setHeader("Cache-Control", "no-cache") -- stored, but checked again before use
    end
    res:finish(body)
end

local function fail(res, status, message, field)
    res:json({ error = message, field = field }, status)
end

local function db_failed(res, err)
    io.stderr:write("todo: database: ", tostring(err), "\n")
    fail(res, 503, "the database is unavailable")
end

-- The entity-tags of an If-Match or If-None-Match field: "*", or a list of {tag, weak}.
local function tags_of(value)
    if value == nil then
        return nil
    end
    if value:match("^%s*%*%s*$") then
        return "*"
    end
    local out = {}
    for weak, tag in value:gmatch('(W?/?)"([^"]*)"') do
        out[#out + 1] = { tag = tag, weak = weak == "W/" }
    end
    return out
end

-- If-None-Match (RFC 9110 13.1.2, weak comparison): true when the client has `etag`.
local function none_match_fails(req, etag)
    local tags = tags_of(req.headers["if-none-match"])
    if tags == nil then
        return false
    end
    if tags == "*" then
        return true
    end
    local want = etag:sub(2, -2)
    for _, t in ipairs(tags) do
        if t.tag == want then
            return true
        end
    end
    return false
end

local function not_modified(res, etag)
    res.statusCode = 304
    res:setHeader("ETag", etag)
    res:setHeader("Cache-Control", "no-cache")
    res:finish()
end

---------------------------------------------------------------------------------------------
-- Input
---------------------------------------------------------------------------------------------

local TITLE_MAX = 200
local READ_ONLY = { id = true, version = true, created_at = true, updated_at = true }

-- The todo id of a path, or nil (a path that names no todo: 404).
local function id_of(req)
    local s = req.params.id
    if not s:match("^%d+$") or #s > 18 then
        return nil
    end
    local id = math.tointeger(tonumber(s))
    return id and id > 0 and id or nil
end

-- The request's JSON object, or nil after the answer (415, 400, 413) was sent.
local function body_of(req, res)
    local ctype = (req.headers["content-type"] or ""):match("^%s*([^;%s]*)"):lower()
    -- (application/json also keeps other sites' plain HTML forms out: a browser sends it
    -- across origins only after a CORS preflight this app does not answer)
    if ctype ~= "application/json" then
        fail(res, 415, "the body must be JSON, sent with Content-Type: application/json",
            "Content-Type")
        return nil
    end
    local body, err = req:json()
    if body == nil then
        if err == "too large" then
            if not res.finished then
                fail(res, 413, "the body is too large", "body")
            end
            return nil
        end
        fail(res, 400, "the body is not valid JSON: " .. tostring(err), "body")
        return nil
    end
    if type(body) ~= "table" then
        fail(res, 400, "the body must be a JSON object", "body")
        return nil
    end
    local unknown
    for k in pairs(body) do
        if type(k) ~= "string" then
            fail(res, 400, "the body must be a JSON object", "body")
            return nil
        end
        if k ~= "title" and k ~= "done" and not READ_ONLY[k] and (not unknown or k < unknown) then
            unknown = k
        end
    end
    if unknown then
        fail(res, 400, "unknown field " .. unknown .. ": a todo has title and done", unknown)
        return nil
    end
    return body
end

-- Checks the fields a body gives for `use`: "create" (title needed, done optional),
-- "replace" (both needed) or "change" (either). Returns title, done (nil where absent), or
-- false after the 400 was sent.
local function fields_of(res, body, use)
    local title, done = body.title, body.done
    if title ~= nil or use ~= "change" then
        if type(title) ~= "string" or title:match("^%s*$") or not utf8.len(title)
            or utf8.len(title) > TITLE_MAX then
            fail(res, 400, "title must be a non-empty string of at most " .. TITLE_MAX
                .. " characters", "title")
            return false
        end
    end
    if done ~= nil or use == "replace" then
        if type(done) ~= "boolean" then
            fail(res, 400, "done must be true or false", "done")
            return false
        end
    end
    return title, done
end

-- If-Match (strong comparison): nil (no condition), or the versions of todo `id` it accepts
-- as "v1,v2" ("" when none can match).
local function if_match_versions(req, id)
    local tags = tags_of(req.headers["if-match"])
    if tags == nil or tags == "*" then
        return nil
    end
    local versions = {}
    for _, t in ipairs(tags) do
        local tid, v = t.tag:match("^(%d+)-(%d+)$")
        if not t.weak and tid and math.tointeger(tonumber(tid)) == id and #v <= 9 then
            versions[#versions + 1] = v
        end
    end
    return table.concat(versions, ",")
end

-- After a write that touched no row: 404 when the todo is gone, else 412 (If-Match failed).
local function missing_or_changed(res, id)
    local rows, err = pool:query("SELECT id, version FROM todos WHERE id = $1", id)
    if not rows then
        return db_failed(res, err)
    end
    if not rows[1] then
        return fail(res, 404, "no todo " .. id)
    end
    res:setHeader("ETag", etag_of(rows[1]))
    fail(res, 412, "the todo has changed since (If-Match): its ETag is now " .. etag_of(rows[1]))
end

---------------------------------------------------------------------------------------------
-- Routes
---------------------------------------------------------------------------------------------

local app = router.new()

local LIMIT_DEFAULT, LIMIT_MAX = 20, 100

app:get("/todos", function(req, res)
    local q = form.parse(req.query or "") or {}
    local limit, after = LIMIT_DEFAULT, 0
    if q.limit ~= nil then
        limit = type(q.limit) == "string" and q.limit:match("^%d+$") and #q.limit <= 3
            and tonumber(q.limit)
        if not limit or limit < 1 or limit > LIMIT_MAX then
            return fail(res, 400, "limit must be a whole number from 1 to " .. LIMIT_MAX, "limit")
        end
        limit = math.tointeger(limit)
    end
    if q.after ~= nil then
        after = type(q.after) == "string" and q.after:match("^%d+$") and #q.after <= 18
            and math.tointeger(tonumber(q.after))
        if not after then
            return fail(res, 400, "after must be the id of a todo (a whole number, 0 or more)",
                "after")
        end
    end
    -- keyset paging: the page after a todo stays right when todos are added or deleted
    local rows, err = pool:query("SELECT " .. COLUMNS .. " FROM todos WHERE id > $1"
        .. " ORDER BY id LIMIT $2", after, limit + 1)
    if not rows then
        return db_failed(res, err)
    end
    local items = {}
    for i = 1, math.min(#rows, limit) do
        items[i] = todo_json(rows[i])
    end
    local next_url
    if #rows > limit then
        next_url = string.format("/todos?limit=%d&after=%d", limit, rows[limit].id)
        res:setHeader("Link", "<" .. next_url .. '>; rel="next"')
    end
    local body = '{"items":[' .. table.concat(items, ",") .. '],"next":'
        .. (next_url and json.encode(next_url) or "null") .. "}"
    local etag = '"' .. crypto.to_hex(crypto.sha256(body)):sub(1, 32) .. '"'
    if none_match_fails(req, etag) then
        return not_modified(res, etag)
    end
    send(res, 200, body, etag)
end)

app:post("/todos", function(req, res)
    local body = body_of(req, res)
    if not body then
        return
    end
    local title, done = fields_of(res, body, "create")
    if title == false then
        return
    end
    local rows, err = pool:query("INSERT INTO todos (title, done) VALUES ($1, $2)"
        .. " RETURNING " .. COLUMNS, title, done == true)
    if not rows then
        return db_failed(res, err)
    end
    local t = rows[1]
    res:setHeader("Location", "/todos/" .. t.id)
    send(res, 201, todo_json(t), etag_of(t))
end)

app:get("/todos/:id", function(req, res)
    local id = id_of(req)
    if not id then
        return fail(res, 404, "no todo " .. req.params.id)
    end
    local rows, err = pool:query("SELECT " .. COLUMNS .. " FROM todos WHERE id = $1", id)
    if not rows then
        return db_failed(res, err)
    end
    local t = rows[1]
    if not t then
        return fail(res, 404, "no todo " .. id)
    end
    local etag = etag_of(t)
    if none_match_fails(req, etag) then
        return not_modified(res, etag)
    end
    send(res, 200, todo_json(t), etag)
end)

-- PATCH (any of the fields) and PUT (all of them): one UPDATE, conditional on If-Match.
local function update(use)
    return function(req, res)
        local id = id_of(req)
        if not id then
            return fail(res, 404, "no todo " .. req.params.id)
        end
        local body = body_of(req, res)
        if not body then
            return
        end
        local title, done = fields_of(res, body, use)
        if title == false then
            return
        end
        if title == nil and done == nil then
            return fail(res, 400, "nothing to change: give title or done", "body")
        end
        local rows, err = pool:query("UPDATE todos SET title = coalesce($2::text, title),"
            .. " done = coalesce($3::boolean, done), version = version + 1, updated_at = now()"
            .. " WHERE id = $1 AND ($4::text IS NULL"
            .. " OR version = ANY (string_to_array($4::text, ',')::integer[]))"
            .. " RETURNING " .. COLUMNS, id, title, done, if_match_versions(req, id))
        if not rows then
            return db_failed(res, err)
        end
        if not rows[1] then
            return missing_or_changed(res, id)
        end
        send(res, 200, todo_json(rows[1]), etag_of(rows[1]))
    end
end

app:patch("/todos/:id", update("change"))
app:put("/todos/:id", update("replace"))

app:delete("/todos/:id", function(req, res)
    local id = id_of(req)
    if not id then
        return fail(res, 404, "no todo " .. req.params.id)
    end
    local rows, err = pool:query("DELETE FROM todos WHERE id = $1 AND ($2::text IS NULL"
        .. " OR version = ANY (string_to_array($2::text, ',')::integer[])) RETURNING id",
        id, if_match_versions(req, id))
    if not rows then
        return db_failed(res, err)
    end
    if not rows[1] then
        return missing_or_changed(res, id)
    end
    res.statusCode = 204
    res:finish()
end)

---------------------------------------------------------------------------------------------
-- The page
---------------------------------------------------------------------------------------------

local PAGE = [[<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Todo</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:sans-serif;max-width:40em;margin:2em auto;padding:0 1em}
#list{list-style:none;padding:0}#list li{display:flex;gap:.5em;align-items:center;padding:.2em 0}
#list li.done .title{text-decoration:line-through;color:#777}#list .title{flex:1}
#error{color:#b00}</style></head>
<body>
<h1>Todo</h1>
<form id="add">
  <input id="title" placeholder="What needs doing?" required maxlength="200" autocomplete="off">
  <button type="submit">Add</button>
</form>
<p id="error" role="alert"></p>
<ul id="list"></ul>
<p id="status">loading</p>
<script>
const list = document.getElementById("list");
const status = document.getElementById("status");
const error = document.getElementById("error");

// A call to the API: the decoded body (null for 204), or an Error with the API's message.
async function api(method, url, body, headers) {
  const opts = {method, headers: Object.assign({}, headers)};
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const r = await fetch(url, opts);
  if (r.status === 204) return null;
  const data = await r.json();
  if (!r.ok) throw new Error(data.error || r.statusText);
  return data;
}

function etag(t) { return '"' + t.id + '-' + t.version + '"'; }

function render(items) {
  list.replaceChildren(...items.map(t => {
    const li = document.createElement("li");
    li.dataset.id = t.id;
    li.className = t.done ? "done" : "";
    const box = document.createElement("input");
    box.type = "checkbox";
    box.checked = t.done;
    box.addEventListener("change", () => act(() =>
      api("PATCH", "/todos/" + t.id, {done: box.checked}, {"If-Match": etag(t)})));
    const title = document.createElement("span");
    title.className = "title";
    title.textContent = t.title;
    const del = document.createElement("button");
    del.className = "delete";
    del.textContent = "Delete";
    del.addEventListener("click", () => act(() =>
      api("DELETE", "/todos/" + t.id, undefined, {"If-Match": etag(t)})));
    li.append(box, title, del);
    return li;
  }));
}

// Every page of the list, following "next".
async function load() {
  const items = [];
  for (let url = "/todos?limit=100"; url; ) {
    const page = await api("GET", url);
    items.push(...page.items);
    url = page.next;
  }
  render(items);
  status.textContent = items.length + (items.length === 1 ? " todo" : " todos");
}

// Runs a change, then shows the list as the server has it (also after a failure).
async function act(change) {
  status.textContent = "saving";
  error.textContent = "";
  try { await change(); } catch (e) { error.textContent = e.message; }
  try { await load(); } catch (e) { error.textContent = e.message; status.textContent = "offline"; }
}

document.getElementById("add").addEventListener("submit", e => {
  e.preventDefault();
  const input = document.getElementById("title");
  act(async () => { await api("POST", "/todos", {title: input.value}); input.value = ""; });
});

act(async () => {});
</script>
</body>
</html>
]]

app:get("/", function(req, res)
    res:setHeader("Content-Type", "text/html; charset=utf-8")
    res:finish(PAGE)
end)

return app
