-- Needs "expire-with-sale" included before it.
-- The waiting room (docs/design.md, The waiting room): admission computed from the clock inside
-- the scripts, never pushed by a process that ticks.
--   meta  `room_mode` off|always|above, `room_rate` admitted per second, `room_secs` how long an
--         admission lasts, `room_above` attempts per second that turn an `above` room on,
--         `room_seed` (secret until the end), `room_seed_hash` (hex SHA-256 of the seed)
--   room  hash: `opened` 1 once the pre-queue is drawn; `n` places given; `f` the frontier
--         (places 1..f admitted); `credit`, `last` the admission clock; `pre` pre-queue size and
--         `q:<i>` its tickets; `u:<user_id>` -> ticket_id; `p:<place>` -> ticket_id;
--         `t:<ticket_id>` -> JSON {u user, h ticket_hash, p place, q 1 if pre-queued, a ms the
--         admission lapses, at ms admitted, o order_id, s ms served}; `aw`,`ac`,`ap` the
--         `above` mode's attempts in this second and the last
--   admissions  zset (`fs:{sale}:admissions`): ticket_id of every admitted, unserved ticket, scored by the ms it lapses
-- admitted(now) = min(f + floor(credit), f + left - live, n): credit grows by rate per second
-- (at most one second's worth is kept), left is the stock tokens left, so admitted but unserved
-- buyers never outnumber the units that can still be sold, and a unit given back (cancel,
-- expiry, failed order: settle-4.lua puts its token back) lets the next place in.

--- The room's settings from the meta, or nil when the sale has none.
local function room_settings(meta)
  local s = redis.call('HMGET', meta, 'room_mode', 'room_rate', 'room_secs', 'room_above', 'room_seed',
    'starts_ms', 'ends_ms')
  if not s[1] or s[1] == 'off' then
    return nil
  end
  return {meta = meta, mode = s[1], rate = tonumber(s[2]), secs = tonumber(s[3]), above = tonumber(s[4] or '0'),
    seed = s[5] or '', starts = tonumber(s[6]), ends = tonumber(s[7])}
end

--- Writes an admin's settings (JSON {mode, rate, secs, above, seed, seed_hash}) into the meta.
local function room_apply(meta, json)
  if not json or json == '' then
    return
  end
  local r = cjson.decode(json)
  redis.call('HSET', meta, 'room_mode', r.mode, 'room_rate', r.rate, 'room_secs', r.secs,
    'room_above', r.above, 'room_seed', r.seed, 'room_seed_hash', r.seed_hash)
end

local function room_ticket(room, t)
  return cjson.decode(redis.call('HGET', room, 't:' .. t))
end

--- At the first call from the opening on, once: the pre-queue gets places 1..P in the order of
--- SHA-1(seed .. ticket_hash) (Redis's Lua has SHA-1, not SHA-256; the seed stays secret until
--- the end, so no one can predict the order, and anyone can redo it from the published log).
local function room_draw(room, cfg, now)
  if now < cfg.starts or redis.call('HEXISTS', room, 'opened') == 1 then
    return
  end
  local count = tonumber(redis.call('HGET', room, 'pre') or '0')
  local entries = {}
  for i = 1, count do
    local t = redis.call('HGET', room, 'q:' .. i)
    local rec = room_ticket(room, t)
    entries[i] = {t = t, rec = rec, k = redis.sha1hex(cfg.seed .. rec.h)}
    redis.call('HDEL', room, 'q:' .. i)
  end
  table.sort(entries, function(x, y)
    if x.k == y.k then
      return x.rec.h < y.rec.h
    end
    return x.k < y.k
  end)
  for i, e in ipairs(entries) do
    e.rec.p = i
    redis.call('HSET', room, 't:' .. e.t, cjson.encode(e.rec), 'p:' .. i, e.t)
  end
  redis.call('HSET', room, 'opened', 1, 'n', count, 'f', 0, 'credit', 0, 'last', cfg.starts)
  expire_with_sale(cfg.meta, room)
end

--- Admits the next places that the clock and the stock allow; returns n and f.
local function room_advance(room, live, cfg, left, now)
  redis.call('ZREMRANGEBYSCORE', live, '-inf', now)
  if redis.call('HEXISTS', room, 'opened') == 0 then
    return 0, 0
  end
  local h = redis.call('HMGET', room, 'n', 'f', 'credit', 'last')
  local n, f = tonumber(h[1]), tonumber(h[2])
  local elapsed = math.max(0, now - tonumber(h[4]))
  local credit = math.min(tonumber(h[3]) + cfg.rate * elapsed / 1000, math.max(1, cfg.rate))
  local k = math.min(math.floor(credit), left - redis.call('ZCARD', live), n - f)
  if k > 0 then
    local until_ms = now + cfg.secs * 1000
    for p = f + 1, f + k do
      local t = redis.call('HGET', room, 'p:' .. p)
      local rec = room_ticket(room, t)
      rec.a, rec.at = until_ms, now
      redis.call('HSET', room, 't:' .. t, cjson.encode(rec))
      redis.call('ZADD', live, until_ms, t)
    end
    expire_with_sale(cfg.meta, live)
    f = f + k
    credit = credit - k
  end
  redis.call('HSET', room, 'f', f, 'credit', tostring(credit), 'last', now)
  return n, f
end

--- `above` mode: counts this attempt; true while this second's or the last second's attempts
--- reach the threshold.
local function room_busy(room, above, now)
  local second = math.floor(now / 1000)
  local h = redis.call('HMGET', room, 'aw', 'ac', 'ap')
  local aw, ac, ap = tonumber(h[1] or '0'), tonumber(h[2] or '0'), tonumber(h[3] or '0')
  if aw ~= second then
    ap = (aw == second - 1) and ac or 0
    ac = 0
  end
  ac = ac + 1
  redis.call('HSET', room, 'aw', second, 'ac', ac, 'ap', ap)
  return ac >= above or ap >= above
end

--- The take used the ticket's admission: one order per admission.
local function room_use(room, live, t, order_id, now)
  if not t then
    return
  end
  redis.call('ZREM', live, t)
  local rec = room_ticket(room, t)
  rec.o, rec.s = order_id, now
  redis.call('HSET', room, 't:' .. t, cjson.encode(rec))
end

--- The take's check (take-9.lua), for an attempt that could take a unit (code 0) or of a buyer
--- who already owns one (code 2): 0 and the order_id to go on (with the ticket whose admission
--- the take uses), or 7 (not admitted) and ''. A buyer who already owns a unit gives up an
--- admission they hold (it would keep a slot from the next in line), and keeps code 2. An
--- `above` room lets everyone through while attempts stay under its threshold and nobody waits.
local function room_check(meta, stock, room, admissions, user, code, order_id, now)
  local cfg = room_settings(meta)
  if not cfg then
    return code, order_id, nil
  end
  local busy = code == 0 and cfg.mode == 'above' and room_busy(room, cfg.above, now)
  room_draw(room, cfg, now)
  local n, f = room_advance(room, admissions, cfg, tonumber(redis.call('GET', stock) or '0'), now)
  local t = redis.call('HGET', room, 'u:' .. user)
  local live = t and redis.call('ZSCORE', admissions, t)
  if code ~= 0 then
    if live then
      room_use(room, admissions, t, order_id, now)
    end
    return code, order_id, nil
  end
  if live then
    return 0, order_id, t
  end
  if cfg.mode == 'above' and not busy and n <= f then
    return 0, order_id, nil
  end
  return 7, '', nil
end
