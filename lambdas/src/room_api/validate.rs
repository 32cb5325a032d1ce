//! The room API's request bodies, parsed by [`veet_core::room_request`]; a refusal is a `400`
//! naming the field.

use veet_core::protocol::ErrorCode;
use veet_core::room_request::{self, Invalid};
pub use veet_core::room_request::{CreateRoom, Mute};

use super::HttpResponse;

impl From<Invalid> for HttpResponse {
    fn from(e: Invalid) -> Self {
        HttpResponse::json(
            400,
            &serde_json::json!({ "code": ErrorCode::InvalidRequest, "message": e.message, "field": e.field }),
        )
    }
}

/// Parses `POST /rooms`.
pub fn create_room(body: &[u8]) -> Result<CreateRoom, HttpResponse> {
    room_request::create_room(body).map_err(Into::into)
}

/// Parses a mute request.
pub fn mute(body: &[u8]) -> Result<Mute, HttpResponse> {
    room_request::mute(body).map_err(Into::into)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_is_a_400_naming_the_field() {
        let r = create_room(br#"{"access":"secret"}"#).unwrap_err();
        assert_eq!(r.status, 400);
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(v["code"], "invalid_request");
        assert_eq!(v["field"], "access");
        assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
}
