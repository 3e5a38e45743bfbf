-- answers: 2
-- A CRM that never answers, asked with a timeout past the deadline.
local http = require("http")
local env = require("env")
return function(call)
  local res, err = http.get(env.get("HANG_URL"), { timeout = 2000 })
  if not res then return ivr.go_to_layer(2) end
  return ivr.go_to_layer(1)
end
