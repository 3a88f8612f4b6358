//! (module under construction)
use alloc::string::String;

/// An RFC 6749 §5.2 error response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorResponse {
    /// The `error` code.
    pub error: String,
    /// The `error_description`, if any.
    pub error_description: Option<String>,
    /// The `error_uri`, if any.
    pub error_uri: Option<String>,
    /// The HTTP status of the response.
    pub status: u16,
    /// The `DPoP-Nonce` header of the response, if any.
    pub dpop_nonce: Option<String>,
}
