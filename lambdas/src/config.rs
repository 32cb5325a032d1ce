//! Configuration from environment variables, read the same way by the Lambda binary, the
//! SFU node and the CLI.
//!
//! | variable | meaning |
//! |---|---|
//! | `VEET_REDIS_URL` | Redis URL (`redis://host:6379`, `rediss://…` for TLS) |
//! | `VEET_ELASTICACHE_REPLICATION_GROUP` | instead of a URL: an ElastiCache replication group id whose primary endpoint is looked up with the ElastiCache API (TLS when the group has transit encryption) |
//! | `VEET_REDIS_AUTH_TOKEN` | Redis AUTH token, added to the URL when it has none |
//! | `VEET_TOKEN_SECRET` | HS256 secret for join tokens |
//! | `VEET_API_SECRET`, `VEET_WEBHOOK_SECRET` | room API and webhook HMAC keys |
//! | `<any secret above>_ARN` | instead of the value: a Secrets Manager secret to read it from (how the CDK stack passes them; `VEET_REDIS_AUTH_SECRET_ARN` for the Redis token) |
//! | `VEET_APIGW_ENDPOINT` | management API endpoint; by default `https://{domainName}/{stage}` of the event |
//! | `AWS_REGION` | region for the AWS clients (set by Lambda); also the region new rooms prefer nodes in |
//! | `VEET_REGION` | overrides the preferred region of new rooms |
//! | `VEET_NODE_MAX_PARTICIPANTS` | new rooms skip nodes hosting this many participants (0: no limit) |
//! | `VEET_TURN_URLS` | comma-separated TURN URLs handed to joining clients (`turn:host:3478`, `turn:host:3478?transport=tcp`, `turns:host:443?transport=tcp`) |
//! | `VEET_TURN_SECRET` | the TURN server's shared secret (coturn `static-auth-secret`); with `VEET_TURN_URLS`, clients get credentials |
//! | `VEET_TURN_TTL_SECS` | how long TURN credentials work (default 12 h) |
//! | `VEET_PUBLIC_ROOMS` | `1`: guest tokens may start meetings in rooms nobody created (default: only rooms made through the room API or the web app's "new meeting") |

use std::sync::Arc;

use anyhow::{bail, Context};
use veet_core::routing::Routing;
use veet_core::webhook::{WebhookConfig, Webhooks, SECRET_ENV, URLS_ENV};

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

    /// The Redis URL, asking ElastiCache for the group's primary endpoint if needed, with the
    /// AUTH token (`VEET_REDIS_AUTH_TOKEN`, or the secret at `VEET_REDIS_AUTH_SECRET_ARN`)
    /// added when the URL carries none.
    pub async fn resolve(&self) -> anyhow::Result<String> {
        let url = self.endpoint().await?;
        let token = match std::env::var("VEET_REDIS_AUTH_TOKEN")
            .ok()
            .filter(|t| !t.is_empty())
        {
            Some(t) => Some(t),
            None => secret_at_arn_env("VEET_REDIS_AUTH_SECRET_ARN").await?,
        };
        Ok(match token {
            Some(t) => with_auth(&url, &t),
            None => url,
        })
    }

    async fn endpoint(&self) -> anyhow::Result<String> {
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

/// What every Lambda binary does first: logs for CloudWatch (no colours, Lambda stamps the
/// time), then routing in Redis from the environment.
pub async fn lambda_startup() -> anyhow::Result<Routing> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_ansi(false)
        .without_time()
        .init();
    let redis_url = RedisSource::from_env()?.resolve().await?;
    Routing::redis(&redis_url)
        .await
        .context("connecting to Redis")
}

/// The join-token authority from `VEET_TOKEN_SECRET` (or its `_ARN`), which must be set.
pub async fn token_authority() -> anyhow::Result<veet_core::token::TokenAuthority> {
    let secret = secret(veet_core::token::TOKEN_SECRET_ENV)
        .await?
        .context("VEET_TOKEN_SECRET (or VEET_TOKEN_SECRET_ARN) must be set")?;
    Ok(veet_core::token::TokenAuthority::new(secret))
}

/// `url` with `:token@` credentials, unless it has credentials already.
pub fn with_auth(url: &str, token: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) if !rest.split('/').next().unwrap_or("").contains('@') => {
            format!("{scheme}://:{}@{rest}", urlencode(token))
        }
        _ => url.to_owned(),
    }
}

/// The value of secret `name`: the variable itself, or the Secrets Manager secret whose ARN
/// is in `<name>_ARN`. `None` when neither is set.
pub async fn secret(name: &str) -> anyhow::Result<Option<String>> {
    if let Some(v) = std::env::var(name).ok().filter(|v| !v.is_empty()) {
        return Ok(Some(v));
    }
    secret_at_arn_env(&format!("{name}_ARN")).await
}

async fn secret_at_arn_env(arn_var: &str) -> anyhow::Result<Option<String>> {
    let Some(arn) = std::env::var(arn_var).ok().filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let out = aws_sdk_secretsmanager::Client::new(&shared)
        .get_secret_value()
        .secret_id(&arn)
        .send()
        .await
        .with_context(|| format!("reading the secret named by {arn_var}"))?;
    out.secret_string()
        .map(|s| Some(s.to_owned()))
        .with_context(|| format!("the secret named by {arn_var} has no string value"))
}

/// `VEET_PUBLIC_ROOMS`: whether guest tokens may start meetings in rooms nobody created.
pub fn public_rooms() -> bool {
    matches!(
        std::env::var("VEET_PUBLIC_ROOMS").as_deref(),
        Ok("1") | Ok("true") | Ok("yes")
    )
}

/// TURN for joining clients, from `VEET_TURN_URLS` and `VEET_TURN_SECRET` (or its `_ARN`);
/// `None` when either is unset.
pub async fn turn() -> anyhow::Result<Option<veet_core::turn::TurnConfig>> {
    let Some(urls) = std::env::var("VEET_TURN_URLS")
        .ok()
        .filter(|v| !v.is_empty())
    else {
        return Ok(None);
    };
    let Some(secret) = secret("VEET_TURN_SECRET").await? else {
        bail!("VEET_TURN_URLS is set but VEET_TURN_SECRET (or VEET_TURN_SECRET_ARN) is not");
    };
    let ttl = match std::env::var("VEET_TURN_TTL_SECS") {
        Ok(v) => std::time::Duration::from_secs(
            v.parse()
                .with_context(|| format!("VEET_TURN_TTL_SECS={v}"))?,
        ),
        Err(_) => veet_core::turn::DEFAULT_TTL,
    };
    Ok(veet_core::turn::TurnConfig::new(
        &urls,
        secret.as_bytes(),
        ttl,
    ))
}

/// Webhooks from `VEET_WEBHOOK_URLS` and `VEET_WEBHOOK_SECRET` (or its `_ARN`), queued in
/// `routing`; `None` when no URL is configured.
pub async fn webhooks(routing: &Routing) -> anyhow::Result<Option<Arc<Webhooks>>> {
    let urls = std::env::var(URLS_ENV).unwrap_or_default();
    if urls.trim().is_empty() {
        return Ok(None);
    }
    let secret = secret(SECRET_ENV).await?.unwrap_or_default();
    Ok(WebhookConfig::new(&urls, secret.into_bytes())
        .map(|c| Webhooks::new(c, routing.events.clone())))
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
    fn auth_is_added_once() {
        assert_eq!(
            with_auth("rediss://h:6379", "t/k"),
            "rediss://:t%2Fk@h:6379"
        );
        assert_eq!(with_auth("redis://:x@h:1", "t"), "redis://:x@h:1");
    }

    #[tokio::test]
    async fn secrets_come_from_the_variable_first() {
        std::env::set_var("VEET_TEST_SECRET_X", "v");
        assert_eq!(
            secret("VEET_TEST_SECRET_X").await.unwrap().as_deref(),
            Some("v")
        );
        assert_eq!(secret("VEET_TEST_SECRET_UNSET").await.unwrap(), None);
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
