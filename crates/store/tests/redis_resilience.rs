//! Redis-only behaviour: crash and restart without losing an acknowledged write, the outbox,
//! an unreachable server, ACL credentials, the near cache hitting, cluster slot spread.

mod common;

use common::*;
use dolphin_store::schema::{DOLPHIN_PNL_BLUE, DailyResultValue, to_json};
use dolphin_store::testkit::{RedisServer, require_redis};
use dolphin_store::{
    Delivery, NearCacheConfig, RedisConfig, RedisMemory, SHARD_MAPS, StoreError, SystemMemory,
};
use std::collections::BTreeSet;
use std::time::Duration;

fn result(day: u32, capital: f64) -> String {
    let v = DailyResultValue {
        date: format!("2026-01-{day:02}"),
        pnl: capital - 25_000.0,
        capital,
        boost: 1.0,
        beta: 0.2,
        mc_status: "OK".into(),
        trades: 2,
        stale_state: None,
        extra: Default::default(),
    };
    to_json(DOLPHIN_PNL_BLUE, &v.date, &v).unwrap()
}

#[test]
fn killed_and_restarted_server_loses_no_acknowledged_write() {
    if !require_redis("killed_and_restarted_server_loses_no_acknowledged_write") {
        return;
    }
    let mut server = RedisServer::start_durable().unwrap();
    let mut cfg = RedisConfig::single(&server.url());
    cfg.retry_budget = Duration::from_millis(300);
    let m = RedisMemory::connect(cfg.clone()).unwrap();
    let mut acked = Vec::new();
    for i in 0..300 {
        let k = format!("k{i:03}");
        m.put("T_DURABLE", &k, &i.to_string()).unwrap();
        acked.push(k);
    }
    server.kill();

    // Down: reads fail with a clear error, writes go to the outbox (S §17.5).
    let err = m.get("T_DURABLE", "k000").unwrap_err();
    assert!(err.is_unavailable(), "{err}");
    assert!(err.to_string().contains("T_DURABLE"), "{err}");
    for day in 1..=5u32 {
        let d = m
            .put_or_defer(
                DOLPHIN_PNL_BLUE,
                &format!("2026-01-{day:02}"),
                &result(day, 25_000.0 + f64::from(day)),
            )
            .unwrap();
        assert_eq!(
            d,
            Delivery::Deferred {
                pending: day as usize
            }
        );
    }
    assert_eq!(m.pending_writes(), 5);

    server.restart().unwrap();
    // The push thread reconnects and flushes the outbox by itself.
    assert!(
        wait_until(Duration::from_secs(10), || m.pending_writes() == 0).is_some(),
        "outbox not flushed after restart ({} pending)",
        m.pending_writes()
    );
    let fresh = RedisMemory::connect(cfg).unwrap();
    let keys = fresh.key_set("T_DURABLE").unwrap();
    assert_eq!(keys, acked, "acknowledged writes lost across kill -9");
    for day in 1..=5u32 {
        assert_eq!(
            fresh
                .get(DOLPHIN_PNL_BLUE, &format!("2026-01-{day:02}"))
                .unwrap(),
            Some(result(day, 25_000.0 + f64::from(day)))
        );
    }
    // The old client works again too.
    assert_eq!(m.get("T_DURABLE", "k299").unwrap().as_deref(), Some("299"));
    assert_eq!(
        m.put_or_defer("T_DURABLE", "after", "1").unwrap(),
        Delivery::Written
    );
}

#[test]
fn unreachable_server_is_an_error_not_a_crash() {
    if !require_redis("unreachable_server_is_an_error_not_a_crash") {
        return;
    }
    // Start and stop a server to get a port nobody listens on.
    let mut s = RedisServer::start().unwrap();
    let url = s.url();
    s.kill();
    let mut cfg = RedisConfig::single(&url);
    cfg.retry_budget = Duration::from_millis(200);
    match RedisMemory::connect(cfg) {
        Err(StoreError::Unavailable { backend, op, .. }) => {
            assert_eq!((backend, op), ("redis", "connect"));
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[test]
fn acl_password_is_used_and_never_printed() {
    if !require_redis("acl_password_is_used_and_never_printed") {
        return;
    }
    let server =
        RedisServer::start_with(&["--appendonly", "no", "--requirepass", "s3cr3t-pw"]).unwrap();
    // Without the password: refused with a clear error.
    let mut cfg = RedisConfig::single(&server.url());
    cfg.retry_budget = Duration::from_millis(200);
    assert!(RedisMemory::connect(cfg.clone()).is_err());
    cfg.password = Some("s3cr3t-pw".into());
    let m = RedisMemory::connect(cfg.clone()).unwrap();
    m.put("T_AUTH", "k", "v").unwrap();
    assert_eq!(m.get("T_AUTH", "k").unwrap().as_deref(), Some("v"));
    let shown = format!("{m:?} {cfg:?}");
    assert!(!shown.contains("s3cr3t-pw"), "{shown}");
    // Password in the URL works as well and is redacted.
    let url = server
        .url()
        .replace("redis://", "redis://default:s3cr3t-pw@");
    let c2 = RedisConfig::single(&url);
    assert!(!format!("{c2:?}").contains("s3cr3t-pw"));
    let m2 = RedisMemory::connect(c2).unwrap();
    assert_eq!(m2.get("T_AUTH", "k").unwrap().as_deref(), Some("v"));
}

#[test]
fn near_cache_serves_repeated_reads_locally() {
    let Some(fx) = redis_single("near_cache_serves_repeated_reads_locally") else {
        return;
    };
    let m = fx.client();
    m.enable_near_cache("T_NC", NearCacheConfig::default());
    m.put("T_NC", "k", "v").unwrap();
    // Let the tracking invalidation of our own write arrive first.
    std::thread::sleep(Duration::from_millis(100));
    for _ in 0..100 {
        assert_eq!(m.get("T_NC", "k").unwrap().as_deref(), Some("v"));
    }
    let st = m.near_cache_stats("T_NC").unwrap();
    assert_eq!(st.misses, 1, "{st:?}");
    assert_eq!(st.hits, 99, "{st:?}");
    assert!(m.push_connected());
}

#[test]
fn cluster_spreads_the_ten_shards_over_the_masters() {
    let Some(fx) = redis_cluster("cluster_spreads_the_ten_shards_over_the_masters") else {
        return;
    };
    let m = fx.client();
    assert_eq!(m.backend(), "redis-cluster");
    for map in SHARD_MAPS {
        m.put(map, "probe", "1").unwrap();
    }
    let mut owners = BTreeSet::new();
    for map in SHARD_MAPS {
        for (i, node) in fx.cluster.nodes.iter().enumerate() {
            // Each node answers only for keys of its own slots.
            let exists = node.command(&["EXISTS", map]).unwrap_or_default();
            if exists == "1" {
                owners.insert(i);
            }
        }
    }
    assert!(owners.len() >= 2, "shards on masters {owners:?}");
    // The fenced lock's companion keys share the map's slot.
    let slot = |k: &str| {
        fx.cluster.nodes[0]
            .command(&["CLUSTER", "KEYSLOT", k])
            .unwrap()
    };
    assert_eq!(slot("DOLPHIN_FEATURES"), slot("{DOLPHIN_FEATURES}:lock"));
    assert_eq!(
        slot("DOLPHIN_FEATURES"),
        slot("{DOLPHIN_FEATURES}:lock:token")
    );
}
