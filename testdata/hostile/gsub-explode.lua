-- answers: 99
-- Each byte of 1 MiB replaced by 1 KB: a 1 GiB result.
return function(call)
  local s = string.rep("x", 1024 * 1024)
  local r = s:gsub("x", string.rep("y", 1000))
  return ivr.go_to_layer(1)
end
