//! The outbox (S §17.5: a result that could not be written is kept, never dropped): writes
//! made while the store is unreachable, flushed in order on reconnect.

use std::collections::VecDeque;
use std::sync::Mutex;

/// One write waiting for the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingWrite {
    pub map: String,
    pub key: String,
    pub value: String,
}

/// FIFO of pending writes. Unbounded on purpose: losing a daily result is worse than memory.
#[derive(Debug, Default)]
pub struct Outbox {
    queue: Mutex<VecDeque<PendingWrite>>,
}

impl Outbox {
    /// An empty outbox.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a write; returns how many now wait.
    pub fn push(&self, w: PendingWrite) -> usize {
        let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        q.push_back(w);
        q.len()
    }

    /// Number of waiting writes.
    pub fn len(&self) -> usize {
        self.queue.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Writes the queue front to back with `write`, stopping at the first failure (that write
    /// stays at the front). The queue stays locked meanwhile, so order is kept even when
    /// several threads flush. Returns how many were written, or the failure.
    pub fn flush<E>(
        &self,
        mut write: impl FnMut(&PendingWrite) -> Result<(), E>,
    ) -> Result<usize, E> {
        let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        let mut n = 0;
        while let Some(front) = q.front() {
            write(front)?;
            q.pop_front();
            n += 1;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(k: &str) -> PendingWrite {
        PendingWrite {
            map: "M".into(),
            key: k.into(),
            value: "v".into(),
        }
    }

    #[test]
    fn flush_keeps_order_and_failed_write() {
        let o = Outbox::new();
        for k in ["a", "b", "c"] {
            o.push(w(k));
        }
        let mut seen = Vec::new();
        let r = o.flush(|p| {
            if p.key == "b" {
                return Err("down");
            }
            seen.push(p.key.clone());
            Ok(())
        });
        assert_eq!(r, Err("down"));
        assert_eq!(seen, vec!["a"]);
        assert_eq!(o.len(), 2);
        let r: Result<usize, ()> = o.flush(|p| {
            seen.push(p.key.clone());
            Ok(())
        });
        assert_eq!(r, Ok(2));
        assert_eq!(seen, vec!["a", "b", "c"]);
        assert!(o.is_empty());
    }
}
