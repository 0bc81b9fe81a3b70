//! Who a store runtime talks to, as who: provider, endpoint, region, scope (project, organisation,
//! tenancy and vault) and a digest of the credential. Two stores with the same identity share one
//! runtime (client, budget, sweep, payload cache); two that differ in anything share nothing.

use std::fmt;
use std::sync::OnceLock;

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// One provider identity.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct StoreIdentity {
    pub provider: &'static str,
    /// The API base URL(s) the client calls, normalised (no trailing slash).
    pub endpoint: String,
    pub region: String,
    /// The provider's scope: Scaleway project, Thalassa organisation/project, OCI
    /// tenancy/compartment/vault.
    pub scope: String,
    /// Keyed digest of the credential material (never the credential).
    pub credential: CredentialDigest,
    /// Where a provider throttles a whole tenancy (OCI KMS management writes), its id: identities
    /// of one tenancy share that budget.
    pub tenancy: Option<String>,
}

impl StoreIdentity {
    /// A short label for logs and `keyward status`: provider, region and scope (no credential).
    pub fn label(&self) -> String {
        format!("{}/{}/{}", self.provider, self.region, self.scope)
    }
}

impl fmt::Debug for StoreIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreIdentity")
            .field("provider", &self.provider)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("scope", &self.scope)
            .field("credential", &self.credential)
            .field("tenancy", &self.tenancy)
            .finish()
    }
}

/// HMAC-SHA-256 of a credential under a key drawn at process start: equal credentials give equal
/// digests within one process, and a digest that reaches a log or a heap dump cannot be checked
/// against guessed credentials elsewhere.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CredentialDigest([u8; 32]);

impl CredentialDigest {
    pub fn of(parts: &[&[u8]]) -> Self {
        static KEY: OnceLock<[u8; 32]> = OnceLock::new();
        let key = KEY.get_or_init(rand::random);
        let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
        for part in parts {
            // Length-prefixed, so ("ab", "c") and ("a", "bc") differ.
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        Self(mac.finalize().into_bytes().into())
    }
}

impl fmt::Debug for CredentialDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let short: String = self.0[..4].iter().map(|b| format!("{b:02x}")).collect();
        write!(f, "CredentialDigest({short}…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(scope: &str, secret: &str) -> StoreIdentity {
        StoreIdentity {
            provider: "scaleway",
            endpoint: "https://api.scaleway.com".into(),
            region: "fr-par".into(),
            scope: scope.into(),
            credential: CredentialDigest::of(&[secret.as_bytes()]),
            tenancy: None,
        }
    }

    #[test]
    fn identities_differ_in_every_part_and_never_show_the_credential() {
        let a = identity("p1", "canary-secret-key");
        assert_eq!(a, identity("p1", "canary-secret-key"));
        assert_ne!(a, identity("p2", "canary-secret-key"));
        assert_ne!(a, identity("p1", "other-key"));
        let mut b = a.clone();
        b.endpoint = "http://127.0.0.1:9090".into();
        assert_ne!(a, b);
        let shown = format!("{a:?} {}", a.label());
        assert!(!shown.contains("canary"), "{shown}");
        assert_eq!(a.label(), "scaleway/fr-par/p1");
    }

    #[test]
    fn digest_parts_are_length_prefixed() {
        assert_ne!(
            CredentialDigest::of(&[b"ab", b"c"]),
            CredentialDigest::of(&[b"a", b"bc"])
        );
    }
}
