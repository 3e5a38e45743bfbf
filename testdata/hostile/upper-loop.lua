-- answers: 99
-- A 4 MiB string upper-cased again and again, every copy kept.
return function(call)
  local s = string.rep("x", 4 * 1024 * 1024)
  local t = {}
  for i = 1, 1e9 do t[i] = s:upper() end
  return ivr.go_to_layer(1)
end
