//! Pushing frames to clients' WebSocket connections: API Gateway's management API
//! (`POST/DELETE @connections/{id}`), used by the signaling handlers and by SFU nodes.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use async_trait::async_trait;
use aws_sdk_apigatewaymanagement::error::SdkError;
use aws_sdk_apigatewaymanagement::operation::delete_connection::DeleteConnectionError;
use aws_sdk_apigatewaymanagement::operation::post_to_connection::PostToConnectionError;
use aws_sdk_apigatewaymanagement::primitives::Blob;

use crate::protocol::ServerFrame;

/// Why a push failed.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The connection is closed (HTTP 410); the caller should forget it, not retry.
    #[error("connection {0} is gone")]
    Gone(String),
    #[error("management API: {0}")]
    Other(String),
}

/// Delivers frames to client connections.
#[async_trait]
pub trait ClientGateway: Send + Sync {
    /// Sends one text message to a connection.
    async fn post(&self, connection_id: &str, data: String) -> Result<(), GatewayError>;
    /// Closes a connection from the server side.
    async fn disconnect(&self, connection_id: &str) -> Result<(), GatewayError>;

    /// Sends one frame to a connection.
    async fn send(&self, connection_id: &str, frame: &ServerFrame) -> Result<(), GatewayError> {
        self.post(connection_id, frame.to_json()).await
    }
}

/// The real management API through `aws-sdk-apigatewaymanagement`.
#[derive(Clone, Debug)]
pub struct ApiGatewayClient {
    client: aws_sdk_apigatewaymanagement::Client,
}

impl ApiGatewayClient {
    /// A client for the management endpoint `https://{api-id}.execute-api.{region}.amazonaws.com/{stage}`
    /// with credentials and region from the environment (Lambda's or ECS's role).
    pub async fn from_env(endpoint: &str) -> Self {
        let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .load()
            .await;
        let config = aws_sdk_apigatewaymanagement::config::Builder::from(&shared)
            .endpoint_url(endpoint)
            .build();
        Self {
            client: aws_sdk_apigatewaymanagement::Client::from_conf(config),
        }
    }

    /// A client for the local emulator's management API at `endpoint` (e.g.
    /// `http://127.0.0.1:8080`), with fixed local credentials: nothing leaves the machine.
    pub fn local(endpoint: &str) -> Self {
        let creds = aws_credential_types::Credentials::new("local", "local", None, None, "veet");
        let config = aws_sdk_apigatewaymanagement::Config::builder()
            .behavior_version(aws_sdk_apigatewaymanagement::config::BehaviorVersion::latest())
            .region(aws_sdk_apigatewaymanagement::config::Region::new("local"))
            .credentials_provider(creds)
            .endpoint_url(endpoint)
            .build();
        Self {
            client: aws_sdk_apigatewaymanagement::Client::from_conf(config),
        }
    }
}

/// HTTP 410 whatever the SDK made of the body (the emulator and API Gateway both send it).
fn is_gone<E>(e: &SdkError<E, aws_smithy_runtime_api::http::Response>) -> bool {
    e.raw_response().map(|r| r.status().as_u16()) == Some(410)
}

#[async_trait]
impl ClientGateway for ApiGatewayClient {
    async fn post(&self, connection_id: &str, data: String) -> Result<(), GatewayError> {
        match self
            .client
            .post_to_connection()
            .connection_id(connection_id)
            .data(Blob::new(data))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => {
                if matches!(
                    e.as_service_error(),
                    Some(PostToConnectionError::GoneException(_))
                ) || is_gone(&e)
                {
                    Err(GatewayError::Gone(connection_id.to_owned()))
                } else {
                    Err(GatewayError::Other(
                        aws_sdk_apigatewaymanagement::error::DisplayErrorContext(e).to_string(),
                    ))
                }
            }
        }
    }

    async fn disconnect(&self, connection_id: &str) -> Result<(), GatewayError> {
        match self
            .client
            .delete_connection()
            .connection_id(connection_id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => {
                if matches!(
                    e.as_service_error(),
                    Some(DeleteConnectionError::GoneException(_))
                ) || is_gone(&e)
                {
                    Err(GatewayError::Gone(connection_id.to_owned()))
                } else {
                    Err(GatewayError::Other(
                        aws_sdk_apigatewaymanagement::error::DisplayErrorContext(e).to_string(),
                    ))
                }
            }
        }
    }
}

/// Records what would be sent, for tests of code that pushes frames.
#[derive(Default)]
pub struct RecordingGateway {
    sent: Mutex<HashMap<String, Vec<ServerFrame>>>,
    gone: Mutex<HashSet<String>>,
}

impl RecordingGateway {
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes pushes to `connection_id` fail with [`GatewayError::Gone`].
    pub fn mark_gone(&self, connection_id: &str) {
        self.gone
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(connection_id.to_owned());
    }

    /// Takes the frames sent to `connection_id` so far.
    pub fn take(&self, connection_id: &str) -> Vec<ServerFrame> {
        self.sent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(connection_id)
            .unwrap_or_default()
    }
}

#[async_trait]
impl ClientGateway for RecordingGateway {
    async fn post(&self, connection_id: &str, data: String) -> Result<(), GatewayError> {
        if self
            .gone
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(connection_id)
        {
            return Err(GatewayError::Gone(connection_id.to_owned()));
        }
        let frame: ServerFrame =
            serde_json::from_str(&data).map_err(|e| GatewayError::Other(e.to_string()))?;
        self.sent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(connection_id.to_owned())
            .or_default()
            .push(frame);
        Ok(())
    }

    async fn disconnect(&self, connection_id: &str) -> Result<(), GatewayError> {
        self.mark_gone(connection_id);
        Ok(())
    }
}

/// Sends one frame to many connections concurrently (serialised once); returns the
/// connections that are gone. Other failures are logged: one client's trouble must not stop
/// the others hearing.
pub async fn send_to_all<'a>(
    gateway: &dyn ClientGateway,
    connection_ids: impl IntoIterator<Item = &'a str>,
    frame: &ServerFrame,
) -> Vec<String> {
    let json = frame.to_json();
    let sends = connection_ids.into_iter().map(|id| {
        let json = json.clone();
        async move {
            match gateway.post(id, json).await {
                Ok(()) => None,
                Err(GatewayError::Gone(id)) => Some(id),
                Err(e) => {
                    tracing::warn!(connection_id = id, error = %e, "push failed");
                    None
                }
            }
        }
    });
    futures::future::join_all(sends)
        .await
        .into_iter()
        .flatten()
        .collect()
}
