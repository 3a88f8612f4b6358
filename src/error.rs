//! The one error type of the core.
//!
//! Every variant has a stable SCREAMING_SNAKE code ([`Error::code`]) that applications and
//! the JS layer match on, and a message ([`core::fmt::Display`]) that names the exact field
//! or check that failed. Cryptographic failures are deliberately opaque: a bad signature
//! says only that the signature is invalid.

use alloc::string::String;
use core::fmt;

use crate::authorize::AuthorizationError;
use crate::token::response::ErrorResponse;

/// Shorthand for results whose error is [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// Everything that can go wrong in the core.
///
/// ```
/// use edge_oauth::pkce::CodeVerifier;
///
/// let err = CodeVerifier::new("too-short").unwrap_err();
/// assert_eq!(err.code(), "PKCE_VERIFIER_INVALID");
/// assert!(err.to_string().contains("43"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    // ----- encodings -------------------------------------------------------------------
    /// Input is not strict base64url (padding, whitespace, foreign characters, stray bits).
    Base64urlInvalid,
    /// A JSON document could not be parsed, or is not of the expected shape.
    JsonInvalid(&'static str),
    /// The random number generator failed.
    RngFailure,
    /// An argument passed to the API has the wrong type or shape: the message names it.
    ArgumentInvalid(&'static str),

    // ----- PKCE (RFC 7636) ----------------------------------------------------------------
    /// A code verifier is not 43-128 characters from the unreserved set (§4.1).
    PkceVerifierInvalid(&'static str),
    /// A code challenge is not 43 base64url characters (S256) or not a valid plain value.
    PkceChallengeInvalid(&'static str),
    /// The `code_challenge_method` is unknown, or `plain` was not explicitly allowed.
    PkceMethodUnsupported,
    /// The verifier does not match the challenge.
    PkceMismatch,

    // ----- JWK (RFC 7517 / 7518 / 7638) -------------------------------------------------
    /// A JWK is malformed: the message names the member.
    JwkInvalid(&'static str),
    /// The key type or curve is not supported for this operation.
    JwkUnsupported(&'static str),
    /// The EC point is not on the P-256 curve, or the private scalar is out of range.
    JwkKeyInvalid,
    /// A public JWK carries a private member (`d`, `p`, `q`, `dp`, `dq`, `qi`, `oth`, `k`).
    JwkPrivateMember,

    // ----- JWS / JWT (RFC 7515 / 7519) ------------------------------------------------
    /// Not a compact JWS: the message names what is wrong (segments, encoding, JSON).
    JwsMalformed(&'static str),
    /// The protected header is invalid: the message names the member.
    JwsHeaderInvalid(&'static str),
    /// The `alg` is not one the caller allows (`none` and HS* are never allowed where an
    /// asymmetric algorithm is required).
    JwsAlgNotAllowed,
    /// The header lists a `crit` extension this implementation does not understand.
    JwsCritUnsupported,
    /// The signature does not verify.
    JwsSignatureInvalid,
    /// A JWT claim is missing or of the wrong type: the message names the claim.
    JwtClaimInvalid(&'static str),

    // ----- DPoP proof checks (RFC 9449 §4.3) ------------------------------------------
    /// Check 1: more than one DPoP header (or a list of values in one).
    DpopMultipleHeaders,
    /// Check 2: the proof is not a well-formed compact JWS / JWT.
    DpopMalformed(&'static str),
    /// Check 3: a required claim is missing or has the wrong type.
    DpopClaimInvalid(&'static str),
    /// Check 4: `typ` is not `dpop+jwt`.
    DpopTypInvalid,
    /// Check 5: `alg` is not an allowed asymmetric algorithm.
    DpopAlgNotAllowed,
    /// Check 6: the `jwk` header is missing or invalid.
    DpopJwkInvalid(&'static str),
    /// Check 6: the signature does not verify with the embedded `jwk`.
    DpopSignatureInvalid,
    /// Check 7: the `jwk` header carries a private key.
    DpopJwkPrivate,
    /// Check 8: `htm` does not match the request method.
    DpopHtmMismatch,
    /// Check 9: `htu` does not match the request URI.
    DpopHtuMismatch,
    /// Check 10: a nonce is required and the proof has none.
    DpopNonceMissing,
    /// Check 10: the proof's nonce is not the expected one.
    DpopNonceMismatch,
    /// Check 11: `iat` is too far in the past.
    DpopIatTooOld,
    /// Check 11: `iat` is too far in the future.
    DpopIatInFuture,
    /// Check 11: the `jti` was seen before within the window.
    DpopJtiReplayed,
    /// Check 12: an access token was presented and the proof has no `ath`.
    DpopAthMissing,
    /// Check 12: `ath` is not the hash of the presented access token.
    DpopAthMismatch,
    /// Check 12: the proof key is not the key the access token is bound to.
    DpopKeyMismatch,

    // ----- URLs ---------------------------------------------------------------------------
    /// A URL (e.g. an `htu` or a token endpoint) is not an absolute http(s) URL.
    UrlInvalid(&'static str),

    // ----- requests -------------------------------------------------------------------
    /// A form body has a malformed percent-escape.
    FormEncodingInvalid,
    /// A form body decodes to bytes that are not UTF-8.
    FormUtf8Invalid,
    /// A form body repeats a parameter (RFC 6749 §3.2).
    FormDuplicateParameter(String),
    /// A required request parameter is missing or empty: the message names it.
    RequestParameterMissing(&'static str),
    /// A request parameter has an invalid value: the message names it.
    RequestParameterInvalid(&'static str),

    // ----- responses ------------------------------------------------------------------
    /// A token response is not a JSON object.
    TokenResponseNotJson,
    /// A token response member is missing or invalid: the message names it.
    TokenResponseInvalid(&'static str),
    /// The `token_type` is neither `Bearer` nor `DPoP`.
    TokenTypeUnsupported,
    /// The server answered with an RFC 6749 §5.2 error.
    OAuth(ErrorResponse),
    /// A `WWW-Authenticate` header could not be parsed.
    ChallengeInvalid(&'static str),
    /// A `DPoP-Nonce` response header is not `1*NQCHAR` (RFC 9449 §8.1).
    DpopNonceInvalid(&'static str),
    /// A request that carried a DPoP proof got a token whose `token_type` is not `DPoP`:
    /// the token is not bound to the key, so the client discards it (RFC 9449 §5).
    TokenTypeMismatch,

    // ----- the redirect leg: authorization requests and responses, PAR, discovery ---------
    /// A URL that must use TLS is `http` with a host that is not loopback (`localhost`,
    /// `127.0.0.0/8`, `[::1]`): the message names it.
    UrlInsecure(&'static str),
    /// An authorization response redirect is malformed (not a URL, bad encoding, a value
    /// outside its syntax): the message names what.
    AuthorizationResponseInvalid(&'static str),
    /// An authorization response repeats a parameter (RFC 6749 §3.1).
    AuthorizationResponseParameterRepeated(String),
    /// Response parameters (`code`, `state`, `error`, `iss`) are in both the query and the
    /// fragment of the redirect: which part is the response is ambiguous (a mix-up risk).
    AuthorizationResponseAmbiguous,
    /// The response parameters are not in the part of the redirect that the expected
    /// response mode names: the message says where they are
    /// (`query, not the fragment`).
    AuthorizationResponseModeMismatch(&'static str),
    /// The authorization response has no `state` although the request sent one.
    AuthorizationResponseStateMissing,
    /// The `state` of the authorization response is not the one of the request.
    AuthorizationResponseStateMismatch,
    /// The authorization response has a `state` although the request sent none.
    AuthorizationResponseStateUnexpected,
    /// The server advertises `authorization_response_iss_parameter_supported` and the
    /// response has no `iss` (RFC 9207 §2.4).
    AuthorizationResponseIssMissing,
    /// The `iss` of the authorization response is not the expected issuer (RFC 9207 §2.4).
    AuthorizationResponseIssMismatch,
    /// A successful authorization response has no `code` (RFC 6749 §4.1.2).
    AuthorizationResponseCodeMissing,
    /// The authorization server redirected with an error (RFC 6749 §4.1.2.1).
    AuthorizationError(AuthorizationError),
    /// A pushed authorization response (RFC 9126 §2.2) is malformed: the message names
    /// the member.
    ParResponseInvalid(&'static str),
    /// A device authorization answer (RFC 8628 §3.2) is malformed: the message names the
    /// member.
    DeviceAuthorizationResponseInvalid(&'static str),
    /// The device code expired (its `expires_in` passed) before the user approved it;
    /// the client stopped polling.
    DeviceCodeExpired,
    /// The caller aborted the operation (an `AbortSignal`); its reason is the `cause`.
    Aborted,
    /// Server metadata (RFC 8414 §2, OIDC Discovery §3) is malformed: the message names
    /// the member.
    MetadataInvalid(&'static str),
    /// The metadata's `issuer` is not exactly the issuer it was fetched for (RFC 8414
    /// §3.3, OIDC Discovery §4.3).
    MetadataIssuerMismatch,

    // ----- ID tokens (OIDC Core §3.1.3.7) ---------------------------------------------
    /// An ID token claim is missing or of the wrong type: the message names it.
    IdTokenClaimInvalid(&'static str),
    /// `iss` is not the expected issuer.
    IdTokenIssMismatch,
    /// `aud` does not contain the client's `client_id`.
    IdTokenAudMismatch,
    /// `aud` lists an audience the client does not trust.
    IdTokenAudUntrusted,
    /// Several audiences and no `azp`.
    IdTokenAzpMissing,
    /// `azp` is not the client's `client_id`.
    IdTokenAzpMismatch,
    /// `exp` has passed (beyond the leeway).
    IdTokenExpired,
    /// `iat` is in the future (beyond the leeway).
    IdTokenIatInFuture,
    /// `nbf` is in the future (beyond the leeway).
    IdTokenNotYetValid,
    /// A `nonce` was sent and the ID token has none.
    IdTokenNonceMissing,
    /// The ID token's `nonce` is not the one sent.
    IdTokenNonceMismatch,
    /// `at_hash` is not the hash of the access token (§3.1.3.6).
    IdTokenAtHashMismatch,
    /// `max_age` was requested and the ID token has no `auth_time`.
    IdTokenAuthTimeMissing,
    /// The authentication is older than `max_age` allows.
    IdTokenAuthTimeTooOld,
    /// No key of the JWKS can verify the ID token (no key with its `kid`, or none of
    /// its algorithm).
    IdTokenKeyNotFound,
    /// The core cannot verify the ID token's algorithm (only ES256): verify it with
    /// WebCrypto instead.
    IdTokenSignatureUnsupported,

    // ----- client platform (the JS package) ----------------------------------------------
    /// The operation is not available for this kind of DPoP key: the message names it
    /// (e.g. exporting a non-extractable WebCrypto key, or signing synchronously with it).
    KeyBackendUnsupported(&'static str),
    /// `crypto.subtle` is missing (a runtime without WebCrypto, or a page that is not a
    /// secure context).
    WebCryptoUnavailable,
    /// A WebCrypto call failed or returned something unexpected: the message names it.
    WebCryptoFailed(&'static str),
    /// IndexedDB is missing (e.g. Node): keys can only be persisted in a browser.
    StorageUnavailable,
    /// An IndexedDB operation failed, or the stored value is not a usable key.
    StorageFailed(&'static str),
    /// The HTTP request failed before a response arrived (network, CORS, abort).
    FetchFailed,
}

impl Error {
    /// The stable, machine-readable code of this error.
    ///
    /// ```
    /// assert_eq!(edge_oauth::Error::DpopHtuMismatch.code(), "DPOP_HTU_MISMATCH");
    /// ```
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Error::Base64urlInvalid => "BASE64URL_INVALID",
            Error::JsonInvalid(_) => "JSON_INVALID",
            Error::RngFailure => "RNG_FAILURE",
            Error::ArgumentInvalid(_) => "ARGUMENT_INVALID",
            Error::PkceVerifierInvalid(_) => "PKCE_VERIFIER_INVALID",
            Error::PkceChallengeInvalid(_) => "PKCE_CHALLENGE_INVALID",
            Error::PkceMethodUnsupported => "PKCE_METHOD_UNSUPPORTED",
            Error::PkceMismatch => "PKCE_MISMATCH",
            Error::JwkInvalid(_) => "JWK_INVALID",
            Error::JwkUnsupported(_) => "JWK_UNSUPPORTED",
            Error::JwkKeyInvalid => "JWK_KEY_INVALID",
            Error::JwkPrivateMember => "JWK_PRIVATE_MEMBER",
            Error::JwsMalformed(_) => "JWS_MALFORMED",
            Error::JwsHeaderInvalid(_) => "JWS_HEADER_INVALID",
            Error::JwsAlgNotAllowed => "JWS_ALG_NOT_ALLOWED",
            Error::JwsCritUnsupported => "JWS_CRIT_UNSUPPORTED",
            Error::JwsSignatureInvalid => "JWS_SIGNATURE_INVALID",
            Error::JwtClaimInvalid(_) => "JWT_CLAIM_INVALID",
            Error::DpopMultipleHeaders => "DPOP_MULTIPLE_HEADERS",
            Error::DpopMalformed(_) => "DPOP_MALFORMED",
            Error::DpopClaimInvalid(_) => "DPOP_CLAIM_INVALID",
            Error::DpopTypInvalid => "DPOP_TYP_INVALID",
            Error::DpopAlgNotAllowed => "DPOP_ALG_NOT_ALLOWED",
            Error::DpopJwkInvalid(_) => "DPOP_JWK_INVALID",
            Error::DpopSignatureInvalid => "DPOP_SIGNATURE_INVALID",
            Error::DpopJwkPrivate => "DPOP_JWK_PRIVATE",
            Error::DpopHtmMismatch => "DPOP_HTM_MISMATCH",
            Error::DpopHtuMismatch => "DPOP_HTU_MISMATCH",
            Error::DpopNonceMissing => "DPOP_NONCE_MISSING",
            Error::DpopNonceMismatch => "DPOP_NONCE_MISMATCH",
            Error::DpopIatTooOld => "DPOP_IAT_TOO_OLD",
            Error::DpopIatInFuture => "DPOP_IAT_IN_FUTURE",
            Error::DpopJtiReplayed => "DPOP_JTI_REPLAYED",
            Error::DpopAthMissing => "DPOP_ATH_MISSING",
            Error::DpopAthMismatch => "DPOP_ATH_MISMATCH",
            Error::DpopKeyMismatch => "DPOP_KEY_MISMATCH",
            Error::UrlInvalid(_) => "URL_INVALID",
            Error::FormEncodingInvalid => "FORM_ENCODING_INVALID",
            Error::FormUtf8Invalid => "FORM_UTF8_INVALID",
            Error::FormDuplicateParameter(_) => "FORM_DUPLICATE_PARAMETER",
            Error::RequestParameterMissing(_) => "REQUEST_PARAMETER_MISSING",
            Error::RequestParameterInvalid(_) => "REQUEST_PARAMETER_INVALID",
            Error::TokenResponseNotJson => "TOKEN_RESPONSE_NOT_JSON",
            Error::TokenResponseInvalid(_) => "TOKEN_RESPONSE_INVALID",
            Error::TokenTypeUnsupported => "TOKEN_TYPE_UNSUPPORTED",
            Error::OAuth(_) => "OAUTH_ERROR",
            Error::ChallengeInvalid(_) => "CHALLENGE_INVALID",
            Error::DpopNonceInvalid(_) => "DPOP_NONCE_INVALID",
            Error::TokenTypeMismatch => "TOKEN_TYPE_MISMATCH",
            Error::UrlInsecure(_) => "URL_INSECURE",
            Error::AuthorizationResponseInvalid(_) => "AUTHORIZATION_RESPONSE_INVALID",
            Error::AuthorizationResponseParameterRepeated(_) => {
                "AUTHORIZATION_RESPONSE_PARAMETER_REPEATED"
            }
            Error::AuthorizationResponseAmbiguous => "AUTHORIZATION_RESPONSE_AMBIGUOUS",
            Error::AuthorizationResponseModeMismatch(_) => "AUTHORIZATION_RESPONSE_MODE_MISMATCH",
            Error::AuthorizationResponseStateMissing => "AUTHORIZATION_RESPONSE_STATE_MISSING",
            Error::AuthorizationResponseStateMismatch => "AUTHORIZATION_RESPONSE_STATE_MISMATCH",
            Error::AuthorizationResponseStateUnexpected => {
                "AUTHORIZATION_RESPONSE_STATE_UNEXPECTED"
            }
            Error::AuthorizationResponseIssMissing => "AUTHORIZATION_RESPONSE_ISS_MISSING",
            Error::AuthorizationResponseIssMismatch => "AUTHORIZATION_RESPONSE_ISS_MISMATCH",
            Error::AuthorizationResponseCodeMissing => "AUTHORIZATION_RESPONSE_CODE_MISSING",
            Error::AuthorizationError(_) => "AUTHORIZATION_ERROR",
            Error::ParResponseInvalid(_) => "PAR_RESPONSE_INVALID",
            Error::DeviceAuthorizationResponseInvalid(_) => "DEVICE_AUTHORIZATION_RESPONSE_INVALID",
            Error::DeviceCodeExpired => "DEVICE_CODE_EXPIRED",
            Error::Aborted => "ABORTED",
            Error::MetadataInvalid(_) => "METADATA_INVALID",
            Error::MetadataIssuerMismatch => "METADATA_ISSUER_MISMATCH",
            Error::IdTokenClaimInvalid(_) => "ID_TOKEN_CLAIM_INVALID",
            Error::IdTokenIssMismatch => "ID_TOKEN_ISS_MISMATCH",
            Error::IdTokenAudMismatch => "ID_TOKEN_AUD_MISMATCH",
            Error::IdTokenAudUntrusted => "ID_TOKEN_AUD_UNTRUSTED",
            Error::IdTokenAzpMissing => "ID_TOKEN_AZP_MISSING",
            Error::IdTokenAzpMismatch => "ID_TOKEN_AZP_MISMATCH",
            Error::IdTokenExpired => "ID_TOKEN_EXPIRED",
            Error::IdTokenIatInFuture => "ID_TOKEN_IAT_IN_FUTURE",
            Error::IdTokenNotYetValid => "ID_TOKEN_NOT_YET_VALID",
            Error::IdTokenNonceMissing => "ID_TOKEN_NONCE_MISSING",
            Error::IdTokenNonceMismatch => "ID_TOKEN_NONCE_MISMATCH",
            Error::IdTokenAtHashMismatch => "ID_TOKEN_AT_HASH_MISMATCH",
            Error::IdTokenAuthTimeMissing => "ID_TOKEN_AUTH_TIME_MISSING",
            Error::IdTokenAuthTimeTooOld => "ID_TOKEN_AUTH_TIME_TOO_OLD",
            Error::IdTokenKeyNotFound => "ID_TOKEN_KEY_NOT_FOUND",
            Error::IdTokenSignatureUnsupported => "ID_TOKEN_SIGNATURE_UNSUPPORTED",
            Error::KeyBackendUnsupported(_) => "KEY_BACKEND_UNSUPPORTED",
            Error::WebCryptoUnavailable => "WEBCRYPTO_UNAVAILABLE",
            Error::WebCryptoFailed(_) => "WEBCRYPTO_FAILED",
            Error::StorageUnavailable => "STORAGE_UNAVAILABLE",
            Error::StorageFailed(_) => "STORAGE_FAILED",
            Error::FetchFailed => "FETCH_FAILED",
        }
    }

    /// The RFC 6749 / RFC 9449 wire error a server answers for this error, if it is a
    /// DPoP proof failure: `use_dpop_nonce` for nonce problems, `invalid_dpop_proof` for
    /// the rest, `None` for errors that are not about a proof.
    ///
    /// ```
    /// use edge_oauth::Error;
    /// assert_eq!(Error::DpopNonceMissing.dpop_wire_error(), Some("use_dpop_nonce"));
    /// assert_eq!(Error::DpopHtmMismatch.dpop_wire_error(), Some("invalid_dpop_proof"));
    /// assert_eq!(Error::PkceMismatch.dpop_wire_error(), None);
    /// ```
    #[must_use]
    pub fn dpop_wire_error(&self) -> Option<&'static str> {
        match self {
            Error::DpopNonceMissing | Error::DpopNonceMismatch => Some("use_dpop_nonce"),
            Error::DpopKeyMismatch => Some("invalid_token"),
            Error::DpopMultipleHeaders
            | Error::DpopMalformed(_)
            | Error::DpopClaimInvalid(_)
            | Error::DpopTypInvalid
            | Error::DpopAlgNotAllowed
            | Error::DpopJwkInvalid(_)
            | Error::DpopSignatureInvalid
            | Error::DpopJwkPrivate
            | Error::DpopHtmMismatch
            | Error::DpopHtuMismatch
            | Error::DpopIatTooOld
            | Error::DpopIatInFuture
            | Error::DpopJtiReplayed
            | Error::DpopAthMissing
            | Error::DpopAthMismatch => Some("invalid_dpop_proof"),
            _ => None,
        }
    }
}

impl Error {
    /// The message [`Display`](fmt::Display) writes, built without `core::fmt` (the JS
    /// errors of the wasm entries carry it: the formatting machinery stays out of them).
    pub(crate) fn message(&self) -> String {
        let mut out = String::new();
        if let Error::UrlInsecure(_) = self {
            out.push_str("insecure URL: ");
        }
        let (text, detail): (&str, &str) = match self {
            Error::Base64urlInvalid => ("input is not unpadded base64url", ""),
            Error::JsonInvalid(what) => ("invalid JSON: ", what),
            Error::RngFailure => ("the random number generator failed", ""),
            Error::ArgumentInvalid(why) => ("invalid argument: ", why),
            Error::PkceVerifierInvalid(why) => ("invalid PKCE code_verifier: ", why),
            Error::PkceChallengeInvalid(why) => ("invalid PKCE code_challenge: ", why),
            Error::PkceMethodUnsupported => (
                "unsupported code_challenge_method (S256, or plain only when explicitly allowed)",
                "",
            ),
            Error::PkceMismatch => ("code_verifier does not match code_challenge", ""),
            Error::JwkInvalid(why) => ("invalid JWK: ", why),
            Error::JwkUnsupported(what) => ("unsupported JWK: ", what),
            Error::JwkKeyInvalid => ("invalid JWK: not a valid P-256 key", ""),
            Error::JwkPrivateMember => (
                "invalid JWK: a public key must not contain private members",
                "",
            ),
            Error::JwsMalformed(why) => ("malformed JWS: ", why),
            Error::JwsHeaderInvalid(why) => ("invalid JWS header: ", why),
            Error::JwsAlgNotAllowed => ("JWS alg is not allowed", ""),
            Error::JwsCritUnsupported => ("JWS crit names an unsupported extension", ""),
            Error::JwsSignatureInvalid => ("JWS signature is invalid", ""),
            Error::JwtClaimInvalid(why) => ("invalid JWT claim: ", why),
            Error::DpopMultipleHeaders => ("more than one DPoP header", ""),
            Error::DpopMalformed(why) => ("malformed DPoP proof: ", why),
            Error::DpopClaimInvalid(why) => ("invalid DPoP proof claim: ", why),
            Error::DpopTypInvalid => ("DPoP proof typ must be dpop+jwt", ""),
            Error::DpopAlgNotAllowed => ("DPoP proof alg is not allowed", ""),
            Error::DpopJwkInvalid(why) => ("invalid DPoP proof jwk: ", why),
            Error::DpopSignatureInvalid => ("DPoP proof signature is invalid", ""),
            Error::DpopJwkPrivate => ("DPoP proof jwk must not contain a private key", ""),
            Error::DpopHtmMismatch => ("DPoP proof htm does not match the request method", ""),
            Error::DpopHtuMismatch => ("DPoP proof htu does not match the request URI", ""),
            Error::DpopNonceMissing => ("DPoP proof nonce is required", ""),
            Error::DpopNonceMismatch => ("DPoP proof nonce is not the expected nonce", ""),
            Error::DpopIatTooOld => ("DPoP proof iat is too old", ""),
            Error::DpopIatInFuture => ("DPoP proof iat is in the future", ""),
            Error::DpopJtiReplayed => ("DPoP proof jti has already been used", ""),
            Error::DpopAthMissing => ("DPoP proof ath is required with an access token", ""),
            Error::DpopAthMismatch => ("DPoP proof ath does not match the access token", ""),
            Error::DpopKeyMismatch => (
                "DPoP proof key does not match the key the token is bound to",
                "",
            ),
            Error::UrlInvalid(why) => ("invalid URL: ", why),
            Error::FormEncodingInvalid => ("form body has a malformed percent-escape", ""),
            Error::FormUtf8Invalid => ("form body is not valid UTF-8", ""),
            Error::FormDuplicateParameter(name) => {
                out.push_str("form parameter is repeated: ");
                push_printable(&mut out, name);
                return out;
            }
            Error::RequestParameterMissing(name) => ("missing parameter: ", name),
            Error::RequestParameterInvalid(why) => ("invalid parameter: ", why),
            Error::TokenResponseNotJson => ("token response body is not a JSON object", ""),
            Error::TokenResponseInvalid(why) => ("invalid token response: ", why),
            Error::TokenTypeUnsupported => (
                "invalid token response: token_type must be Bearer or DPoP",
                "",
            ),
            Error::OAuth(e) => {
                out.push_str("authorization server error: ");
                push_error(&mut out, &e.error, e.error_description.as_deref());
                return out;
            }
            Error::ChallengeInvalid(why) => ("invalid WWW-Authenticate header: ", why),
            Error::DpopNonceInvalid(why) => ("invalid DPoP-Nonce header: ", why),
            Error::TokenTypeMismatch => (
                "token_type is not DPoP after a request with a DPoP proof: the token is not bound to the key",
                "",
            ),
            Error::UrlInsecure(what) => {
                out.push_str(what);
                (" must be https (http only for a loopback host)", "")
            }
            Error::AuthorizationResponseInvalid(why) => ("invalid authorization response: ", why),
            Error::AuthorizationResponseParameterRepeated(name) => {
                out.push_str("authorization response parameter is repeated: ");
                push_printable(&mut out, name);
                return out;
            }
            Error::AuthorizationResponseAmbiguous => (
                "authorization response parameters are in both the query and the fragment",
                "",
            ),
            Error::AuthorizationResponseModeMismatch(why) => {
                ("authorization response parameters are in the ", why)
            }
            Error::AuthorizationResponseStateMissing => (
                "authorization response has no state, but the request sent one",
                "",
            ),
            Error::AuthorizationResponseStateMismatch => (
                "authorization response state is not the state of the request",
                "",
            ),
            Error::AuthorizationResponseStateUnexpected => (
                "authorization response has a state, but the request sent none",
                "",
            ),
            Error::AuthorizationResponseIssMissing => (
                "authorization response has no iss, but the server advertises authorization_response_iss_parameter_supported",
                "",
            ),
            Error::AuthorizationResponseIssMismatch => {
                ("authorization response iss is not the expected issuer", "")
            }
            Error::AuthorizationResponseCodeMissing => {
                ("authorization response has neither code nor error", "")
            }
            Error::AuthorizationError(e) => {
                out.push_str("authorization failed: ");
                push_error(&mut out, &e.error, e.error_description.as_deref());
                return out;
            }
            Error::ParResponseInvalid(why) => ("invalid pushed authorization response: ", why),
            Error::DeviceAuthorizationResponseInvalid(why) => {
                ("invalid device authorization response: ", why)
            }
            Error::DeviceCodeExpired => (
                "the device code expired before the user approved the request",
                "",
            ),
            Error::Aborted => ("the operation was aborted (see cause)", ""),
            Error::MetadataInvalid(why) => ("invalid server metadata: ", why),
            Error::MetadataIssuerMismatch => (
                "server metadata issuer is not the issuer it was fetched for",
                "",
            ),
            Error::IdTokenClaimInvalid(why) => ("invalid ID token: ", why),
            Error::IdTokenIssMismatch => ("ID token iss is not the expected issuer", ""),
            Error::IdTokenAudMismatch => ("ID token aud does not contain the client_id", ""),
            Error::IdTokenAudUntrusted => (
                "ID token aud contains an audience the client does not trust",
                "",
            ),
            Error::IdTokenAzpMissing => ("ID token has several audiences and no azp", ""),
            Error::IdTokenAzpMismatch => ("ID token azp is not the client_id", ""),
            Error::IdTokenExpired => ("ID token has expired (exp)", ""),
            Error::IdTokenIatInFuture => ("ID token iat is in the future", ""),
            Error::IdTokenNotYetValid => ("ID token is not valid yet (nbf)", ""),
            Error::IdTokenNonceMissing => ("ID token has no nonce, but the request sent one", ""),
            Error::IdTokenNonceMismatch => ("ID token nonce is not the nonce of the request", ""),
            Error::IdTokenAtHashMismatch => {
                ("ID token at_hash does not match the access token", "")
            }
            Error::IdTokenAuthTimeMissing => {
                ("ID token has no auth_time, but max_age was requested", "")
            }
            Error::IdTokenAuthTimeTooOld => ("ID token auth_time is older than max_age allows", ""),
            Error::IdTokenKeyNotFound => ("no JWKS key can verify the ID token", ""),
            Error::IdTokenSignatureUnsupported => (
                "the ID token signature algorithm cannot be verified here (only ES256): verify it with WebCrypto",
                "",
            ),
            Error::KeyBackendUnsupported(why) => ("not available for this DPoP key: ", why),
            Error::WebCryptoUnavailable => (
                "WebCrypto (crypto.subtle) is not available: it needs a secure context (https or localhost)",
                "",
            ),
            Error::WebCryptoFailed(why) => ("WebCrypto failed: ", why),
            Error::StorageUnavailable => (
                "IndexedDB is not available in this runtime: DpopKey.persist and DpopKey.load need a browser",
                "",
            ),
            Error::StorageFailed(why) => ("IndexedDB failed: ", why),
            Error::FetchFailed => (
                "the HTTP request failed before a response arrived (see cause)",
                "",
            ),
        };
        out.push_str(text);
        out.push_str(detail);
        out
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

/// Appends `s` with everything outside printable ASCII replaced, so that attacker-chosen
/// names never smuggle control characters into logs or error descriptions (RFC 6749
/// §5.2 limits `error_description` to `%x20-21 / %x23-5B / %x5D-7E`).
fn push_printable(out: &mut String, s: &str) {
    for c in s.chars().take(64) {
        let ok = matches!(c, '\x20'..='\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e');
        out.push(if ok { c } else { '?' });
    }
}

/// Appends an OAuth `error` and, when there is one, its description in parentheses.
fn push_error(out: &mut String, error: &str, description: Option<&str>) {
    push_printable(out, error);
    if let Some(d) = description {
        out.push_str(" (");
        push_printable(out, d);
        out.push(')');
    }
}

impl core::error::Error for Error {}
