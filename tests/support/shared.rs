//! The project's shared folder (`../shared` beside the checkout: recorded cassettes, reference
//! documents). A fresh `git clone` has none, so the tests that need it skip, and say so on the
//! terminal even though the test harness captures their output; under `CI=true` they fail instead,
//! because CI must run every referee.

use std::io::Write as _;
use std::path::{Path, PathBuf};

/// `../shared/<relative>` when it exists. When it does not: panics under `CI=true`, otherwise
/// prints a SKIPPED line naming `test` and returns `None`.
pub fn shared_path(relative: &str, test: &str) -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared")
        .join(relative);
    if path.exists() {
        return Some(path);
    }
    skip_or_fail(
        test,
        &format!("needs {} (absent in a fresh clone)", path.display()),
    );
    None
}

/// A referee `test` needs is missing (`reason`): panics under `CI=true`, because CI must run every
/// referee; otherwise prints a SKIPPED line on the terminal and returns, for the test to end.
pub fn skip_or_fail(test: &str, reason: &str) {
    if ci() {
        panic!("{test}: {reason}, and CI=true requires it (referees must run in CI)");
    }
    // Straight to the process's stderr: `eprintln!` would be captured and hidden for a test
    // that passes.
    let line = format!("SKIPPED {test}: {reason} (CI=true makes this a failure)\n");
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// The Scaleway cassettes folder (see [`shared_path`]).
pub fn cassettes(test: &str) -> Option<PathBuf> {
    shared_path("fixtures/scaleway-cassettes", test)
}

/// Whether this run is CI's (`CI` set to anything but `false`, `0` or empty).
pub fn ci() -> bool {
    std::env::var("CI")
        .map(|v| !matches!(v.trim(), "" | "0" | "false" | "False" | "FALSE"))
        .unwrap_or(false)
}
