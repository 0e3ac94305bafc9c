//! The same behavioural suite over every backend: embedded, Redis single node, Redis Cluster.

mod common;

use common::*;

macro_rules! per_backend {
    ($backend:ident, $fixture:expr, [$($scenario:ident),* $(,)?]) => {
        mod $backend {
            use super::*;
            $(
                #[test]
                fn $scenario() {
                    let Some(fx) = $fixture(concat!(stringify!($backend), "::", stringify!($scenario))) else {
                        return;
                    };
                    common::$scenario(&fx);
                }
            )*
        }
    };
}

macro_rules! scenarios {
    ($m:ident) => {
        $m!([
            maps_basic,
            shard_routing_400,
            listener_ordering,
            key_listener,
            cas_two_writers,
            fenced_lock,
            near_cache_invalidation,
            heartbeats,
            in_place_reads_and_batched_beats,
            typed_values,
            resolved_keys,
        ]);
    };
}

macro_rules! embedded_suite {
    ([$($s:ident),* $(,)?]) => { per_backend!(embedded_store, |_: &str| embedded(), [$($s),*]); };
}
macro_rules! redis_suite {
    ([$($s:ident),* $(,)?]) => { per_backend!(redis_node, redis_single, [$($s),*]); };
}

scenarios!(embedded_suite);
scenarios!(redis_suite);

/// The cluster runs every scenario on one three-master cluster (starting a cluster per
/// scenario would cost seconds each).
macro_rules! cluster_suite {
    ([$($s:ident),* $(,)?]) => {
        #[test]
        fn redis_cluster_all_scenarios() {
            let Some(fx) = redis_cluster("redis_cluster_all_scenarios") else {
                return;
            };
            $(
                eprintln!("cluster scenario {}", stringify!($s));
                common::$s(&fx);
            )*
        }
    };
}

scenarios!(cluster_suite);
