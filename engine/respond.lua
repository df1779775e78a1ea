#!lua
-- respond.lua: one reply of a member that matched a response rule
-- (RESPOND_LUA, run by postlb-policyd with EVAL; embedded into
-- engine/respond_lua.c at build time; see engine/respond.h for the rules
-- and engine/health.h for the fields).
--
-- KEYS: [1] the learned providers (PREFIX prov: DOMAIN -> PROVIDER),
--   [2] the member's hash (PREFIX m:NAME), [3] its events (PREFIX ev:NAME),
--   [4] the rule's counter of the member (PREFIX rc:NAME:RULE; scope
--   provider appends ":" and the provider, or "s:" and the domain).
-- ARGV: [1] scope "member" or "provider", [2] the recipient domain (""
--   none), [3] the provider named by the relay host ("" unknown), [4] the
--   rule's provider ("" none), [5] count, [6] period in ms, [7] duration
--   in ms, [8] events kept, [9] the queue id, [10] the rule's name,
--   [11] why (the reply, escaped and short), [12] the action "suspend" or
--   "throttle", [13] a throttle's rate (messages a minute; "0" suspend).
-- Time is Redis's (TIME), as the route script reads the fields.
-- The target: scope member: the field rs_until (and rs_why); scope
--   provider: p:PROVIDER, PROVIDER being ARGV[3], else the domain's
--   learned provider, else the rule's (then learned for the domain: the
--   reply names its provider), else s:DOMAIN (a plain domain
--   suspension); no domain either: rs_until.  A throttle's target is the
--   same with "t" before it: th (the member), tp:PROVIDER or ts:DOMAIN,
--   its value "UNTIL RATE" (the route script counts the member's picks
--   of the target per minute against RATE).
-- While the target is suspended (or throttled) nothing is counted.  Otherwise the match
-- joins the counter (a sorted set by time; entries older than the period
-- leave it); at count matches the target is set to now + duration, the
-- counter deleted, and "NOW rule RULE: suspended [for TARGET] until MS:
-- WHY" (or "throttled to RATE/min [for TARGET] until ...") pushed onto
-- the events (at most ARGV[8] kept).
-- Returns the suspension's (throttle's) end (ms) when this match set it,
-- else 0.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local dom, prov = ARGV[2], ARGV[3]
local field, ckey = 'rs_until', KEYS[4]
if ARGV[1] == 'provider' then
  if prov == '' and dom ~= '' then
    prov = redis.call('HGET', KEYS[1], dom) or ''
  end
  if prov == '' and ARGV[4] ~= '' then
    prov = ARGV[4]
    if dom ~= '' then redis.call('HSET', KEYS[1], dom, prov) end
  end
  if prov ~= '' then
    field, ckey = 'p:' .. prov, KEYS[4] .. ':' .. prov
  elseif dom ~= '' then
    field, ckey = 's:' .. dom, KEYS[4] .. ':s:' .. dom
  end
end
local throttle = ARGV[12] == 'throttle'
if throttle then
  if field == 'rs_until' then field = 'th' else field = 't' .. field end
  ckey = ckey .. ':t'
end
local cur = redis.call('HGET', KEYS[2], field)
if (tonumber(string.match(cur or '', '^%d+')) or 0) > now then
  return 0
end
local period = tonumber(ARGV[6])
redis.call('ZREMRANGEBYSCORE', ckey, '-inf', now - period)
redis.call('ZADD', ckey, now, now .. ' ' .. ARGV[9])
redis.call('PEXPIRE', ckey, period)
if redis.call('ZCARD', ckey) < tonumber(ARGV[5]) then
  return 0
end
local untl = now + tonumber(ARGV[7])
redis.call('DEL', ckey)
local what, verb = '', 'suspended'
if throttle then
  verb = 'throttled to ' .. ARGV[13] .. '/min'
  redis.call('HSET', KEYS[2], field, untl .. ' ' .. ARGV[13])
  if field ~= 'th' then what = ' for ' .. string.sub(field, 4) end
elseif field == 'rs_until' then
  redis.call('HSET', KEYS[2], field, untl, 'rs_why',
             ARGV[10] .. ': ' .. ARGV[11])
else
  redis.call('HSET', KEYS[2], field, untl)
  what = ' for ' .. string.sub(field, 3)
end
redis.pcall('PUBLISH', KEYS[2], field) -- the milters' listeners
redis.call('LPUSH', KEYS[3], now .. ' rule ' .. ARGV[10] .. ': ' .. verb ..
           what .. ' until ' .. untl .. ': ' .. ARGV[11])
redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[8]) - 1)
return untl
