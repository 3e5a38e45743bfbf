-- answers: 99
-- string.rep of 4 MiB, kept, in a loop.
return function(call)
  local t = {}
  for i = 1, 1000 do t[i] = string.rep("x", 4 * 1024 * 1024) end
  return ivr.go_to_layer(1)
end
