---@meta phone
-- Editor definitions of require("phone"); see bridge/phone/README.md.

---@alias phone.Kind "mobile"|"landline"|"voip"|"tollfree"

---Israeli phone numbers. n must be a string: a Lua number has lost its 0.
---@class phone
local phone = {}

---"972501234567", or nil, err for a number that is not Israeli.
---@param n string
---@return string? number
---@return string? err
function phone.to_international(n) end

---"0501234567" ("1800123456" for 1-800), or nil, err.
---@param n string
---@return string? number
---@return string? err
function phone.to_local(n) end

---@param n string
---@return boolean
function phone.is_valid(n) end

---@param n string
---@return phone.Kind?
function phone.kind(n) end

return phone
