//! Lua scripts of the Redis backend. Each runs atomically on the node that owns its keys; all
//! keys of one script share a hash slot (the map key `M` and its companions `{M}:...`).

use redis::Script;

/// KEYS: map. ARGV: key, value, channel, payload. `HSET` then `PUBLISH` in one step, so no
/// subscriber hears of a change before it is readable.
pub(crate) const PUT: &str = r"
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1";

/// KEYS: map. ARGV: key, channel, payload. Returns the old value (nil if none).
pub(crate) const REMOVE: &str = r"
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('PUBLISH', ARGV[2], ARGV[3])
end
return old";

/// KEYS: cell. ARGV: has_expected (0/1), expected, new. Returns 1 if set.
pub(crate) const CAS: &str = r"
local cur = redis.call('GET', KEYS[1])
if ARGV[1] == '0' then
  if cur then return 0 end
elseif cur ~= ARGV[2] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[3])
return 1";

/// KEYS: lock, token counter. ARGV: lease ms. Returns the new token, or 0 if held.
pub(crate) const TRY_LOCK: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local t = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], t, 'PX', ARGV[1])
return t";

/// KEYS: lock. ARGV: token. Returns 1 if released.
pub(crate) const UNLOCK: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0";

/// KEYS: map, lock, token counter. ARGV: token, key, value, channel, payload.
/// Returns {1, current} if written, {0, current, held(0/1)} if the token is stale.
pub(crate) const PUT_FENCED: &str = r"
local cur = tonumber(redis.call('GET', KEYS[3]) or '0')
local held = redis.call('GET', KEYS[2])
if tonumber(ARGV[1]) ~= cur or held ~= ARGV[1] then
  local h = 0
  if held then h = 1 end
  return {0, cur, h}
end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
redis.call('PUBLISH', ARGV[4], ARGV[5])
return {1, cur, 1}";

/// KEYS: heartbeat map, its timestamp hash. ARGV: name, value, channel, payload.
/// Stores the server clock (ms) beside the value.
pub(crate) const BEAT: &str = r"
local t = redis.call('TIME')
local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], ms)
redis.call('PUBLISH', ARGV[3], ARGV[4])
return ms";

/// BEAT for several heartbeats in one call (one round trip, one server clock reading).
/// KEYS: heartbeat map, its timestamp hash. ARGV: channel, then (name, value, payload) triples.
pub(crate) const BEAT_MANY: &str = r"
local t = redis.call('TIME')
local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i = 2, #ARGV, 3 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  redis.call('HSET', KEYS[2], ARGV[i], ms)
  redis.call('PUBLISH', ARGV[1], ARGV[i + 2])
end
return ms";

/// KEYS: heartbeat timestamp hash. ARGV: name. Returns age in ms by the server clock, -1 if
/// never beaten.
pub(crate) const HEARTBEAT_AGE: &str = r"
local last = redis.call('HGET', KEYS[1], ARGV[1])
if not last then return -1 end
local t = redis.call('TIME')
local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return ms - tonumber(last)";

/// The compiled scripts (SHA1 computed once).
pub(crate) struct Scripts {
    pub put: Script,
    pub remove: Script,
    pub cas: Script,
    pub try_lock: Script,
    pub unlock: Script,
    pub put_fenced: Script,
    pub beat: Script,
    pub beat_many: Script,
    pub heartbeat_age: Script,
}

impl Scripts {
    pub(crate) fn new() -> Self {
        Self {
            put: Script::new(PUT),
            remove: Script::new(REMOVE),
            cas: Script::new(CAS),
            try_lock: Script::new(TRY_LOCK),
            unlock: Script::new(UNLOCK),
            put_fenced: Script::new(PUT_FENCED),
            beat: Script::new(BEAT),
            beat_many: Script::new(BEAT_MANY),
            heartbeat_age: Script::new(HEARTBEAT_AGE),
        }
    }
}

/// `{M}:cell` — the compare-and-set cell `M`.
pub(crate) fn cell_key(cell: &str) -> String {
    format!("{{{cell}}}:cell")
}

/// `{M}:lock` — the live holder of the fenced lock guarding map `M`.
pub(crate) fn lock_key(map: &str) -> String {
    format!("{{{map}}}:lock")
}

/// `{M}:lock:token` — the token counter of that lock.
pub(crate) fn token_key(map: &str) -> String {
    format!("{{{map}}}:lock:token")
}

/// `{M}:ts` — heartbeat timestamps beside heartbeat map `M`.
pub(crate) fn ts_key(map: &str) -> String {
    format!("{{{map}}}:ts")
}
