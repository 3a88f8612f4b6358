#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]
#![doc = include_str!("../README.md")]
// The default npm entry (feature `wasm` alone) leaves out what needs P-256 arithmetic
// (verification; see `curve`): the helpers only that code uses are then unused. Every
// other build (native, the worker, `edge-oauth/p256`) compiles and lints all of it.
#![cfg_attr(all(feature = "wasm", not(feature = "wasm-p256")), allow(unused))]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod authorize;
pub mod base64url;
mod curve;
pub mod dpop;
pub mod error;
mod hex;
pub mod json;
pub mod jwk;
pub mod jws;
pub mod oidc;
pub mod pkce;
pub mod token;
#[cfg(any(feature = "wasm", feature = "wasm-p256"))]
pub mod wasm;

pub use error::{Error, Result};

// The default npm entry (feature `wasm` without `std`) links no std: nothing in it needs
// std, and std's panic machinery formats messages and locations with `core::fmt`. A panic
// (none is reachable from input: the core returns errors) traps without formatting, so the
// linker drops the message text and the formatting code.
#[cfg(all(target_arch = "wasm32", feature = "wasm", not(feature = "std")))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
}

#[cfg(all(target_arch = "wasm32", feature = "wasm", not(feature = "std")))]
#[global_allocator]
static ALLOCATOR: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;
