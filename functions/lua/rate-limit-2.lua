--[[
  rate-limit: GCRA on two subjects at once (for example an email and a client IP); a
  request counts against both only when both allow it.

  KEYS[1] rate of the first subject    KEYS[2] rate of the second subject
  ARGV[1] ms between requests of the first (0: no limit)    ARGV[2] its burst
  ARGV[3] ms between requests of the second (0: no limit)   ARGV[4] its burst

  Returns 0 when allowed, else the milliseconds until the next request would be.
]]
--- @include "gcra"

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local first, second = tonumber(ARGV[1]), tonumber(ARGV[3])
local wait = math.max(gcra_wait(KEYS[1], first, tonumber(ARGV[2]), now), gcra_wait(KEYS[2], second, tonumber(ARGV[4]), now))
if wait > 0 then
  return wait
end
gcra_take(KEYS[1], first, now)
gcra_take(KEYS[2], second, now)
return 0
