---@meta cache
-- Editor definitions of require("cache"); see bridge/cache/README.md.

---Values shared by every VM. Keys are shared by all scripts: prefix them.
---@class cache
local cache = {}

---The cached value, else loader's, run once for all concurrent misses of key
---and kept for ttl seconds; a stale value when the loader fails.
---@generic T
---@param key string 1 to 512 bytes
---@param ttl number seconds
---@param loader fun(): T?, string? returns the value, or nil, err
---@return T? value
---@return string? err
function cache.remember(key, ttl, loader) end

---@param key string
---@return any value nil, "miss" when absent or expired
---@return string? err
function cache.get(key) end

---@param key string
---@param value any plain data
---@param ttl number seconds
---@return true? ok nil, "cache full" or nil, "value too large: ..."
---@return string? err
function cache.set(key, value, ttl) end

---@param key string
function cache.delete(key) end

return cache
