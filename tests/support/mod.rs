//! Shared helpers for integration tests. Each test file that needs them says `mod support;`.
// Not every test file uses every helper.
#![allow(dead_code)]

pub mod controlplane;
