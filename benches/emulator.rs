//! Emulator throughput benchmark. (Skeleton.)
fn main() {}
