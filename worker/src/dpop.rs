//! DPoP (RFC 9449) at the token endpoint arrives with issue 4. Until then the server does
//! not advertise `dpop_signing_alg_values_supported`, ignores a `DPoP` header and issues
//! `Bearer` tokens, which RFC 9449 §5 allows (clients must check `token_type`).

use crate::http::HttpRequest;

/// Whether the request carried a DPoP proof (informational only for now).
#[must_use]
pub fn has_proof(req: &HttpRequest) -> bool {
    req.header("dpop").is_some()
}
