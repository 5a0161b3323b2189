-- A handler that adds its body listeners only after a yield (the body is there already).
local lunaserve = require("lunaserve")
return function(req, res)
  lunaserve.sleep(50)
  local parts = {}
  req:on("data", function(d) parts[#parts+1] = d end)
  req:on("end", function() res:finish("got:" .. table.concat(parts)) end)
end
