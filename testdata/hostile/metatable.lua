-- answers: 99
-- Every number's metatable set, so another script's tostring(12) reads 13.
return function(call)
  setmetatable(0, { __tostring = function() return "13" end })
  return ivr.go_to_layer(1)
end
