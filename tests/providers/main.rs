//! Provider clients and emulators: the clients against recorded real traffic and plain HTTP
//! servers, the emulators against the cassettes, the official SDKs and each other. One binary, so the
//! crate links once.

#[path = "../support/mod.rs"]
mod support;

mod client_cassettes;
mod client_emulator;
mod client_http;
mod emulator_auth;
mod emulator_behaviour;
mod emulator_conformance;
mod emulator_faults;
mod emulator_process;
mod mirror_flow;
mod oci_client;
mod oci_emulator;
mod oci_sdk;
mod oci_secrets;
mod scaleway_sdk;
mod thalassa_client;
mod thalassa_emulator;
