//! Request and webhook signatures, Stripe-style: `Veet-Signature: t=<unix seconds>,v1=<hex>`
//! where `v1 = HMAC-SHA256(secret, "<t>.<body>")`.
//!
//! The room API refuses requests whose signature is missing, wrong, or older than
//! [`MAX_AGE_SECS`] (so a captured request cannot be replayed later; within the window the API
//! also refuses a signature it has seen). Outgoing webhooks are signed the same way so
//! receivers can verify them with the same code.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header that carries the signature.
pub const SIGNATURE_HEADER: &str = "Veet-Signature";
/// Requests older (or further in the future) than this are refused.
pub const MAX_AGE_SECS: u64 = 300;
/// Environment variable holding the room API secret (server and CLI).
pub const API_SECRET_ENV: &str = "VEET_API_SECRET";
/// The secret `veet dev` and `veet room` share when `VEET_API_SECRET` is unset.
pub const DEV_API_SECRET: &str = "veet-development-api-secret-do-not-use-in-production";

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the Veet-Signature header is missing")]
    Missing,
    #[error(
        "the Veet-Signature header is malformed: expected t=<unix seconds>,v1=<hex HMAC-SHA256>"
    )]
    Malformed,
    #[error("the signature is {age} s old; requests must be signed within {MAX_AGE_SECS} s")]
    Stale { age: u64 },
    #[error("the signature does not match the body")]
    Mismatch,
    #[error("this signature was already used; sign each request anew")]
    Replayed,
}

fn mac(secret: &[u8], timestamp: u64, body: &[u8]) -> Hmac<Sha256> {
    // HMAC accepts keys of any length.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The header value signing `body` at `timestamp`.
pub fn sign(secret: &[u8], timestamp: u64, body: &[u8]) -> String {
    let digest = mac(secret, timestamp, body).finalize().into_bytes();
    format!("t={timestamp},v1={}", hex(&digest))
}

/// What a room API request signs: its method and path as well as its body, so a signature
/// made for one room or endpoint cannot be spent on another. Sign and verify this with
/// [`sign`] and [`verify`]: `v1 = HMAC-SHA256(secret, "<t>.<METHOD> <path>.<body>")`.
pub fn request_content(method: &str, path: &str, body: &[u8]) -> Vec<u8> {
    let mut content = format!("{} {path}.", method.to_ascii_uppercase()).into_bytes();
    content.extend_from_slice(body);
    content
}

/// A verified signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub timestamp: u64,
    /// The `v1` value, unique per (timestamp, body): the replay-protection key.
    pub digest: String,
}

/// Checks `header` against `body` at time `now` (unix seconds). Replays inside the window
/// are the caller's to refuse, using [`Verified::digest`].
pub fn verify(
    secret: &[u8],
    header: Option<&str>,
    body: &[u8],
    now: u64,
) -> Result<Verified, SignatureError> {
    let header = header
        .filter(|h| !h.trim().is_empty())
        .ok_or(SignatureError::Missing)?;
    let mut timestamp = None;
    let mut candidates = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => timestamp = v.parse::<u64>().ok(),
            Some(("v1", v)) => candidates.push(v.to_owned()),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if candidates.is_empty() {
        return Err(SignatureError::Malformed);
    }
    let age = now.abs_diff(timestamp);
    if age > MAX_AGE_SECS {
        return Err(SignatureError::Stale { age });
    }
    for candidate in candidates {
        let Some(bytes) = unhex(&candidate) else {
            continue;
        };
        // Constant-time comparison.
        if mac(secret, timestamp, body).verify_slice(&bytes).is_ok() {
            // Hex parses in either case: key replays on one spelling of the digest.
            return Ok(Verified {
                timestamp,
                digest: candidate.to_ascii_lowercase(),
            });
        }
    }
    Err(SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_and_verifies() {
        let h = sign(b"k", 1_700_000_000, b"{\"a\":1}");
        assert!(h.starts_with("t=1700000000,v1="));
        let v = verify(b"k", Some(&h), b"{\"a\":1}", 1_700_000_010).unwrap();
        assert_eq!(v.timestamp, 1_700_000_000);
    }

    #[test]
    fn matches_an_independent_hmac() {
        // python3 -c "import hmac,hashlib; print(hmac.new(b'secret', b'1700000000.{}', hashlib.sha256).hexdigest())"
        assert_eq!(
            sign(b"secret", 1_700_000_000, b"{}"),
            "t=1700000000,v1=b8569b78799ff9e3cbff0fc2d63a33a2b57f3282abd07c37ae5e8e7d79a5f163"
        );
    }

    #[test]
    fn refusals_are_distinct() {
        let now = 1_700_000_000;
        let h = sign(b"k", now, b"body");
        assert_eq!(
            verify(b"k", None, b"body", now),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify(b"k", Some("v1=00"), b"body", now),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(b"k", Some("t=1,v1=zz"), b"body", 1),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(b"other", Some(&h), b"body", now),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(b"k", Some(&h), b"bodY", now),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(b"k", Some(&h), b"body", now + 301),
            Err(SignatureError::Stale { age: 301 })
        );
        assert!(verify(b"k", Some(&h), b"body", now + 300).is_ok());
    }

    #[test]
    fn request_signatures_bind_method_and_path() {
        let now = 1_700_000_000;
        let delete_a = request_content("delete", "/rooms/a", b"");
        let h = sign(b"k", now, &delete_a);
        assert!(verify(b"k", Some(&h), &delete_a, now).is_ok());
        assert_eq!(
            verify(
                b"k",
                Some(&h),
                &request_content("DELETE", "/rooms/b", b""),
                now
            ),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(
                b"k",
                Some(&h),
                &request_content("GET", "/rooms/a", b""),
                now
            ),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            request_content("post", "/rooms", b"{}"),
            b"POST /rooms.{}".to_vec()
        );
    }

    #[test]
    fn the_replay_key_ignores_hex_case() {
        let h = sign(b"k", 1, b"x");
        let upper = h.replace(
            h.split("v1=").nth(1).unwrap(),
            &h.split("v1=").nth(1).unwrap().to_uppercase(),
        );
        assert_eq!(
            verify(b"k", Some(&h), b"x", 1).unwrap().digest,
            verify(b"k", Some(&upper), b"x", 1).unwrap().digest
        );
    }

    #[test]
    fn any_of_several_v1_values_may_match() {
        let now = 1_700_000_000;
        let good = sign(b"k", now, b"x");
        let v1 = good.split("v1=").nth(1).unwrap();
        let header = format!("t={now},v1=deadbeef,v1={v1}");
        assert!(verify(b"k", Some(&header), b"x", now).is_ok());
    }
}
