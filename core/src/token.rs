//! Join tokens: HS256 JWTs that say who may join which room with which grants.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::protocol::{ErrorCode, Grants};

/// The secret `veet dev` and `veet token` share when `VEET_TOKEN_SECRET` is unset.
/// Anyone can read it here: never use it for a server reachable by others.
pub const DEV_TOKEN_SECRET: &str = "veet-development-secret-do-not-use-in-production";

/// Environment variable every component reads the token secret from.
pub const TOKEN_SECRET_ENV: &str = "VEET_TOKEN_SECRET";

/// Leeway for clock skew between the token issuer and the verifier.
const LEEWAY_SECS: u64 = 5;

/// The claims of a join token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinClaims {
    /// Identity of the participant.
    pub sub: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Room code the token is for.
    pub room: String,
    #[serde(default)]
    pub grants: Grants,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
    /// Not valid before, seconds since the Unix epoch.
    #[serde(default)]
    pub nbf: u64,
    /// Issued at, seconds since the Unix epoch.
    #[serde(default)]
    pub iat: u64,
    /// Issued by the public guest endpoint: such a token does not admit to invite-only rooms.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub guest: bool,
}

/// Why a token was refused; each maps to its own [`ErrorCode`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("no token was given")]
    Missing,
    #[error("token is not a well-formed JWT: {0}")]
    Malformed(String),
    #[error("token signature does not verify")]
    InvalidSignature,
    #[error("token uses algorithm {0}; only HS256 is accepted")]
    WrongAlgorithm(String),
    #[error("token has expired")]
    Expired,
    #[error("token is not valid yet")]
    NotYetValid,
    #[error("token is for room `{token_room}`, not `{room}`")]
    WrongRoom { token_room: String, room: String },
    #[error("token could not be signed: {0}")]
    Signing(String),
}

impl TokenError {
    /// The protocol error code for this failure.
    pub fn code(&self) -> ErrorCode {
        match self {
            TokenError::Missing => ErrorCode::TokenMissing,
            TokenError::Malformed(_) | TokenError::Signing(_) => ErrorCode::TokenMalformed,
            TokenError::InvalidSignature => ErrorCode::TokenInvalidSignature,
            TokenError::WrongAlgorithm(_) => ErrorCode::TokenWrongAlgorithm,
            TokenError::Expired => ErrorCode::TokenExpired,
            TokenError::NotYetValid => ErrorCode::TokenNotYetValid,
            TokenError::WrongRoom { .. } => ErrorCode::TokenWrongRoom,
        }
    }
}

/// Issues and verifies join tokens with one shared secret.
#[derive(Clone)]
pub struct TokenAuthority {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl std::fmt::Debug for TokenAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenAuthority { .. }")
    }
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl TokenAuthority {
    /// An authority with the given secret.
    pub fn new(secret: impl AsRef<[u8]>) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret.as_ref()),
            decoding: DecodingKey::from_secret(secret.as_ref()),
        }
    }

    /// The authority for `VEET_TOKEN_SECRET`, or `None` when it is unset or empty.
    pub fn from_env() -> Option<Self> {
        std::env::var(TOKEN_SECRET_ENV)
            .ok()
            .filter(|s| !s.is_empty())
            .map(Self::new)
    }

    /// The authority for `VEET_TOKEN_SECRET`, falling back to [`DEV_TOKEN_SECRET`]; the flag
    /// says whether the fallback was taken, so callers can warn.
    pub fn from_env_or_dev() -> (Self, bool) {
        match Self::from_env() {
            Some(a) => (a, false),
            None => (Self::new(DEV_TOKEN_SECRET), true),
        }
    }

    /// Signs a token for `identity` in `room`, valid from now for `ttl`.
    pub fn issue(
        &self,
        room: &str,
        identity: &str,
        name: &str,
        grants: Grants,
        ttl: Duration,
    ) -> Result<String, TokenError> {
        let now = unix_now();
        let claims = JoinClaims {
            sub: identity.to_owned(),
            name: name.to_owned(),
            room: room.to_owned(),
            grants,
            exp: now + ttl.as_secs().max(1),
            nbf: now.saturating_sub(LEEWAY_SECS),
            iat: now,
            guest: false,
        };
        self.sign(&claims)
    }

    /// Signs a guest token (see [`JoinClaims::guest`]).
    pub fn issue_guest(
        &self,
        room: &str,
        identity: &str,
        name: &str,
        ttl: Duration,
    ) -> Result<String, TokenError> {
        let now = unix_now();
        self.sign(&JoinClaims {
            sub: identity.to_owned(),
            name: name.to_owned(),
            room: room.to_owned(),
            grants: Grants::default(),
            exp: now + ttl.as_secs().max(1),
            nbf: now.saturating_sub(LEEWAY_SECS),
            iat: now,
            guest: true,
        })
    }

    /// Signs arbitrary claims (tests use this for expired or future tokens).
    pub fn sign(&self, claims: &JoinClaims) -> Result<String, TokenError> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(|e| TokenError::Signing(e.to_string()))
    }

    /// Verifies a token's algorithm, signature and validity window.
    pub fn verify(&self, token: &str) -> Result<JoinClaims, TokenError> {
        if token.is_empty() {
            return Err(TokenError::Missing);
        }
        // Read the algorithm ourselves so `none` and RS* get their own error, whatever the
        // JWT library thinks of them.
        let alg = header_algorithm(token)?;
        if alg != "HS256" {
            return Err(TokenError::WrongAlgorithm(alg));
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        validation.required_spec_claims = ["exp", "sub"].iter().map(|s| s.to_string()).collect();
        jsonwebtoken::decode::<JoinClaims>(token, &self.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|e| {
                use jsonwebtoken::errors::ErrorKind;
                match e.kind() {
                    ErrorKind::InvalidSignature => TokenError::InvalidSignature,
                    ErrorKind::ExpiredSignature => TokenError::Expired,
                    ErrorKind::ImmatureSignature => TokenError::NotYetValid,
                    ErrorKind::InvalidAlgorithm => TokenError::WrongAlgorithm(alg.clone()),
                    _ => TokenError::Malformed(e.to_string()),
                }
            })
    }

    /// Verifies a token and that it is for `room`.
    pub fn verify_for_room(&self, token: &str, room: &str) -> Result<JoinClaims, TokenError> {
        let claims = self.verify(token)?;
        if claims.room != room {
            return Err(TokenError::WrongRoom {
                token_room: claims.room,
                room: room.to_owned(),
            });
        }
        Ok(claims)
    }
}

fn header_algorithm(token: &str) -> Result<String, TokenError> {
    let mut parts = token.split('.');
    let header = parts
        .next()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| TokenError::Malformed("empty header".into()))?;
    if parts.clone().count() != 2 {
        return Err(TokenError::Malformed("a JWT has three parts".into()));
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header.trim_end_matches('='))
        .map_err(|e| TokenError::Malformed(format!("header is not base64url: {e}")))?;
    #[derive(Deserialize)]
    struct Head {
        alg: String,
    }
    let head: Head = serde_json::from_slice(&bytes)
        .map_err(|e| TokenError::Malformed(format!("header is not JSON: {e}")))?;
    Ok(head.alg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    fn claims(exp_offset: i64, nbf_offset: i64) -> JoinClaims {
        let now = unix_now() as i64;
        JoinClaims {
            sub: "alice".into(),
            name: "Alice".into(),
            room: "abc-defg-hij".into(),
            grants: Grants::default(),
            exp: (now + exp_offset) as u64,
            nbf: (now + nbf_offset) as u64,
            iat: now as u64,
            guest: false,
        }
    }

    #[test]
    fn issued_token_verifies() {
        let a = TokenAuthority::new("s3cret");
        let t = a
            .issue(
                "abc-defg-hij",
                "alice",
                "Alice",
                Grants::default(),
                Duration::from_secs(60),
            )
            .unwrap();
        let c = a.verify_for_room(&t, "abc-defg-hij").unwrap();
        assert_eq!(c.sub, "alice");
        assert_eq!(c.name, "Alice");
        assert!(c.grants.can_publish);
    }

    #[test]
    fn refusals_have_distinct_codes() {
        let a = TokenAuthority::new("s3cret");
        let expired = a.sign(&claims(-3600, -7200)).unwrap();
        assert_eq!(
            a.verify(&expired).unwrap_err().code(),
            ErrorCode::TokenExpired
        );
        let future = a.sign(&claims(7200, 3600)).unwrap();
        assert_eq!(
            a.verify(&future).unwrap_err().code(),
            ErrorCode::TokenNotYetValid
        );
        let forged = TokenAuthority::new("other").sign(&claims(60, 0)).unwrap();
        assert_eq!(
            a.verify(&forged).unwrap_err().code(),
            ErrorCode::TokenInvalidSignature
        );
        let ok = a.sign(&claims(60, 0)).unwrap();
        assert_eq!(
            a.verify_for_room(&ok, "other-room").unwrap_err().code(),
            ErrorCode::TokenWrongRoom
        );
        assert_eq!(a.verify("").unwrap_err().code(), ErrorCode::TokenMissing);
        assert_eq!(
            a.verify("abc").unwrap_err().code(),
            ErrorCode::TokenMalformed
        );
        assert_eq!(
            a.verify("!!.!!.!!").unwrap_err().code(),
            ErrorCode::TokenMalformed
        );
    }

    fn with_header(token: &str, header_json: &str, signature: &str) -> String {
        let payload = token.split('.').nth(1).unwrap();
        format!(
            "{}.{payload}.{signature}",
            URL_SAFE_NO_PAD.encode(header_json)
        )
    }

    #[test]
    fn alg_none_and_rs256_are_refused() {
        let a = TokenAuthority::new("s3cret");
        let ok = a.sign(&claims(60, 0)).unwrap();
        let none = with_header(&ok, r#"{"alg":"none","typ":"JWT"}"#, "");
        assert_eq!(
            a.verify(&none).unwrap_err().code(),
            ErrorCode::TokenWrongAlgorithm
        );
        let rs = with_header(&ok, r#"{"alg":"RS256","typ":"JWT"}"#, "c2ln");
        assert_eq!(
            a.verify(&rs).unwrap_err().code(),
            ErrorCode::TokenWrongAlgorithm
        );
        let hs512 = with_header(&ok, r#"{"alg":"HS512","typ":"JWT"}"#, "c2ln");
        assert_eq!(
            a.verify(&hs512).unwrap_err().code(),
            ErrorCode::TokenWrongAlgorithm
        );
    }

    #[test]
    fn tampered_payload_fails_signature() {
        let a = TokenAuthority::new("s3cret");
        let ok = a.sign(&claims(60, 0)).unwrap();
        let mut parts: Vec<String> = ok.split('.').map(String::from).collect();
        let mut c = claims(60, 0);
        c.room = "another".into();
        parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&c).unwrap());
        let tampered = parts.join(".");
        assert_eq!(
            a.verify(&tampered).unwrap_err().code(),
            ErrorCode::TokenInvalidSignature
        );
    }
}
