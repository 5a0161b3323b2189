-- A handler with a listener for another event ('finish', 'close') that reads the body only
-- after a wait (the body arrives meanwhile): the body must still be all there for it.
local lunaserve = require("lunaserve")
return function(req, res)
    res:on("finish", function() end)
    req:on("close", function() end)
    lunaserve.sleep(100)
    local body, err = req:body()
    res:finish("got:" .. tostring(body and #body) .. ":" .. tostring(err))
end
