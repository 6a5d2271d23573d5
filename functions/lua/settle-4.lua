--[[
  settle: write an order's outcome, decided by PostgreSQL, into the sale's Redis state.

  KEYS[1] meta    hash   ... and `confirmed`, the number of confirmed orders
  KEYS[2] stock   string tokens left to sell
  KEYS[3] buyers  hash   user_id -> order_id of that user's live order
  KEYS[4] orders  hash   order_id -> JSON record {user_id, status, taken_ms, released}
  ARGV[1] order_id
  ARGV[2] status: reserved | confirmed (the unit stays sold) or failed | expired | cancelled
          (the unit goes back on sale); held = taken - confirmed
  ARGV[3] user_id
  ARGV[4] taken_ms, for a record that Redis lost
  ARGV[5] optional: the sale's `epoch` as the caller read it (the sweeper); when the keys were
          rebuilt since (another epoch), nothing is written

  Returns 0 when it changed something, 1 when the outcome was already recorded, 2 when
  the sale's keys are missing (nothing written), 3 when ARGV[5] names another epoch.
  Every change bumps the meta's `version`, so a repair (repair-2.lua) sees that it happened.

  Holds docs/design.md §5 invariant 4 (conservation): a token is given back at most once per
  order, however often the worker delivers or retries, and only if the order held one.
  A record missing after a Redis loss means the rebuild counted stock from PostgreSQL
  without this order: a live outcome then takes its token, an ended one gives none back.
]]
--- @include "expire-with-sale"
local status = ARGV[2]
local live = status == 'reserved' or status == 'confirmed'
local function count_confirmed(from)
  if status == 'confirmed' and from ~= 'confirmed' then
    redis.call('HINCRBY', KEYS[1], 'confirmed', 1)
  end
end
if redis.call('EXISTS', KEYS[1]) == 0 then
  -- The sale's keys are gone (Redis lost them): the rebuild will count this order from
  -- PostgreSQL, which has already decided it; writing half a sale here would only mislead.
  return 2
end
if ARGV[5] and (redis.call('HGET', KEYS[1], 'epoch') or '') ~= ARGV[5] then
  -- What the caller read belongs to keys that have since been rebuilt: decide again.
  return 3
end

local raw = redis.call('HGET', KEYS[4], ARGV[1])
local record

if raw then
  record = cjson.decode(raw)
  if record.released == 1 then
    return 1
  end
  if record.status == status then
    return 1
  end
else
  record = {user_id = ARGV[3], taken_ms = tonumber(ARGV[4])}
  if live then
    redis.call('DECR', KEYS[2])
    if not redis.call('HGET', KEYS[3], ARGV[3]) then
      redis.call('HSET', KEYS[3], ARGV[3], ARGV[1])
    end
  end
  count_confirmed(nil)
  record.status = status
  if not live then
    record.released = 1
  end
  redis.call('HSET', KEYS[4], ARGV[1], cjson.encode(record))
  expire_with_sale(KEYS[1], KEYS[3])
  expire_with_sale(KEYS[1], KEYS[4])
  redis.call('HINCRBY', KEYS[1], 'version', 1)
  return 0
end

count_confirmed(record.status)
if record.status == 'confirmed' and not live then
  redis.call('HINCRBY', KEYS[1], 'confirmed', -1)
end
record.status = status
if not live then
  record.released = 1
  redis.call('INCR', KEYS[2])
  if redis.call('HGET', KEYS[3], record.user_id) == ARGV[1] then
    redis.call('HDEL', KEYS[3], record.user_id)
  end
end
redis.call('HSET', KEYS[4], ARGV[1], cjson.encode(record))
redis.call('HINCRBY', KEYS[1], 'version', 1)
return 0
