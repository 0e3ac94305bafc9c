//! The bearer token: generated on first start into a file only its owner can read (0600),
//! read back on later starts, never logged. A token file that others can read is refused.

use crate::error::ApiError;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Length of a generated token in random bytes (hex-encoded: twice as many characters).
const TOKEN_BYTES: usize = 32;

/// Reads the token from `path`, creating the file with a fresh random token (mode 0600) if it
/// does not exist.
pub fn load_or_create(path: &Path) -> Result<String, ApiError> {
    let io = |source| ApiError::TokenIo {
        path: path.to_path_buf(),
        source,
    };
    match std::fs::metadata(path) {
        Ok(meta) => {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(ApiError::Token {
                    path: path.to_path_buf(),
                    message: format!(
                        "is readable by others (mode {mode:o}); run `chmod 600 {}`",
                        path.display()
                    ),
                });
            }
            let token = std::fs::read_to_string(path)
                .map_err(io)?
                .trim()
                .to_string();
            if token.len() < 16 || !token.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(ApiError::Token {
                    path: path.to_path_buf(),
                    message: "does not hold a token (16+ printable characters)".into(),
                });
            }
            Ok(token)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(io)?;
            }
            let mut bytes = [0u8; TOKEN_BYTES];
            getrandom::fill(&mut bytes).map_err(|e| ApiError::Token {
                path: path.to_path_buf(),
                message: format!("no randomness from the OS: {e}"),
            })?;
            let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .map_err(io)?;
            f.write_all(token.as_bytes()).map_err(io)?;
            f.write_all(b"\n").map_err(io)?;
            f.sync_all().map_err(io)?;
            Ok(token)
        }
        Err(e) => Err(io(e)),
    }
}

/// Compares a presented token with the expected one in time independent of where they differ.
pub fn matches(expected: &str, presented: &str) -> bool {
    let (a, b) = (expected.as_bytes(), presented.as_bytes());
    let mut diff = a.len() ^ b.len();
    for (i, x) in a.iter().enumerate() {
        diff |= usize::from(x ^ b.get(i).copied().unwrap_or(0));
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_0600_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/api.token");
        let t = load_or_create(&p).unwrap();
        assert_eq!(t.len(), 64);
        assert!(t.bytes().all(|b| b.is_ascii_hexdigit()));
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(load_or_create(&p).unwrap(), t);
        // A second file gets a different token.
        assert_ne!(load_or_create(&dir.path().join("b")).unwrap(), t);
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = load_or_create(&p).unwrap_err().to_string();
        assert!(e.contains("readable by others (mode 644)"), "{e}");
    }

    #[test]
    fn compare() {
        assert!(matches("abcdef0123456789", "abcdef0123456789"));
        assert!(!matches("abcdef0123456789", "abcdef012345678"));
        assert!(!matches("abcdef0123456789", "abcdef0123456788"));
        assert!(!matches("abcdef0123456789", ""));
    }
}
