-- answers: 99
-- table.concat of 2,000 items with a 4 MiB separator: an 8 GiB string.
return function(call)
  local t = {}
  for i = 1, 2000 do t[i] = "x" end
  local s = table.concat(t, string.rep("y", 4 * 1024 * 1024))
  return ivr.go_to_layer(1)
end
