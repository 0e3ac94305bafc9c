//! System memory of DOLPHIN: what Hazelcast was in the sources (B §2, §14–§16; S §10, §16,
//! §17.5–17.6; SPEC §3 "Store", §4 item 8).
//!
//! * [`SystemMemory`] — named maps with change listeners, a compare-and-set cell, fenced
//!   locks, heartbeats, a near cache and an outbox for writes made while the store is down.
//! * [`EmbeddedMemory`] — in-process, the default.
//! * [`RedisMemory`] — Redis single node or Redis Cluster (see docs/STORE.md for guarantees).
//! * [`schema`] — the map names, keys and JSON values of S §10; [`ShardedFeatureStore`] and
//!   the shard rule of B §15.1.
//! * `testkit` (cargo feature `testkit`) — starts throw-away `redis-server` processes and clusters for tests/benches.

pub mod backoff;
mod dispatcher;
pub mod embedded;
pub mod error;
pub mod key_ref;
pub mod memory;
pub mod near_cache;
pub mod outbox;
pub mod redis_config;
mod redis_conn;
pub mod redis_memory;
mod redis_push;
mod redis_scripts;
pub mod schema;
pub mod shard;
pub mod sharded_feature_store;
mod slot_map;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod typed;

pub use backoff::Backoff;
pub use embedded::EmbeddedMemory;
pub use error::StoreError;
pub use key_ref::KeyRef;
pub use memory::{ChangeEvent, Delivery, FenceToken, Listener, SubscriptionId, SystemMemory};
pub use near_cache::{NearCache, NearCacheConfig, NearCacheStats};
pub use outbox::{Outbox, PendingWrite};
pub use redis_config::RedisConfig;
pub use redis_memory::RedisMemory;
pub use shard::{SHARD_COUNT, SHARD_MAPS, feature_key, shard_map, shard_of};
pub use sharded_feature_store::ShardedFeatureStore;
pub use typed::{StoredRef, TypedValue};
