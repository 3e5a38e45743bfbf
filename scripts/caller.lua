-- POST /caller: route a call by what the CRM knows of the caller (the API
-- docs' scenarios).
--   * an open lead goes to the representative who spoke to them;
--   * a customer with an open ticket goes to the desk handling it;
--   * anyone else (or anyone, when the CRM cannot say) goes to sales.
local crm = require("lib.crm")
local log = require("log")
local phone = require("phone")

local SALES, SERVICE = 10, 30

return {
  fallback = SALES,
  handle = function(call)
    local contact, err = crm.by_phone(phone.to_local(call.caller_id) or call.caller_id)
    if contact == nil then
      log.warn("CRM lookup failed, routing by rules", { error = err })
      return ivr.go_to_layer(SALES)
    end
    if not contact then
      return ivr.go_to_layer(SALES, { custom_data = { reason = "unknown caller" } })
    end
    if contact.type == "lead" and contact.rep then
      log.info("lead back to their representative", { rep = contact.rep.name })
      return ivr.go_to_layer(contact.rep.layer, {
        caller_name = contact.name,
        custom_data = { Last_representative = contact.rep.name, reason = "open lead" },
      })
    end
    if contact.ticket then
      return ivr.go_to_layer(contact.ticket.desk_layer, {
        caller_name = contact.name,
        custom_data = { CRM_client_ID = contact.crm_id, Last_ticket_ID = contact.ticket.id },
      })
    end
    return ivr.go_to_layer(SERVICE, { caller_name = contact.name, custom_data = { CRM_client_ID = contact.crm_id } })
  end,
}
