"""Lua scripts of the Redis backend: each runs atomically inside Redis.

Keys, under a prefix P:
  P.."epoch"      the shared epoch          P.."seq"        the hub-wide sequence
  P.."ch:"..name  one stream per channel, entry ids "<seq>-0", fields t (type), ts, d (data)
  P.."live"       every event and deletion, ids "<seq>-0", read by each server's one reader
  P.."channels"   zset name -> last seq     P.."bytes"      hash name -> retained bytes
  P.."total"      retained bytes, all       P.."dropped"    hash name -> last seq trimmed
  P.."tombstones" zset name -> seq of channels dropped whole; P.."floor" past that bound
"""

from __future__ import annotations

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
#: live_length, ts, then (channel, type, data) per event. Returns the new seqs.
APPEND = _COMMON + r"""
local max_len = tonumber(ARGV[3])
local max_bytes = tonumber(ARGV[4])
local max_channels = tonumber(ARGV[5])
local max_total = tonumber(ARGV[6])
local live_len = ARGV[7]
local ts = ARGV[8]
local seqs = {}
local last_ch = nil
for i = 9, #ARGV, 3 do
  local ch, ty, d = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local key = p .. 'ch:' .. ch
  local seq = redis.call('INCR', p .. 'seq')
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
  seqs[#seqs + 1] = seq
  last_ch = ch
end
while true do
  local count = redis.call('ZCARD', p .. 'channels')
  local total = tonumber(redis.call('GET', p .. 'total') or '0')
  if count <= max_channels and total <= max_total then break end
  local lru = redis.call('ZRANGE', p .. 'channels', 0, 0, 'WITHSCORES')
  if #lru == 0 or lru[1] == last_ch then break end
  forget(lru[1], tonumber(lru[2]))
end
return seqs
"""

#: ARGV: prefix, overhead, live_length, channel. Returns the deletion's seq, or 0.
DELETE = _COMMON + r"""
local live_len = ARGV[3]
local ch = ARGV[4]
if redis.call('EXISTS', p .. 'ch:' .. ch) == 0 then return 0 end
local seq = redis.call('INCR', p .. 'seq')
forget(ch, seq)
redis.call('XADD', p .. 'live', 'MAXLEN', '~', live_len, seq .. '-0', 'c', ch, 'x', 'deleted')
return seq
"""

#: ARGV: prefix, overhead, cursor epoch ('' for none), after (-1: live only), n patterns,
#: patterns (Lua patterns), n since, since patterns. One atomic read, so that no event
#: appended meanwhile can fall between channels. Returns {reset, epoch, seq, ch, entries, ...}.
REPLAY = _COMMON + r"""
local cursor_epoch = ARGV[3]
local after = tonumber(ARGV[4])
local n = tonumber(ARGV[5])
local patterns = {}
for i = 1, n do patterns[i] = ARGV[5 + i] end
local m = tonumber(ARGV[6 + n])
local since = {}
for i = 1, m do since[i] = ARGV[6 + n + i] end
local function any(list, name)
  for _, pat in ipairs(list) do if string.match(name, pat) then return true end end
  return false
end
local epoch = redis.call('GET', p .. 'epoch') or ''
local current = tonumber(redis.call('GET', p .. 'seq') or '0')
local names = redis.call('ZRANGE', p .. 'channels', 0, -1)
local reset = ''
if cursor_epoch ~= '' and after >= 0 then
  if cursor_epoch ~= epoch or after > current then
    reset = 'epoch'
  else
    if tonumber(redis.call('GET', p .. 'floor') or '0') > after then reset = 'gap' end
    if reset == '' then
      for _, name in ipairs(names) do
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
for _, name in ipairs(names) do
  if any(patterns, name) then
    local start = after
    if any(since, name) then start = 0 end
    if start >= 0 then
      local entries = redis.call('XRANGE', p .. 'ch:' .. name, '(' .. start .. '-0', '+')
      if #entries > 0 then
        out[#out + 1] = name
        out[#out + 1] = entries
      end
    end
  end
end
return out
"""
