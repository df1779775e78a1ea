#!lua
-- route.lua: the route script of postlb-milter (ROUTE_LUA), run by Redis
-- with EVALSHA; embedded into engine/route_lua.c at build time.  Run it by
-- hand with: redis-cli --eval engine/route.lua KEYS... , ARGV...
--
-- KEYS: [1] the pool's counter (PREFIX rr:POOL), then per candidate i:
--   [3i-1] the member's state hash (PREFIX m:NAME: field "state", fields
--          "s:DOMAIN" = suspended until, in ms of Redis's clock),
--   [3i]   its warm-up count for today (PREFIX w:NAME:YYYYMMDD),
--   [3i+1] its outstanding set (PREFIX lc:NAME, least_outstanding);
--   last: the learned mailbox providers (PREFIX prov: DOMAIN -> PROVIDER).
-- ARGV: [1] mode: "seq" (round robin, weighted), "order" (hash), "least";
--   [2] cycle: one byte per slot, the candidate number (1-based);
--   [3] outstanding ttl in ms; [4] queue id ("" none);
--   [5] the number of domains ND, [6 .. 5+ND] the recipient domains;
--   then per candidate its weight and today's cap (-1: none);
--   optionally the slow start time in ms and the first share in percent;
--   last: the number of picks P (1 for one message; > 1 a reservation,
--   "seq" only, sent with no queue id and no domains).
-- Time is Redis's (TIME): hosts with skewed clocks agree.
-- A candidate is usable when its state is absent or "ready", its health
-- (fields hc, cb_until and rs_until, see engine/health.h) is not down, no
-- domain of the message suspends it (s:DOMAIN, or p:PROVIDER of the
-- domain's provider) and its count is under its cap.  A throttle (th,
-- ts:DOMAIN of a domain, tp:PROVIDER of its provider: "UNTIL RATE")
-- leaves it usable while its picks under that throttle this minute
-- (MEMBERKEY:FIELD:MINUTE, kept 2 minutes) are under RATE.  A member that
-- came back (field up_at) less than the slow start time ago takes a share
-- of its slots (its weight, for least) that grows linearly from the first
-- share to 100%; hash pools ignore slow start (a key keeps its member).  A reservation
-- takes the next P slots of the shared counter at once, caps counted pick
-- by pick; a pick of a member suspended for any domain or provider comes
-- back negated
-- (the caller routes such a message with its own call); so does a pick
-- of a member under any throttle.  Suspension and throttle fields found
-- expired are deleted.  Picks are added to today's counts
-- and, in a least_outstanding pool with a queue id, to the outstanding set.
-- Returns: { the counter before the picks, pick 1, ..., pick P }, a pick
-- being a candidate number, 0 (none) or, negated, a suspended candidate.
local mode, cycle = ARGV[1], ARGV[2]
local ttl, qid = tonumber(ARGV[3]), ARGV[4]
local nd = tonumber(ARGV[5])
local base = 5 + nd
local np = tonumber(ARGV[#ARGV])
local n = (#KEYS - 2) / 3
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function hdel(key, f)
  for j = 1, #f, 100 do
    redis.call('HDEL', key, unpack(f, j, math.min(j + 99, #f)))
  end
end
-- slow start: optional, two more arguments before the last
local ss, ssmin = 0, 100
if #ARGV == base + 2 * n + 3 then
  ss, ssmin = tonumber(ARGV[#ARGV - 2]), tonumber(ARGV[#ARGV - 1])
end
-- health (health.h): the check's verdict, the breaker, the slow start
local function healthy(f, v)
  if f == 'hc' then return v ~= 'down' end
  if f == 'cb_until' or f == 'rs_until' then
    return (tonumber(v) or 0) <= now
  end
  return true
end
local share = {}
local function ramp(i, up_at)
  local since = now - (tonumber(up_at) or 0)
  if ss > 0 and up_at and since < ss then
    share[i] = ssmin + math.floor((100 - ssmin) * since / ss)
  end
end
local fields = {'state', 'hc', 'cb_until', 'up_at', 'rs_until', 'th'}
for d = 1, nd do
  fields[#fields + 1] = 's:' .. ARGV[5 + d]
  fields[#fields + 1] = 'ts:' .. ARGV[5 + d]
end
-- the providers of the message's domains (health.h): p:PROVIDER fields
if nd > 0 then
  local pv, seen = redis.call('HMGET', KEYS[#KEYS], unpack(ARGV, 6, 5 + nd)), {}
  for d = 1, nd do
    if pv[d] and not seen[pv[d]] then
      seen[pv[d]] = true
      fields[#fields + 1] = 'p:' .. pv[d]
      fields[#fields + 1] = 'tp:' .. pv[d]
    end
  end
end
-- a throttle (th, ts:DOMAIN, tp:PROVIDER = "UNTIL RATE"): its end, or 0
-- when over; the member's picks under it are counted per minute in
-- MEMBERKEY:FIELD:MINUTE
local minute = math.floor(now / 60000)
local function throttle(v)
  local u, r = string.match(v, '^(%d+) (%d+)$')
  if u and tonumber(u) > now then return tonumber(r) end
  return nil
end
local function tfield(f)
  return f == 'th' or string.sub(f, 1, 3) == 'ts:' or
    string.sub(f, 1, 3) == 'tp:'
end
local ok, susp, cap, cnt, used, thr = {}, {}, {}, {}, {}, {}
for i = 1, n do
  local good, old = true, {}
  if np > 1 then
    local h = redis.call('HGETALL', KEYS[3*i - 1])
    for j = 1, #h, 2 do
      if h[j] == 'state' then
        if h[j + 1] ~= 'ready' then good = false end
      elseif h[j] == 'up_at' then ramp(i, h[j + 1])
      elseif not healthy(h[j], h[j + 1]) then good = false
      elseif string.sub(h[j], 1, 2) == 's:' or
          string.sub(h[j], 1, 2) == 'p:' then
        if (tonumber(h[j + 1]) or 0) > now then susp[i] = true
        else old[#old + 1] = h[j] end
      elseif tfield(h[j]) then
        -- a throttled member's messages are routed one by one
        if throttle(h[j + 1]) then susp[i] = true
        else old[#old + 1] = h[j] end
      end
    end
  else
    local v = redis.call('HMGET', KEYS[3*i - 1], unpack(fields))
    good = ((not v[1]) or v[1] == 'ready') and
      ((not v[2]) or healthy('hc', v[2])) and
      ((not v[3]) or healthy('cb_until', v[3])) and
      ((not v[5]) or healthy('rs_until', v[5]))
    if v[4] then ramp(i, v[4]) end
    thr[i] = {}
    for d = 6, #fields do
      if v[d] and tfield(fields[d]) then
        local rate = throttle(v[d])
        if not rate then old[#old + 1] = fields[d]
        else
          local tk = KEYS[3*i - 1] .. ':' .. fields[d] .. ':' .. minute
          if tonumber(redis.call('GET', tk) or '0') >= rate then
            good = false
          end
          thr[i][#thr[i] + 1] = tk
        end
      elseif v[d] then
        if (tonumber(v[d]) or 0) > now then good = false
        else old[#old + 1] = fields[d] end
      end
    end
  end
  hdel(KEYS[3*i - 1], old)
  cap[i] = tonumber(ARGV[base + 2*i])
  cnt[i] = 0
  used[i] = 0
  if good and cap[i] >= 0 then
    cnt[i] = tonumber(redis.call('GET', KEYS[3*i]) or '0')
    if cnt[i] >= cap[i] then good = false end
  end
  ok[i] = good
end
local k = 0
if mode ~= 'order' then k = redis.call('INCRBY', KEYS[1], np) - np end
local out = {k}
for t = 1, np do
  local kt, pick = k + t, 0
  if mode == 'order' then kt = 0 end
  if mode == 'least' then
    local best
    for j = 0, n - 1 do
      local i = ((kt + j) % n) + 1
      if ok[i] then
        redis.call('ZREMRANGEBYSCORE', KEYS[3*i + 1], '-inf', now - ttl)
        local s = (redis.call('ZCARD', KEYS[3*i + 1]) + 1) /
          (tonumber(ARGV[base + 2*i - 1]) * (share[i] or 100) / 100)
        if best == nil or s < best then best = s; pick = i end
      end
    end
  else
    local len = #cycle
    for j = 0, len - 1 do
      local slot = kt + j
      local i = string.byte(cycle, (slot % len) + 1)
      -- a slow-starting member takes share[i] % of its slots, spread
      -- over the rotation by a multiplicative hash of the slot number
      if ok[i] and (not share[i] or mode == 'order' or
          (slot % 1000003) * 2654435761 % 4294967296 % 100 < share[i]) then
        pick = i; break
      end
    end
  end
  if pick > 0 then
    used[pick] = used[pick] + 1
    if cap[pick] >= 0 then
      cnt[pick] = cnt[pick] + 1
      if cnt[pick] >= cap[pick] then ok[pick] = false end
    end
    if mode == 'least' and qid ~= '' then
      redis.call('ZADD', KEYS[3*pick + 1], now, qid)
      redis.call('PEXPIRE', KEYS[3*pick + 1], ttl * 2)
    end
    for _, tk in ipairs(thr[pick] or {}) do
      redis.call('INCR', tk)
      redis.call('PEXPIRE', tk, 120000)
    end
    if susp[pick] then pick = -pick end
  end
  out[t + 1] = pick
end
for i = 1, n do
  if used[i] > 0 and
      redis.call('INCRBY', KEYS[3*i], used[i]) == used[i] then
    redis.call('EXPIRE', KEYS[3*i], 172800)
  end
end
return out
