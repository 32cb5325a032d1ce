//! The room API Lambda function, behind an API Gateway HTTP API (payload format 2.0).
//!
//! Configuration: the Redis variables of `veet_lambdas::config`, `VEET_TOKEN_SECRET`,
//! `VEET_PUBLIC_URL` (web app base URL), `VEET_WS_URL` (signaling WebSocket URL),
//! `VEET_PUBLIC_ENDPOINTS=0` to switch off the public endpoints.

use anyhow::Context;
use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use base64::Engine;
use lambda_runtime::{service_fn, LambdaEvent};
use veet_core::routing::Routing;
use veet_core::token::TokenAuthority;
use veet_lambdas::config::RedisSource;
use veet_lambdas::room_api::{HttpRequest, PublicUrls, RoomApi, RoomApiSettings};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_ansi(false)
        .without_time()
        .init();
    let redis_url = RedisSource::from_env()?.resolve().await?;
    let routing = Routing::redis(&redis_url)
        .await
        .context("connecting to Redis")?;
    let tokens = TokenAuthority::from_env().context("VEET_TOKEN_SECRET must be set")?;
    let settings = RoomApiSettings {
        public_endpoints: std::env::var("VEET_PUBLIC_ENDPOINTS").map_or(true, |v| v != "0"),
        urls: PublicUrls::from_env(),
        ..RoomApiSettings::default()
    };
    let api = RoomApi::new(routing, tokens, settings);
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
