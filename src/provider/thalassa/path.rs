//! Thalassa's rule for secret paths, checked by the CRD validation and by the client.

/// Longest Thalassa secret path.
pub const MAX_THALASSA_PATH: usize = 512;

/// Whether `path` is a Thalassa secret path (its docs' rules: a leading `/`, 1 to 512 of
/// `A–Z a–z 0–9 / _ - . +`, no trailing `/`, no `//`), and has no `.` or `..` segment (which a URL
/// would resolve into another route).
pub fn is_thalassa_path(path: &str) -> bool {
    path.starts_with('/')
        && path.len() > 1
        && path.len() <= MAX_THALASSA_PATH
        && !path.ends_with('/')
        && !path.contains("//")
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/_-.+".contains(&b))
        && !path.split('/').any(|s| s == "." || s == "..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thalassa_paths() {
        for ok in ["/a", "/app/prod/db", "/a+b/c.d_e-f", "/.hidden"] {
            assert!(is_thalassa_path(ok), "{ok}");
        }
        let long = format!("/{}", "a".repeat(MAX_THALASSA_PATH));
        for bad in [
            "", "/", "a", "/a/", "/a//b", "/a?x=1", "/a#f", "/a b", "/a/../b", "/.", "/x%2F", &long,
        ] {
            assert!(!is_thalassa_path(bad), "{bad}");
        }
    }
}
