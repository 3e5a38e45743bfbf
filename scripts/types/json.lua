---@meta json
-- Editor definitions of require("json"); see bridge/json/README.md.

---What JSON null decodes to and encodes from: == json.null, and truthy.
---@class json.Null: userdata

---JSON text and Lua values.
---@class json
local json = {}

---The value JSON null decodes to: test v.x ~= json.null, not `if v.x`.
---@type json.Null
json.null = nil

---The JSON text of v; raises if v is not plain data.
---@param v any
---@return string
function json.encode(v) end

---The value of s, or nil, err if s is not JSON (never raises for bad input).
---@param s string
---@return any value
---@return string? err
function json.decode(s) end

---t marked as a list (encoded as an array even when empty), or a new empty list.
---@generic T: table
---@param t? T
---@return T
function json.array(t) end

return json
