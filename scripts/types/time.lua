---@meta time
-- Editor definitions of require("time"); see bridge/time/README.md.

---An instant in a zone, with os.date's fields and the forms ivr's SAY items take.
---@class time.Table
---@field year integer
---@field month integer 1 to 12
---@field day integer
---@field hour integer
---@field min integer
---@field sec integer
---@field wday integer 1 = Sunday ... 7 = Saturday, as os.date
---@field yday integer 1 = 1 January
---@field isdst boolean
---@field zone string the abbreviation: "IDT"
---@field offset integer seconds east of UTC
---@field unix integer seconds
---@field date string "2026-03-27", for ivr.date
---@field datetime string "2026-03-27T08:00:00", local wall time, for ivr.datetime

---A time table (its unix field is read) or unix seconds; nil is the call's instant.
---@alias time.Instant time.Table|number

---Opening hours. Days are "HH:MM-HH:MM" ranges, comma-separated
---("08:00-12:00,13:00-18:00"); a day left out is closed.
---@class time.HoursOptions
---@field sun? string
---@field mon? string
---@field tue? string
---@field wed? string
---@field thu? string
---@field fri? string
---@field sat? string
---@field zone? string an IANA zone; default serve's --timezone
---@field closed? string|string[] calendars whose events close: "israel", or calendars/NAME.ics
---@field eve? string ranges that replace a day's own on an eve of the closed calendars

---Opening hours, from time.hours. Call the methods with a colon.
---@class time.Hours
local Hours = {}

---@param t? time.Instant
---@return boolean
function Hours:open(t) end

---t itself when open; nil, "never opens" when not within 400 days.
---@param t? time.Instant
---@return time.Table? opens
---@return string? err
function Hours:next_open(t) end

---t itself when closed; nil, "never closes" when not within 400 days.
---@param t? time.Instant
---@return time.Table? closes
---@return string? err
function Hours:next_close(t) end

---A holiday calendar, from time.calendar. Call the methods with a colon.
---@class time.Calendar
local Calendar = {}

---Whether an event that is not an eve is in progress.
---@param t? time.Instant
---@return boolean
function Calendar:contains(t) end

---The SUMMARY of the event in progress and whether it is an eve, or nil.
---@param t? time.Instant
---@return string? summary
---@return boolean? eve
function Calendar:event(t) end

---The call's clock, opening hours and holiday calendars.
---@class time
local time = {}

---The call's instant (every read in one call gives the same) as a time table.
---@param zone? string an IANA zone; default serve's --timezone
---@return time.Table
function time.now(zone) end

---Opening hours, checked when the script loads.
---@param opts time.HoursOptions
---@return time.Hours
function time.hours(opts) end

---A calendar: "israel" (built in) or calendars/NAME.ics.
---@param name string
---@return time.Calendar
function time.calendar(name) end

return time
