-- answers: 99
-- A table grown until something stops it.
return function(call)
  local t = {}
  for i = 1, 1e9 do t[i] = i end
  return ivr.go_to_layer(1)
end
