--[[
  take: decide a group of purchase attempts on one sale in one call, each in arrival order as
  if it came alone: hand it one stock token of the sale, or say in one code why not; with an
  idempotency key, replay the first answer instead; with rate limits, refuse bursts. The
  decision on each is take_one (includes/take-one.lua); a group of one is the one-by-one take.

  n keys (the call gives their number): 6 of the sale, then 3 per attempt, all in the sale's
  hash slot ({sale_id}), so a cluster runs the call on the sale's shard.
  KEYS[1] meta    hash   starts_ms, ends_ms, stock_total, hold_seconds, product_id, confirmed
  KEYS[2] stock   string tokens left to sell
  KEYS[3] buyers  hash   user_id -> order_id of that user's live (pending/reserved/confirmed) order
  KEYS[4] orders  hash   order_id -> JSON record {user_id, status, taken_ms, released}
  KEYS[5] room    hash   the waiting room's tickets   KEYS[6] admissions  zset  live admissions
          (includes/admission.lua; read only when the meta's room_mode is on)
  per attempt i = 0, 1, …:
  KEYS[7+3i] idem string the first answer to this user's Idempotency-Key: "code:order_id:now_ms"
  KEYS[8+3i] rate of this user on this sale (GCRA)
  KEYS[9+3i] rate of this client IP on this sale (GCRA)
  ARGV[1] seconds the first answer is kept for replay
  ARGV[2] ms between a user's attempts (0: no limit)    ARGV[3] the user's burst
          (only attempts that could take a unit, or of a buyer already in, count)
  ARGV[4] ms between an IP's attempts (0: no limit)     ARGV[5] the IP's burst
  per attempt i:
  ARGV[6+3i] user_id
  ARGV[7+3i] order_id, fresh for this attempt
  ARGV[8+3i] 1 when the request carries an Idempotency-Key, else 0

  Returns the answers of the attempts in the order given, five values each, one after the
  other in one array: code, order_id, now_ms, retry_after_ms, replayed, where code is
    0 taken            one token gone, the buyer and a `pending` record of its order_id
                       written, the meta's `version` bumped (repair-2.lua sees the change)
    1 sold out         2 already has a live order (its id is returned)
    3 not started      4 ended (the window is [starts_ms, ends_ms), read from Redis TIME,
                       once per call: every attempt of a group is decided at one now_ms)
    5 not loaded       the sale's keys are missing: rebuild them from PostgreSQL first
    6 rate limited     retry_after_ms says when to come back
    7 not admitted     the sale's waiting room is on and the caller has no live admission
  and replayed = 1 when the answer is the stored first answer to this Idempotency-Key.

  Holds docs/design.md §5 invariant 1 on the Redis side (stock never goes below zero),
  invariant 2 (one live order per buyer and sale) and invariant 6 (a repeated request never
  takes a second unit): check and write are one atomic step, for the whole group.
]]
--- @include "gcra"
--- @include "expire-with-sale"
--- @include "admission"
--- @include "take-one"

local SALE_KEYS, KEYS_PER_ATTEMPT, POLICY_ARGS, ARGS_PER_ATTEMPT = 6, 3, 5, 3

local t = redis.call('TIME')
local window = redis.call('HMGET', KEYS[1], 'starts_ms', 'ends_ms', 'room_mode')
local sale = {
  meta = KEYS[1], stock = KEYS[2], buyers = KEYS[3], orders = KEYS[4], room = KEYS[5], admissions = KEYS[6],
  room_on = window[3] ~= false and window[3] ~= 'off',
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000),
  starts_ms = tonumber(window[1]), ends_ms = tonumber(window[2]),
  left = tonumber(redis.call('GET', KEYS[2]) or '0'),
  policy = {
    idem_ttl = tonumber(ARGV[1]),
    user_interval = tonumber(ARGV[2]), user_burst = tonumber(ARGV[3]),
    ip_interval = tonumber(ARGV[4]), ip_burst = tonumber(ARGV[5]),
  },
  took = false,
}

-- The answers flat, five per attempt: one array for the whole group, not one per attempt.
local answers, n = {}, 0
for i = 0, (#KEYS - SALE_KEYS) / KEYS_PER_ATTEMPT - 1 do
  local code, order_id, now, retry_after, replayed = take_one(sale, SALE_KEYS + i * KEYS_PER_ATTEMPT, POLICY_ARGS + i * ARGS_PER_ATTEMPT)
  answers[n + 1], answers[n + 2], answers[n + 3], answers[n + 4], answers[n + 5] = code, order_id, now, retry_after, replayed
  n = n + 5
end

if sale.took then
  expire_with_sale(KEYS[1], KEYS[3])
  expire_with_sale(KEYS[1], KEYS[4])
end
return answers
