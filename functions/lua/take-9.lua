--[[
  take: hand the caller one stock token of a sale, or say in one code why not; with an
  idempotency key, replay the first answer instead; with rate limits, refuse bursts.

  KEYS[1] meta    hash   starts_ms, ends_ms, stock_total, hold_seconds, product_id, confirmed
  KEYS[2] stock   string tokens left to sell
  KEYS[3] buyers  hash   user_id -> order_id of that user's live (pending/reserved/confirmed) order
  KEYS[4] orders  hash   order_id -> JSON record {user_id, status, taken_ms, released}
  KEYS[5] idem    string the first answer to this user's Idempotency-Key: "code:order_id:now_ms"
  KEYS[6] rate of this user on this sale (GCRA)
  KEYS[7] rate of this client IP on this sale (GCRA)
  KEYS[8] room    hash   the waiting room's tickets   KEYS[9] admissions  zset  live admissions
          (includes/admission.lua)
  ARGV[1] user_id
  ARGV[2] order_id, fresh for this attempt
  ARGV[3] 1 when the request carries an Idempotency-Key, else 0
  ARGV[4] seconds the first answer is kept for replay
  ARGV[5] ms between a user's attempts (0: no limit)    ARGV[6] the user's burst
          (only attempts that could take a unit, or of a buyer already in, count)
  ARGV[7] ms between an IP's attempts (0: no limit)     ARGV[8] the IP's burst

  Returns {code, order_id, now_ms, retry_after_ms, replayed} where code is
    0 taken            one token gone, the buyer and a `pending` record of ARGV[2] written,
                       the meta's `version` bumped (repair-2.lua sees the change)
    1 sold out         2 already has a live order (its id is returned)
    3 not started      4 ended (the window is [starts_ms, ends_ms), read from Redis TIME)
    5 not loaded       the sale's keys are missing: rebuild them from PostgreSQL first
    6 rate limited     retry_after_ms says when to come back
    7 not admitted     the sale's waiting room is on and the caller has no live admission
  and replayed = 1 when the answer is the stored first answer to this Idempotency-Key.

  Holds docs/design.md §5 invariant 1 on the Redis side (stock never goes below zero),
  invariant 2 (one live order per buyer and sale) and invariant 6 (a repeated request never
  takes a second unit): check and write are one atomic step.
]]
--- @include "gcra"
--- @include "expire-with-sale"
--- @include "admission"

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

if ARGV[3] == '1' then
  local first = redis.call('GET', KEYS[5])
  if first then
    local code, order_id, at = string.match(first, '^(%d+):([^:]*):(%d+)$')
    return {tonumber(code), order_id, tonumber(at), 0, 1}
  end
end

local window = redis.call('HMGET', KEYS[1], 'starts_ms', 'ends_ms')
if not window[1] then
  return {5, '', now, 0, 0}
end

local code, order_id, ticket = 0, ARGV[2], nil
if now < tonumber(window[1]) then
  code, order_id = 3, ''
elseif now >= tonumber(window[2]) then
  code, order_id = 4, ''
else
  local existing = redis.call('HGET', KEYS[3], ARGV[1])
  if existing then
    code, order_id = 2, existing
  elseif tonumber(redis.call('GET', KEYS[2]) or '0') <= 0 then
    code, order_id = 1, ''
  end
  if code == 0 or code == 2 then code, order_id, ticket = room_check(KEYS[1], KEYS[2], KEYS[8], KEYS[9], ARGV[1], code, order_id, now) end
end

-- Rate limits guard the stock: an attempt that could take a unit, or a buyer already in who
-- keeps asking, counts against them. Sold out, not started and ended are answered at once,
-- and leave the limits alone: they are most of a flash sale's traffic.
if code == 0 or code == 2 then
  local user_interval, ip_interval = tonumber(ARGV[5]), tonumber(ARGV[7])
  local wait = math.max(gcra_wait(KEYS[6], user_interval, tonumber(ARGV[6]), now),
    gcra_wait(KEYS[7], ip_interval, tonumber(ARGV[8]), now))
  if wait > 0 then
    return {6, '', now, wait, 0}
  end
  gcra_take(KEYS[6], user_interval, now)
  gcra_take(KEYS[7], ip_interval, now)
end

if code == 0 then
  redis.call('DECR', KEYS[2])
  redis.call('HINCRBY', KEYS[1], 'version', 1)
  redis.call('HSET', KEYS[3], ARGV[1], order_id)
  redis.call('HSET', KEYS[4], order_id, cjson.encode({user_id = ARGV[1], status = 'pending', taken_ms = now}))
  expire_with_sale(KEYS[1], KEYS[3])
  expire_with_sale(KEYS[1], KEYS[4])
  room_use(KEYS[8], KEYS[9], ticket, order_id, now)
end

if ARGV[3] == '1' then
  redis.call('SET', KEYS[5], code .. ':' .. order_id .. ':' .. now, 'EX', tonumber(ARGV[4]))
end
return {code, order_id, now, 0, 0}
