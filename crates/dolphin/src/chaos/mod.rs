//! The pieces of `dolphin chaos` (docs/CHAOS.md): the seeded fault plan, the Redis and serve
//! child processes, and the final checks.

pub mod checks;
pub mod plan;
pub mod redis_proc;
pub mod serve_proc;
