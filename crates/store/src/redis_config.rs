//! Configuration of the Redis backend (issue 6): URL (`redis://host:port`, `rediss://` with
//! the `tls` feature), a list of URLs for a cluster, optional ACL user and password. Debug
//! output never shows a secret.

use crate::error::StoreError;
use redis::{IntoConnectionInfo, ProtocolVersion};
use std::fmt;
use std::time::Duration;

/// How to reach Redis. Build with [`RedisConfig::single`], [`RedisConfig::cluster`] or
/// [`RedisConfig::from_url_list`], then adjust the public fields.
#[derive(Clone)]
pub struct RedisConfig {
    /// One URL for a single node; the seed nodes for a cluster.
    pub urls: Vec<String>,
    /// Treat `urls` as Redis Cluster seed nodes.
    pub cluster: bool,
    /// ACL user (overrides one in the URL).
    pub username: Option<String>,
    /// Password (overrides one in the URL). Never printed.
    pub password: Option<String>,
    /// Time to open one TCP connection.
    pub connect_timeout: Duration,
    /// Time to wait for one reply.
    pub response_timeout: Duration,
    /// Total time one operation keeps reconnecting before it reports `Unavailable`.
    pub retry_budget: Duration,
    /// First reconnect delay; doubles per attempt up to `backoff_max`.
    pub backoff_initial: Duration,
    /// Cap of the reconnect delay.
    pub backoff_max: Duration,
    /// Prefix of the change channels (`<prefix><MAP>`).
    pub channel_prefix: String,
}

impl RedisConfig {
    /// A single node at `url`, e.g. `redis://127.0.0.1:6379`.
    pub fn single(url: &str) -> Self {
        Self {
            urls: vec![url.to_string()],
            cluster: false,
            username: None,
            password: None,
            connect_timeout: Duration::from_millis(500),
            response_timeout: Duration::from_secs(2),
            retry_budget: Duration::from_secs(2),
            backoff_initial: Duration::from_millis(20),
            backoff_max: Duration::from_millis(500),
            channel_prefix: "dolphin:chg:".into(),
        }
    }

    /// A cluster reached through these seed nodes.
    pub fn cluster<S: AsRef<str>>(urls: &[S]) -> Self {
        let mut c = Self::single("");
        c.urls = urls.iter().map(|u| u.as_ref().to_string()).collect();
        c.cluster = true;
        c
    }

    /// `redis://a:1` is a single node; `redis://a:1,redis://b:2,...` a cluster.
    pub fn from_url_list(list: &str) -> Result<Self, StoreError> {
        let urls: Vec<&str> = list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        match urls.len() {
            0 => Err(StoreError::Config {
                field: "urls",
                reason: "no Redis URL given".into(),
            }),
            1 => Ok(Self::single(urls[0])),
            _ => Ok(Self::cluster(&urls)),
        }
    }

    /// Connection info for one URL with the configured credentials and protocol.
    pub(crate) fn connection_info(
        &self,
        url: &str,
        protocol: ProtocolVersion,
    ) -> Result<redis::ConnectionInfo, StoreError> {
        let info = url.into_connection_info().map_err(|e| StoreError::Config {
            field: "urls",
            reason: format!("`{}`: {e}", redact_url(url)),
        })?;
        let mut redis_info = info.redis_settings().clone().set_protocol(protocol);
        if let Some(u) = &self.username {
            redis_info = redis_info.set_username(u);
        }
        if let Some(p) = &self.password {
            redis_info = redis_info.set_password(p);
        }
        Ok(info.set_redis_settings(redis_info))
    }

    /// Connection info for another node (`host:port` from the cluster), same credentials and
    /// TLS mode as the first seed.
    pub(crate) fn node_info(
        &self,
        host: &str,
        port: u16,
        protocol: ProtocolVersion,
    ) -> Result<redis::ConnectionInfo, StoreError> {
        let seed = self.connection_info(
            self.urls.first().map(String::as_str).unwrap_or(""),
            protocol,
        )?;
        let addr = match seed.addr() {
            redis::ConnectionAddr::TcpTls {
                insecure,
                tls_params,
                ..
            } => redis::ConnectionAddr::TcpTls {
                host: host.to_string(),
                port,
                insecure: *insecure,
                tls_params: tls_params.clone(),
            },
            _ => redis::ConnectionAddr::Tcp(host.to_string(), port),
        };
        Ok(seed.set_addr(addr))
    }
}

/// `redis://user:secret@host` → `redis://user:***@host`.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let rest = &url[scheme_end + 3..];
    let Some(at) = rest.find('@') else {
        return url.to_string();
    };
    let userinfo = &rest[..at];
    let user = userinfo.split(':').next().unwrap_or("");
    let masked = if userinfo.contains(':') {
        format!("{user}:***")
    } else {
        "***".to_string()
    };
    format!("{}{}@{}", &url[..scheme_end + 3], masked, &rest[at + 1..])
}

impl fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisConfig")
            .field(
                "urls",
                &self.urls.iter().map(|u| redact_url(u)).collect::<Vec<_>>(),
            )
            .field("cluster", &self.cluster)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("connect_timeout", &self.connect_timeout)
            .field("response_timeout", &self.response_timeout)
            .field("retry_budget", &self.retry_budget)
            .field("channel_prefix", &self.channel_prefix)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_secrets() {
        let mut c = RedisConfig::from_url_list("redis://svc:hunter2@10.0.0.1:6380").unwrap();
        c.password = Some("topsecret".into());
        let d = format!("{c:?}");
        assert!(!d.contains("hunter2") && !d.contains("topsecret"), "{d}");
        assert!(d.contains("redis://svc:***@10.0.0.1:6380"), "{d}");
        assert!(!c.cluster);
        assert_eq!(redact_url("redis://:pw@h:1"), "redis://:***@h:1");
        assert_eq!(redact_url("redis://h:1"), "redis://h:1");
    }

    #[test]
    fn url_list_makes_cluster() {
        let c = RedisConfig::from_url_list("redis://a:1, redis://b:2,redis://c:3").unwrap();
        assert!(c.cluster);
        assert_eq!(c.urls.len(), 3);
        assert!(RedisConfig::from_url_list(" , ").is_err());
    }

    #[test]
    fn credentials_apply() {
        let mut c = RedisConfig::single("redis://127.0.0.1:7000");
        c.username = Some("dolphin".into());
        c.password = Some("pw".into());
        let i = c
            .connection_info(&c.urls[0], ProtocolVersion::RESP3)
            .unwrap();
        assert_eq!(i.redis_settings().username(), Some("dolphin"));
        assert_eq!(i.redis_settings().password(), Some("pw"));
        let n = c
            .node_info("127.0.0.1", 7001, ProtocolVersion::RESP2)
            .unwrap();
        assert_eq!(n.addr().to_string(), "127.0.0.1:7001");
        assert_eq!(n.redis_settings().password(), Some("pw"));
    }
}
