//! The behavioural suite of `SystemMemory`: every scenario runs unchanged against the embedded
//! store, a Redis node and a Redis Cluster.

#![allow(dead_code)]

use dolphin_core::Posture;
use dolphin_store::schema::{self, SafetyValue};
use dolphin_store::testkit::{RedisCluster, RedisServer, require_redis};
use dolphin_store::{
    EmbeddedMemory, NearCacheConfig, RedisConfig, RedisMemory, SHARD_MAPS, ShardedFeatureStore,
    StoreError, SystemMemory, feature_key, shard_map,
};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A backend under test: hands out independent clients of one store.
pub trait Fixture {
    type M: SystemMemory + Clone + 'static;
    fn client(&self) -> Self::M;
}

pub struct Embedded(EmbeddedMemory);

impl Fixture for Embedded {
    type M = EmbeddedMemory;
    fn client(&self) -> EmbeddedMemory {
        self.0.clone()
    }
}

pub fn embedded() -> Option<Embedded> {
    Some(Embedded(EmbeddedMemory::new()))
}

pub struct RedisSingle {
    pub server: RedisServer,
}

impl Fixture for RedisSingle {
    type M = RedisMemory;
    fn client(&self) -> RedisMemory {
        RedisMemory::connect(RedisConfig::single(&self.server.url()))
            .expect("connect to test redis")
    }
}

pub fn redis_single(test: &str) -> Option<RedisSingle> {
    if !require_redis(test) {
        return None;
    }
    Some(RedisSingle {
        server: RedisServer::start().expect("start redis-server"),
    })
}

pub struct RedisClusterFx {
    pub cluster: RedisCluster,
}

impl Fixture for RedisClusterFx {
    type M = RedisMemory;
    fn client(&self) -> RedisMemory {
        RedisMemory::connect(RedisConfig::cluster(&self.cluster.urls()))
            .expect("connect to test cluster")
    }
}

pub fn redis_cluster(test: &str) -> Option<RedisClusterFx> {
    if !require_redis(test) {
        return None;
    }
    Some(RedisClusterFx {
        cluster: RedisCluster::start(3).expect("start 3-master redis cluster"),
    })
}

/// Polls `f` until it is true or `limit` passes; returns the time it took.
pub fn wait_until(limit: Duration, mut f: impl FnMut() -> bool) -> Option<Duration> {
    let t0 = Instant::now();
    while t0.elapsed() < limit {
        if f() {
            return Some(t0.elapsed());
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    None
}

// ---------------------------------------------------------------- scenarios

pub fn maps_basic<F: Fixture>(fx: &F) {
    let m = fx.client();
    let map = "T_BASIC";
    assert_eq!(m.get(map, "a").unwrap(), None);
    m.put(map, "b", "2").unwrap();
    m.put(map, "a", "1").unwrap();
    m.put(map, "a", "1bis").unwrap();
    assert_eq!(m.get(map, "a").unwrap().as_deref(), Some("1bis"));
    assert_eq!(m.key_set(map).unwrap(), vec!["a", "b"]);
    let all = m.get_all(map).unwrap();
    assert_eq!(
        all,
        BTreeMap::from([("a".into(), "1bis".into()), ("b".into(), "2".into())])
    );
    assert_eq!(m.remove(map, "a").unwrap().as_deref(), Some("1bis"));
    assert_eq!(m.remove(map, "a").unwrap(), None);
    assert_eq!(m.key_set(map).unwrap(), vec!["b"]);
    assert!(m.key_set("T_NEVER_WRITTEN").unwrap().is_empty());
    // A second client sees the same data.
    assert_eq!(fx.client().get(map, "b").unwrap().as_deref(), Some("2"));
    // Hash-tag braces are refused in names.
    assert!(matches!(
        m.put("BAD{X}", "k", "v"),
        Err(StoreError::Config { .. })
    ));
    assert_eq!(m.flush_pending().unwrap(), 0);
}

/// 400 symbols as in B §17 test_16: each lands on `sum(bytes) % 10`, all ten shards are used,
/// reads, deletes and discovery work.
pub fn shard_routing_400<F: Fixture>(fx: &F) {
    let m = fx.client();
    let store = ShardedFeatureStore::new(Arc::new(m.clone()));
    let letters = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let symbols: Vec<String> = (0..400)
        .map(|i| {
            let a = letters[i % 26] as char;
            let b = letters[(i / 26) % 26] as char;
            let c = letters[(i * 7 + 3) % 26] as char;
            format!("{a}{b}{c}USDT")
        })
        .collect();
    assert_eq!(symbols.iter().collect::<BTreeSet<_>>().len(), 400);
    for (i, s) in symbols.iter().enumerate() {
        store.put(s, "vel_div", &(-0.001 * i as f64)).unwrap();
    }
    let mut per_shard = [0usize; 10];
    for (i, s) in symbols.iter().enumerate() {
        let sum: u32 = s.bytes().map(u32::from).sum();
        let shard = (sum % 10) as usize;
        assert_eq!(store.map_of(s), SHARD_MAPS[shard]);
        let raw = m
            .get(SHARD_MAPS[shard], &feature_key(s, "vel_div"))
            .unwrap();
        assert_eq!(
            raw,
            Some(serde_json::to_string(&(-0.001 * i as f64)).unwrap())
        );
        assert_eq!(
            store.get::<f64>(s, "vel_div").unwrap(),
            Some(-0.001 * i as f64)
        );
        per_shard[shard] += 1;
    }
    assert!(per_shard.iter().all(|&n| n > 0), "{per_shard:?}");
    let total: usize = SHARD_MAPS
        .iter()
        .map(|mp| m.key_set(mp).unwrap().len())
        .sum();
    assert_eq!(total, 400);
    // B §15.2 golden example.
    store.put("BTCUSDT", "vel_div", &-0.03).unwrap();
    assert_eq!(
        m.get("DOLPHIN_FEATURES_SHARD_07", "vel_div_BTCUSDT")
            .unwrap()
            .as_deref(),
        Some("-0.03")
    );
    assert!(store.delete("BTCUSDT", "vel_div").unwrap());
    assert!(!store.delete("BTCUSDT", "vel_div").unwrap());
    assert_eq!(store.get::<f64>("BTCUSDT", "vel_div").unwrap(), None);
    // S §10 per-symbol dicts and dynamic discovery.
    for s in &symbols[..25] {
        store
            .put_symbol_features(s, &serde_json::json!({"imbalance_ma5": 0.1}))
            .unwrap();
    }
    let found = store.symbols().unwrap();
    assert_eq!(
        found,
        symbols[..25].iter().cloned().collect::<BTreeSet<_>>()
    );
    assert_eq!(shard_map(&symbols[0]), store.map_of(&symbols[0]));
}

/// (event value, value readable when the event arrived)
type Seen = (Option<String>, Option<String>);

/// Listener sees every change of a key in write order, and each value is already readable
/// when its event arrives.
pub fn listener_ordering<F: Fixture>(fx: &F) {
    let sub = fx.client();
    let reader = fx.client();
    let writer = fx.client();
    let map = "T_ORDER";
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let s2 = Arc::clone(&seen);
    let id = sub
        .subscribe(
            map,
            Arc::new(move |e| {
                let readable = reader.get(&e.map, &e.key).unwrap();
                s2.lock().unwrap().push((e.value.clone(), readable));
            }),
        )
        .unwrap();
    let n = 200;
    for i in 0..n {
        writer.put(map, "k", &i.to_string()).unwrap();
    }
    writer.remove(map, "k").unwrap();
    writer.put("T_ORDER_OTHER", "k", "x").unwrap();
    assert!(
        wait_until(Duration::from_secs(10), || seen.lock().unwrap().len()
            == n + 1)
        .is_some(),
        "only {} of {} events",
        seen.lock().unwrap().len(),
        n + 1
    );
    let got = seen.lock().unwrap().clone();
    for (i, (value, readable)) in got.iter().take(n).enumerate() {
        assert_eq!(value.as_deref(), Some(i.to_string().as_str()), "event {i}");
        // Readable at delivery: the same value or a later one (or the final removal).
        if let Some(r) = readable {
            assert!(
                r.parse::<usize>().unwrap() >= i,
                "event {i} delivered before readable ({r})"
            );
        }
    }
    assert_eq!(got[n], (None, None));
    assert!(sub.unsubscribe(id));
    assert!(!sub.unsubscribe(id));
}

/// (key, new value) of one change.
type KeyChange = (String, Option<String>);

/// `subscribe_key`: a listener for one key sees exactly that key's changes, in order, and
/// none of the other keys written to the same map (the per-bar scan beside `acb_boost`).
pub fn key_listener<F: Fixture>(fx: &F) {
    let sub = fx.client();
    let writer = fx.client();
    let map = "T_KEYED";
    let seen: Arc<Mutex<Vec<KeyChange>>> = Arc::default();
    let all: Arc<Mutex<usize>> = Arc::default();
    let s2 = Arc::clone(&seen);
    let a2 = Arc::clone(&all);
    let id = sub
        .subscribe_key(
            map,
            "wanted",
            Arc::new(move |e| s2.lock().unwrap().push((e.key.clone(), e.value.clone()))),
        )
        .unwrap();
    let whole = sub
        .subscribe(map, Arc::new(move |_| *a2.lock().unwrap() += 1))
        .unwrap();
    for i in 0..50 {
        writer.put(map, "noise", &i.to_string()).unwrap();
        if i % 10 == 0 {
            writer.put(map, "wanted", &i.to_string()).unwrap();
        }
    }
    writer.remove(map, "wanted").unwrap();
    assert!(
        wait_until(Duration::from_secs(10), || *all.lock().unwrap() == 56).is_some(),
        "the whole-map listener saw {} of 56 changes",
        all.lock().unwrap()
    );
    let got = seen.lock().unwrap().clone();
    let expected: Vec<KeyChange> = (0..50)
        .step_by(10)
        .map(|i| ("wanted".to_string(), Some(i.to_string())))
        .chain(std::iter::once(("wanted".to_string(), None)))
        .collect();
    assert_eq!(got, expected);
    assert!(sub.unsubscribe(id));
    assert!(sub.unsubscribe(whole));
}

/// Two writers increment one CAS cell 150 times each: no update is lost.
pub fn cas_two_writers<F: Fixture>(fx: &F) {
    let cell = "T_CAS_COUNTER";
    let first = fx.client();
    assert!(first.compare_and_set(cell, None, "0").unwrap());
    assert!(!first.compare_and_set(cell, None, "0").unwrap());
    assert!(!first.compare_and_set(cell, Some("7"), "8").unwrap());
    let per = 150;
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let m = fx.client();
            std::thread::spawn(move || {
                let mut conflicts = 0;
                for _ in 0..per {
                    loop {
                        let cur = m.cell_get(cell).unwrap().unwrap();
                        let next = (cur.parse::<u64>().unwrap() + 1).to_string();
                        if m.compare_and_set(cell, Some(&cur), &next).unwrap() {
                            break;
                        }
                        conflicts += 1;
                    }
                }
                conflicts
            })
        })
        .collect();
    let _conflicts: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(first.cell_get(cell).unwrap().as_deref(), Some("300"));

    // The posture helpers of B §14.4 / §16.3 on top of the cell.
    let apex = SafetyValue {
        posture: Posture::Apex,
        rm: 0.95,
        extra: Default::default(),
    };
    let turtle = SafetyValue {
        posture: Posture::Turtle,
        rm: 0.6,
        extra: Default::default(),
    };
    let current = schema::read_safety(&first).unwrap();
    assert!(schema::write_safety(&first, current.as_ref(), &apex).unwrap());
    assert!(
        !schema::write_safety(&first, None, &turtle).unwrap(),
        "stale expectation must lose"
    );
    assert!(schema::write_safety(&first, Some(&apex), &turtle).unwrap());
    assert_eq!(
        schema::read_safety(&fx.client()).unwrap(),
        Some(turtle.clone())
    );
    let mirrored: Option<SafetyValue> =
        schema::get_json(&first, schema::DOLPHIN_SAFETY, schema::KEY_LATEST).unwrap();
    assert_eq!(mirrored, Some(turtle));
}

/// A holder that pauses past its lease loses the lock; its late write is refused, both before
/// and after the next holder writes. Tokens strictly increase.
pub fn fenced_lock<F: Fixture>(fx: &F) {
    let a = fx.client();
    let b = fx.client();
    let map = "T_FENCED";
    let lease = Duration::from_millis(150);
    let ta = a.try_lock(map, lease).unwrap().expect("free lock");
    assert!(b.try_lock(map, lease).unwrap().is_none(), "lock is held");
    a.put_fenced(&ta, "acb_boost", "A1").unwrap();
    std::thread::sleep(lease + Duration::from_millis(100)); // A pauses (GC, swap, ...)
    // Lease over, nobody else yet: the late write is still refused.
    match a.put_fenced(&ta, "acb_boost", "A-late-1") {
        Err(StoreError::StaleToken { token, held, .. }) => {
            assert_eq!(token, ta.token);
            assert!(!held);
        }
        other => panic!("expected StaleToken, got {other:?}"),
    }
    let tb = b
        .lock(map, Duration::from_secs(5), Duration::from_secs(2))
        .unwrap()
        .expect("lock after expiry");
    assert!(tb.token > ta.token);
    b.put_fenced(&tb, "acb_boost", "B1").unwrap();
    match a.put_fenced(&ta, "acb_boost", "A-late-2") {
        Err(StoreError::StaleToken { current, held, .. }) => {
            assert_eq!(current, tb.token);
            assert!(held);
        }
        other => panic!("expected StaleToken, got {other:?}"),
    }
    assert_eq!(a.get(map, "acb_boost").unwrap().as_deref(), Some("B1"));
    assert!(!a.unlock(&ta).unwrap());
    assert!(b.unlock(&tb).unwrap());
    let tc = a.try_lock(map, lease).unwrap().expect("free again");
    assert!(tc.token > tb.token);
    assert!(a.unlock(&tc).unwrap());
}

/// A near-cached reader sees another client's change within a bounded time (B §15.3
/// `invalidate_on_change`), including removals.
pub fn near_cache_invalidation<F: Fixture>(fx: &F) {
    let reader = fx.client();
    let writer = fx.client();
    let map = "T_NEAR";
    reader.enable_near_cache(map, NearCacheConfig::default());
    writer.put(map, "acb", "v1").unwrap();
    for _ in 0..5 {
        assert_eq!(reader.get(map, "acb").unwrap().as_deref(), Some("v1"));
    }
    for round in 2..=6 {
        let v = format!("v{round}");
        writer.put(map, "acb", &v).unwrap();
        let took = wait_until(Duration::from_secs(2), || {
            reader.get(map, "acb").unwrap().as_deref() == Some(v.as_str())
        });
        assert!(
            took.is_some(),
            "near cache still stale after 2 s (round {round})"
        );
    }
    writer.remove(map, "acb").unwrap();
    assert!(
        wait_until(Duration::from_secs(2), || reader
            .get(map, "acb")
            .unwrap()
            .is_none())
        .is_some()
    );
    // Own writes are visible at once.
    reader.put(map, "own", "x").unwrap();
    assert_eq!(reader.get(map, "own").unwrap().as_deref(), Some("x"));
    reader.put(map, "own", "y").unwrap();
    assert_eq!(reader.get(map, "own").unwrap().as_deref(), Some("y"));
}

/// Heartbeats: value in DOLPHIN_HEARTBEAT, age by the store's clock.
pub fn heartbeats<F: Fixture>(fx: &F) {
    let m = fx.client();
    let name = "t_heartbeat";
    assert_eq!(m.heartbeat_age("never_beaten").unwrap(), None);
    m.beat(name, r#"{"ts":1.0,"phase":"run"}"#).unwrap();
    let age = m.heartbeat_age(name).unwrap().unwrap();
    assert!(age < Duration::from_secs(2), "{age:?}");
    std::thread::sleep(Duration::from_millis(120));
    let age = fx.client().heartbeat_age(name).unwrap().unwrap();
    assert!(age >= Duration::from_millis(100), "{age:?}");
    let hb: schema::HeartbeatValue = schema::get_json(&m, schema::DOLPHIN_HEARTBEAT, name)
        .unwrap()
        .unwrap();
    assert_eq!(hb.phase, "run");
}

/// The in-place reads and the batched heartbeats give what `get`, `get_all`, `cell_get` and
/// `beat` give, on every backend (the embedded one lends its buffers; the others copy).
pub fn in_place_reads_and_batched_beats<F: Fixture>(fx: &F) {
    let m = fx.client();
    let other = fx.client();
    let map = "t_in_place";
    m.put(map, "b", "2").unwrap();
    m.put(map, "a", "1").unwrap();
    let mut seen = None;
    other
        .read_with(map, "a", &mut |v| seen = Some(v.map(str::to_string)))
        .unwrap();
    assert_eq!(seen, Some(Some("1".to_string())));
    other
        .read_with(map, "missing", &mut |v| seen = Some(v.map(str::to_string)))
        .unwrap();
    assert_eq!(seen, Some(None));
    let mut all = Vec::new();
    other
        .visit_all(map, &mut |k, v| all.push((k.to_string(), v.to_string())))
        .unwrap();
    assert_eq!(
        all,
        vec![("a".into(), "1".into()), ("b".into(), "2".into())]
    );
    let mut none = 0;
    other
        .visit_all("t_in_place_empty", &mut |_, _| none += 1)
        .unwrap();
    assert_eq!(none, 0);

    let cell = "t_in_place_cell";
    let mut c = None;
    other
        .cell_read_with(cell, &mut |v| c = Some(v.map(str::to_string)))
        .unwrap();
    assert_eq!(c, Some(None));
    assert!(m.compare_and_set(cell, None, "x").unwrap());
    assert!(m.compare_and_set(cell, Some("x"), "yy").unwrap());
    assert!(!m.compare_and_set(cell, Some("x"), "zzz").unwrap());
    other
        .cell_read_with(cell, &mut |v| c = Some(v.map(str::to_string)))
        .unwrap();
    assert_eq!(c, Some(Some("yy".to_string())));

    let (sub, rx) = other.subscribe_channel(schema::DOLPHIN_HEARTBEAT).unwrap();
    m.beat_many(&[
        (
            "t_many_a",
            r#"{"ts":1.0,"phase":"running","service":"a","pid":1}"#,
        ),
        (
            "t_many_b",
            r#"{"ts":1.0,"phase":"running","service":"b","pid":1}"#,
        ),
    ])
    .unwrap();
    m.beat_many(&[(
        "t_many_a",
        r#"{"ts":2.5,"phase":"stopped","service":"a","pid":1}"#,
    )])
    .unwrap();
    let a: schema::HeartbeatValue = schema::get_json(&other, schema::DOLPHIN_HEARTBEAT, "t_many_a")
        .unwrap()
        .unwrap();
    assert_eq!((a.ts, a.phase.as_str()), (2.5, "stopped"));
    assert!(other.heartbeat_age("t_many_b").unwrap().unwrap() < Duration::from_secs(2));
    assert!(other.heartbeat_age("t_many_a").unwrap().is_some());
    // Listeners see every beat of a batch, in order.
    let mut keys = Vec::new();
    while keys.len() < 3 {
        match rx.recv_timeout(Duration::from_secs(5)) {
            Ok(e) if e.key.starts_with("t_many_") => keys.push(e.key),
            Ok(_) => {}
            Err(e) => panic!("heartbeat events missing after {keys:?}: {e}"),
        }
    }
    assert_eq!(keys, ["t_many_a", "t_many_b", "t_many_a"]);
    other.unsubscribe(sub);
}

/// A typed value for [`typed_values`].
#[derive(Clone, Debug, PartialEq)]
pub struct Beat {
    pub ts: i64,
    pub phase: String,
}

impl dolphin_store::TypedValue for Beat {
    fn write_json(&self, out: &mut String) {
        out.push_str(&format!(
            "{{\"ts\":{},\"phase\":{}}}",
            self.ts,
            serde_json::to_string(&self.phase).unwrap()
        ));
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn clone_box(&self) -> Box<dyn dolphin_store::TypedValue> {
        Box::new(self.clone())
    }
    fn assign(&mut self, other: &dyn dolphin_store::TypedValue) -> bool {
        match other.as_any().downcast_ref::<Self>() {
            Some(o) => {
                self.ts = o.ts;
                self.phase.clone_from(&o.phase);
                true
            }
            None => false,
        }
    }
}

/// Typed values (`put_typed`, `beat_many_typed`) read back as the same text as a text `put`
/// of their JSON on every backend — through `get`, `get_all`, the in-place reads, listeners
/// and `remove` — and typed readers get either the value (embedded) or that text.
pub fn typed_values<F: Fixture>(fx: &F) {
    use dolphin_store::StoredRef;
    let m = fx.client();
    let other = fx.client();
    let map = "t_typed";
    let (sub, rx) = other.subscribe_channel(map).unwrap();
    let v1 = Beat {
        ts: 7,
        phase: "running".into(),
    };
    m.put_typed(map, "k", &v1).unwrap();
    let text1 = r#"{"ts":7,"phase":"running"}"#;
    assert_eq!(other.get(map, "k").unwrap().as_deref(), Some(text1));
    let v2 = Beat {
        ts: -3,
        phase: "stop\"ped".into(),
    };
    m.put_typed(map, "k", &v2).unwrap();
    let text2 = r#"{"ts":-3,"phase":"stop\"ped"}"#;
    assert_eq!(other.get(map, "k").unwrap().as_deref(), Some(text2));
    let mut seen = None;
    other
        .read_with(map, "k", &mut |v| seen = v.map(str::to_string))
        .unwrap();
    assert_eq!(seen.as_deref(), Some(text2));
    let mut typed = None;
    other
        .read_typed_with(map, "k", &mut |v| {
            typed = v.map(|r| match r {
                StoredRef::Typed(_) => (r.typed::<Beat>().cloned(), r.with_text(str::to_string)),
                StoredRef::Text(t) => (None, t.to_string()),
            })
        })
        .unwrap();
    let (value, text) = typed.expect("the key is there");
    assert_eq!(text, text2);
    if m.backend() == "embedded" {
        assert_eq!(value, Some(v2.clone()), "the embedded store keeps the type");
    } else {
        assert_eq!(value, None, "other backends store the text");
    }
    let mut missing = Some(());
    other
        .read_typed_with(map, "missing", &mut |v| missing = v.map(|_| ()))
        .unwrap();
    assert_eq!(missing, None);
    m.put(map, "t", "5").unwrap();
    let all = other.get_all(map).unwrap();
    assert_eq!(all.get("k").map(String::as_str), Some(text2));
    assert_eq!(all.get("t").map(String::as_str), Some("5"));
    let mut visited = Vec::new();
    other
        .visit_all_typed(map, &mut |k, v| {
            visited.push((k.to_string(), v.with_text(str::to_string)))
        })
        .unwrap();
    assert_eq!(
        visited,
        vec![("k".into(), text2.to_string()), ("t".into(), "5".into())]
    );
    // A text put over a typed value and a typed put over a text value.
    m.put(map, "k", "1").unwrap();
    assert_eq!(other.get(map, "k").unwrap().as_deref(), Some("1"));
    m.put_typed(map, "t", &v1).unwrap();
    assert_eq!(other.get(map, "t").unwrap().as_deref(), Some(text1));
    assert_eq!(m.remove(map, "t").unwrap().as_deref(), Some(text1));
    // Listeners got every change as text, in order.
    let mut got = Vec::new();
    while got.len() < 6 {
        match rx.recv_timeout(Duration::from_secs(5)) {
            Ok(e) => got.push((e.key, e.value)),
            Err(e) => panic!("events missing after {got:?}: {e}"),
        }
    }
    let s = |x: &str| Some(x.to_string());
    assert_eq!(
        got,
        vec![
            ("k".into(), s(text1)),
            ("k".into(), s(text2)),
            ("t".into(), s("5")),
            ("k".into(), s("1")),
            ("t".into(), s(text1)),
            ("t".into(), None),
        ]
    );
    other.unsubscribe(sub);

    let beat_a = Beat {
        ts: 10,
        phase: "running".into(),
    };
    m.beat_many_typed(&[("t_typed_a", &beat_a), ("t_typed_b", &v1)])
        .unwrap();
    assert_eq!(
        other
            .get(schema::DOLPHIN_HEARTBEAT, "t_typed_a")
            .unwrap()
            .as_deref(),
        Some(r#"{"ts":10,"phase":"running"}"#)
    );
    assert!(other.heartbeat_age("t_typed_b").unwrap().unwrap() < Duration::from_secs(2));
}

/// Resolved keys (`KeyRef`): writes and reads through them are the named operations on every
/// backend — other clients and listeners see the same text — and a key removed and written
/// again (a new slot generation in the embedded store), or a `KeyRef` used with a second
/// store, never reads a stale or foreign value.
pub fn resolved_keys<F: Fixture>(fx: &F) {
    use dolphin_store::KeyRef;
    let m = fx.client();
    let other = fx.client();
    let map = "t_keyref";
    let (sub, rx) = other.subscribe_channel(map).unwrap();
    let k = KeyRef::new(map, "k").unwrap();
    let text_of = |at: &KeyRef, s: &dyn dolphin_store::SystemMemory| {
        let mut t = None;
        s.read_typed_at(at, &mut |v| t = v.map(|r| r.with_text(str::to_string)))
            .unwrap();
        t
    };
    assert_eq!(text_of(&k, &m), None, "not written yet");
    let v1 = Beat {
        ts: 1,
        phase: "a".into(),
    };
    m.put_typed_at(&k, &v1).unwrap();
    let text1 = r#"{"ts":1,"phase":"a"}"#;
    assert_eq!(other.get(map, "k").unwrap().as_deref(), Some(text1));
    assert_eq!(text_of(&k, &m).as_deref(), Some(text1));
    // Removed behind the reference's back, then written by name with another value.
    assert_eq!(other.remove(map, "k").unwrap().as_deref(), Some(text1));
    assert_eq!(text_of(&k, &m), None, "a removed key reads as missing");
    other.put(map, "j", "9").unwrap();
    other.put(map, "k", "7").unwrap();
    assert_eq!(text_of(&k, &m).as_deref(), Some("7"));
    let v2 = Beat {
        ts: 2,
        phase: "b".into(),
    };
    m.put_typed_at(&k, &v2).unwrap();
    let text2 = r#"{"ts":2,"phase":"b"}"#;
    assert_eq!(other.get(map, "k").unwrap().as_deref(), Some(text2));
    assert_eq!(
        other.get(map, "j").unwrap().as_deref(),
        Some("9"),
        "j untouched"
    );
    // Several keys of a map in one read, a missing one included.
    let keys = [
        KeyRef::new(map, "j").unwrap(),
        KeyRef::new(map, "nope").unwrap(),
        KeyRef::new(map, "k").unwrap(),
    ];
    let mut got = vec![None; 3];
    m.read_many_typed_at(&keys, &mut |i, v| {
        got[i] = v.map(|r| r.with_text(str::to_string))
    })
    .unwrap();
    assert_eq!(
        got,
        vec![Some("9".to_string()), None, Some(text2.to_string())]
    );
    // Heartbeats through resolved keys: the text, and an age by the store's clock.
    let hb = KeyRef::new(schema::DOLPHIN_HEARTBEAT, "t_keyref_beat").unwrap();
    m.beat_many_at(&[(&hb, &v1)]).unwrap();
    assert_eq!(
        other
            .get(schema::DOLPHIN_HEARTBEAT, "t_keyref_beat")
            .unwrap()
            .as_deref(),
        Some(text1)
    );
    assert!(other.heartbeat_age("t_keyref_beat").unwrap().unwrap() < Duration::from_secs(2));
    // The listener saw every change of the map, in order.
    let mut events = Vec::new();
    while events.len() < 5 {
        match rx.recv_timeout(Duration::from_secs(5)) {
            Ok(e) => events.push((e.key, e.value)),
            Err(e) => panic!("events missing after {events:?}: {e}"),
        }
    }
    let s = |x: &str| Some(x.to_string());
    assert_eq!(
        events,
        vec![
            ("k".into(), s(text1)),
            ("k".into(), None),
            ("j".into(), s("9")),
            ("k".into(), s("7")),
            ("k".into(), s(text2)),
        ]
    );
    other.unsubscribe(sub);
    // A reference resolved by one embedded store, used with another: that store's own value.
    if m.backend() == "embedded" {
        let second = dolphin_store::EmbeddedMemory::new();
        assert_eq!(text_of(&k, &second), None);
        second.put(map, "k", "other").unwrap();
        assert_eq!(text_of(&k, &second).as_deref(), Some("other"));
        assert_eq!(text_of(&k, &m).as_deref(), Some(text2));
    }
}
