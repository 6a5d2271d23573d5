--[[
  repair: set a sale's counts to what PostgreSQL says they must be, but only if nothing has
  moved them since the caller's snapshot (then the next pass decides again).

  KEYS[1] meta    hash   ... confirmed, epoch, version
  KEYS[2] stock   string tokens left to sell
  ARGV[1] epoch as read in the snapshot   ARGV[2] version as read in the snapshot
  ARGV[3] tokens left as they must be     ARGV[4] confirmed as it must be

  Returns 1 when it repaired, 0 when the sale moved meanwhile (another version or epoch: a
  take, a settle, a resize, a rebuild) or is not loaded.

  Restores docs/design.md §5 invariant 4 (conservation) after a drift that no order explains.
  The caller (the sweeper) computes ARGV[3..4] only from a snapshot in which every order record
  agrees with PostgreSQL and none is pending, so no change in flight is left out of them: a
  PostgreSQL commit not yet told to Redis either shows as a record that disagrees (no repair;
  the order is settled instead, at most once) or came after the snapshot, and then its settle
  moves the counts from the repaired values, as it would have from right ones. Any change in
  Redis since the snapshot bumps `version`; a rebuild writes a new `epoch`.
]]
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
local seen = redis.call('HMGET', KEYS[1], 'epoch', 'version')
if (seen[1] or '') ~= ARGV[1] or (seen[2] or '0') ~= ARGV[2] then
  return 0
end
redis.call('SET', KEYS[2], ARGV[3], 'KEEPTTL')
redis.call('HSET', KEYS[1], 'confirmed', ARGV[4])
redis.call('HINCRBY', KEYS[1], 'version', 1)
return 1
