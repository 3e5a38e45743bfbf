-- answers: 99
-- A format width of 99,999,999.
return function(call)
  local s = string.format("%99999999d", 1)
  return ivr.go_to_layer(1)
end
