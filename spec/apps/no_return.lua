-- Returns nothing: not a handler, start-up must fail.
local function handle(req, res)
    res:finish("never")
end
