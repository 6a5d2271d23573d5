-- The decision on one purchase attempt, as if it came alone: take-n.lua calls it for
-- each attempt of a group, in arrival order, so each sees what the ones before it wrote.
--
-- sale: the call's shared view of the sale, read once per call (nothing else runs meanwhile):
--   meta, stock, buyers, orders  the sale's keys (see take-n.lua)
--   now                           ms, Redis's TIME at the start of the call
--   starts_ms, ends_ms            the window, nil when the sale is not loaded
--   left                          tokens left, kept equal to the stock key as takes DECR it
--   policy                        idem_ttl, user_interval, user_burst, ip_interval, ip_burst
--   took                          set when an attempt took a unit (the caller then sets expiries)
-- a: one attempt: idem_key, user_rate_key, ip_rate_key (its keys), user_id, order_id, has_idem
-- Returns code, order_id, now_ms, retry_after_ms, replayed: one answer of take-n.lua.
local function take_one(sale, a)
  if a.has_idem then
    local first = redis.call('GET', a.idem_key)
    if first then
      local code, order_id, at = string.match(first, '^(%d+):([^:]*):(%d+)$')
      return tonumber(code), order_id, tonumber(at), 0, 1
    end
  end

  local now = sale.now
  if not sale.starts_ms then
    return 5, '', now, 0, 0
  end

  local code, order_id = 0, a.order_id
  if now < sale.starts_ms then
    code, order_id = 3, ''
  elseif now >= sale.ends_ms then
    code, order_id = 4, ''
  else
    local existing = redis.call('HGET', sale.buyers, a.user_id)
    if existing then
      code, order_id = 2, existing
    elseif sale.left <= 0 then
      code, order_id = 1, ''
    end
  end

  -- Rate limits guard the stock: an attempt that could take a unit, or a buyer already in who
  -- keeps asking, counts against them. Sold out, not started and ended are answered at once,
  -- and leave the limits alone: they are most of a flash sale's traffic.
  if code == 0 or code == 2 then
    local p = sale.policy
    local wait = math.max(gcra_wait(a.user_rate_key, p.user_interval, p.user_burst, now),
      gcra_wait(a.ip_rate_key, p.ip_interval, p.ip_burst, now))
    if wait > 0 then
      return 6, '', now, wait, 0
    end
    gcra_take(a.user_rate_key, p.user_interval, now)
    gcra_take(a.ip_rate_key, p.ip_interval, now)
  end

  if code == 0 then
    redis.call('DECR', sale.stock)
    sale.left = sale.left - 1
    redis.call('HINCRBY', sale.meta, 'version', 1)
    redis.call('HSET', sale.buyers, a.user_id, order_id)
    redis.call('HSET', sale.orders, order_id, cjson.encode({user_id = a.user_id, status = 'pending', taken_ms = now}))
    sale.took = true
  end

  if a.has_idem then
    redis.call('SET', a.idem_key, code .. ':' .. order_id .. ':' .. now, 'EX', sale.policy.idem_ttl)
  end
  return code, order_id, now, 0, 0
end
