//! Configuration from environment variables, read the same way by the Lambda binary, the
//! SFU node and the CLI.
//!
//! | variable | meaning |
//! |---|---|
//! | `VEET_REDIS_URL` | Redis URL (`redis://host:6379`, `rediss://…` for TLS) |
//! | `VEET_ELASTICACHE_REPLICATION_GROUP` | instead of a URL: an ElastiCache replication group id whose primary endpoint is looked up with the ElastiCache API (TLS when the group has transit encryption) |
//! | `VEET_REDIS_AUTH_TOKEN` | Redis AUTH token, added to a resolved ElastiCache URL |
//! | `VEET_TOKEN_SECRET` | HS256 secret for join tokens |
//! | `VEET_APIGW_ENDPOINT` | management API endpoint; by default `https://{domainName}/{stage}` of the event |
//! | `AWS_REGION` | region for the AWS clients (set by Lambda) |

use anyhow::{bail, Context};

/// Where the Redis routing backend lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedisSource {
    Url(String),
    ElastiCache {
        replication_group: String,
        auth_token: Option<String>,
    },
}

impl RedisSource {
    /// From `VEET_REDIS_URL` or `VEET_ELASTICACHE_REPLICATION_GROUP`.
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_vars(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
    }

    fn from_vars(get: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        if let Some(url) = get("VEET_REDIS_URL") {
            return Ok(RedisSource::Url(url));
        }
        if let Some(group) = get("VEET_ELASTICACHE_REPLICATION_GROUP") {
            return Ok(RedisSource::ElastiCache {
                replication_group: group,
                auth_token: get("VEET_REDIS_AUTH_TOKEN"),
            });
        }
        bail!("set VEET_REDIS_URL or VEET_ELASTICACHE_REPLICATION_GROUP")
    }

    /// The Redis URL, asking ElastiCache for the group's primary endpoint if needed.
    pub async fn resolve(&self) -> anyhow::Result<String> {
        match self {
            RedisSource::Url(u) => Ok(u.clone()),
            RedisSource::ElastiCache {
                replication_group,
                auth_token,
            } => {
                let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
                    .load()
                    .await;
                let client = aws_sdk_elasticache::Client::new(&shared);
                let out = client
                    .describe_replication_groups()
                    .replication_group_id(replication_group)
                    .send()
                    .await
                    .with_context(|| {
                        format!("describing ElastiCache replication group {replication_group}")
                    })?;
                let group = out
                    .replication_groups()
                    .first()
                    .with_context(|| format!("no replication group {replication_group}"))?;
                let endpoint = group
                    .node_groups()
                    .first()
                    .and_then(|ng| ng.primary_endpoint())
                    .or(group.configuration_endpoint())
                    .context("replication group has no primary endpoint")?;
                let tls = group.transit_encryption_enabled().unwrap_or(false);
                Ok(redis_url(
                    endpoint.address().unwrap_or_default(),
                    endpoint.port().unwrap_or(6379),
                    tls,
                    auth_token.as_deref(),
                ))
            }
        }
    }
}

/// A Redis URL for a host, with TLS and AUTH as given.
pub fn redis_url(host: &str, port: i32, tls: bool, auth_token: Option<&str>) -> String {
    let scheme = if tls { "rediss" } else { "redis" };
    match auth_token {
        Some(t) => format!("{scheme}://:{}@{host}:{port}", urlencode(t)),
        None => format!("{scheme}://{host}:{port}"),
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn url_wins_over_elasticache() {
        let s = RedisSource::from_vars(vars(&[
            ("VEET_REDIS_URL", "redis://x:1"),
            ("VEET_ELASTICACHE_REPLICATION_GROUP", "g"),
        ]))
        .unwrap();
        assert_eq!(s, RedisSource::Url("redis://x:1".into()));
        let s = RedisSource::from_vars(vars(&[
            ("VEET_ELASTICACHE_REPLICATION_GROUP", "g"),
            ("VEET_REDIS_AUTH_TOKEN", "t"),
        ]))
        .unwrap();
        assert_eq!(
            s,
            RedisSource::ElastiCache {
                replication_group: "g".into(),
                auth_token: Some("t".into())
            }
        );
        assert!(RedisSource::from_vars(vars(&[])).is_err());
    }

    #[test]
    fn urls_carry_tls_and_auth() {
        assert_eq!(redis_url("h", 6379, false, None), "redis://h:6379");
        assert_eq!(
            redis_url("h", 6380, true, Some("p@ss/word")),
            "rediss://:p%40ss%2Fword@h:6380"
        );
    }
}
