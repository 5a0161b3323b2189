-- The "db" benchmark app (bench/db.sh): each request reads one row of the 10,000-row table
-- `world` by its primary key through a lunaserve.pg pool and answers it as JSON,
-- {"id":N,"randomNumber":M}; bench/db_node.js does the same on Node.js with the `pg` package.
--   GET /db?id=N  row N
--   GET /         a random row, chosen here (the harness always asks for /)
-- The database is $DATABASE_URL; the pool's size is $PG_POOL_SIZE (10), as Node's.
local cjson = require("cjson")
local pg = require("lunaserve.pg")

local URL = assert(os.getenv("DATABASE_URL"), "DATABASE_URL is not set")
local SIZE = tonumber(os.getenv("PG_POOL_SIZE") or "") or 10
local ROWS = 10000
-- the column alias gives the JSON key, so the row goes out as it comes
local SQL = 'SELECT id, randomnumber AS "randomNumber" FROM world WHERE id = $1'

local pool = pg.pool{ url = URL, size = SIZE, wait_timeout = 10, query_timeout = 10 }

local function fail(res, status, msg)
    res.statusCode = status
    res:setHeader("Content-Type", "text/plain")
    res:finish(msg .. "\n")
end

local function handle(req, res)
    local id
    if req.path == "/db" then
        id = math.tointeger(tonumber(req.query:match("^id=(%d+)$") or ""))
        if not id or id < 1 or id > ROWS then
            return fail(res, 400, "id must be 1.." .. ROWS)
        end
    elseif req.path == "/" then
        id = math.random(ROWS)
    else
        return fail(res, 404, "not found")
    end
    local rows, err = pool:query(SQL, id)
    if not rows then
        return fail(res, 502, "query: " .. tostring(err))
    end
    if not rows[1] then
        return fail(res, 404, "no row " .. id)
    end
    res:setHeader("Content-Type", "application/json")
    res:finish(cjson.encode(rows[1]))
end

return { handle = handle, max_requests = 1000000 }
