//! The `edge-oauth/p256` entry: ECDSA P-256 with SHA-256 over bytes, with the private
//! scalar in wasm memory. It signs synchronously (RFC 6979), so DPoP proofs are available
//! without WebCrypto; the build keeps the field and point arithmetic inlined, with the
//! precomputed base-point tables (`[profile.release-p256]` and scripts/build.sh, feature
//! `std`).
//!
//! Everything around the arithmetic is the default entry's: it reads a private JWK
//! strictly (`privateJwkMembers`, all but the checks that need the curve), builds the
//! proof's signing input and finishes it (`DpopPublicKey`, `finishProof`), and picks the
//! keys an ID token may be signed with (`idTokenSignatureKeys`). `src/js/p256.js` joins
//! the two modules, so this one carries no JSON, base64url or error texts. A key that
//! fails a check here is `undefined` (or `false`), which the JS layer turns into the
//! core's coded error.

use alloc::vec::Vec;

use js_sys::Uint8Array;
use wasm_bindgen::prelude::*;
use zeroize::Zeroizing;

use super::rng;
use crate::jwk::{EcPrivateJwk, EcPublicJwk, PrivateJwkMembers};
use crate::jws;

/// A P-256 key in wasm memory (internal to the JS layer; applications use
/// `DpopKey.generate()` and `DpopKey.fromJwk()` of `edge-oauth/p256`). The scalar is
/// zeroized when the key is freed.
///
/// ```js
/// const key = P256Key.generate();
/// const signature = key.sign(signingInput); // 64 octets, r || s
/// ```
#[wasm_bindgen(js_name = P256Key)]
pub struct P256Key {
    key: EcPrivateJwk,
}

/// `bytes` as a 32-octet array, when it is one.
fn octets32(bytes: &[u8]) -> Option<[u8; 32]> {
    bytes.try_into().ok()
}

#[wasm_bindgen(js_class = P256Key)]
impl P256Key {
    /// Generates a fresh key from the platform CSPRNG.
    ///
    /// ```js
    /// const key = P256Key.generate();
    /// ```
    #[wasm_bindgen(js_name = generate)]
    pub fn generate() -> P256Key {
        P256Key {
            key: EcPrivateJwk::generate(&mut rng()),
        }
    }

    /// The key of a private JWK's members `d || x || y` (96 octets, as the default entry's
    /// `privateJwkMembers` returns them): `undefined` unless `d` is in `[1, n-1]` and
    /// `(x, y)` is its public point (so also on the curve). The bytes are wiped here; the
    /// caller wipes its own copy.
    ///
    /// ```js
    /// const key = P256Key.fromMembers(privateJwkMembers(JSON.stringify(jwk)));
    /// ```
    #[wasm_bindgen(js_name = fromMembers)]
    pub fn from_members(members: Vec<u8>) -> Option<P256Key> {
        let members = Zeroizing::new(members);
        let (d, xy) = members.split_at_checked(32)?;
        let (x, y) = xy.split_at_checked(32)?;
        let members = PrivateJwkMembers {
            d: Zeroizing::new(octets32(d)?),
            x: octets32(x)?,
            y: octets32(y)?,
        };
        EcPrivateJwk::from_members(&members)
            .ok()
            .map(|key| P256Key { key })
    }

    /// The public point `x || y` (big-endian, 64 octets).
    ///
    /// ```js
    /// const xy = key.publicKey();
    /// ```
    #[wasm_bindgen(js_name = publicKey)]
    pub fn public_key(&self) -> Vec<u8> {
        let public = self.key.public();
        [public.x().as_slice(), public.y().as_slice()].concat()
    }

    /// The private scalar `d` (big-endian, 32 octets). Keep it secret; copied straight
    /// from a wiped stack buffer into a new JS array, so no copy is left in wasm memory.
    ///
    /// ```js
    /// const d = key.privateKey();
    /// ```
    #[wasm_bindgen(js_name = privateKey)]
    pub fn private_key(&self) -> Uint8Array {
        let d = Zeroizing::new(self.key.signing_key().to_bytes());
        Uint8Array::from(d.as_slice())
    }

    /// Signs `message` (a JWS signing input: its UTF-8 octets) with ECDSA P-256 SHA-256
    /// and returns the raw `r || s` (64 octets; empty if the signature primitive failed,
    /// which it does not for a valid key, and which the default entry's `finishProof`
    /// refuses).
    ///
    /// ```js
    /// const proof = finishProof(input, key.sign(input));
    /// ```
    pub fn sign(&self, message: &str) -> Vec<u8> {
        jws::sign_es256_raw(message.as_bytes(), self.key.signing_key())
            .map(|signature| signature.to_vec())
            .unwrap_or_default()
    }
}

/// Whether `signature` (raw `r || s`, 64 octets) is a valid ECDSA P-256 SHA-256 signature
/// of `message` (its UTF-8 octets) by the public point `x || y` (64 octets, big-endian).
/// Any malformed input is `false`.
///
/// ```js
/// verify(keys.subarray(0, 64), signingInput, signature);
/// ```
#[wasm_bindgen(js_name = verify)]
pub fn verify_es256_js(
    #[wasm_bindgen(js_name = publicKey)] public_key: &[u8],
    message: &str,
    signature: &[u8],
) -> bool {
    let Some((x, y)) = public_key.split_at_checked(32) else {
        return false;
    };
    let (Some(x), Some(y)) = (octets32(x), octets32(y)) else {
        return false;
    };
    EcPublicJwk::from_coordinates(&x, &y).is_ok_and(|key| {
        jws::verify_es256(message.as_bytes(), signature, key.verifying_key()).is_ok()
    })
}
