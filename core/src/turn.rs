//! Short-lived TURN credentials, in the TURN REST API scheme coturn implements
//! (`use-auth-secret`): the username is `<expiry>:<identity>` and the password is
//! base64(HMAC-SHA1(shared secret, username)). The TURN server checks both without asking
//! anyone, so signaling and TURN share only the secret.

use std::time::Duration;

use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;

use crate::protocol::IceServer;

/// Where clients reach TURN and the secret it shares with signaling.
#[derive(Clone, PartialEq, Eq)]
pub struct TurnConfig {
    /// `turn:host:3478`, `turn:host:3478?transport=tcp`, `turns:host:443?transport=tcp`, …
    pub urls: Vec<String>,
    pub secret: Vec<u8>,
    /// How long issued credentials work.
    pub ttl: Duration,
}

impl std::fmt::Debug for TurnConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TurnConfig")
            .field("urls", &self.urls)
            .field("secret", &"<redacted>")
            .field("ttl", &self.ttl)
            .finish()
    }
}

/// Default lifetime of TURN credentials: a long meeting.
pub const DEFAULT_TTL: Duration = Duration::from_secs(12 * 3600);

impl TurnConfig {
    /// From comma-separated `urls` and the shared `secret`; `None` when either is empty.
    pub fn new(urls: &str, secret: &[u8], ttl: Duration) -> Option<Self> {
        let urls: Vec<String> = urls
            .split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(str::to_owned)
            .collect();
        (!urls.is_empty() && !secret.is_empty()).then(|| Self {
            urls,
            secret: secret.to_vec(),
            ttl,
        })
    }

    /// The ICE server entry for `identity`, valid from `now_secs` (Unix time) for the TTL.
    pub fn credentials(&self, identity: &str, now_secs: u64) -> IceServer {
        let username = format!("{}:{identity}", now_secs + self.ttl.as_secs());
        IceServer {
            urls: self.urls.clone(),
            credential: Some(password(&self.secret, &username)),
            username: Some(username),
        }
    }
}

/// The password coturn expects for `username` under `secret`.
pub fn password(secret: &[u8], username: &str) -> String {
    let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(username.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_follow_the_turn_rest_api_scheme() {
        let turn = TurnConfig::new(
            " turn:127.0.0.1:3478, turn:127.0.0.1:3478?transport=tcp ,",
            b"north",
            Duration::from_secs(600),
        )
        .unwrap();
        assert_eq!(turn.urls.len(), 2);
        let s = turn.credentials("guest-abc", 1_800_000_000);
        assert_eq!(s.username.as_deref(), Some("1800000600:guest-abc"));
        // HMAC-SHA1("north", "1800000600:guest-abc"), base64: what coturn computes.
        let expected = {
            let mut m = <Hmac<Sha1> as Mac>::new_from_slice(b"north").unwrap();
            m.update(b"1800000600:guest-abc");
            base64::engine::general_purpose::STANDARD.encode(m.finalize().into_bytes())
        };
        assert_eq!(s.credential.as_deref(), Some(expected.as_str()));
        assert_eq!(s.credential.unwrap().len(), 28, "20 bytes in base64");
    }

    #[test]
    fn the_known_answer_matches() {
        // RFC 2202 test case 2 for HMAC-SHA1, in base64.
        assert_eq!(
            password(b"Jefe", "what do ya want for nothing?"),
            "7/zfauXrL6LSdBbV8YTfnCWafHk="
        );
    }

    #[test]
    fn no_urls_or_no_secret_means_no_turn() {
        assert!(TurnConfig::new("", b"s", DEFAULT_TTL).is_none());
        assert!(TurnConfig::new(" , ", b"s", DEFAULT_TTL).is_none());
        assert!(TurnConfig::new("turn:x", b"", DEFAULT_TTL).is_none());
    }
}
