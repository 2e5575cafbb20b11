//! Helpers shared by integration tests; each test file includes them with `mod common;`.
//!
//! Every test binary compiles this module but uses only part of it, hence the allow.
#![allow(dead_code)]

pub mod binary;
pub mod http;
pub mod promtool;
pub mod tools;
