//! The `dolphin serve` child of a chaos run: started with the same arguments every time (a
//! restart of the same replay resumes it), its output appended to `OUT/logs/serve.out`;
//! SIGKILL through `std::process`, SIGSTOP/SIGCONT through `kill(1)`.

use anyhow::Context;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};

pub struct ServeProc {
    exe: PathBuf,
    args: Vec<String>,
    log: PathBuf,
    child: Option<Child>,
    /// Processes started (1 + restarts).
    pub starts: u32,
}

impl ServeProc {
    pub fn new(exe: PathBuf, args: Vec<String>, log: PathBuf) -> Self {
        Self {
            exe,
            args,
            log,
            child: None,
            starts: 0,
        }
    }

    pub fn start(&mut self) -> anyhow::Result<()> {
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .with_context(|| format!("open {}", self.log.display()))?;
        let err = out.try_clone()?;
        let child = Command::new(&self.exe)
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .context("start dolphin serve")?;
        self.child = Some(child);
        self.starts += 1;
        Ok(())
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// `Some(status)` once the process has exited (reaped).
    pub fn exited(&mut self) -> anyhow::Result<Option<ExitStatus>> {
        let Some(c) = self.child.as_mut() else {
            return Ok(None);
        };
        let st = c.try_wait()?;
        if st.is_some() {
            self.child = None;
        }
        Ok(st)
    }

    /// SIGKILL and reap.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Sends `SIGSTOP` / `SIGCONT` (`sig` = "STOP" / "CONT").
    pub fn signal(&self, sig: &str) -> anyhow::Result<()> {
        let pid = self.pid().context("serve is not running")?;
        let st = Command::new("kill")
            .args([format!("-{sig}"), pid.to_string()])
            .status()
            .context("kill(1)")?;
        anyhow::ensure!(st.success(), "kill -{sig} {pid} failed");
        Ok(())
    }
}

impl Drop for ServeProc {
    fn drop(&mut self) {
        if self.child.is_some() {
            let _ = self.signal("CONT");
        }
        self.kill();
    }
}
