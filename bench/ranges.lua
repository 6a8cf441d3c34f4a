-- wrk script of bench/ranges.py (bench/README.md, "Uncached ranges"): every request asks
-- GET /api/v1/billing/costs/{org}/charts for a random organization of the data set and a random
-- range of one kind, from a seeded generator (the same seed gives the same sequence of requests).
--
-- Environment (set by bench/ranges.py):
--   RANGES_MODE      aligned: from = a month's first day, to = a whole day of that month (bare
--                             dates: the range ends at a day boundary)
--                    mtd:     from = the month's start, to = a random second of the month
--                    ragged:  from and to random seconds of the data's period, from < to, at
--                             most RANGES_MAX_SPAN seconds apart
--   RANGES_ORGS      organizations org-0001 .. org-N
--   RANGES_MONTHS    the months whose start lies in the data: "START:SECONDS,..." (epoch
--                    seconds of the month's start, its seconds that lie in the data)
--   RANGES_START, RANGES_END   the data's period [start, end), epoch seconds
--   RANGES_MAX_SPAN  longest ragged range, seconds
--   RANGES_SEED      the generator's seed (each wrk thread adds its number)
--   RANGES_AUTH      the Authorization header
--   RANGES_SHOW      1: print the first requests' paths ("range: PATH")

local function env(name)
  local value = os.getenv(name)
  if value == nil or value == "" then
    error("bench/ranges.lua: " .. name .. " is not set")
  end
  return value
end

local mode = env("RANGES_MODE")
local orgs = tonumber(env("RANGES_ORGS"))
local data_start = tonumber(env("RANGES_START"))
local data_end = tonumber(env("RANGES_END"))
local max_span = tonumber(env("RANGES_MAX_SPAN"))
local seed = tonumber(env("RANGES_SEED"))
local headers = {["Authorization"] = env("RANGES_AUTH")}
local show = os.getenv("RANGES_SHOW") == "1" and 3 or 0

local months = {}
for start, seconds in env("RANGES_MONTHS"):gmatch("(%d+):(%d+)") do
  months[#months + 1] = {start = tonumber(start), seconds = tonumber(seconds)}
end

local function day(t)
  return os.date("!%Y-%m-%d", t)
end

local function second(t)
  return os.date("!%Y-%m-%dT%H:%M:%SZ", t)
end

local ranges = {
  aligned = function()
    local m = months[math.random(1, #months)]
    local d = math.random(0, math.floor(m.seconds / 86400) - 1)
    return day(m.start), day(m.start + d * 86400)
  end,
  mtd = function()
    local m = months[math.random(1, #months)]
    return second(m.start), second(m.start + math.random(1, m.seconds - 1))
  end,
  ragged = function()
    local from = math.random(data_start, data_end - 2)
    local span = math.random(1, math.min(max_span, data_end - 1 - from))
    return second(from), second(from + span)
  end,
}
local range = ranges[mode]
if range == nil then
  error("bench/ranges.lua: RANGES_MODE must be aligned, mtd or ragged, not " .. mode)
end

-- Each wrk thread has its own Lua state: setup (main state) numbers them, init seeds each.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("thread_number", threads)
end

function init(args)
  math.randomseed(seed + (thread_number or 0))
end

function request()
  local from, to = range()
  local path = string.format("/api/v1/billing/costs/org-%04d/charts?from=%s&to=%s&bucketing_strategy=daily",
                             math.random(1, orgs), from, to)
  if show > 0 then
    show = show - 1
    io.write("range: " .. path .. "\n")
  end
  return wrk.format("GET", path, headers)
end
