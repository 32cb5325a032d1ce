//! veet-core: what every Veet component shares.
//!
//! - [`protocol`]: the JSON frames between clients, signaling handlers and SFU nodes.
//! - [`token`]: join tokens (HS256 JWTs).
//! - [`turn`]: short-lived TURN credentials (the TURN REST API scheme coturn checks).
//! - [`routing`]: connections, rooms, the SFU node registry and node inboxes, in Redis or in memory.
//! - [`departure`]: what happens when a participant leaves, whoever notices.
//! - [`gateway`]: pushing frames to client connections through API Gateway's management API.
//! - [`rate`]: rate limits as token buckets (GCRA), kept in the routing store.
//! - [`sdp`]: what the SFU node reads from SDP text (track ids, simulcast RIDs, refusals).
//! - [`room_code`]: Meet-style room codes.
//! - [`room_request`]: the room API's request bodies, validated.
//! - [`signature`]: HMAC signatures of room API requests and webhooks.
//! - [`webhook`]: outgoing webhooks, queued and delivered at least once.

pub mod departure;
pub mod gateway;
pub mod protocol;
pub mod rate;
pub mod room_code;
pub mod room_request;
pub mod routing;
pub mod sdp;
pub mod signature;
pub mod token;
pub mod turn;
pub mod webhook;
