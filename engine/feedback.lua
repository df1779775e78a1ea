#!lua
-- feedback.lua: one delivery of a member, counted once (FEEDBACK_LUA, run
-- by postlb-policyd with EVAL; embedded into engine/feedback_lua.c at
-- build time).
--
-- KEYS: [1] the member's minute counters (PREFIX fb:NAME:MINUTE),
--   [2] its outstanding set (PREFIX lc:NAME),
--   [3] where this host's follower is in its log (PREFIX fo:HOST:LOGID).
-- ARGV: [1] kind (sent, deferred, bounced, conn_error), [2] the recipient
--   domain ("" none), [3] the counters' lifetime in ms, [4] the queue id,
--   [5] the log position just after this line: "DEV INO GEN OFFSET"
--   (GEN counts truncations of that file).
-- A line at or before the position already stored for the same file
-- (same DEV and INO, GEN and OFFSET not beyond it) was counted before a
-- restart: nothing is done.  Otherwise the kind (and kind:domain) are
-- incremented, the counters' lifetime set, the queue id removed from the
-- outstanding set and the position stored, all at once.
-- Returns 1 when counted, 0 for a line counted before.
local function pos(s)
  local d, i, g, o = string.match(s or '', '^(%d+) (%d+) (%d+) (%d+)$')
  if not d then return nil end
  return d, i, tonumber(g), tonumber(o)
end
local d, i, g, o = pos(ARGV[5])
local sd, si, sg, so = pos(redis.call('GET', KEYS[3]))
if d and sd and d == sd and i == si and
   (sg > g or (sg == g and so >= o)) then
  return 0
end
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
if ARGV[2] ~= '' then
  redis.call('HINCRBY', KEYS[1], ARGV[1] .. ':' .. ARGV[2], 1)
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
if ARGV[4] ~= '' then
  redis.call('ZREM', KEYS[2], ARGV[4])
end
redis.call('SET', KEYS[3], ARGV[5])
return 1
