-- A sale's keys all go when its meta goes (rebuild and resize set the meta's expiry). buyers
-- and orders do not exist until a first order (a sale created with stock 0, or sold nothing
-- yet, had none to expire at rebuild), and the buyers hash is made anew whenever its last buyer
-- left: a script that may have just created one gives it the meta's remaining time.
local function expire_with_sale(meta, key)
  if redis.call('PTTL', key) == -1 then
    local ttl = redis.call('PTTL', meta)
    if ttl > 0 then
      redis.call('PEXPIRE', key, ttl)
    end
  end
end
