//! P-256 membership checks on public values, without p256's field and scalar arithmetic.
//!
//! The default npm entry (feature `wasm` alone) never signs or verifies: WebCrypto does,
//! and `edge-oauth/p256` carries p256 for the synchronous paths. It still refuses a public
//! point that is not on the curve and a signature whose `r` or `s` is out of range, and
//! p256's arithmetic (with crypto-bigint and primeorder) would be about 20 KB of that
//! module for these two checks. So they are written out here, for the size budget: plain
//! 256-bit arithmetic on public data (no secret is ever involved, so nothing needs to be
//! constant time). Every other build uses p256 itself; the tests compare the two.

// Only the wasm entries use these (the default one both, the p256 one the signature shape).
#![cfg_attr(not(feature = "wasm"), allow(dead_code))]

/// A field element or integer below 2^256: four little-endian 64-bit limbs.
type U256 = [u64; 4];

/// The field prime p = 2^256 - 2^224 + 2^192 + 2^96 - 1 (SEC 2 §2.4.2).
const P: U256 = [
    0xffff_ffff_ffff_ffff,
    0x0000_0000_ffff_ffff,
    0x0000_0000_0000_0000,
    0xffff_ffff_0000_0001,
];

/// The curve coefficient b of y^2 = x^3 - 3x + b (SEC 2 §2.4.2).
const B: U256 = [
    0x3bce_3c3e_27d2_604b,
    0x651d_06b0_cc53_b0f6,
    0xb3eb_bd55_7698_86bc,
    0x5ac6_35d8_aa3a_93e7,
];

/// The group order n, big-endian (SEC 2 §2.4.2).
const N_BE: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

fn from_be(bytes: &[u8; 32]) -> U256 {
    let mut out = [0u64; 4];
    for (i, chunk) in bytes.rchunks_exact(8).enumerate() {
        let mut limb = [0u8; 8];
        limb.copy_from_slice(chunk);
        out[i] = u64::from_be_bytes(limb);
    }
    out
}

/// `a < b`.
fn less(a: &U256, b: &U256) -> bool {
    a.iter().rev().cmp(b.iter().rev()).is_lt()
}

/// `a - b` and whether it borrowed.
fn sub(a: &U256, b: &U256) -> (U256, bool) {
    let mut out = [0u64; 4];
    let mut borrow = false;
    for i in 0..4 {
        let (d, b1) = a[i].overflowing_sub(b[i]);
        let (d, b2) = d.overflowing_sub(u64::from(borrow));
        out[i] = d;
        borrow = b1 || b2;
    }
    (out, borrow)
}

/// `a + b mod p`, for `a, b < p`.
fn add_mod(a: &U256, b: &U256) -> U256 {
    let mut sum = [0u64; 4];
    let mut carry = false;
    for i in 0..4 {
        let (s, c1) = a[i].overflowing_add(b[i]);
        let (s, c2) = s.overflowing_add(u64::from(carry));
        sum[i] = s;
        carry = c1 || c2;
    }
    // a + b < 2p: one subtraction of p brings it below p (with the carry as bit 256).
    if carry || !less(&sum, &P) {
        sub(&sum, &P).0
    } else {
        sum
    }
}

/// `a - b mod p`, for `a, b < p`.
fn sub_mod(a: &U256, b: &U256) -> U256 {
    let (d, borrow) = sub(a, b);
    if borrow { add_mod_wrapping(&d, &P) } else { d }
}

/// `a + b` modulo 2^256 (adding p back after a borrow).
fn add_mod_wrapping(a: &U256, b: &U256) -> U256 {
    let mut out = [0u64; 4];
    let mut carry = false;
    for i in 0..4 {
        let (s, c1) = a[i].overflowing_add(b[i]);
        let (s, c2) = s.overflowing_add(u64::from(carry));
        out[i] = s;
        carry = c1 || c2;
    }
    out
}

/// `a * b mod p` by double-and-add over the bits of `b` (for `a, b < p`).
fn mul_mod(a: &U256, b: &U256) -> U256 {
    let mut acc = [0u64; 4];
    for bit in (0..256).rev() {
        acc = add_mod(&acc, &acc);
        if (b[bit / 64] >> (bit % 64)) & 1 == 1 {
            acc = add_mod(&acc, a);
        }
    }
    acc
}

/// Whether the affine point `(x, y)` (big-endian coordinates) is on P-256: both below p
/// and `y^2 = x^3 - 3x + b mod p`. (An affine point is never the identity.)
#[cfg_attr(feature = "wasm-p256", allow(dead_code))]
pub(crate) fn is_on_curve(x: &[u8; 32], y: &[u8; 32]) -> bool {
    let (x, y) = (from_be(x), from_be(y));
    if !less(&x, &P) || !less(&y, &P) {
        return false;
    }
    let x3 = mul_mod(&mul_mod(&x, &x), &x);
    let three_x = add_mod(&add_mod(&x, &x), &x);
    let rhs = add_mod(&sub_mod(&x3, &three_x), &B);
    mul_mod(&y, &y) == rhs
}

/// Whether a raw ES256 signature `r || s` has the shape RFC 7518 §3.4 requires: 64
/// octets, and both `r` and `s` in `[1, n - 1]`.
pub(crate) fn is_es256_signature_shape(signature: &[u8]) -> bool {
    let Some((r, s)) = signature.split_at_checked(32) else {
        return false;
    };
    let in_range = |v: &[u8]| v.len() == 32 && v.iter().any(|&b| b != 0) && v < &N_BE[..];
    in_range(r) && in_range(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
    use p256::elliptic_curve::point::AffineCoordinates;

    fn p256_says_on_curve(x: &[u8; 32], y: &[u8; 32]) -> bool {
        let mut sec1 = [4u8; 65];
        sec1[1..33].copy_from_slice(x);
        sec1[33..].copy_from_slice(y);
        VerifyingKey::from_sec1_bytes(&sec1).is_ok()
    }

    fn xy(key: &SigningKey) -> ([u8; 32], [u8; 32]) {
        let point = key.verifying_key().as_affine();
        (point.x().into(), point.y().into())
    }

    #[test]
    fn sec2_2_4_2_points_agree_with_p256() {
        let mut seed = [7u8; 32];
        for round in 0..64u8 {
            seed[0] = round;
            seed[31] = round.wrapping_mul(31) | 1;
            let key = SigningKey::from_slice(&seed).unwrap();
            let (x, mut y) = xy(&key);
            assert!(is_on_curve(&x, &y), "round {round}");
            assert!(p256_says_on_curve(&x, &y));
            // -y is on the curve too; y + 1 is not.
            let neg = sub(&P, &from_be(&y)).0;
            let mut neg_be = [0u8; 32];
            for (i, limb) in neg.iter().enumerate() {
                neg_be[24 - 8 * i..32 - 8 * i].copy_from_slice(&limb.to_be_bytes());
            }
            assert!(is_on_curve(&x, &neg_be));
            assert_eq!(is_on_curve(&x, &neg_be), p256_says_on_curve(&x, &neg_be));
            y[31] ^= 1;
            assert!(!is_on_curve(&x, &y));
            assert!(!p256_says_on_curve(&x, &y));
        }
    }

    #[test]
    fn sec2_2_4_2_coordinates_at_or_above_p_are_refused() {
        // The RFC 9449 §4.2 key, and the same x with y replaced by p and by 2^256 - 1.
        let x = crate::base64url::decode_array::<32>("l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs")
            .unwrap();
        let y = crate::base64url::decode_array::<32>("9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA")
            .unwrap();
        assert!(is_on_curve(&x, &y));
        let p_be: [u8; 32] = [
            0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff,
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        ];
        assert_eq!(from_be(&p_be), P);
        for bad in [p_be, [0xff; 32]] {
            assert!(!is_on_curve(&x, &bad));
            assert!(!is_on_curve(&bad, &y));
            assert!(!p256_says_on_curve(&x, &bad));
        }
        assert!(!is_on_curve(&[0; 32], &[0; 32]));
        assert!(!p256_says_on_curve(&[0; 32], &[0; 32]));
    }

    #[test]
    fn rfc7518_3_4_signature_shape_agrees_with_p256() {
        let one = {
            let mut v = [0u8; 32];
            v[31] = 1;
            v
        };
        let n_minus_1 = {
            let mut v = N_BE;
            v[31] -= 1;
            v
        };
        let cases: [([u8; 32], [u8; 32]); 7] = [
            (one, one),
            (n_minus_1, n_minus_1),
            ([0; 32], one),
            (one, [0; 32]),
            (N_BE, one),
            (one, N_BE),
            ([0xff; 32], one),
        ];
        for (r, s) in cases {
            let mut sig = [0u8; 64];
            sig[..32].copy_from_slice(&r);
            sig[32..].copy_from_slice(&s);
            assert_eq!(
                is_es256_signature_shape(&sig),
                Signature::from_slice(&sig).is_ok(),
                "{r:?} {s:?}"
            );
        }
        assert!(!is_es256_signature_shape(&[1u8; 63]));
        assert!(!is_es256_signature_shape(&[1u8; 65]));
        assert!(is_es256_signature_shape(&[1u8; 64]));
    }
}
