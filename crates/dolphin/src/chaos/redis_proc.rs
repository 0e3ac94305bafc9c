//! The chaos run's own `redis-server` (a real one, on a free loopback port, its files under
//! `OUT/redis/`): append-only file with `appendfsync everysec` (a SIGKILL may lose the last
//! second, as in production), RDB snapshots on demand for the "restart from an older RDB"
//! fault. Commands go through `redis-cli`, the server's own client.

use anyhow::{Context, bail};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct RedisProc {
    child: Option<Child>,
    pub port: u16,
    dir: PathBuf,
    log: PathBuf,
}

/// A loopback port nothing listens on now.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

impl RedisProc {
    /// Starts a server with its files in `dir` (created).
    pub fn start(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
        let mut r = Self {
            child: None,
            port: free_port()?,
            dir: dir.to_path_buf(),
            log: dir.join("redis.log"),
        };
        r.spawn()?;
        Ok(r)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn spawn(&mut self) -> anyhow::Result<()> {
        self.spawn_with(true)
    }

    /// `aof: false` starts without the append-only file so that Redis loads `dump.rdb` (Redis
    /// 7 with `appendonly yes` and no AOF starts empty); the AOF is switched on after.
    fn spawn_with(&mut self, aof: bool) -> anyhow::Result<()> {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--protected-mode", "no", "--daemonize", "no"])
            .args(["--appendonly", if aof { "yes" } else { "no" }])
            .args(["--appendfsync", "everysec"])
            .args(["--save", "", "--dbfilename", "dump.rdb"])
            .args(["--dir", &self.dir.to_string_lossy()])
            .args(["--logfile", &self.log.to_string_lossy()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start redis-server (apt-get install redis-server)")?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Some(c) = self.child.as_mut()
                && let Some(status) = c.try_wait()?
            {
                bail!(
                    "redis-server on port {} exited: {status} (log {})",
                    self.port,
                    self.log.display()
                );
            }
            if self.cli(&["PING"]).is_ok_and(|r| r == "PONG") {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        bail!("redis-server on port {} did not answer PING", self.port)
    }

    /// One command through `redis-cli`; the reply's text.
    pub fn cli(&self, args: &[&str]) -> anyhow::Result<String> {
        let out = Command::new("redis-cli")
            .args(["-p", &self.port.to_string(), "--no-raw"])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .context("redis-cli")?;
        let text = String::from_utf8_lossy(&out.stdout)
            .trim()
            .trim_matches('"')
            .to_string();
        if !out.status.success()
            || text.starts_with("(error)")
            || text.contains("Could not connect")
        {
            bail!("redis-cli {args:?}: {text}");
        }
        Ok(text)
    }

    /// SIGKILL (no shutdown save, no final fsync).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Restarts on the same files (the AOF: everything fsynced before the kill).
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.kill();
        self.spawn()
    }

    /// Takes an RDB snapshot now (`SAVE`) and keeps a copy as `snapshot.rdb`.
    pub fn snapshot(&self) -> anyhow::Result<()> {
        self.cli(&["SAVE"])?;
        std::fs::copy(self.dir.join("dump.rdb"), self.dir.join("snapshot.rdb"))
            .context("copy dump.rdb")?;
        Ok(())
    }

    /// Restarts from the kept snapshot: the append-only files are removed, the snapshot put in
    /// place; Redis loads it and writes a fresh AOF from it.
    pub fn restart_from_snapshot(&mut self) -> anyhow::Result<()> {
        self.kill();
        let aof = self.dir.join("appendonlydir");
        if aof.exists() {
            std::fs::remove_dir_all(&aof).with_context(|| format!("remove {}", aof.display()))?;
        }
        std::fs::copy(self.dir.join("snapshot.rdb"), self.dir.join("dump.rdb"))
            .context("restore snapshot.rdb")?;
        self.spawn_with(false)?;
        self.cli(&["CONFIG", "SET", "appendonly", "yes"])?;
        Ok(())
    }

    pub fn alive(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }
}

impl Drop for RedisProc {
    fn drop(&mut self) {
        self.kill();
    }
}
