#!lua
-- check.lua: the shared side of postlb-policyd's active SMTP checks of a
-- member (see engine/health.h for the fields).  Embedded into
-- engine/check_lua.c at build time.
--
-- KEYS: [1] the lease (PREFIX hl:NAME), [2] the member's hash (PREFIX
--   m:NAME), [3] its events (PREFIX ev:NAME).
-- ARGV: [1] this host's id, [2] the lease time in ms, [3] the mode:
--   "lease": take or keep the lease of checking this member;
--   "report": record a check's result, if this host still holds the
--   lease: [4] the verdict "up" or "down", [5] the result line for
--   hc_last, [6] why (for hc_why and the event when the verdict changes);
--   "release": give the lease up (a clean stop), if this host holds it.
-- A changed verdict is published on the channel named like the member's
-- hash, for the milters' change listeners (milter/router.c).
-- Time is Redis's (TIME).
-- Returns: lease: { held (1/0), the recorded verdict is down (1/0) };
--   report: { held (1/0), the verdict changed (1/0) }; release: { 0, 0 }.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local held = 0
if ARGV[3] == 'release' then
  if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
  return {0, 0}
end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  held = 1
elseif ARGV[3] == 'lease' and
    redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  held = 1
end
local hc = redis.call('HGET', KEYS[2], 'hc') or 'up'
if ARGV[3] == 'lease' or held == 0 then
  return {held, hc == 'down' and 1 or 0}
end
redis.call('HSET', KEYS[2], 'hc_last', ARGV[5])
if ARGV[4] == hc then return {1, 0} end
redis.call('HSET', KEYS[2], 'hc', ARGV[4], 'hc_since', now, 'hc_why', ARGV[6])
if ARGV[4] == 'up' then redis.call('HSET', KEYS[2], 'up_at', now) end
-- the milters' change listeners (a channel the ACL denies costs nothing)
redis.pcall('PUBLISH', KEYS[2], 'hc ' .. ARGV[4])
redis.call('LPUSH', KEYS[3], now .. ' check ' .. ARGV[4] .. ': ' .. ARGV[6])
redis.call('LTRIM', KEYS[3], 0, 99)
return {1, 1}
