-- answers: 99
-- Recursion without end.
local function f(n) return f(n + 1) + 1 end
return function(call)
  f(1)
  return ivr.go_to_layer(1)
end
