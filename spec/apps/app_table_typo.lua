-- A setting spelled as in JavaScript: lunaserve's is max_body.
return {
    handle = function(req, res) res:finish("never served") end,
    maxBody = "2m",
}
