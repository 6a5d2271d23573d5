-- Needs "gcra" and "admission" included before it.
-- The decision on one purchase attempt, as if it came alone: take-n.lua calls it for
-- each attempt of a group, in arrival order, so each sees what the ones before it wrote.
--
-- sale: the call's shared view of the sale, read once per call (nothing else runs meanwhile):
--   meta, stock, buyers, orders  the sale's keys (see take-n.lua)
--   room, admissions              the waiting room's keys (includes/admission.lua)
--   room_on                       the sale has a waiting room (its meta's room_mode is not off)
--   now                           ms, Redis's TIME at the start of the call
--   starts_ms, ends_ms            the window, nil when the sale is not loaded
--   left                          tokens left, kept equal to the stock key as takes DECR it
--   policy                        idem_ttl, user_interval, user_burst, ip_interval, ip_burst
--   took                          set when an attempt took a unit (the caller then sets expiries)
-- k, v: where this attempt's keys and arguments start, so that they are KEYS[k + 1..3]
--   (idem, user rate, ip rate) and ARGV[v + 1..3] (user_id, order_id, has Idempotency-Key):
--   read in place, no table per attempt (a group's cost is mostly per attempt)
-- Returns code, order_id, now_ms, retry_after_ms, replayed: one answer of take-n.lua.
local function take_one(sale, k, v)
  local has_idem = ARGV[v + 3] == '1'
  if has_idem then
    local first = redis.call('GET', KEYS[k + 1])
    if first then
      local code, order_id, at = string.match(first, '^(%d+):([^:]*):(%d+)$')
      return tonumber(code), order_id, tonumber(at), 0, 1
    end
  end
  local now = sale.now
  if not sale.starts_ms then
    return 5, '', now, 0, 0
  end
  local user_id = ARGV[v + 1]
  local code, order_id, ticket = 0, ARGV[v + 2], nil
  if now < sale.starts_ms then
    code, order_id = 3, ''
  elseif now >= sale.ends_ms then
    code, order_id = 4, ''
  else
    local existing = redis.call('HGET', sale.buyers, user_id)
    if existing then
      code, order_id = 2, existing
    elseif sale.left <= 0 then
      code, order_id = 1, ''
    end
    if sale.room_on and (code == 0 or code == 2) then
      code, order_id, ticket = room_check(sale.meta, sale.stock, sale.room, sale.admissions, user_id, code, order_id, now)
    end
  end
  -- Rate limits guard the stock: an attempt that could take a unit, or a buyer already in who
  -- keeps asking, counts against them. Sold out, not started and ended are answered at once,
  -- and leave the limits alone: they are most of a flash sale's traffic.
  if code == 0 or code == 2 then
    local p = sale.policy
    local wait = math.max(gcra_wait(KEYS[k + 2], p.user_interval, p.user_burst, now),
      gcra_wait(KEYS[k + 3], p.ip_interval, p.ip_burst, now))
    if wait > 0 then
      return 6, '', now, wait, 0
    end
    gcra_take(KEYS[k + 2], p.user_interval, now)
    gcra_take(KEYS[k + 3], p.ip_interval, now)
  end
  if code == 0 then
    redis.call('DECR', sale.stock)
    sale.left = sale.left - 1
    redis.call('HINCRBY', sale.meta, 'version', 1)
    redis.call('HSET', sale.buyers, user_id, order_id)
    redis.call('HSET', sale.orders, order_id, cjson.encode({user_id = user_id, status = 'pending', taken_ms = now}))
    sale.took = true
    room_use(sale.room, sale.admissions, ticket, order_id, now)
  end
  if has_idem then
    redis.call('SET', KEYS[k + 1], code .. ':' .. order_id .. ':' .. now, 'EX', sale.policy.idem_ttl)
  end
  return code, order_id, now, 0, 0
end
