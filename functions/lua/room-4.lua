--[[
  room: a buyer's ticket in a sale's waiting room (join, status) and the admission log.

  KEYS[1] meta    hash   starts_ms, ends_ms, stock_total, ... and the room's settings
  KEYS[2] stock   string tokens left to sell
  KEYS[3] room    hash   tickets, places and the admission clock (includes/admission.lua)
  KEYS[4] admissions zset live admissions
  ARGV[1] `join`, `status`, `give_back` or `log`
  ARGV[2] user_id   ARGV[3] a fresh ticket_id (join), or the order_id (give_back)   ARGV[4] its hex SHA-256 (join)

  join and status return {code, ticket_id, state, place, ahead, wait_ms, admitted_until_ms,
  order_id, now_ms}, -1 / 0 / '' where there is none; code
    0 the ticket                       1 the user has no ticket (status)
    2 not loaded (rebuild the sale's keys from PostgreSQL first)
    3 the sale has no waiting room     4 the sale has ended (join: no ticket is made)
  state: `waiting` (before the opening with no place), `admitted` (a live admission, or one
  that an order used: the order tells the rest), `sold_out` (no token left to sell; a unit
  given back reopens the room), `ended` (the sale ended, or the admission lapsed unused).
  give_back (ARGV[3] the order_id): the queue refused the order's task and its unit went back
  (settle-4.lua), so the admission that order used is the buyer's again, until it lapses as
  before; {0} given back, {6} kept used (another order, lapsed, or the freed unit already
  admitted the next in line: never more admitted and unserved than units), {1}, {2}, {3} as above.
  log returns {0, seed, seed_hash, then six values per place in place order: place,
  ticket_hash, admitted 0/1, pre_queue 0/1, admitted_ms or 0, served_ms or 0}, or {5} before
  the end, {2}, {3} as above.

  Joining twice gives the same ticket: one per user per sale (`u:<user_id>`). Before the
  opening a ticket waits in the pre-queue; the first call from the opening on draws its place
  (room_draw); after it places are first come, first served. Every call advances admission to
  the clock and the stock (room_advance), so the answer is the truth of this moment.
]]
--- @include "expire-with-sale"
--- @include "admission"

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local op, user = ARGV[1], ARGV[2]

if redis.call('EXISTS', KEYS[1]) == 0 then
  return {2}
end
local cfg = room_settings(KEYS[1])
if not cfg then
  return {3}
end
if op == 'give_back' then
  -- Before room_advance: the unit given back is this buyer's, not the next in line's.
  local t = redis.call('HGET', KEYS[3], 'u:' .. user)
  if not t then
    return {1}
  end
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now)
  local rec = room_ticket(KEYS[3], t)
  local left = tonumber(redis.call('GET', KEYS[2]) or '0')
  if rec.o ~= ARGV[3] or not rec.a or rec.a <= now or left - redis.call('ZCARD', KEYS[4]) < 1 then
    return {6}
  end
  rec.o, rec.s = nil, nil
  redis.call('HSET', KEYS[3], 't:' .. t, cjson.encode(rec))
  redis.call('ZADD', KEYS[4], rec.a, t)
  return {0}
end
room_draw(KEYS[3], cfg, now)
local left = tonumber(redis.call('GET', KEYS[2]) or '0')
local n, f = room_advance(KEYS[3], KEYS[4], cfg, left, now)

if op == 'log' then
  if now < cfg.ends then
    return {5}
  end
  local out = {0, cfg.seed, redis.call('HGET', KEYS[1], 'room_seed_hash') or ''}
  for p = 1, n do
    local rec = room_ticket(KEYS[3], redis.call('HGET', KEYS[3], 'p:' .. p))
    for _, v in ipairs({p, rec.h, rec.at and 1 or 0, rec.q or 0, rec.at or 0, rec.s or 0}) do
      out[#out + 1] = v
    end
  end
  return out
end

local ticket = redis.call('HGET', KEYS[3], 'u:' .. user)
if not ticket then
  if op ~= 'join' then
    return {1}
  end
  if now >= cfg.ends then
    return {4}
  end
  ticket = ARGV[3]
  local rec = {u = user, h = ARGV[4]}
  if redis.call('HEXISTS', KEYS[3], 'opened') == 0 then
    local i = redis.call('HINCRBY', KEYS[3], 'pre', 1)
    rec.q = 1
    redis.call('HSET', KEYS[3], 'q:' .. i, ticket)
  else
    n = redis.call('HINCRBY', KEYS[3], 'n', 1)
    rec.p = n
    redis.call('HSET', KEYS[3], 'p:' .. n, ticket)
  end
  redis.call('HSET', KEYS[3], 'u:' .. user, ticket, 't:' .. ticket, cjson.encode(rec))
  expire_with_sale(KEYS[1], KEYS[3])
  -- The newcomer may be let in at once (an empty queue, stock and credit to spare).
  n, f = room_advance(KEYS[3], KEYS[4], cfg, left, now)
end

local rec = room_ticket(KEYS[3], ticket)
local state, place, ahead, wait, until_ms = 'waiting', rec.p or -1, -1, -1, rec.a or 0
if rec.p then
  ahead = math.max(0, rec.p - f - 1)
end
if rec.o then
  state = 'admitted'
elseif now >= cfg.ends then
  state = 'ended'
elseif rec.a then
  if rec.a <= now then
    state = 'ended'
  elseif left <= 0 then
    state = 'sold_out'
  else
    state = 'admitted'
  end
elseif left <= 0 then
  state = 'sold_out'
elseif rec.p then
  wait = math.ceil((ahead + 1) * 1000 / cfg.rate)
else
  wait = cfg.starts - now
end
return {0, ticket, state, place, ahead, wait, until_ms, rec.o or '', now}
