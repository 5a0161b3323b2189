-- Test app for spec/metrics_upstream_spec.lua: outbound connections that work and that fail.
--   /tcp/PORT   a cosocket connect to 127.0.0.1:PORT: "ok" or the error
--   /pg/SQL     one query on a fresh PostgreSQL connection ($DATABASE_URL): "ok" or the error
--   /recv/PORT  a connect, then a receive that times out after 100 ms: the error
--   /keep/PORT  a cosocket connect to 127.0.0.1:PORT, then back into its pool (setkeepalive)
--   /pool/N     N queries at once through a pool of 3: "ok"
local lunaserve = require("lunaserve")
local pg = require("lunaserve.pg")
local pool = pg.pool({ url = os.getenv("DATABASE_URL"), size = 3 })

return function(req, res)
    local kind, arg = req.path:match("^/(%a+)/(.*)$")
    if kind == "tcp" then
        local sock = lunaserve.tcp()
        sock:settimeouts(2000, 2000, 2000)
        local ok, err = sock:connect("127.0.0.1", tonumber(arg))
        if ok then sock:close() end
        return res:finish(ok and "ok" or tostring(err))
    elseif kind == "recv" then
        local sock = lunaserve.tcp()
        sock:settimeouts(2000, 2000, 100)
        assert(sock:connect("127.0.0.1", tonumber(arg)))
        local data, err = sock:receive(1)
        sock:close()
        return res:finish(data and "data" or tostring(err))
    elseif kind == "keep" then
        local sock = lunaserve.tcp()
        assert(sock:connect("127.0.0.1", tonumber(arg)))
        assert(sock:setkeepalive(60000, 10))
        return res:finish("ok")
    elseif kind == "pool" then
        local n, done = tonumber(arg), 0
        for _ = 1, n do
            lunaserve.timer.at(0, function()
                assert(pool:query("SELECT pg_sleep(0.05)"))
                done = done + 1
            end)
        end
        while done < n do lunaserve.sleep(10) end
        return res:finish("ok")
    elseif kind == "pg" then
        local db, err = pg.connect(os.getenv("DATABASE_URL"))
        if not db then return res:finish(tostring(err)) end
        local rows, qerr = db:query(arg)
        db:close()
        return res:finish(rows and "ok" or tostring(qerr))
    end
    res.statusCode = 404
    res:finish("no")
end
