//! Drift detection without storing values: a keyed HMAC-SHA256 of the mirrored data, kept in the
//! annotation `keyward.dev/data-hmac` of the target Secret.
//!
//! A plain hash of a short password could be brute-forced from the annotation by anyone who can read
//! the Secret's metadata; keying it with an operator-held secret prevents that. The data is encoded
//! canonically before hashing (a domain tag, the entry count, then for each key in sorted order the
//! key and the value, each prefixed with its length as a big-endian u64) so no two different maps
//! share an encoding.

use std::collections::BTreeMap;
use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The annotation that holds the HMAC of the data Keyward last wrote.
pub use crate::api::well_known::DATA_HMAC_ANNOTATION;
/// Prefix of the annotation value, so the encoding can change later without confusion.
const VERSION_PREFIX: &str = "v1:";
const DOMAIN_TAG: &[u8] = b"keyward/data-hmac/v1\0";
/// Shorter keys are refused: HMAC is only as strong as its key.
pub const MIN_KEY_BYTES: usize = 16;

type HmacSha256 = Hmac<Sha256>;

/// The operator's HMAC key. `Debug` does not print it.
#[derive(Clone, PartialEq, Eq)]
pub struct HmacKey(Vec<u8>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the data HMAC key must be at least {MIN_KEY_BYTES} bytes, got {0}")]
pub struct HmacKeyTooShort(pub usize);

impl HmacKey {
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self, HmacKeyTooShort> {
        let bytes = bytes.into();
        if bytes.len() < MIN_KEY_BYTES {
            return Err(HmacKeyTooShort(bytes.len()));
        }
        Ok(Self(bytes))
    }

    fn mac(&self) -> HmacSha256 {
        HmacSha256::new_from_slice(&self.0).expect("HMAC accepts keys of any length")
    }
}

impl fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HmacKey(<redacted>)")
    }
}

fn mac_of<'a>(key: &HmacKey, data: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> HmacSha256 {
    let sorted: BTreeMap<&str, &[u8]> = data.into_iter().collect();
    let mut mac = key.mac();
    mac.update(DOMAIN_TAG);
    mac.update(&(sorted.len() as u64).to_be_bytes());
    for (k, v) in sorted {
        mac.update(&(k.len() as u64).to_be_bytes());
        mac.update(k.as_bytes());
        mac.update(&(v.len() as u64).to_be_bytes());
        mac.update(v);
    }
    mac
}

/// The annotation value for `data`: `v1:` and 64 lowercase hex digits.
pub fn data_hmac<'a>(key: &HmacKey, data: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> String {
    let tag = mac_of(key, data).finalize().into_bytes();
    let mut out = String::with_capacity(VERSION_PREFIX.len() + 64);
    out.push_str(VERSION_PREFIX);
    for b in tag {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Whether the observed data differs from what the annotation says Keyward wrote. A missing or
/// malformed annotation counts as drift (Keyward cannot vouch for the data). The comparison is
/// constant-time. For creation policy Merge, pass only the keys Keyward owns
/// (see [`super::ownership::restrict_to`]).
pub fn drifted<'a>(
    observed: impl IntoIterator<Item = (&'a str, &'a [u8])>,
    annotation: Option<&str>,
    key: &HmacKey,
) -> bool {
    let Some(expected) = annotation.and_then(parse_annotation) else {
        return true;
    };
    mac_of(key, observed).verify_slice(&expected).is_err()
}

fn parse_annotation(value: &str) -> Option<Vec<u8>> {
    let hex = value.trim().strip_prefix(VERSION_PREFIX)?;
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
        .collect()
}

/// Borrow a `BTreeMap<String, Vec<u8>>` as the `(key, bytes)` pairs the functions above take.
pub fn entries(data: &BTreeMap<String, Vec<u8>>) -> impl Iterator<Item = (&str, &[u8])> {
    data.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
}

/// The keyed digest of a payload (for comparing source and remote without keeping either).
pub fn payload_digest(key: &HmacKey, payload: &crate::secret_value::SecretValue) -> String {
    data_hmac(key, [("payload", payload.expose())])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> HmacKey {
        HmacKey::new(*b"0123456789abcdef0123456789abcdef").unwrap()
    }

    fn map(pairs: &[(&str, &[u8])]) -> BTreeMap<String, Vec<u8>> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_vec()))
            .collect()
    }

    #[test]
    fn annotation_shape_and_stability() {
        let data = map(&[("user", b"app"), ("password", b"hunter2")]);
        let a = data_hmac(&key(), entries(&data));
        assert!(a.starts_with("v1:") && a.len() == 67, "{a}");
        assert!(
            a[3..]
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        // Order of iteration does not matter; the encoding sorts.
        let reversed: Vec<(&str, &[u8])> = entries(&data)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        assert_eq!(data_hmac(&key(), reversed), a);
        assert!(!drifted(entries(&data), Some(&a), &key()));
    }

    #[test]
    fn any_change_is_drift() {
        let base = map(&[("a", b"1"), ("b", b"2")]);
        let annotation = data_hmac(&key(), entries(&base));
        let cases: &[(&str, BTreeMap<String, Vec<u8>>)] = &[
            ("value changed", map(&[("a", b"1"), ("b", b"3")])),
            ("key removed", map(&[("a", b"1")])),
            ("key added", map(&[("a", b"1"), ("b", b"2"), ("c", b"")])),
            ("key renamed", map(&[("a", b"1"), ("c", b"2")])),
            // Without length prefixes these two would collide with `base`.
            (
                "bytes moved across the boundary",
                map(&[("a", b"12"), ("b", b"")]),
            ),
            ("empty", map(&[])),
        ];
        for (what, observed) in cases {
            assert!(
                drifted(entries(observed), Some(&annotation), &key()),
                "{what}"
            );
        }
    }

    #[test]
    fn missing_or_malformed_annotations_are_drift() {
        let data = map(&[("a", b"1")]);
        let good = data_hmac(&key(), entries(&data));
        let upper = good.to_uppercase().replacen("V1:", "v1:", 1);
        assert!(
            !drifted(entries(&data), Some(&upper), &key()),
            "hex case is not significant"
        );
        for bad in [
            None,
            Some(""),
            Some("v1:"),
            Some(&good[3..]),
            Some("v2:0000000000000000000000000000000000000000000000000000000000000000"),
            Some("v1:zz00000000000000000000000000000000000000000000000000000000000000"),
            Some(&good[..66]),
        ] {
            assert!(drifted(entries(&data), bad, &key()), "{bad:?}");
        }
    }

    #[test]
    fn a_different_key_gives_a_different_digest() {
        let data = map(&[("a", b"1")]);
        let other = HmacKey::new(vec![7u8; 32]).unwrap();
        let annotation = data_hmac(&key(), entries(&data));
        assert_ne!(annotation, data_hmac(&other, entries(&data)));
        assert!(drifted(entries(&data), Some(&annotation), &other));
    }

    #[test]
    fn short_keys_are_refused_and_keys_are_not_printed() {
        assert_eq!(HmacKey::new(vec![1u8; 15]), Err(HmacKeyTooShort(15)));
        let k = HmacKey::new(*b"canary-key-0123456789").unwrap();
        assert_eq!(format!("{k:?}"), "HmacKey(<redacted>)");
    }

    #[test]
    fn digests_compare_payloads_without_showing_them() {
        use crate::secret_value::SecretValue;
        let key = HmacKey::new(vec![7u8; 32]).unwrap();
        let a = payload_digest(&key, &SecretValue::from("canary-1"));
        assert_eq!(a, payload_digest(&key, &SecretValue::from("canary-1")));
        assert_ne!(a, payload_digest(&key, &SecretValue::from("canary-2")));
        assert!(!a.contains("canary"));
    }
}
