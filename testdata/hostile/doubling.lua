-- answers: 99
-- A string doubled 40 times: 1 TiB.
return function(call)
  local s = "x"
  for i = 1, 40 do s = s .. s end
  return ivr.go_to_layer(1)
end
