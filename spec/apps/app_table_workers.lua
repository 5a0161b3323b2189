-- --workers shapes the process: only the command line sets it.
return {
    handle = function(req, res) res:finish("never served") end,
    workers = 2,
}
