--[[
  take: hand the caller one stock token of a sale, or say in one code why not.

  KEYS[1] meta    hash   starts_ms, ends_ms, stock_total, hold_seconds, product_id, confirmed
  KEYS[2] stock   string tokens left to sell
  KEYS[3] buyers  hash   user_id -> order_id of that user's live (pending/reserved/confirmed) order
  KEYS[4] orders  hash   order_id -> JSON record {user_id, status, taken_ms, released}
  ARGV[1] user_id
  ARGV[2] order_id, fresh for this attempt

  Returns {code, order_id, now_ms} where code is
    0 taken            one token gone, the buyer and a `pending` record of ARGV[2] written
    1 sold out         2 already has a live order (its id is returned)
    3 not started      4 ended (the window is [starts_ms, ends_ms), read from Redis TIME)
    5 not loaded       the sale's keys are missing: rebuild them from PostgreSQL first

  Holds DESIGN.md §5 invariant 1 on the Redis side (stock never goes below zero) and
  invariant 2 (one live order per buyer and sale): check and write are one atomic step.
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

local window = redis.call('HMGET', KEYS[1], 'starts_ms', 'ends_ms')
if not window[1] then
  return {5, '', now}
end
if now < tonumber(window[1]) then
  return {3, '', now}
end
if now >= tonumber(window[2]) then
  return {4, '', now}
end

local existing = redis.call('HGET', KEYS[3], ARGV[1])
if existing then
  return {2, existing, now}
end

local left = tonumber(redis.call('GET', KEYS[2]) or '0')
if left <= 0 then
  return {1, '', now}
end

redis.call('DECR', KEYS[2])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[4], ARGV[2], cjson.encode({user_id = ARGV[1], status = 'pending', taken_ms = now}))
return {0, ARGV[2], now}
