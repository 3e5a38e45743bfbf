---@meta http
-- Editor definitions of require("http"); see bridge/http/README.md.

---@class http.Options
---@field headers? table<string, string> request headers
---@field query? table<string, string|number|boolean> added to the URL's query
---@field json? any plain data sent as JSON, with Content-Type: application/json
---@field body? string the request body
---@field timeout? integer milliseconds; default 2000, never past the call's deadline

---@class http.Response
---@field status integer
---@field headers table<string, string> names lower-cased, repeated headers joined with ", "
---@field body string at most 1 MiB

---CRM requests that never cost a caller more than the call's deadline. Failures
---(network, timeout, "circuit open", a denied host) return nil, err; a bad
---argument raises.
---@class http
local http = {}

---@param url string
---@param opts? http.Options
---@return http.Response? res
---@return string? err
function http.get(url, opts) end

---@param url string
---@param opts? http.Options
---@return http.Response? res
---@return string? err
function http.post(url, opts) end

---@param method string "GET", "POST", "PUT", ... (any case)
---@param url string
---@param opts? http.Options
---@return http.Response? res
---@return string? err
function http.request(method, url, opts) end

return http
