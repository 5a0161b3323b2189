-- A deliberate syntax error on line 3: start-up must fail with "file:3: message".
return function(req, res)
    res:finish("never" +)
end
