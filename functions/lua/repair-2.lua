--[[
  repair: set a sale's counts to what PostgreSQL and the pending records say they must be,
  unless a take or a settle changed them since they were read (then the next pass retries).

  KEYS[1] meta    hash   ... confirmed
  KEYS[2] stock   string tokens left to sell
  ARGV[1] tokens left as read before the counts were computed
  ARGV[2] confirmed as read before the counts were computed
  ARGV[3] tokens left as they must be   ARGV[4] confirmed as it must be

  Returns 1 when it repaired, 0 when the counts moved meanwhile or the sale is not loaded.
  Restores docs/design.md §5 invariant 4 (conservation) after a loss or a missed settle.
]]
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
local left = redis.call('GET', KEYS[2]) or ''
local confirmed = redis.call('HGET', KEYS[1], 'confirmed') or '0'
if left ~= ARGV[1] or confirmed ~= ARGV[2] then
  return 0
end
redis.call('SET', KEYS[2], ARGV[3], 'KEEPTTL')
redis.call('HSET', KEYS[1], 'confirmed', ARGV[4])
return 1
