#!lua
-- route.lua: the route script of postlb-milter (ROUTE_LUA), run by Redis
-- with EVALSHA; embedded into engine/route_lua.c at build time.  Run it by
-- hand with: redis-cli --eval engine/route.lua KEYS... , ARGV...
--
-- KEYS: [1] the pool's counter (PREFIX rr:POOL; PREFIX rr:POOL:SET when a
--   host or a site uses its own set of the pool's members), [2] the
--   learned mailbox providers (PREFIX prov: DOMAIN -> PROVIDER), [3] the
--   plan's definition, DEF = PREFIX rd:HASH: the string keys DEF:n (the
--   candidates' names, 32 bytes each, space-padded), DEF:w (weights, 5
--   characters each), DEF:k (today's caps, 11 characters each, -1 none)
--   and, but for a hash pool, DEF:c (the cycle, below).  The router
--   writes them (route_run.c) and asks again when this script answers
--   {-1}: a definition is missing (a new plan, or Redis lost it).
-- ARGV: [1] mode: "seq" (round robin, weighted), "order" (hash), "least";
--   [2] a hash pool's order, inline ("" : the cycle is DEF:c; the router
--   sends the top of a big pool's order first, all of it only when this
--   script finds no member in the top); a cycle is
--   two bytes per slot, the candidate number (1-based) in two digits of
--   base 255, each plus one (so no byte is NUL); [3] outstanding ttl in
--   ms; [4] queue id ("" none); [5] the number of domains ND, [6 .. 5+ND]
--   the recipient domains; then [B+1] the number of candidates, [B+2] the
--   cycle's length in slots, [B+3] the key prefix, [B+4] today
--   (YYYYMMDD), B = 5 + ND; optionally the slow start time in ms and the
--   first share in percent; last: the number of picks P (1 for one
--   message; > 1 a reservation, "seq" only, sent with no queue id and no
--   domains).
-- A candidate's keys are PREFIX m:NAME (its state and health: "state",
-- the fields of engine/health.h, "s:DOMAIN" suspensions), PREFIX
-- w:NAME:YYYYMMDD (today's warm-up count) and PREFIX lc:NAME (its
-- outstanding set, least_outstanding).  Only the slots and candidates the
-- walk reaches are read (GETRANGE of the definition), so a pool of a
-- thousand members costs about what one of three does: a round robin or
-- weighted pick reads the first usable candidate from the counter on, a
-- hash pick the first of its order, and least_outstanding compares a
-- window of at most 16 candidates (from the counter on, so every member
-- is in some window; their definition fields read with one GETRANGE
-- each, their outstanding entries counted with ZCOUNT, and the old ones
-- removed from the member that gets the message).
-- Time is Redis's (TIME): hosts with skewed clocks agree.
-- A candidate is usable when its state is absent or "ready", its health
-- (fields hc, cb_until and rs_until, see engine/health.h) is not down, no
-- domain of the message suspends it (s:DOMAIN, or p:PROVIDER of the
-- domain's provider) and its count is under its cap.  A throttle (th,
-- ts:DOMAIN of a domain, tp:PROVIDER of its provider: "UNTIL RATE")
-- leaves it usable while its picks under that throttle this minute
-- (PREFIX m:NAME:FIELD:MINUTE, kept 2 minutes) are under RATE.  A member
-- that came back (field up_at) less than the slow start time ago takes a
-- share of its slots (its weight, for least) that grows linearly from the
-- first share to 100%; hash pools ignore slow start (a key keeps its
-- member).  A reservation takes the next P slots of the shared counter at
-- once, caps counted pick by pick; a pick of a member suspended for any
-- domain or provider comes back negated (the caller routes such a
-- message with its own call); so does a pick of a member under any
-- throttle.  Suspension and throttle fields found expired are deleted.
-- Picks are added to today's counts and, in a least_outstanding pool with
-- a queue id, to the outstanding set.
-- Returns: { the counter before the picks, pick 1, ..., pick P }, a pick
-- being a candidate number, 0 (none) or, negated, a suspended candidate;
-- or {-1} when the definition is missing (nothing was done).
local mode, inline = ARGV[1], ARGV[2]
local ttl, qid = tonumber(ARGV[3]), ARGV[4]
local nd = tonumber(ARGV[5])
local base = 5 + nd
local np = tonumber(ARGV[#ARGV])
local n, len = tonumber(ARGV[base + 1]), tonumber(ARGV[base + 2])
local prefix, day = ARGV[base + 3], ARGV[base + 4]
local def = KEYS[3]
if redis.call('EXISTS', def .. ':n', def .. ':w', def .. ':k') < 3 or
    (inline == '' and redis.call('EXISTS', def .. ':c') == 0) then
  return {-1}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local minute = math.floor(now / 60000)
-- slow start: optional, two more arguments before the last
local ss, ssmin = 0, 100
if #ARGV == base + 7 then
  ss, ssmin = tonumber(ARGV[#ARGV - 2]), tonumber(ARGV[#ARGV - 1])
end
local function hdel(key, f)
  for j = 1, #f, 100 do
    redis.call('HDEL', key, unpack(f, j, math.min(j + 99, #f)))
  end
end
-- health (health.h): the check's verdict, the breaker, the slow start
local function healthy(f, v)
  if f == 'hc' then return v ~= 'down' end
  if f == 'cb_until' or f == 'rs_until' then
    return (tonumber(v) or 0) <= now
  end
  return true
end
-- a throttle's rate while it lasts, else nil
local function throttle(v)
  local u, r = string.match(v, '^(%d+) (%d+)$')
  if u and tonumber(u) > now then return tonumber(r) end
  return nil
end
local function tfield(f)
  return f == 'th' or string.sub(f, 1, 3) == 'ts:' or
    string.sub(f, 1, 3) == 'tp:'
end
-- the candidate number of slot s (0-based, mod len)
local function slot_cand(s)
  local o, b = 2 * (s % len)
  if inline ~= '' then b = string.sub(inline, o + 1, o + 2)
  else b = redis.call('GETRANGE', def .. ':c', o, o + 1) end
  return (string.byte(b, 1) - 1) * 255 + string.byte(b, 2) - 1
end
-- field i (1-based) of width w of the definition's key suffix
local function field(suffix, i, w)
  return redis.call('GETRANGE', def .. suffix, w * (i - 1), w * i - 1)
end
-- the name, weight and cap fields of candidates a..b, read ahead with
-- one GETRANGE each (a least_outstanding window)
local pre = {}
local function prefetch(a, b)
  local ns = redis.call('GETRANGE', def .. ':n', 32 * (a - 1), 32 * b - 1)
  local ws = redis.call('GETRANGE', def .. ':w', 5 * (a - 1), 5 * b - 1)
  local ks = redis.call('GETRANGE', def .. ':k', 11 * (a - 1), 11 * b - 1)
  for i = a, b do
    local o = i - a
    pre[i] = {string.sub(ns, 32 * o + 1, 32 * o + 32),
              string.sub(ws, 5 * o + 1, 5 * o + 5),
              string.sub(ks, 11 * o + 1, 11 * o + 11)}
  end
end
-- the fields one message's pick reads
local fields = {'state', 'hc', 'cb_until', 'up_at', 'rs_until', 'th'}
for d = 1, nd do
  fields[#fields + 1] = 's:' .. ARGV[5 + d]
  fields[#fields + 1] = 'ts:' .. ARGV[5 + d]
end
if nd > 0 then
  local pv, seen = redis.call('HMGET', KEYS[2], unpack(ARGV, 6, 5 + nd)), {}
  for d = 1, nd do
    if pv[d] and not seen[pv[d]] then
      seen[pv[d]] = true
      fields[#fields + 1] = 'p:' .. pv[d]
      fields[#fields + 1] = 'tp:' .. pv[d]
    end
  end
end
-- cand(i): what candidate i is, read once and only when reached
local memo, used = {}, {}
local function cand(i)
  local c = memo[i]
  if c then return c end
  local f = pre[i] or {field(':n', i, 32), field(':w', i, 5),
                       field(':k', i, 11)}
  local name = string.match(f[1], '^%S+')
  c = {mkey = prefix .. 'm:' .. name, wkey = prefix .. 'w:' .. name .. ':' .. day,
       lkey = prefix .. 'lc:' .. name, ok = true, thr = {}, cnt = 0, used = 0,
       weight = tonumber(f[2]), cap = tonumber(f[3])}
  memo[i] = c
  local old = {}
  local function ramp(up_at)
    local since = now - (tonumber(up_at) or 0)
    if ss > 0 and up_at and since < ss then
      c.share = ssmin + math.floor((100 - ssmin) * since / ss)
    end
  end
  if np > 1 then
    local h = redis.call('HGETALL', c.mkey)
    for j = 1, #h, 2 do
      local f, v = h[j], h[j + 1]
      if f == 'state' then
        if v ~= 'ready' then c.ok = false end
      elseif f == 'up_at' then ramp(v)
      elseif not healthy(f, v) then c.ok = false
      elseif string.sub(f, 1, 2) == 's:' or string.sub(f, 1, 2) == 'p:' then
        if (tonumber(v) or 0) > now then c.susp = true
        else old[#old + 1] = f end
      elseif tfield(f) then
        -- a throttled member's messages are routed one by one
        if throttle(v) then c.susp = true else old[#old + 1] = f end
      end
    end
  else
    local v = redis.call('HMGET', c.mkey, unpack(fields))
    c.ok = ((not v[1]) or v[1] == 'ready') and
      ((not v[2]) or healthy('hc', v[2])) and
      ((not v[3]) or healthy('cb_until', v[3])) and
      ((not v[5]) or healthy('rs_until', v[5]))
    if v[4] then ramp(v[4]) end
    for d = 6, #fields do
      if v[d] and tfield(fields[d]) then
        local rate = throttle(v[d])
        if not rate then old[#old + 1] = fields[d]
        else
          local tk = c.mkey .. ':' .. fields[d] .. ':' .. minute
          if tonumber(redis.call('GET', tk) or '0') >= rate then
            c.ok = false
          end
          c.thr[#c.thr + 1] = tk
        end
      elseif v[d] then
        if (tonumber(v[d]) or 0) > now then c.ok = false
        else old[#old + 1] = fields[d] end
      end
    end
  end
  hdel(c.mkey, old)
  if c.ok and c.cap >= 0 then
    c.cnt = tonumber(redis.call('GET', c.wkey) or '0')
    if c.cnt >= c.cap then c.ok = false end
  end
  return c
end
local k = 0
if mode ~= 'order' then k = redis.call('INCRBY', KEYS[1], np) - np end
local out = {k}
for p = 1, np do
  local kt, pick = k + p, 0
  if mode == 'order' then kt = 0 end
  if mode == 'least' then
    local best, w, a = nil, math.min(n, 16), (kt % n) + 1
    prefetch(a, math.min(n, a + w - 1)) -- least: one pick per call
    if a + w - 1 > n then prefetch(1, a + w - 1 - n) end
    for j = 0, w - 1 do
      local i = ((kt + j) % n) + 1
      local c = cand(i)
      if c.ok then
        -- outstanding: entries younger than the ttl (older ones are
        -- removed from the member that gets the message)
        local s = (redis.call('ZCOUNT', c.lkey, '(' .. (now - ttl), '+inf') + 1) /
          (c.weight * (c.share or 100) / 100)
        if best == nil or s < best then best = s; pick = i end
      end
    end
  else
    for j = 0, len - 1 do
      local slot = kt + j
      local i = slot_cand(slot)
      local c = cand(i)
      -- a slow-starting member takes share % of its slots, spread over
      -- the rotation by a multiplicative hash of the slot number
      if c.ok and (not c.share or mode == 'order' or
          (slot % 1000003) * 2654435761 % 4294967296 % 100 < c.share) then
        pick = i; break
      end
    end
  end
  if pick > 0 then
    local c = memo[pick]
    if c.used == 0 then used[#used + 1] = pick end
    c.used = c.used + 1
    if c.cap >= 0 then
      c.cnt = c.cnt + 1
      if c.cnt >= c.cap then c.ok = false end
    end
    if mode == 'least' and qid ~= '' then
      redis.call('ZREMRANGEBYSCORE', c.lkey, '-inf', now - ttl)
      redis.call('ZADD', c.lkey, now, qid)
      redis.call('PEXPIRE', c.lkey, ttl * 2)
    end
    for _, tk in ipairs(c.thr) do
      redis.call('INCR', tk)
      redis.call('PEXPIRE', tk, 120000)
    end
    if c.susp then pick = -pick end
  end
  out[p + 1] = pick
end
for _, i in ipairs(used) do
  local c = memo[i]
  if redis.call('INCRBY', c.wkey, c.used) == c.used then
    redis.call('EXPIRE', c.wkey, 172800)
  end
end
return out
