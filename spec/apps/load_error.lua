-- Raises while loading, on line 3.
local x = 1
error("load-time failure " .. x)
