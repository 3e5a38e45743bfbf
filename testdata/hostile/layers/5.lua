-- The healthy call every attack runs beside: an 8-digit ID to layer 12.
-- tostring(12) reads 12 only while no script has changed the number type's
-- metatable.
return function(call)
  if call.dtmf:match("^%d%d%d%d%d%d%d%d$") then
    return ivr.go_to_layer(tonumber(tostring(12)))
  end
  return ivr.go_to_layer(13)
end
