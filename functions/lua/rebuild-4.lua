--[[
  rebuild: load one sale's keys from PostgreSQL's facts, unless they are already there.

  KEYS[1] meta    hash   starts_ms, ends_ms, stock_total, hold_seconds, product_id, confirmed
  KEYS[2] stock   string tokens left to sell
  KEYS[3] buyers  hash   user_id -> order_id of that user's live order
  KEYS[4] orders  hash   order_id -> JSON record {user_id, status, taken_ms, released}
  ARGV[1] starts_ms   ARGV[2] ends_ms   ARGV[3] stock_total   ARGV[4] hold_seconds
  ARGV[5] product_id  ARGV[6] tokens left (stock - sold in PostgreSQL)
  ARGV[7] unix seconds at which the keys may be dropped
  ARGV[8] a fresh `epoch` for these keys (version 0): what a caller read of the keys before
          them is then known to be stale (settle-4.lua's and repair-2.lua's guard)
  ARGV[9]  the waiting room's settings as JSON (includes/admission.lua's room_apply), or ''
  ARGV[10..] the live orders, four values each: user_id, order_id, status, taken_ms

  Returns 1 when it wrote the keys, 0 when another caller had already done so.

  Race-safe (docs/design.md §6, Redis restarted empty): check and write are one atomic step,
  so of many concurrent rebuilds exactly one wins and none overwrites a sale in use.

  The waiting room's queue is not rebuilt (README, Guarantees): its settings are, in the same
  step, so no take ever passes a room-on sale unchecked; the buyers join again.
]]
--- @include "expire-with-sale"
--- @include "admission"
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end

redis.call('HSET', KEYS[1], 'starts_ms', ARGV[1], 'ends_ms', ARGV[2], 'stock_total', ARGV[3],
  'hold_seconds', ARGV[4], 'product_id', ARGV[5], 'epoch', ARGV[8], 'version', 0)
redis.call('SET', KEYS[2], ARGV[6])
room_apply(KEYS[1], ARGV[9])
local confirmed = 0
for i = 10, #ARGV, 4 do
  if ARGV[i + 2] == 'confirmed' then
    confirmed = confirmed + 1
  end
  redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1])
  redis.call('HSET', KEYS[4], ARGV[i + 1],
    cjson.encode({user_id = ARGV[i], status = ARGV[i + 2], taken_ms = tonumber(ARGV[i + 3])}))
end
redis.call('HSET', KEYS[1], 'confirmed', confirmed)
for i = 1, 4 do
  redis.call('EXPIREAT', KEYS[i], ARGV[7])
end
return 1
