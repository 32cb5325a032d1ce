//! `veet room`: the signed room API from the command line.

use anyhow::{bail, Context};
use serde_json::{json, Value};
use veet_core::signature::{self, SIGNATURE_HEADER};
use veet_core::token::unix_now;

/// A room API client signing every request with the API secret.
pub struct RoomClient {
    base: String,
    secret: Vec<u8>,
    http: reqwest::Client,
}

/// What `veet room create` asks for.
#[derive(Debug, Default, Clone)]
pub struct CreateOptions {
    pub code: Option<String>,
    pub name: Option<String>,
    pub max_participants: Option<u32>,
    pub empty_timeout_secs: Option<u64>,
    pub invite_only: bool,
    pub idempotency_key: Option<String>,
    /// Identities to issue host (room admin) tokens for.
    pub hosts: Vec<String>,
    /// Identities to issue guest tokens for.
    pub guests: Vec<String>,
}

impl CreateOptions {
    /// The request body.
    pub fn body(&self) -> Value {
        let mut body = serde_json::Map::new();
        let mut put = |k: &str, v: Value| {
            body.insert(k.to_owned(), v);
        };
        if let Some(c) = &self.code {
            put("code", json!(c));
        }
        if let Some(n) = &self.name {
            put("name", json!(n));
        }
        if let Some(m) = self.max_participants {
            put("max_participants", json!(m));
        }
        if let Some(t) = self.empty_timeout_secs {
            put("empty_timeout_secs", json!(t));
        }
        if self.invite_only {
            put("access", json!("invite_only"));
        }
        if let Some(k) = &self.idempotency_key {
            put("idempotency_key", json!(k));
        }
        let participants: Vec<Value> = self
            .hosts
            .iter()
            .map(|i| json!({ "identity": i, "host": true }))
            .chain(self.guests.iter().map(|i| json!({ "identity": i })))
            .collect();
        if !participants.is_empty() {
            put("participants", Value::Array(participants));
        }
        Value::Object(body)
    }
}

impl RoomClient {
    pub fn new(base: &str, secret: Vec<u8>) -> anyhow::Result<Self> {
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            secret,
            http: reqwest::Client::builder().build()?,
        })
    }

    /// Sends a signed request; the JSON answer (or `null` for an empty one) on success.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Value> {
        let bytes = body.map(|b| b.to_string()).unwrap_or_default();
        let content = signature::request_content(method.as_str(), path, bytes.as_bytes());
        let header = signature::sign(&self.secret, unix_now(), &content);
        let url = format!("{}{path}", self.base);
        let response = self
            .http
            .request(method, &url)
            .header(SIGNATURE_HEADER, header)
            .header("content-type", "application/json")
            .body(bytes)
            .send()
            .await
            .with_context(|| format!("calling {url}"))?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        let value: Value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        if !status.is_success() {
            let message = value
                .get("message")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .unwrap_or_else(|| value.to_string());
            bail!("{status}: {message}");
        }
        Ok(value)
    }

    pub async fn create(&self, options: &CreateOptions) -> anyhow::Result<Value> {
        self.call(reqwest::Method::POST, "/rooms", Some(&options.body()))
            .await
    }

    pub async fn list(&self) -> anyhow::Result<Value> {
        self.call(reqwest::Method::GET, "/rooms", None).await
    }

    pub async fn show(&self, code: &str) -> anyhow::Result<Value> {
        self.call(reqwest::Method::GET, &format!("/rooms/{code}"), None)
            .await
    }

    pub async fn delete(&self, code: &str) -> anyhow::Result<()> {
        self.call(reqwest::Method::DELETE, &format!("/rooms/{code}"), None)
            .await
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_body_carries_only_what_was_asked() {
        assert_eq!(CreateOptions::default().body(), json!({}));
        let o = CreateOptions {
            name: Some("Standup".into()),
            invite_only: true,
            hosts: vec!["ann".into()],
            guests: vec!["bo".into()],
            ..Default::default()
        };
        assert_eq!(
            o.body(),
            json!({"name": "Standup", "access": "invite_only", "participants": [{"identity": "ann", "host": true}, {"identity": "bo"}]})
        );
    }
}
