--[[
  resize: apply an admin's change of a sale's window or stock to its live keys.

  KEYS[1] meta    hash   starts_ms, ends_ms, stock_total, hold_seconds, product_id, confirmed
  KEYS[2] stock   string tokens left to sell
  ARGV[1] starts_ms   ARGV[2] ends_ms   ARGV[3] new stock_total
  ARGV[4] unix seconds at which the keys may be dropped
  ARGV[5] mode: `guard` (the default) refuses a stock below the units taken, else applies;
          `check` only says whether it would refuse, and writes nothing; `follow` applies
          whatever the units taken, because PostgreSQL has already committed the change
          (POST /sales/update: Redis follows the commit).
  ARGV[6] optional: the waiting room's settings as JSON (includes/admission.lua's room_apply)

  An applied change bumps the meta's `version` (repair-2.lua sees it).
  Returns {code, taken}: code 0 applied (or, with `check`, would apply), 1 refused because
  fewer than `taken` units (sold, held or pending) would remain, 2 not loaded (rebuild from
  PostgreSQL instead).

  Holds docs/design.md §5 invariants 1 and 4: tokens left = new total - tokens taken, so a
  change of stock never sells a unit twice nor loses one that is out. When a take slipped in
  between the check and the commit, `follow` leaves tokens left below zero: nothing more is
  sold, PostgreSQL's conditional update refuses the orders beyond the stock (failed,
  sold_out), and each gives its token back, which brings the count to stock - live orders.
]]
--- @include "expire-with-sale"
--- @include "admission"
local total = redis.call('HGET', KEYS[1], 'stock_total')
if not total then
  return {2, 0}
end
local taken = tonumber(total) - tonumber(redis.call('GET', KEYS[2]) or '0')
local new_total = tonumber(ARGV[3])
local mode = ARGV[5] or 'guard'
if new_total < taken and mode ~= 'follow' then
  return {1, taken}
end
if mode == 'check' then
  return {0, taken}
end
redis.call('SET', KEYS[2], new_total - taken)
redis.call('HSET', KEYS[1], 'starts_ms', ARGV[1], 'ends_ms', ARGV[2], 'stock_total', ARGV[3])
room_apply(KEYS[1], ARGV[6])
redis.call('HINCRBY', KEYS[1], 'version', 1)
redis.call('EXPIREAT', KEYS[1], ARGV[4])
redis.call('EXPIREAT', KEYS[2], ARGV[4])
return {0, taken}
