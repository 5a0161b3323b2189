-- Test app for spec/metrics_upstream_spec.lua: outbound connections that work and that fail.
--   /tcp/PORT   a cosocket connect to 127.0.0.1:PORT: "ok" or the error
--   /pg/SQL     one query on a fresh PostgreSQL connection ($DATABASE_URL): "ok" or the error
local lunaserve = require("lunaserve")
local pg = require("lunaserve.pg")

return function(req, res)
    local kind, arg = req.path:match("^/(%a+)/(.*)$")
    if kind == "tcp" then
        local sock = lunaserve.tcp()
        sock:settimeouts(2000, 2000, 2000)
        local ok, err = sock:connect("127.0.0.1", tonumber(arg))
        if ok then sock:close() end
        return res:finish(ok and "ok" or tostring(err))
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
