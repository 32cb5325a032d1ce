//! The node's HTTP endpoints: `/metrics` (Prometheus) and `/healthz` (503 while draining, so
//! load balancers and ECS stop sending new work).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use crate::node::SfuNode;

/// The routes, for a node serving its own HTTP.
pub fn router(node: Arc<SfuNode>) -> Router {
    metrics_router(node.clone()).merge(
        Router::new()
            .route("/healthz", get(health))
            .with_state(node),
    )
}

/// Only `/metrics`, to merge into a server that has its own health check.
pub fn metrics_router(node: Arc<SfuNode>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .with_state(node)
}

async fn metrics(State(node): State<Arc<SfuNode>>) -> impl IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        node.render_metrics(),
    )
}

async fn health(State(node): State<Arc<SfuNode>>) -> impl IntoResponse {
    if node.is_draining() {
        (StatusCode::SERVICE_UNAVAILABLE, "draining")
    } else {
        (StatusCode::OK, "ok")
    }
}
