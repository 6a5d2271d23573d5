-- GCRA (generic cell rate algorithm): one key per limited subject holds its "theoretical
-- arrival time". A request is allowed when it arrives no earlier than tat - burst * interval.
-- gcra_wait returns 0 when allowed, else the milliseconds to wait; gcra_take records it.
local function gcra_wait(key, interval_ms, burst, now_ms)
  if interval_ms <= 0 then
    return 0
  end
  local tat = tonumber(redis.call('GET', key) or '0')
  if tat < now_ms then
    tat = now_ms
  end
  local allowed_at = tat + interval_ms - burst * interval_ms
  if allowed_at > now_ms then
    return allowed_at - now_ms
  end
  return 0
end

local function gcra_take(key, interval_ms, now_ms)
  if interval_ms <= 0 then
    return
  end
  local tat = tonumber(redis.call('GET', key) or '0')
  if tat < now_ms then
    tat = now_ms
  end
  local new_tat = tat + interval_ms
  redis.call('SET', key, new_tat, 'PX', math.ceil(new_tat - now_ms) + 1000)
end
