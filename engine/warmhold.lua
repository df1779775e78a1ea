#!lua
-- warmhold.lua: the warm-up hold of one member (WARMHOLD_LUA, run by
-- postlb-policyd with EVAL; embedded into engine/warmhold_lua.c at build
-- time; see engine/warmhold.h and engine/health.h).
--
-- KEYS: [1] the member's hash (PREFIX m:NAME), [2] its events
--   (PREFIX ev:NAME).
-- ARGV: [1] "claim" or "hold";
--   claim: [2] the prefix of its delivery counters (PREFIX fb:NAME:),
--     [3] the window in minutes, [4] the schedule's start day, [5] its
--     number of days;
--   hold: [2] the day claimed, [3] events kept, [4] why.
-- Time is Redis's (TIME): the day is unix ms / 86400000.
-- claim: when the field wh_day is today, or today moves the member to no
--   new step of its schedule (the step today - start - wh is not in
--   1..days: the start day, or a schedule already done), nothing is
--   done: returns {0}.  Otherwise wh_day becomes today (so one host judges
--   each day) and it returns {today, deliveries, deferred}: the sums of
--   "sent" + "deferred" + "bounced" and of "deferred" of the member's
--   minute counters over the window.
-- hold: if wh_day is still the day claimed, adds one held day (field wh)
--   and pushes "NOW hold warm-up held at day D: WHY" onto the events (at
--   most ARGV[3] kept); returns the days held, or 0 when another claim
--   came between.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local today = math.floor(now / 86400000)
if ARGV[1] == 'claim' then
  local h = redis.call('HMGET', KEYS[1], 'wh_day', 'wh')
  local step = today - tonumber(ARGV[4]) - (tonumber(h[2]) or 0)
  if tonumber(h[1] or '-1') == today or step < 1 or
      step > tonumber(ARGV[5]) then
    return {0}
  end
  redis.call('HSET', KEYS[1], 'wh_day', today)
  local m, sent, deferred = math.floor(now / 60000), 0, 0
  for i = 0, tonumber(ARGV[3]) - 1 do
    local v = redis.call('HMGET', ARGV[2] .. (m - i), 'sent', 'deferred',
                         'bounced')
    sent = sent + (tonumber(v[1]) or 0) + (tonumber(v[3]) or 0)
    deferred = deferred + (tonumber(v[2]) or 0)
  end
  return {today, sent + deferred, deferred}
end
if tonumber(redis.call('HGET', KEYS[1], 'wh_day') or '-1') ~=
    tonumber(ARGV[2]) then
  return 0
end
local held = redis.call('HINCRBY', KEYS[1], 'wh', 1)
redis.pcall('PUBLISH', KEYS[1], 'wh') -- the milters' listeners
redis.call('LPUSH', KEYS[2], now .. ' hold warm-up held ' .. held ..
           ' day(s): ' .. ARGV[4])
redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[3]) - 1)
return held
