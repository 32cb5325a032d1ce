//! The signaling Lambda function: serves every WebSocket route of the API Gateway API.
//!
//! Configuration (see `veet_lambdas::config`): `VEET_REDIS_URL` or
//! `VEET_ELASTICACHE_REPLICATION_GROUP` (+ `VEET_REDIS_AUTH_TOKEN`), `VEET_TOKEN_SECRET`,
//! optionally `VEET_APIGW_ENDPOINT`, `VEET_WEBHOOK_URLS`, `VEET_WEBHOOK_SECRET`, `VEET_REGION`
//! and `VEET_NODE_MAX_PARTICIPANTS` (node selection), `VEET_TURN_URLS` and
//! `VEET_TURN_SECRET` (TURN credentials for clients), `VEET_PUBLIC_ROOMS`; each
//! secret may come from Secrets Manager through `<NAME>_ARN`.

use std::sync::Arc;

use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
use lambda_runtime::{service_fn, LambdaEvent};
use tokio::sync::OnceCell;
use veet_core::gateway::ApiGatewayClient;
use veet_lambdas::config;
use veet_lambdas::Signaling;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let routing = config::lambda_startup().await?;
    let tokens = config::token_authority().await?;
    let webhooks = config::webhooks(&routing).await?;
    let turn = config::turn().await?;
    let endpoint_override = std::env::var("VEET_APIGW_ENDPOINT")
        .ok()
        .filter(|v| !v.is_empty());
    let selector: Arc<dyn veet_core::routing::NodeSelector> =
        Arc::from(veet_core::routing::SelectorConfig::from_env().build());
    let signaling: OnceCell<Signaling> = OnceCell::new();

    lambda_runtime::run(service_fn(
        |event: LambdaEvent<ApiGatewayWebsocketProxyRequest>| {
            let (routing, tokens, endpoint_override, signaling, webhooks, selector, turn) = (
                &routing,
                &tokens,
                &endpoint_override,
                &signaling,
                &webhooks,
                &selector,
                &turn,
            );
            async move {
                let request = event.payload;
                // The management endpoint is this API's own: known from the first event.
                let s = signaling
                    .get_or_init(|| async {
                        let endpoint = endpoint_override.clone().unwrap_or_else(|| {
                            let ctx = &request.request_context;
                            format!(
                                "https://{}/{}",
                                ctx.domain_name.as_deref().unwrap_or_default(),
                                ctx.stage.as_deref().unwrap_or_default()
                            )
                        });
                        let gateway = ApiGatewayClient::from_env(&endpoint).await;
                        Signaling::new(routing.clone(), tokens.clone(), Arc::new(gateway))
                            .with_webhooks(webhooks.clone())
                            .with_selector(selector.clone())
                            .with_turn(turn.clone())
                            .with_public_rooms(config::public_rooms())
                    })
                    .await;
                Ok::<_, lambda_runtime::Error>(s.handle(request).await)
            }
        },
    ))
    .await
}
