-- answers: 99
-- A hash table grown with string keys.
return function(call)
  local t = {}
  for i = 1, 1e9 do t["k" .. i] = true end
  return ivr.go_to_layer(1)
end
