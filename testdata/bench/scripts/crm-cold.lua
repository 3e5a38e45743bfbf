-- POST /crm-cold (loadbench): the same routing as crm-cached.lua with no cache,
-- so every call waits for a CRM request. loadbench compares its p99 with the
-- CRM stub's own: the difference is what ivrouter adds to a CRM round trip.
local http = require("http")
local json = require("json")
local env = require("env")

local CRM = env.get("CRM_URL") or "http://127.0.0.1:8081"
local SALES = 10

return {
  fallback = SALES,
  handle = function(call)
    local res = http.get(CRM .. "/contacts", { query = { phone = call.caller_id }, timeout = 1000 })
    if not res or res.status ~= 200 then
      return ivr.go_to_layer(SALES)
    end
    local c = json.decode(res.body)
    if not c or not c.rep then
      return ivr.go_to_layer(SALES)
    end
    return ivr.go_to_layer(c.rep.layer, { caller_name = c.name })
  end,
}
