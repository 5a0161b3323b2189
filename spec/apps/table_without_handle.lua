-- Returns a table without a `handle` function: start-up must fail.
return { name = "not a handler" }
