//! Helpers shared by the three test binaries (`cluster`, `providers`, `offline`), each of which
//! includes this folder with `#[path = "../support/mod.rs"] mod support;`.
// Not every binary uses every helper.
#![allow(dead_code)]

pub mod chart;
pub mod cli;
pub mod cloud;
pub mod controlplane;
pub mod e2e;
pub mod emulator;
pub mod fixtures;
pub mod hostile;
pub mod oci;
pub mod scripted;
pub mod shared;
pub mod workloads;
