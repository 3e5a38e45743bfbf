---@meta env
-- Editor definitions of require("env"); see bridge/env/README.md.

---Configuration the operator allows (serve --env): URLs and tokens stay out of scripts.
---@class env
local env = {}

---The value, or nil (default, when given) if unset or empty; a name not
---allowed raises.
---@param name string
---@return string?
---@overload fun(name: string, default: string): string
function env.get(name) end

return env
