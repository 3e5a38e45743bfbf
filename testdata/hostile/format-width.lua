-- answers: 99
-- Format widths: one of 99,999,999 (fmt refuses widths over 10^6, so it
-- is cheap), then 1 MB widths again and again, every copy kept.
return function(call)
  local s = string.format("%99999999d", 1)
  local t = {}
  for i = 1, 1e9 do t[i] = string.format("%999999d", i) end
  return ivr.go_to_layer(1)
end
