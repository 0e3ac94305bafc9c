//! Throw-away `redis-server` processes and three-master clusters for tests, examples and
//! benchmarks. Each server runs on a free loopback port in its own temporary directory and is
//! killed when dropped. Never touches port 6379.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Whether `redis-server` (and `redis-cli`) are on PATH.
pub fn redis_available() -> bool {
    ["redis-server", "redis-cli"].iter().all(|b| {
        Command::new(b)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// Gate for Redis tests: `true` if Redis can be used. Without `redis-server` on PATH this
/// panics when the `CI` environment variable is set, and otherwise prints a note and returns
/// `false` so the test can return early.
pub fn require_redis(test: &str) -> bool {
    if redis_available() {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "{test}: `redis-server`/`redis-cli` not found on PATH but CI is set; install them \
             (apt-get install -y redis-server)"
        );
    }
    eprintln!("note: {test} skipped: `redis-server` not on PATH (apt-get install redis-server)");
    false
}

fn port_free(p: u16) -> bool {
    TcpListener::bind(("127.0.0.1", p)).is_ok()
}

/// A free port whose cluster-bus port (+10000) is free too.
fn free_port() -> u16 {
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0)
        ^ (std::process::id() << 8);
    let mut x = u64::from(seed) | 1;
    loop {
        // xorshift over 20000..50000
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let p = 20_000 + (x % 30_000) as u16;
        if port_free(p) && port_free(p + 10_000) {
            return p;
        }
    }
}

/// One `redis-server` child process.
pub struct RedisServer {
    child: Option<Child>,
    /// Loopback port it listens on.
    pub port: u16,
    dir: PathBuf,
    extra: Vec<String>,
}

impl RedisServer {
    /// A server without persistence.
    pub fn start() -> Result<Self, String> {
        Self::start_with(&["--appendonly", "no"])
    }

    /// A server with the append-only file fsynced on every write (no acknowledged write lost
    /// on a crash).
    pub fn start_durable() -> Result<Self, String> {
        Self::start_with(&["--appendonly", "yes", "--appendfsync", "always"])
    }

    /// A server with extra `redis-server` arguments.
    pub fn start_with(extra: &[&str]) -> Result<Self, String> {
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port();
            let dir = std::env::temp_dir().join(format!(
                "dolphin-redis-{}-{port}-{}",
                std::process::id(),
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_nanos())
                    .unwrap_or(0)
            ));
            std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            let mut s = Self {
                child: None,
                port,
                dir,
                extra: extra.iter().map(|s| s.to_string()).collect(),
            };
            match s.spawn() {
                Ok(()) => return Ok(s),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    fn spawn(&mut self) -> Result<(), String> {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--protected-mode", "no", "--daemonize", "no"])
            .args(["--dir", &self.dir.to_string_lossy()])
            .args(&self.extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start redis-server: {e}"))?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(c) = self.child.as_mut()
                && let Ok(Some(status)) = c.try_wait()
            {
                return Err(format!(
                    "redis-server on port {} exited: {status}",
                    self.port
                ));
            }
            if self.ping() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        self.kill();
        Err(format!(
            "redis-server on port {} did not answer PING",
            self.port
        ))
    }

    fn ping(&self) -> bool {
        let Ok(client) = redis::Client::open(self.url()) else {
            return false;
        };
        let Ok(mut c) = client.get_connection_with_timeout(Duration::from_millis(200)) else {
            return false;
        };
        // NOAUTH and friends also prove the server is up.
        match redis::cmd("PING").query::<String>(&mut c) {
            Ok(_) => true,
            Err(e) => {
                !e.is_io_error()
                    && e.kind() != redis::ErrorKind::Server(redis::ServerErrorKind::BusyLoading)
            }
        }
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the process at once (SIGKILL: no shutdown save).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the server again on the same port and directory (after [`kill`](Self::kill)).
    pub fn restart(&mut self) -> Result<(), String> {
        self.kill();
        self.spawn()
    }

    /// Runs one command on this server and returns the reply as text.
    pub fn command(&self, args: &[&str]) -> Result<String, String> {
        let client = redis::Client::open(self.url()).map_err(|e| e.to_string())?;
        let mut c = client
            .get_connection_with_timeout(Duration::from_secs(1))
            .map_err(|e| e.to_string())?;
        let mut cmd = redis::cmd(args[0]);
        for a in &args[1..] {
            cmd.arg(*a);
        }
        let v: redis::Value = cmd.query(&mut c).map_err(|e| e.to_string())?;
        Ok(match v {
            redis::Value::Int(i) => i.to_string(),
            redis::Value::BulkString(b) => String::from_utf8_lossy(&b).into_owned(),
            redis::Value::SimpleString(s) | redis::Value::VerbatimString { text: s, .. } => s,
            other => format!("{other:?}"),
        })
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A Redis Cluster of masters without replicas.
pub struct RedisCluster {
    pub nodes: Vec<RedisServer>,
}

impl RedisCluster {
    /// Starts `masters` nodes (at least 3), joins them with `redis-cli --cluster create` and
    /// waits for `cluster_state:ok` on every node.
    pub fn start(masters: usize) -> Result<Self, String> {
        let nodes = (0..masters.max(3))
            .map(|_| {
                RedisServer::start_with(&[
                    "--appendonly",
                    "no",
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                    "--cluster-node-timeout",
                    "2000",
                ])
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut args = vec!["--cluster".to_string(), "create".to_string()];
        args.extend(nodes.iter().map(|n| format!("127.0.0.1:{}", n.port)));
        args.extend(["--cluster-replicas", "0", "--cluster-yes"].map(String::from));
        let out = Command::new("redis-cli")
            .args(&args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("redis-cli --cluster create: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "redis-cli --cluster create failed: {}",
                String::from_utf8_lossy(&out.stdout)
            ));
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ok = nodes.iter().all(|n| {
                n.command(&["CLUSTER", "INFO"])
                    .is_ok_and(|s| s.contains("cluster_state:ok"))
            });
            if ok {
                return Ok(Self { nodes });
            }
            if Instant::now() > deadline {
                return Err("cluster never reached cluster_state:ok".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Seed URLs of all nodes.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::url).collect()
    }
}
