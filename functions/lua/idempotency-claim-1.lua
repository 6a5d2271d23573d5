--[[
  idempotency-claim: bind a user's Idempotency-Key to one request body, for its lifetime.

  KEYS[1] claim   string the fingerprint of the first request made with this key
  ARGV[1] fingerprint of this request (method, path and body)
  ARGV[2] seconds the key stays bound

  Returns 0 when this request may use the key (first use, or the same request again) and
  1 when the key was first used with a different request (422 idempotency_key_reused).
  The answer itself is stored by take-n.lua in the sale's slot, atomically with the take.
]]
local first = redis.call('GET', KEYS[1])
if first and first ~= ARGV[1] then
  return 1
end
if not first then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[2]))
end
return 0
