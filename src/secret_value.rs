//! The one type secret payloads travel in.
//!
//! Its `Debug` and `Display` print `<redacted>` so a value can never reach a log line, an error message
//! or a panic through formatting, and its bytes are overwritten when it is dropped (`zeroize`), so a
//! value evicted from a cache does not linger in freed memory. Only the provider clients (encoding for the wire) and the mirror
//! (writing the target Secret) look at the bytes, through [`SecretValue::expose`].

use std::fmt;

use zeroize::Zeroize as _;

/// A secret payload: raw bytes, never printed.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct SecretValue(Vec<u8>);

impl SecretValue {
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self(bytes.into())
    }

    /// The raw bytes. Call sites are the places a value may leave the process; keep them few.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    pub fn into_bytes(mut self) -> Vec<u8> {
        std::mem::take(&mut self.0)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Drop for SecretValue {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl From<&str> for SecretValue {
    fn from(s: &str) -> Self {
        Self(s.as_bytes().to_vec())
    }
}

impl From<Vec<u8>> for SecretValue {
    fn from(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatting_never_shows_the_bytes() {
        let v = SecretValue::from("canary-5f1e");
        assert_eq!(format!("{v:?}"), "<redacted>");
        assert_eq!(format!("{v}"), "<redacted>");
        assert_eq!(format!("{:?}", Some(&v)), "Some(<redacted>)");
        assert_eq!(v.expose(), b"canary-5f1e");
    }
}
