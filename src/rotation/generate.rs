//! Generating new secret values: random passwords under a policy, and flat JSON objects of keys that
//! are each generated or fixed (the payload of Scaleway's `key_value`, `basic_credentials` and
//! `database_credentials` types).
//!
//! Randomness must come from a CSPRNG: the functions take `R: CryptoRng`, and the convenience
//! wrappers use `rand::rng()` (ChaCha12 reseeded from the OS). Characters are drawn uniformly with
//! `rand`'s unbiased slice sampling, never with `%`.
//!
//! "At least one of each enabled class" is met by drawing one character from each class, filling the
//! rest from the union of classes, then shuffling, so the guarantee holds without retry loops.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use rand::CryptoRng;
use rand::seq::{IndexedRandom, SliceRandom};

use crate::mirror::is_valid_secret_key;
use crate::secret_value::SecretValue;

pub const DEFAULT_LENGTH: u32 = 32;
pub const MIN_LENGTH: u32 = 1;
pub const MAX_LENGTH: u32 = 4096;
/// Scaleway Secret Manager refuses versions larger than 64 KiB.
pub const MAX_PAYLOAD_BYTES: usize = 64 * 1024;

const LOWERCASE: &str = "abcdefghijklmnopqrstuvwxyz";
const UPPERCASE: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const DIGITS: &str = "0123456789";
/// ASCII punctuation without the quotes, backslash and backtick, which break shell, YAML and SQL
/// quoting more often than they add strength.
pub const DEFAULT_SYMBOLS: &str = "!#$%&()*+,-./:;<=>?@[]^_{|}~";
/// Characters people confuse when reading or typing a value.
pub const AMBIGUOUS: &str = "0Oo1lI|`'\"";

/// Why a generator policy was refused. Messages name the field and the rule; fixed values are never
/// shown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("length must be between {MIN_LENGTH} and {MAX_LENGTH}, got {0}")]
    LengthOutOfRange(u32),
    #[error("at least one character class (lowercase, uppercase, digits, symbols) must be enabled")]
    NoClassEnabled,
    #[error("symbols are disabled but a custom symbol set is given")]
    SymbolSetWithSymbolsDisabled,
    #[error("the custom symbol set is empty")]
    SymbolSetEmpty,
    #[error(
        "the custom symbol set may hold only ASCII punctuation; character {position} is not (count from 1)"
    )]
    SymbolSetInvalid { position: usize },
    #[error("excluding ambiguous characters leaves no {class} characters")]
    ClassEmptyAfterExclusion { class: &'static str },
    #[error(
        "length {length} is shorter than the {classes} enabled character classes, each of which must appear"
    )]
    LengthBelowRequiredClasses { length: u32, classes: usize },
}

/// The unvalidated knobs of a generator, as they come from the spec. `None` means "the default".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GeneratorInput<'a> {
    /// Default [`DEFAULT_LENGTH`].
    pub length: Option<u32>,
    /// Each class defaults to enabled.
    pub lowercase: Option<bool>,
    pub uppercase: Option<bool>,
    pub digits: Option<bool>,
    pub symbols: Option<bool>,
    /// Replaces [`DEFAULT_SYMBOLS`]; ASCII punctuation only, duplicates ignored.
    pub symbol_set: Option<&'a str>,
    /// Default false.
    pub exclude_ambiguous: Option<bool>,
    /// Default true: every enabled class appears at least once.
    pub require_each_class: Option<bool>,
}

/// A validated password policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPolicy {
    length: usize,
    /// Enabled classes, each non-empty and disjoint from the others.
    classes: Vec<Vec<char>>,
    /// Union of `classes`.
    alphabet: Vec<char>,
    require_each_class: bool,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self::new(&GeneratorInput::default()).expect("the defaults are a valid policy")
    }
}

impl PasswordPolicy {
    pub fn new(input: &GeneratorInput<'_>) -> Result<Self, PolicyError> {
        let length = input.length.unwrap_or(DEFAULT_LENGTH);
        if !(MIN_LENGTH..=MAX_LENGTH).contains(&length) {
            return Err(PolicyError::LengthOutOfRange(length));
        }
        let symbols_enabled = match (input.symbols, input.symbol_set) {
            (Some(false), Some(_)) => return Err(PolicyError::SymbolSetWithSymbolsDisabled),
            (Some(on), _) => on,
            (None, _) => true,
        };
        let symbol_source = match input.symbol_set {
            Some(set) => {
                if set.is_empty() {
                    return Err(PolicyError::SymbolSetEmpty);
                }
                if let Some(i) = set.chars().position(|c| !c.is_ascii_punctuation()) {
                    return Err(PolicyError::SymbolSetInvalid { position: i + 1 });
                }
                set
            }
            None => DEFAULT_SYMBOLS,
        };
        let exclude_ambiguous = input.exclude_ambiguous.unwrap_or(false);
        let candidates = [
            ("lowercase", input.lowercase.unwrap_or(true), LOWERCASE),
            ("uppercase", input.uppercase.unwrap_or(true), UPPERCASE),
            ("digit", input.digits.unwrap_or(true), DIGITS),
            ("symbol", symbols_enabled, symbol_source),
        ];
        let mut classes = Vec::new();
        for (class, enabled, source) in candidates {
            if !enabled {
                continue;
            }
            let chars: BTreeSet<char> = source
                .chars()
                .filter(|c| !(exclude_ambiguous && AMBIGUOUS.contains(*c)))
                .collect();
            if chars.is_empty() {
                return Err(PolicyError::ClassEmptyAfterExclusion { class });
            }
            classes.push(chars.into_iter().collect::<Vec<_>>());
        }
        if classes.is_empty() {
            return Err(PolicyError::NoClassEnabled);
        }
        let require_each_class = input.require_each_class.unwrap_or(true);
        if require_each_class && (length as usize) < classes.len() {
            return Err(PolicyError::LengthBelowRequiredClasses {
                length,
                classes: classes.len(),
            });
        }
        let alphabet = classes.iter().flatten().copied().collect();
        Ok(Self {
            length: length as usize,
            classes,
            alphabet,
            require_each_class,
        })
    }

    pub fn length(&self) -> usize {
        self.length
    }

    /// All characters a value may contain.
    pub fn alphabet(&self) -> &[char] {
        &self.alphabet
    }

    /// A new value drawn from `rng`.
    pub fn generate_with<R: CryptoRng + ?Sized>(&self, rng: &mut R) -> SecretValue {
        SecretValue::new(self.generate_string(rng).into_bytes())
    }

    /// A new value from the thread-local CSPRNG.
    pub fn generate(&self) -> SecretValue {
        self.generate_with(&mut rand::rng())
    }

    fn generate_string<R: CryptoRng + ?Sized>(&self, rng: &mut R) -> String {
        let mut chars = Vec::with_capacity(self.length);
        if self.require_each_class {
            for class in &self.classes {
                chars.push(*class.choose(rng).expect("classes are never empty"));
            }
        }
        while chars.len() < self.length {
            chars.push(*self.alphabet.choose(rng).expect("alphabet is never empty"));
        }
        // The per-class picks sit at the front until shuffled.
        chars.shuffle(rng);
        chars.into_iter().collect()
    }
}

/// One key of a key/value payload: generated under a policy, or a fixed value from the spec (for
/// example a user name). Fixed values are treated as secret: `Debug` does not print them.
#[derive(Clone, PartialEq, Eq)]
pub enum FieldSource {
    Generate(PasswordPolicy),
    Fixed(String),
}

impl fmt::Debug for FieldSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Generate(p) => f.debug_tuple("Generate").field(p).finish(),
            Self::Fixed(_) => f.write_str("Fixed(<redacted>)"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyValuePolicyError {
    #[error("generate.keys must name at least one key")]
    NoKeys,
    #[error(
        "key {key:?} is not a valid Secret key (letters, digits, '-', '_' and '.', at most 253 characters)"
    )]
    InvalidKey { key: String },
    #[error("key {key:?}: {source}")]
    Policy { key: String, source: PolicyError },
    #[error(
        "the generated JSON could reach {bytes} bytes, over the {MAX_PAYLOAD_BYTES}-byte limit of a secret version"
    )]
    PayloadTooLarge { bytes: usize },
}

/// A validated set of keys, rendered as a flat JSON object with string values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValuePolicy {
    fields: BTreeMap<String, FieldSource>,
}

impl KeyValuePolicy {
    /// Keys must be valid Kubernetes Secret keys so the payload mirrors without a template.
    pub fn new(fields: BTreeMap<String, FieldSource>) -> Result<Self, KeyValuePolicyError> {
        if fields.is_empty() {
            return Err(KeyValuePolicyError::NoKeys);
        }
        if let Some(key) = fields.keys().find(|k| !is_valid_secret_key(k)) {
            return Err(KeyValuePolicyError::InvalidKey { key: key.clone() });
        }
        let bytes = worst_case_json_bytes(&fields);
        if bytes > MAX_PAYLOAD_BYTES {
            return Err(KeyValuePolicyError::PayloadTooLarge { bytes });
        }
        Ok(Self { fields })
    }

    /// Build from spec entries, validating each generator; errors name the key.
    pub fn from_inputs<'a>(
        entries: impl IntoIterator<Item = (String, KeyInput<'a>)>,
    ) -> Result<Self, KeyValuePolicyError> {
        let mut fields = BTreeMap::new();
        for (key, input) in entries {
            let source = match input {
                KeyInput::Generate(g) => {
                    FieldSource::Generate(PasswordPolicy::new(&g).map_err(|source| {
                        KeyValuePolicyError::Policy {
                            key: key.clone(),
                            source,
                        }
                    })?)
                }
                KeyInput::Fixed(v) => FieldSource::Fixed(v.to_owned()),
            };
            fields.insert(key, source);
        }
        Self::new(fields)
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.fields.keys().map(String::as_str)
    }

    /// The JSON object payload, keys sorted, every value a string.
    pub fn generate_with<R: CryptoRng + ?Sized>(&self, rng: &mut R) -> SecretValue {
        let object: BTreeMap<&str, String> = self
            .fields
            .iter()
            .map(|(key, source)| {
                let value = match source {
                    FieldSource::Generate(policy) => policy.generate_string(rng),
                    FieldSource::Fixed(v) => v.clone(),
                };
                (key.as_str(), value)
            })
            .collect();
        let bytes = serde_json::to_vec(&object).expect("a map of strings always serializes");
        SecretValue::new(bytes)
    }

    pub fn generate(&self) -> SecretValue {
        self.generate_with(&mut rand::rng())
    }
}

/// An upper bound of the serialized object's size: braces, and per entry the key (Secret keys need
/// no escaping), quotes, colon, comma and the value, where a generated character may need a
/// two-byte escape (`\"`, `\\`) if the custom symbol set allows it.
fn worst_case_json_bytes(fields: &BTreeMap<String, FieldSource>) -> usize {
    2 + fields
        .iter()
        .map(|(key, source)| {
            let value = match source {
                FieldSource::Generate(p) => 2 + 2 * p.length,
                FieldSource::Fixed(v) => {
                    serde_json::to_string(v).map_or(usize::MAX / 2, |s| s.len())
                }
            };
            key.len() + 4 + value
        })
        .sum::<usize>()
}

/// One spec entry of a key/value generator.
#[derive(Clone, PartialEq, Eq)]
pub enum KeyInput<'a> {
    Generate(GeneratorInput<'a>),
    Fixed(&'a str),
}

impl fmt::Debug for KeyInput<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Generate(g) => f.debug_tuple("Generate").field(g).finish(),
            Self::Fixed(_) => f.write_str("Fixed(<redacted>)"),
        }
    }
}

/// What `generate` produces for a ManagedSecret: one value, or a key/value object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValuePolicy {
    Single(PasswordPolicy),
    KeyValue(KeyValuePolicy),
}

impl ValuePolicy {
    pub fn generate_with<R: CryptoRng + ?Sized>(&self, rng: &mut R) -> SecretValue {
        match self {
            Self::Single(p) => p.generate_with(rng),
            Self::KeyValue(kv) => kv.generate_with(rng),
        }
    }

    pub fn generate(&self) -> SecretValue {
        self.generate_with(&mut rand::rng())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn policy(input: GeneratorInput<'_>) -> PasswordPolicy {
        PasswordPolicy::new(&input).unwrap()
    }

    fn text(v: &SecretValue) -> String {
        String::from_utf8(v.expose().to_vec()).unwrap()
    }

    #[test]
    fn defaults() {
        let p = PasswordPolicy::default();
        assert_eq!(p.length(), 32);
        assert_eq!(p.alphabet().len(), 26 + 26 + 10 + DEFAULT_SYMBOLS.len());
        let v = text(&p.generate());
        assert_eq!(v.chars().count(), 32);
    }

    #[test]
    fn lengths_are_exact() {
        let mut rng = StdRng::seed_from_u64(1);
        for length in [1, 2, 4, 17, 64, MAX_LENGTH] {
            let p = policy(GeneratorInput {
                length: Some(length),
                require_each_class: Some(length >= 4),
                ..Default::default()
            });
            for _ in 0..5 {
                assert_eq!(p.generate_with(&mut rng).len(), length as usize);
            }
        }
    }

    #[test]
    fn every_enabled_class_appears_even_at_minimum_length() {
        type ClassCheck = (&'static str, fn(char) -> bool);
        let classes: [ClassCheck; 4] = [
            ("lower", |c| c.is_ascii_lowercase()),
            ("upper", |c| c.is_ascii_uppercase()),
            ("digit", |c| c.is_ascii_digit()),
            ("symbol", |c| c.is_ascii_punctuation()),
        ];
        let mut rng = StdRng::seed_from_u64(2);
        // Length equal to the number of classes is the tightest case: one of each, in some order.
        for length in [4, 5, 8] {
            let p = policy(GeneratorInput {
                length: Some(length),
                ..Default::default()
            });
            for _ in 0..500 {
                let v = text(&p.generate_with(&mut rng));
                for (name, is_class) in classes {
                    assert!(
                        v.chars().any(is_class),
                        "no {name} in a length-{length} value"
                    );
                }
            }
        }
    }

    #[test]
    fn disabled_classes_never_appear() {
        let p = policy(GeneratorInput {
            length: Some(64),
            uppercase: Some(false),
            symbols: Some(false),
            ..Default::default()
        });
        let mut rng = StdRng::seed_from_u64(3);
        for _ in 0..200 {
            let v = text(&p.generate_with(&mut rng));
            assert!(
                v.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            );
        }
    }

    #[test]
    fn custom_symbols_and_ambiguous_exclusion() {
        let p = policy(GeneratorInput {
            length: Some(64),
            symbol_set: Some("-_-"),
            exclude_ambiguous: Some(true),
            ..Default::default()
        });
        let allowed: BTreeSet<char> = p.alphabet().iter().copied().collect();
        for c in AMBIGUOUS.chars() {
            assert!(!allowed.contains(&c), "{c:?} should be excluded");
        }
        assert!(allowed.contains(&'-') && allowed.contains(&'_'));
        assert!(!allowed.contains(&'!'));
        // Duplicates in the custom set do not weigh the draw.
        assert_eq!(p.alphabet().iter().filter(|c| **c == '-').count(), 1);
        let mut rng = StdRng::seed_from_u64(4);
        for _ in 0..200 {
            let v = text(&p.generate_with(&mut rng));
            assert!(v.chars().all(|c| allowed.contains(&c)));
            assert!(v.contains(['-', '_']));
        }
    }

    #[test]
    fn bad_policies_are_refused_with_their_reason() {
        use PolicyError as E;
        let cases: Vec<(GeneratorInput<'_>, PolicyError)> = vec![
            (
                GeneratorInput {
                    length: Some(0),
                    ..Default::default()
                },
                E::LengthOutOfRange(0),
            ),
            (
                GeneratorInput {
                    length: Some(MAX_LENGTH + 1),
                    ..Default::default()
                },
                E::LengthOutOfRange(MAX_LENGTH + 1),
            ),
            (
                GeneratorInput {
                    lowercase: Some(false),
                    uppercase: Some(false),
                    digits: Some(false),
                    symbols: Some(false),
                    ..Default::default()
                },
                E::NoClassEnabled,
            ),
            (
                GeneratorInput {
                    symbols: Some(false),
                    symbol_set: Some("!"),
                    ..Default::default()
                },
                E::SymbolSetWithSymbolsDisabled,
            ),
            (
                GeneratorInput {
                    symbol_set: Some(""),
                    ..Default::default()
                },
                E::SymbolSetEmpty,
            ),
            (
                GeneratorInput {
                    symbol_set: Some("!@a"),
                    ..Default::default()
                },
                E::SymbolSetInvalid { position: 3 },
            ),
            (
                GeneratorInput {
                    symbol_set: Some("! "),
                    ..Default::default()
                },
                E::SymbolSetInvalid { position: 2 },
            ),
            (
                GeneratorInput {
                    symbol_set: Some("|`"),
                    exclude_ambiguous: Some(true),
                    ..Default::default()
                },
                E::ClassEmptyAfterExclusion { class: "symbol" },
            ),
            (
                GeneratorInput {
                    length: Some(3),
                    ..Default::default()
                },
                E::LengthBelowRequiredClasses {
                    length: 3,
                    classes: 4,
                },
            ),
        ];
        for (input, want) in cases {
            assert_eq!(PasswordPolicy::new(&input), Err(want), "{input:?}");
        }
        // Without the coverage requirement a short value is fine.
        assert!(
            PasswordPolicy::new(&GeneratorInput {
                length: Some(3),
                require_each_class: Some(false),
                ..Default::default()
            })
            .is_ok()
        );
    }

    #[test]
    fn draws_are_distinct_and_use_the_whole_alphabet() {
        let p = PasswordPolicy::default();
        let values: BTreeSet<String> = (0..1000).map(|_| text(&p.generate())).collect();
        // 1000 draws of ~200 bits: a repeat would mean a broken generator, not bad luck.
        assert_eq!(values.len(), 1000);
        let seen: BTreeSet<char> = values.iter().flat_map(|v| v.chars()).collect();
        let alphabet: BTreeSet<char> = p.alphabet().iter().copied().collect();
        // 32 000 draws over 90 characters: missing one has probability below 1e-150.
        assert_eq!(seen, alphabet);
    }

    #[test]
    fn key_value_payload_is_a_flat_json_object_of_strings() {
        let kv = KeyValuePolicy::from_inputs([
            ("username".to_owned(), KeyInput::Fixed("app_user")),
            (
                "password".to_owned(),
                KeyInput::Generate(GeneratorInput {
                    length: Some(24),
                    symbols: Some(false),
                    ..Default::default()
                }),
            ),
        ])
        .unwrap();
        let mut rng = StdRng::seed_from_u64(5);
        let a = kv.generate_with(&mut rng);
        let b = kv.generate_with(&mut rng);
        let parsed: BTreeMap<String, String> = serde_json::from_slice(a.expose()).unwrap();
        assert_eq!(parsed.keys().collect::<Vec<_>>(), ["password", "username"]);
        assert_eq!(parsed["username"], "app_user");
        assert_eq!(parsed["password"].len(), 24);
        assert!(
            parsed["password"]
                .chars()
                .all(|c| c.is_ascii_alphanumeric())
        );
        let parsed_b: BTreeMap<String, String> = serde_json::from_slice(b.expose()).unwrap();
        assert_ne!(parsed["password"], parsed_b["password"]);
        assert_eq!(parsed_b["username"], "app_user");
    }

    #[test]
    fn key_value_policy_errors() {
        assert_eq!(
            KeyValuePolicy::new(BTreeMap::new()),
            Err(KeyValuePolicyError::NoKeys)
        );
        let bad = KeyValuePolicy::from_inputs([("my key".to_owned(), KeyInput::Fixed("x"))]);
        assert_eq!(
            bad,
            Err(KeyValuePolicyError::InvalidKey {
                key: "my key".to_owned()
            })
        );
        let bad = KeyValuePolicy::from_inputs([(
            "password".to_owned(),
            KeyInput::Generate(GeneratorInput {
                length: Some(0),
                ..Default::default()
            }),
        )]);
        let err = bad.unwrap_err();
        assert_eq!(
            err.to_string(),
            "key \"password\": length must be between 1 and 4096, got 0"
        );
    }

    #[test]
    fn key_value_payloads_stay_under_the_version_size_limit() {
        let big = |n: usize| {
            KeyValuePolicy::from_inputs((0..n).map(|i| {
                (
                    format!("k{i}"),
                    KeyInput::Generate(GeneratorInput {
                        length: Some(MAX_LENGTH),
                        ..Default::default()
                    }),
                )
            }))
        };
        // 7 keys of 4096 characters: worst case ~57 KiB, fine; 8 keys: ~65.6 KiB, refused.
        let ok = big(7).unwrap();
        assert!(ok.generate().len() <= MAX_PAYLOAD_BYTES);
        assert!(matches!(
            big(8),
            Err(KeyValuePolicyError::PayloadTooLarge { .. })
        ));
        let fixed = "x".repeat(MAX_PAYLOAD_BYTES);
        assert!(matches!(
            KeyValuePolicy::from_inputs([("k".to_owned(), KeyInput::Fixed(&fixed))]),
            Err(KeyValuePolicyError::PayloadTooLarge { .. })
        ));
    }

    #[test]
    fn debug_never_shows_values() {
        let canary = "canary-93d1";
        let kv =
            KeyValuePolicy::from_inputs([("user".to_owned(), KeyInput::Fixed(canary))]).unwrap();
        assert!(!format!("{kv:?}").contains(canary));
        assert!(!format!("{:?}", KeyInput::Fixed(canary)).contains(canary));
        let v = ValuePolicy::KeyValue(kv).generate();
        assert!(!format!("{v:?}").contains(canary));
        assert!(String::from_utf8_lossy(v.expose()).contains(canary));
    }
}
