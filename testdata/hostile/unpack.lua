-- answers: 99
-- 100 million results from unpack.
return function(call)
  local n = select("#", unpack({}, 1, 1e8))
  return ivr.go_to_layer(1)
end
