-- answers: 99
-- Every byte of a 150 KB string as a result.
return function(call)
  local s = string.rep("x", 150000)
  local t = { string.byte(s, 1, -1) }
  return ivr.go_to_layer(1)
end
