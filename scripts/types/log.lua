---@meta log
-- Editor definitions of require("log"); see bridge/log/README.md.

---Name = value; strings, numbers, booleans and tables (as JSON-like text).
---Reserved names: time, level, msg, source, where, ivr_unique_id, script.
---@alias log.Fields table<string, any>

---Records in the server log, tagged with the call's IVR_UNIQUE_ID and the script's file:line.
---@class log
local log = {}

---@param msg string|number
---@param fields? log.Fields
function log.debug(msg, fields) end

---@param msg string|number
---@param fields? log.Fields
function log.info(msg, fields) end

---@param msg string|number
---@param fields? log.Fields
function log.warn(msg, fields) end

---@param msg string|number
---@param fields? log.Fields
function log.error(msg, fields) end

return log
