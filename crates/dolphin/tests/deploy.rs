//! The systemd units under `deploy/` pass `systemd-analyze verify` (issue 11) with no warning,
//! with `ExecStart` pointing at the binary under test. Skipped, saying why, where systemd's
//! analyzer is not installed.

use std::path::PathBuf;
use std::process::Command;

#[test]
fn systemd_units_verify_cleanly() {
    let root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("note: skipped: systemd-analyze is not installed (apt-get install systemd)");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mut units = Vec::new();
    for e in std::fs::read_dir(root.join("deploy/systemd")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "service") {
            let text = std::fs::read_to_string(&p)
                .unwrap()
                .replace("/usr/local/bin/dolphin", env!("CARGO_BIN_EXE_dolphin"));
            let dst = tmp.path().join(p.file_name().unwrap());
            std::fs::write(&dst, text).unwrap();
            units.push(dst);
        }
    }
    assert!(units.len() >= 2, "deploy/systemd holds the serve units");
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .args(&units)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && err.trim().is_empty(), "{err}");

    // The check can fail: a broken directive is reported.
    let bad = tmp.path().join("broken.service");
    let serve = tmp.path().join("dolphin-serve.service");
    let text = std::fs::read_to_string(&serve)
        .unwrap()
        .replace("Restart=on-failure", "Restart=sometimes");
    std::fs::write(&bad, text).unwrap();
    let out = Command::new("systemd-analyze")
        .args(["verify"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).trim().is_empty());
}
