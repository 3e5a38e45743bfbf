-- answers: 99
-- 1 MB printed again and again.
return function(call)
  local s = string.rep("x", 1024 * 1024)
  for i = 1, 1e9 do print(s) end
  return ivr.go_to_layer(1)
end
