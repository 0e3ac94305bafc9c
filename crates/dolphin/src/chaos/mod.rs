//! The pieces of `dolphin chaos` (docs/CHAOS.md): the seeded fault plans (serve/Redis and
//! websocket), the Redis, serve and exchange child processes, the final checks and the report.

pub mod checks;
pub mod exchange_proc;
pub mod inject;
pub mod ob_faults;
pub mod plan;
pub mod redis_proc;
pub mod report;
pub mod serve_proc;
