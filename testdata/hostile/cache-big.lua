-- answers: 2
-- 4 MiB values into the shared cache, a new key each call.
local cache = require("cache")
return function(call)
  local ok, err = cache.set("big:" .. call.ivr_unique_id, string.rep("x", 4 * 1024 * 1024), 3600)
  if not ok then return ivr.go_to_layer(2) end
  return ivr.go_to_layer(1)
end
