//! Every API request must carry a valid OCI request signature from a registered API key (strict, the
//! default); lenient mode only reads the key id, to know the caller's tenancy. Failures answer 401
//! `NotAuthenticated`, as the service does, with the reason in the message.

use axum::http::HeaderMap;
use jiff::Timestamp;

use super::account::Account;
use super::errors::OciError;
use crate::provider::oci::signing::{
    KeyId, ReceivedRequest, VerifyError, parse_authorization, public_key_from_pem, verify_request,
};

/// The tenancy (and key) a request is signed for, once the signature checks out. `now` is what the
/// request's `date` must be within 5 minutes of.
pub fn authenticate(
    store: &Account,
    method: &str,
    path_and_query: &str,
    headers: &HeaderMap,
    body: &[u8],
    now: Timestamp,
    verify: bool,
) -> Result<KeyId, OciError> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let refused = |e: VerifyError| OciError::not_authenticated(format!("{e}."));
    if !verify {
        let value = header("authorization").ok_or_else(|| refused(VerifyError::Missing))?;
        return parse_authorization(value)
            .map(|p| p.key_id)
            .map_err(refused);
    }
    let request = ReceivedRequest {
        method,
        path_and_query,
        header,
        body,
    };
    verify_request(
        &request,
        |id| {
            store
                .api_key(&id.to_string())
                .and_then(|k| public_key_from_pem(&k.public_key).ok())
        },
        now,
    )
    .map_err(refused)
}
