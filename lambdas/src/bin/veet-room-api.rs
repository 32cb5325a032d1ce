//! The room API Lambda function, behind an API Gateway HTTP API (payload format 2.0).
//!
//! Configuration: the Redis variables of `veet_lambdas::config`, `VEET_TOKEN_SECRET`,
//! `VEET_API_SECRET`, `VEET_PUBLIC_URL` (web app base URL), `VEET_WS_URL` (signaling
//! WebSocket URL), `VEET_APIGW_ENDPOINT` (to close rooms and remove participants),
//! `VEET_WEBHOOK_URLS`/`VEET_WEBHOOK_SECRET`, `VEET_PUBLIC_ENDPOINTS=0` to switch off the
//! public endpoints. Secrets may come from Secrets Manager through `<NAME>_ARN`.

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use base64::Engine;
use lambda_runtime::{service_fn, LambdaEvent};
use std::sync::Arc;

use veet_core::gateway::ApiGatewayClient;
use veet_core::signature::API_SECRET_ENV;
use veet_lambdas::config;
use veet_lambdas::room_api::{HttpRequest, PublicUrls, RoomApi, RoomApiSettings};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let routing = config::lambda_startup().await?;
    let tokens = config::token_authority().await?;
    // Without it the public endpoints still serve the web app; the signed ones refuse all.
    let api_secret = config::secret(API_SECRET_ENV).await?.unwrap_or_default();
    if api_secret.is_empty() {
        tracing::warn!(
            "VEET_API_SECRET is not set: the signed /rooms endpoints refuse every request"
        );
    }
    let settings = RoomApiSettings {
        public_endpoints: std::env::var("VEET_PUBLIC_ENDPOINTS").map_or(true, |v| v != "0"),
        api_secret: api_secret.into_bytes(),
        urls: PublicUrls::from_env(),
        ..RoomApiSettings::default()
    };
    let webhooks = config::webhooks(&routing).await?;
    let mut api = RoomApi::new(routing, tokens, settings).with_webhooks(webhooks);
    if let Some(endpoint) = std::env::var("VEET_APIGW_ENDPOINT")
        .ok()
        .filter(|e| !e.is_empty())
    {
        api = api.with_gateway(Arc::new(ApiGatewayClient::from_env(&endpoint).await));
    }
    lambda_runtime::run(service_fn(|event: LambdaEvent<ApiGatewayV2httpRequest>| {
        let api = &api;
        async move {
            let r = event.payload;
            let body = match (r.body, r.is_base64_encoded) {
                (Some(b), true) => base64::engine::general_purpose::STANDARD
                    .decode(b)
                    .unwrap_or_default(),
                (Some(b), false) => b.into_bytes(),
                (None, _) => Vec::new(),
            };
            let request = HttpRequest {
                method: r.request_context.http.method.clone(),
                path: r
                    .raw_path
                    .or(r.request_context.http.path.clone())
                    .unwrap_or_default(),
                headers: r.headers,
                body,
                source_ip: r.request_context.http.source_ip.clone(),
            };
            let out = api.handle(request).await;
            let mut response = ApiGatewayV2httpResponse::default();
            response.status_code = i64::from(out.status);
            response.headers.insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("application/json"),
            );
            response.body = Some(Body::Text(out.body));
            Ok::<_, lambda_runtime::Error>(response)
        }
    }))
    .await
}
