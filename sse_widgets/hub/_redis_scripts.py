"""Lua scripts of the Redis backend: each runs atomically inside Redis.

Keys, under a prefix P:
  P.."epoch"      the shared epoch          P.."seq"        the hub-wide sequence
  P.."ch:"..name  one stream per channel, entry ids "<seq>-0", fields t (type), ts, d (data)
  P.."live"       every event and deletion, ids "<seq>-0", read by each server's one reader
  P.."channels"   zset name -> last seq     P.."bytes"      hash name -> retained bytes
  P.."total"      retained bytes, all       P.."dropped"    hash name -> last seq trimmed
  P.."tombstones" zset name -> seq of channels dropped whole; P.."floor" past that bound
  P.."idem:"..k   "<first seq>,<count>" of the request that carried idempotency key k
                  (expires); P.."idem" zset k -> seq, which bounds how many are kept
  P.."publish-key" the key new kernels get; P.."publish-keys" every key handed out

Every script that writes starts with ``#!lua``: Redis then refuses the whole script
before it runs when it is over ``maxmemory`` (the error is "OOM command not allowed"),
instead of failing at the first write in the middle of it, so a refused publish leaves
nothing behind. The replay scripts are ``no-writes`` and so keep working at maxmemory.
(Redis 7 "Script flags": https://redis.io/docs/latest/develop/interact/programmability/eval-intro/)
"""

from __future__ import annotations

#: A channel pattern matcher in linear time. ``*`` matches any run of characters
#: (``/`` included); every other character is literal, so the segments between stars
#: are found with plain ``string.find(s, seg, init, true)``. Runs of ``*`` collapse to
#: one; the first segment must be a prefix, the last a suffix, and the middle ones are
#: found left to right, leftmost first, which is correct for star-only globs: taking the
#: leftmost occurrence of a segment leaves the most room for the rest. The glob-to-Lua-
#: pattern translation this replaces backtracked exponentially (``train/`` + 24 ``*`` +
#: ``Z`` kept Redis busy for hours). The same algorithm is ``protocol.py``'s and
#: ``stream.ts``'s; tests/hub/test_redis_patterns.py checks this one against a brute force.
MATCHER = r"""
local function compile_glob(pat)
  if not string.find(pat, '*', 1, true) then return {exact = pat} end
  local segs = {}
  local start = 1
  while true do
    local i = string.find(pat, '*', start, true)
    if not i then segs[#segs + 1] = string.sub(pat, start); break end
    segs[#segs + 1] = string.sub(pat, start, i - 1)
    start = i + 1
  end
  local middle = {}
  for k = 2, #segs - 1 do
    if #segs[k] > 0 then middle[#middle + 1] = segs[k] end
  end
  return {first = segs[1], last = segs[#segs], middle = middle}
end
local function glob_match(g, s)
  if g.exact then return s == g.exact end
  local first, last = g.first, g.last
  if #s < #first + #last then return false end
  if string.sub(s, 1, #first) ~= first then return false end
  if #last > 0 and string.sub(s, #s - #last + 1) ~= last then return false end
  local pos = #first + 1
  local limit = #s - #last
  for _, seg in ipairs(g.middle) do
    local i, j = string.find(s, seg, pos, true)
    if not i or j > limit then return false end
    pos = j + 1
  end
  return true
end
local function compile_all(list)
  local out = {}
  for i, pat in ipairs(list) do out[i] = compile_glob(pat) end
  return out
end
local function any(globs, name)
  for _, g in ipairs(globs) do if glob_match(g, name) then return true end end
  return false
end
"""

_COMMON = r"""
local p = ARGV[1]
local overhead = tonumber(ARGV[2])
local function cost(ch, ty, d) return #d + #ch + #ty + overhead end
local function seq_of(id) return tonumber(string.match(id, '^(%d+)')) end
local function forget(ch, through)
  local key = p .. 'ch:' .. ch
  local b = tonumber(redis.call('HGET', p .. 'bytes', ch) or '0')
  redis.call('DEL', key)
  redis.call('HDEL', p .. 'bytes', ch)
  redis.call('HDEL', p .. 'dropped', ch)
  redis.call('DECRBY', p .. 'total', b)
  redis.call('ZREM', p .. 'channels', ch)
  redis.call('ZADD', p .. 'tombstones', through, ch)
  if redis.call('ZCARD', p .. 'tombstones') > 10000 then
    local old = redis.call('ZPOPMIN', p .. 'tombstones')
    local floor = tonumber(redis.call('GET', p .. 'floor') or '0')
    if tonumber(old[2]) > floor then redis.call('SET', p .. 'floor', old[2]) end
  end
end
"""

#: ARGV: prefix, overhead, history_size, history_bytes, max_channels, total_bytes,
#: live_length, ts, epoch, idempotency key ('' for none), key ttl ms, keys kept, then
#: (channel, type, data) per event.
#: Returns {'ok', first seq, count}; {'again', first seq, count} when the key was seen
#: (nothing appended: these are the original request's seqs); {'epoch', current epoch}
#: when Redis's epoch is not the caller's (Redis lost its data: resync, then retry).
APPEND = "#!lua\n" + _COMMON + r"""
local max_len = tonumber(ARGV[3])
local max_bytes = tonumber(ARGV[4])
local max_channels = tonumber(ARGV[5])
local max_total = tonumber(ARGV[6])
local live_len = ARGV[7]
local ts = ARGV[8]
local epoch = ARGV[9]
local idem = ARGV[10]
local idem_ttl = ARGV[11]
local idem_kept = tonumber(ARGV[12])
local first_arg = 13
local current = redis.call('GET', p .. 'epoch')
if current ~= epoch then return {'epoch', current or ''} end
local count = (#ARGV - first_arg + 1) / 3
if idem ~= '' then
  local seen = redis.call('GET', p .. 'idem:' .. idem)
  if seen then
    local s, n = string.match(seen, '^(%d+),(%d+)$')
    return {'again', tonumber(s), tonumber(n)}
  end
end
local first = nil
local last_ch = nil
for i = first_arg, #ARGV, 3 do
  local ch, ty, d = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local key = p .. 'ch:' .. ch
  local seq = redis.call('INCR', p .. 'seq')
  if not first then first = seq end
  local id = seq .. '-0'
  if redis.call('EXISTS', key) == 0 then
    local buried = redis.call('ZSCORE', p .. 'tombstones', ch)
    if buried then
      redis.call('HSET', p .. 'dropped', ch, buried)
      redis.call('ZREM', p .. 'tombstones', ch)
    end
  end
  redis.call('XADD', key, id, 't', ty, 'ts', ts, 'd', d)
  redis.call('XADD', p .. 'live', 'MAXLEN', '~', live_len, id, 'c', ch, 't', ty, 'ts', ts, 'd', d)
  local c = cost(ch, ty, d)
  local bytes = redis.call('HINCRBY', p .. 'bytes', ch, c)
  redis.call('INCRBY', p .. 'total', c)
  redis.call('ZADD', p .. 'channels', seq, ch)
  local len = redis.call('XLEN', key)
  while len > max_len or (bytes > max_bytes and len > 1) do
    local oldest = redis.call('XRANGE', key, '-', '+', 'COUNT', 1)[1]
    local f = {}
    for j = 1, #oldest[2], 2 do f[oldest[2][j]] = oldest[2][j + 1] end
    local oc = cost(ch, f['t'], f['d'])
    redis.call('XDEL', key, oldest[1])
    bytes = redis.call('HINCRBY', p .. 'bytes', ch, -oc)
    redis.call('DECRBY', p .. 'total', oc)
    redis.call('HSET', p .. 'dropped', ch, seq_of(oldest[1]))
    len = len - 1
  end
  last_ch = ch
end
while true do
  local n = redis.call('ZCARD', p .. 'channels')
  local total = tonumber(redis.call('GET', p .. 'total') or '0')
  if n <= max_channels and total <= max_total then break end
  local lru = redis.call('ZRANGE', p .. 'channels', 0, 0, 'WITHSCORES')
  if #lru == 0 or lru[1] == last_ch then break end
  forget(lru[1], tonumber(lru[2]))
end
if idem ~= '' then
  -- Remembered for a while (the TTL) and for the most recent idem_kept requests.
  redis.call('SET', p .. 'idem:' .. idem, first .. ',' .. count, 'PX', idem_ttl)
  redis.call('ZADD', p .. 'idem', first, idem)
  local excess = redis.call('ZCARD', p .. 'idem') - idem_kept
  if excess > 0 then
    local popped = redis.call('ZPOPMIN', p .. 'idem', excess)
    for j = 1, #popped, 2 do redis.call('DEL', p .. 'idem:' .. popped[j]) end
  end
end
return {'ok', first, count}
"""

#: ARGV: prefix, overhead, live_length, channel, epoch. Returns the deletion's seq, 0 if
#: there was no such channel, or -1 when Redis's epoch is not the caller's.
DELETE = "#!lua\n" + _COMMON + r"""
local live_len = ARGV[3]
local ch = ARGV[4]
if redis.call('GET', p .. 'epoch') ~= ARGV[5] then return -1 end
if redis.call('EXISTS', p .. 'ch:' .. ch) == 0 then return 0 end
local seq = redis.call('INCR', p .. 'seq')
forget(ch, seq)
redis.call('XADD', p .. 'live', 'MAXLEN', '~', live_len, seq .. '-0', 'c', ch, 'x', 'deleted')
return seq
"""

#: The start of a replay. ARGV: prefix, overhead, cursor epoch ('' for none), after (-1:
#: live only), n patterns, patterns, n since, since patterns. Atomic: decides the reset
#: and fixes ``upto`` (the current seq) and, for each channel to read, the seq it is read
#: after. Later events come to the subscriber live. Returns {reset, epoch, upto, then per
#: channel: name, after, last seq}.
REPLAY_START = "#!lua flags=no-writes\n" + MATCHER + _COMMON + r"""
local cursor_epoch = ARGV[3]
local after = tonumber(ARGV[4])
local n = tonumber(ARGV[5])
local raw = {}
for i = 1, n do raw[i] = ARGV[5 + i] end
local patterns = compile_all(raw)
local m = tonumber(ARGV[6 + n])
raw = {}
for i = 1, m do raw[i] = ARGV[6 + n + i] end
local since = compile_all(raw)
local epoch = redis.call('GET', p .. 'epoch') or ''
local current = tonumber(redis.call('GET', p .. 'seq') or '0')
local names = redis.call('ZRANGE', p .. 'channels', 0, -1, 'WITHSCORES')
local reset = ''
if cursor_epoch ~= '' and after >= 0 then
  if cursor_epoch ~= epoch or after > current then
    reset = 'epoch'
  else
    if tonumber(redis.call('GET', p .. 'floor') or '0') > after then reset = 'gap' end
    if reset == '' then
      for i = 1, #names, 2 do
        local name = names[i]
        local dropped = tonumber(redis.call('HGET', p .. 'dropped', name) or '0')
        if dropped > after and any(patterns, name) and not any(since, name) then reset = 'gap'; break end
      end
    end
    if reset == '' then
      local buried = redis.call('ZRANGEBYSCORE', p .. 'tombstones', '(' .. after, '+inf')
      for _, name in ipairs(buried) do
        if any(patterns, name) and not any(since, name) then reset = 'gap'; break end
      end
    end
  end
end
if reset ~= '' then after = 0 end
local out = {reset, epoch, current}
for i = 1, #names, 2 do
  local name, last = names[i], tonumber(names[i + 1])
  if any(patterns, name) then
    local start = after
    if after == 0 or any(since, name) then
      -- From the oldest retained: everything after what was trimmed is there.
      start = tonumber(redis.call('HGET', p .. 'dropped', name) or '0')
    end
    if start >= 0 and last > start then
      out[#out + 1] = name
      out[#out + 1] = start
      out[#out + 1] = last
    end
  end
end
return out
"""

#: One page of a replay. ARGV: prefix, epoch, upto, window, page bytes, then (name,
#: after) per channel still to read. Reads the events with seq in [lowest next seq, that
#: + window) and at most ``upto`` (seqs are hub-wide, so a window holds at most that many
#: events in all; it narrows for large events) and returns them in seq order, cut after
#: ``page bytes``.
#: Returns {'ok', position, then per event: channel index, seq, type, ts, data}: every
#: event of these channels up to ``position`` has now been returned. {'end'} when there
#: is nothing left; {'gap'} when something not yet returned was trimmed or deleted
#: meanwhile (or Redis lost its data): the stream must end and reconnect to a reset.
REPLAY_PAGE = "#!lua flags=no-writes\n" + r"""
local p = ARGV[1]
if (redis.call('GET', p .. 'epoch') or '') ~= ARGV[2] then return {'gap'} end
local upto = tonumber(ARGV[3])
local window = tonumber(ARGV[4])
local budget = tonumber(ARGV[5])
local names, froms = {}, {}
local raw_froms = {}
for i = 6, #ARGV, 2 do
  names[#names + 1] = ARGV[i]
  froms[#froms + 1] = tonumber(ARGV[i + 1])
  raw_froms[#raw_froms + 1] = ARGV[i + 1]
end
local lo = nil
local largest = 1
for k, name in ipairs(names) do
  local key = p .. 'ch:' .. name
  local dropped = tonumber(redis.call('HGET', p .. 'dropped', name) or '0')
  if dropped > froms[k] or redis.call('EXISTS', key) == 0 then return {'gap'} end
  local head = redis.call('XRANGE', key, '(' .. raw_froms[k] .. '-0', ARGV[3] .. '-0', 'COUNT', 1)[1]
  if head then
    local s = tonumber(string.match(head[1], '^(%d+)'))
    if not lo or s < lo then lo = s end
    for j = 1, #head[2], 2 do
      if head[2][j] == 'd' and #head[2][j + 1] > largest then largest = #head[2][j + 1] end
    end
  end
end
if not lo then return {'end'} end
-- Fewer seqs per window when events are large (judged by the channels' next ones), so
-- that a page reads about its byte budget inside Redis too, not window x event size.
window = math.max(1, math.min(window, math.floor(budget / largest) + 1))
local hi = math.min(upto, lo + window - 1)
local found = {}
for k, name in ipairs(names) do
  local entries = redis.call('XRANGE', p .. 'ch:' .. name, '(' .. raw_froms[k] .. '-0', string.format('%d-0', hi))
  for _, e in ipairs(entries) do
    local f = {}
    for j = 1, #e[2], 2 do f[e[2][j]] = e[2][j + 1] end
    found[#found + 1] = {tonumber(string.match(e[1], '^(%d+)')), k, f['t'], f['ts'], f['d']}
  end
end
table.sort(found, function(a, b) return a[1] < b[1] end)
local out = {'ok', hi}
local size = 0
for i, e in ipairs(found) do
  out[#out + 1] = e[2]; out[#out + 1] = e[1]; out[#out + 1] = e[3]
  out[#out + 1] = e[4]; out[#out + 1] = e[5]
  size = size + #e[5]
  if size >= budget and i < #found then out[2] = e[1]; break end
end
return out
"""

#: ARGV: the glob patterns, then '' then the names. Returns, per name, a list of 0/1 per
#: pattern. Only for tests, which check the matcher against a reference.
MATCH_TABLE = "#!lua flags=no-writes\n" + MATCHER + r"""
local globs, names, i = {}, {}, 1
while ARGV[i] ~= '' do globs[#globs + 1] = compile_glob(ARGV[i]); i = i + 1 end
for j = i + 1, #ARGV do names[#names + 1] = ARGV[j] end
local out = {}
for _, name in ipairs(names) do
  local row = {}
  for k, g in ipairs(globs) do row[k] = glob_match(g, name) and 1 or 0 end
  out[#out + 1] = row
end
return out
"""
