-- POST /crm-cached (loadbench): route by the caller's CRM record, cached for
-- five minutes, as a script in production would. Once warm, a call costs a
-- cache read instead of a CRM request; loadbench compares it with layers/5.lua.
local cache = require("cache")
local http = require("http")
local json = require("json")
local env = require("env")

local CRM = env.get("CRM_URL") or "http://127.0.0.1:8081"
local SALES = 10

local function contact(phone)
  local res, err = http.get(CRM .. "/contacts", { query = { phone = phone }, timeout = 1000 })
  if not res then return nil, err end
  if res.status == 404 then return { found = false } end
  if res.status ~= 200 then return nil, "CRM answered " .. res.status end
  local c, derr = json.decode(res.body)
  if not c then return nil, derr end
  c.found = true
  return c
end

return {
  fallback = SALES,
  handle = function(call)
    local c = cache.remember("crm:phone:" .. call.caller_id, 300, function()
      return contact(call.caller_id)
    end)
    if not c or not c.found or not c.rep then
      return ivr.go_to_layer(SALES)
    end
    return ivr.go_to_layer(c.rep.layer, { caller_name = c.name })
  end,
}
