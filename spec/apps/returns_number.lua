-- Returns a number: not a handler, start-up must fail.
return 42
