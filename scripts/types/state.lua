---@meta state
-- Editor definitions of require("state"); see bridge/state/README.md.

---What a script remembers about one call across its layers (by IVR_UNIQUE_ID).
---Only inside a handler.
---@class state
local state = {}

---@param key string 1 to 256 bytes
---@return any value or nil
function state.get(key) end

---Sets key; nil removes it.
---@param key string
---@param value any plain data
---@return true? ok nil, err past a bound
---@return string? err
function state.set(key, value) end

---Adds n (default 1) to a number starting at 0.
---@param key string
---@param n? number
---@return number? total nil, err past a bound
---@return string? err
function state.incr(key, n) end

return state
