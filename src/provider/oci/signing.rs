//! OCI API request signing and verification: HTTP Signatures (draft-cavage) the way the official SDK's
//! `oci.signer.Signer` does them, checked against it byte for byte (the unit tests' vectors) and live
//! (`tests/providers/oci_sdk.rs`).
//!
//! - `Authorization: Signature algorithm="rsa-sha256",headers="…",keyId="tenancy/user/fingerprint",
//!   signature="…",version="1"` (the SDK's field order; a verifier accepts any order).
//! - GET, HEAD, DELETE sign `date (request-target) host`; POST, PUT, PATCH add `content-length
//!   content-type x-content-sha256`, also for an empty body.
//! - `(request-target)` is the lower-case method, a space, the path and query exactly as sent; `host`
//!   carries the port when the URL has one.
//! - The signature is RSASSA-PKCS1-v1_5 over SHA-256 of the signing string: one `name: value` line per
//!   signed header, in the listed order, joined by `\n`. PKCS#1 v1.5 is deterministic, so the same
//!   request, date and key give the same signature in the SDK and here.
//!
//! Signing is pure apart from the date the caller passes in; verification takes "now" too, so the
//! emulator checks clock skew against its own (movable) clock.

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use jiff::Timestamp;
use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey};
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::signature::{SignatureEncoding as _, Signer as _, Verifier as _};
use rsa::{RsaPrivateKey, RsaPublicKey};
use sha2::{Digest as _, Sha256};

use crate::secret_value::SecretValue;

/// Headers every request signs, in this order.
pub const GENERIC_HEADERS: [&str; 3] = ["date", "(request-target)", "host"];
/// Headers a request with a body (POST, PUT, PATCH) signs after [`GENERIC_HEADERS`].
pub const BODY_HEADERS: [&str; 3] = ["content-length", "content-type", "x-content-sha256"];
/// The content type the SDK gives every request that does not set one.
pub const DEFAULT_CONTENT_TYPE: &str = "application/json";
/// Largest difference between the request's `date` and the server's clock (reference §1).
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(5 * 60);

/// `tenancy OCID / user OCID / key fingerprint`: who signs, and which of their API keys.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId {
    pub tenancy: String,
    pub user: String,
    pub fingerprint: String,
}

impl KeyId {
    pub fn new(
        tenancy: impl Into<String>,
        user: impl Into<String>,
        fingerprint: impl Into<String>,
    ) -> Self {
        Self {
            tenancy: tenancy.into(),
            user: user.into(),
            fingerprint: fingerprint.into(),
        }
    }

    /// Parses `tenancy/user/fingerprint`. OCIDs and fingerprints contain no `/`, so exactly three
    /// non-empty parts are expected.
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.split('/');
        let (t, u, f) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || t.is_empty() || u.is_empty() || f.is_empty() {
            return None;
        }
        Some(Self::new(t, u, f))
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.tenancy, self.user, self.fingerprint)
    }
}

/// Whether `text` has the form of an OCI API key fingerprint: 16 lower-case hex pairs separated by
/// colons (the MD5 of the public key, as the console shows it; the SDK's config check).
pub fn is_fingerprint(text: &str) -> bool {
    let pairs: Vec<&str> = text.split(':').collect();
    pairs.len() == 16
        && pairs.iter().all(|p| {
            p.len() == 2
                && p.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
}

/// Whether `text` has the form of an OCID as the SDK's config check reads it: at least five parts
/// separated by `.` or `:`, the first and last non-empty, of letters, digits, `-` and `_`.
pub fn is_ocid(text: &str) -> bool {
    let parts: Vec<&str> = text.split(['.', ':']).collect();
    parts.len() >= 5
        && !parts[0].is_empty()
        && !parts[parts.len() - 1].is_empty()
        && parts.iter().all(|p| {
            p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// Why a PEM key could not be used. Never quotes the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("the private key is not PEM text")]
    NotPem,
    #[error("the private key is encrypted and no passphrase was given")]
    PassphraseRequired,
    #[error("the private key could not be decrypted: wrong passphrase or unsupported cipher")]
    Decrypt,
    #[error(
        "the private key uses the legacy OpenSSL encryption (Proc-Type: 4,ENCRYPTED); convert it \
         with `openssl pkcs8 -topk8 -v2 aes-256-cbc`"
    )]
    LegacyEncryption,
    #[error("a public key was given where the private key is needed")]
    PublicKeyGiven,
    #[error("the key is not an RSA {0} key in a form this client reads (PKCS#1 or PKCS#8)")]
    Unreadable(&'static str),
}

/// Reads an RSA private key from PEM: PKCS#8 (`PRIVATE KEY`), encrypted PKCS#8 (`ENCRYPTED PRIVATE
/// KEY`, PBES2, with `passphrase`) or PKCS#1 (`RSA PRIVATE KEY`). Like the SDK, a passphrase given for
/// an unencrypted key is ignored.
pub fn private_key_from_pem(
    pem: &SecretValue,
    passphrase: Option<&SecretValue>,
) -> Result<RsaPrivateKey, KeyError> {
    let text = std::str::from_utf8(pem.expose()).map_err(|_| KeyError::NotPem)?;
    let text = text.trim();
    if text.contains("Proc-Type: 4,ENCRYPTED") {
        return Err(KeyError::LegacyEncryption);
    }
    let label =
        rsa::pkcs8::der::pem::decode_label(text.as_bytes()).map_err(|_| KeyError::NotPem)?;
    match label {
        "PRIVATE KEY" => {
            RsaPrivateKey::from_pkcs8_pem(text).map_err(|_| KeyError::Unreadable("private"))
        }
        "RSA PRIVATE KEY" => {
            RsaPrivateKey::from_pkcs1_pem(text).map_err(|_| KeyError::Unreadable("private"))
        }
        "ENCRYPTED PRIVATE KEY" => {
            let passphrase = passphrase.ok_or(KeyError::PassphraseRequired)?;
            RsaPrivateKey::from_pkcs8_encrypted_pem(text, passphrase.expose())
                .map_err(|_| KeyError::Decrypt)
        }
        "PUBLIC KEY" | "RSA PUBLIC KEY" => Err(KeyError::PublicKeyGiven),
        _ => Err(KeyError::Unreadable("private")),
    }
}

/// Reads an RSA public key from PEM: SPKI (`PUBLIC KEY`, what the OCI console takes) or PKCS#1 (`RSA
/// PUBLIC KEY`).
pub fn public_key_from_pem(pem: &str) -> Result<RsaPublicKey, KeyError> {
    let text = pem.trim();
    let label =
        rsa::pkcs8::der::pem::decode_label(text.as_bytes()).map_err(|_| KeyError::NotPem)?;
    match label {
        "PUBLIC KEY" => {
            RsaPublicKey::from_public_key_pem(text).map_err(|_| KeyError::Unreadable("public"))
        }
        "RSA PUBLIC KEY" => {
            RsaPublicKey::from_pkcs1_pem(text).map_err(|_| KeyError::Unreadable("public"))
        }
        _ => Err(KeyError::Unreadable("public")),
    }
}

/// `date` header value: RFC 7231 IMF-fixdate, as Python's `email.utils.formatdate(usegmt=True)`.
pub fn http_date(at: Timestamp) -> String {
    jiff::fmt::rfc2822::DateTimePrinter::new()
        .timestamp_to_rfc9110_string(&at)
        .unwrap_or_default()
}

/// `x-content-sha256` value: base64 of the body's SHA-256.
pub fn content_sha256(body: &[u8]) -> String {
    BASE64.encode(Sha256::digest(body))
}

/// Whether requests with this method sign the body headers.
pub fn signs_body(method: &str) -> bool {
    matches!(
        method.to_ascii_uppercase().as_str(),
        "POST" | "PUT" | "PATCH"
    )
}

/// The request as far as signing is concerned.
#[derive(Clone, Copy, Debug)]
pub struct RequestToSign<'a> {
    /// Upper- or lower-case HTTP method.
    pub method: &'a str,
    /// Path and query exactly as they go on the request line (`/20180608/secrets?limit=2`).
    pub path_and_query: &'a str,
    /// Host, with `:port` when the URL names one.
    pub host: &'a str,
    /// The body bytes (empty for none). Hashed only for POST, PUT, PATCH.
    pub body: &'a [u8],
    /// `None` sends [`DEFAULT_CONTENT_TYPE`].
    pub content_type: Option<&'a str>,
}

/// The `host` value (with `:port` when the URL names one) and the path with the query, both as
/// reqwest sends them for `url`.
pub fn url_parts(url: &reqwest::Url) -> (String, &str) {
    let host = match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        (None, _) => String::new(),
    };
    let text = url.as_str();
    let end = text.len() - url.fragment().map_or(0, |f| f.len() + 1);
    let start = end - url.path().len() - url.query().map_or(0, |q| q.len() + 1);
    (host, &text[start..end])
}

/// Headers to add to a request: `date`, the body headers for POST/PUT/PATCH, and `authorization`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedHeaders {
    pub headers: Vec<(&'static str, String)>,
}

impl SignedHeaders {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Signs requests for one API key. Its `Debug` shows the key id only.
#[derive(Clone)]
pub struct RequestSigner {
    key_id: KeyId,
    key: SigningKey<Sha256>,
}

impl fmt::Debug for RequestSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestSigner")
            .field("key_id", &self.key_id.to_string())
            .finish_non_exhaustive()
    }
}

impl RequestSigner {
    pub fn new(key_id: KeyId, key: RsaPrivateKey) -> Self {
        Self {
            key_id,
            key: SigningKey::new(key),
        }
    }

    /// A signer from a PEM private key (see [`private_key_from_pem`]).
    pub fn from_pem(
        key_id: KeyId,
        pem: &SecretValue,
        passphrase: Option<&SecretValue>,
    ) -> Result<Self, KeyError> {
        Ok(Self::new(key_id, private_key_from_pem(pem, passphrase)?))
    }

    pub fn key_id(&self) -> &KeyId {
        &self.key_id
    }

    /// Signs a request to `url` as of `date` (see [`RequestSigner::sign`]).
    pub fn sign_url(
        &self,
        method: &str,
        url: &reqwest::Url,
        body: &[u8],
        content_type: Option<&str>,
        date: Timestamp,
    ) -> SignedHeaders {
        let (host, path_and_query) = url_parts(url);
        let request = RequestToSign {
            method,
            path_and_query,
            host: &host,
            body,
            content_type,
        };
        self.sign(&request, date)
    }

    /// Signs `request` as of `date` (whole seconds are what the `date` header carries).
    pub fn sign(&self, request: &RequestToSign<'_>, date: Timestamp) -> SignedHeaders {
        let mut headers: Vec<(&'static str, String)> = vec![("date", http_date(date))];
        let with_body = signs_body(request.method);
        if with_body {
            headers.push(("content-length", request.body.len().to_string()));
            headers.push((
                "content-type",
                request
                    .content_type
                    .unwrap_or(DEFAULT_CONTENT_TYPE)
                    .to_string(),
            ));
            headers.push(("x-content-sha256", content_sha256(request.body)));
        }
        let names: Vec<&str> = if with_body {
            GENERIC_HEADERS
                .iter()
                .chain(&BODY_HEADERS)
                .copied()
                .collect()
        } else {
            GENERIC_HEADERS.to_vec()
        };
        let lookup = |name: &str| {
            if name == "host" {
                return Some(request.host);
            }
            headers
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.as_str())
        };
        let text = signing_string(&names, lookup, request.method, request.path_and_query)
            .expect("every header this signer lists is present");
        let signature = BASE64.encode(self.key.sign(text.as_bytes()).to_bytes());
        let authorization = format!(
            "Signature algorithm=\"rsa-sha256\",headers=\"{}\",keyId=\"{}\",signature=\"{}\",version=\"1\"",
            names.join(" "),
            self.key_id,
            signature
        );
        headers.push(("authorization", authorization));
        SignedHeaders { headers }
    }
}

/// The string that is signed: one `name: value` line per listed header, joined by `\n`.
/// `Err(name)` names the first listed header the request does not carry.
pub fn signing_string<'v>(
    names: &[&str],
    header: impl Fn(&str) -> Option<&'v str>,
    method: &str,
    path_and_query: &str,
) -> Result<String, String> {
    let mut lines = Vec::with_capacity(names.len());
    for name in names {
        let name = name.to_ascii_lowercase();
        let line = if name == "(request-target)" {
            format!(
                "(request-target): {} {path_and_query}",
                method.to_ascii_lowercase()
            )
        } else {
            let value = header(&name).ok_or_else(|| name.clone())?;
            format!("{name}: {value}")
        };
        lines.push(line);
    }
    Ok(lines.join("\n"))
}

/// The parameters of an `Authorization: Signature …` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureParams {
    pub key_id: KeyId,
    pub algorithm: String,
    /// Lower-case header names in the signed order.
    pub headers: Vec<String>,
    pub signature: Vec<u8>,
    pub version: Option<String>,
}

/// Why a request's signature was refused. The emulator answers every one with 401 `NotAuthenticated`
/// and this text as the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the request has no Authorization header")]
    Missing,
    #[error("the Authorization header is malformed: {0}")]
    Malformed(&'static str),
    #[error("the signature algorithm {0:?} is not supported (rsa-sha256 is)")]
    Algorithm(String),
    #[error("the signature version {0:?} is not supported (1 is)")]
    Version(String),
    #[error("the header {0:?} must be signed")]
    NotSigned(&'static str),
    #[error("the signed header {0:?} is missing from the request")]
    MissingHeader(String),
    #[error("x-content-sha256 does not match the body")]
    BodyDigest,
    #[error("content-length does not match the body")]
    ContentLength,
    #[error("the date header is missing or not an HTTP date")]
    Date,
    #[error("the date header is more than 5 minutes away from the server's clock")]
    ClockSkew,
    #[error("the key id is not known")]
    UnknownKey,
    #[error("the signature does not verify")]
    BadSignature,
}

/// Parses `Signature k="v",k="v",…`. Values are quoted; the SDK never escapes inside them (base64,
/// OCIDs, header names), but a `\"` is still read as a quote.
pub fn parse_authorization(value: &str) -> Result<SignatureParams, VerifyError> {
    let rest = value
        .trim()
        .strip_prefix("Signature ")
        .ok_or(VerifyError::Malformed("expected the Signature scheme"))?;
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut chars = rest.trim().chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let name: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if chars.next() != Some('"') {
            return Err(VerifyError::Malformed("expected a quoted value"));
        }
        let mut value = String::new();
        let mut closed = false;
        while let Some(c) = chars.next() {
            match c {
                '\\' => value.extend(chars.next()),
                '"' => {
                    closed = true;
                    break;
                }
                c => value.push(c),
            }
        }
        if !closed {
            return Err(VerifyError::Malformed("unterminated value"));
        }
        fields.push((name.trim().to_string(), value));
    }
    let field = |name: &str| {
        fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let key_id = field("keyId")
        .and_then(|k| KeyId::parse(&k))
        .ok_or(VerifyError::Malformed(
            "keyId must be tenancy/user/fingerprint",
        ))?;
    let algorithm = field("algorithm").ok_or(VerifyError::Malformed("algorithm is missing"))?;
    let signature = field("signature")
        .and_then(|s| BASE64.decode(s).ok())
        .ok_or(VerifyError::Malformed("signature must be base64"))?;
    // draft-cavage: an absent `headers` means `date` alone.
    let headers = field("headers")
        .unwrap_or_else(|| "date".to_string())
        .split_whitespace()
        .map(str::to_ascii_lowercase)
        .collect();
    Ok(SignatureParams {
        key_id,
        algorithm,
        headers,
        signature,
        version: field("version"),
    })
}

/// An incoming request, as the verifier needs it.
pub struct ReceivedRequest<'a, H: Fn(&str) -> Option<&'a str>> {
    pub method: &'a str,
    pub path_and_query: &'a str,
    /// Header lookup by lower-case name (the `host` header included).
    pub header: H,
    pub body: &'a [u8],
}

/// Checks a request's signature: the scheme and algorithm, that the headers OCI requires for the
/// method are signed, that the body matches `x-content-sha256` and `content-length`, that `date` is
/// within [`MAX_CLOCK_SKEW`] of `now`, and finally the RSA signature with the key `key_for` gives for
/// the key id. Returns the key id on success.
pub fn verify_request<'a, H: Fn(&str) -> Option<&'a str>>(
    request: &ReceivedRequest<'a, H>,
    key_for: impl FnOnce(&KeyId) -> Option<RsaPublicKey>,
    now: Timestamp,
) -> Result<KeyId, VerifyError> {
    let header = &request.header;
    let params = parse_authorization(header("authorization").ok_or(VerifyError::Missing)?)?;
    if params.algorithm != "rsa-sha256" {
        return Err(VerifyError::Algorithm(params.algorithm));
    }
    if let Some(v) = params.version.as_deref().filter(|v| *v != "1") {
        return Err(VerifyError::Version(v.to_string()));
    }
    let required: Vec<&'static str> = if signs_body(request.method) {
        GENERIC_HEADERS
            .iter()
            .chain(&BODY_HEADERS)
            .copied()
            .collect()
    } else {
        GENERIC_HEADERS.to_vec()
    };
    for name in required {
        if !params.headers.iter().any(|h| h == name) {
            return Err(VerifyError::NotSigned(name));
        }
    }
    if params.headers.iter().any(|h| h == "x-content-sha256")
        && header("x-content-sha256") != Some(content_sha256(request.body).as_str())
    {
        return Err(VerifyError::BodyDigest);
    }
    if params.headers.iter().any(|h| h == "content-length")
        && header("content-length").and_then(|v| v.trim().parse::<usize>().ok())
            != Some(request.body.len())
    {
        return Err(VerifyError::ContentLength);
    }
    let date = header("date")
        .and_then(|d| jiff::fmt::rfc2822::parse(d.trim()).ok())
        .ok_or(VerifyError::Date)?
        .timestamp();
    let skew = now.duration_since(date).unsigned_abs();
    if skew > MAX_CLOCK_SKEW {
        return Err(VerifyError::ClockSkew);
    }
    let names: Vec<&str> = params.headers.iter().map(String::as_str).collect();
    let text = signing_string(&names, header, request.method, request.path_and_query)
        .map_err(VerifyError::MissingHeader)?;
    let key = key_for(&params.key_id).ok_or(VerifyError::UnknownKey)?;
    let signature =
        Signature::try_from(params.signature.as_slice()).map_err(|_| VerifyError::BadSignature)?;
    VerifyingKey::<Sha256>::new(key)
        .verify(text.as_bytes(), &signature)
        .map_err(|_| VerifyError::BadSignature)?;
    Ok(params.key_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const TEST_KEY: &str = include_str!("../../../tests/fixtures/oci/test-key.pem");
    const TEST_KEY_PKCS1: &str = include_str!("../../../tests/fixtures/oci/test-key.pkcs1.pem");
    const TEST_KEY_ENCRYPTED: &str =
        include_str!("../../../tests/fixtures/oci/test-key.encrypted.pem");
    const TEST_PUBLIC: &str = include_str!("../../../tests/fixtures/oci/test-key.pub.pem");
    const OTHER_PUBLIC: &str = include_str!("../../../tests/fixtures/oci/other-key.pub.pem");
    const FINGERPRINT: &str = "9f:9e:f6:15:91:b0:c3:fc:2d:e7:bc:57:d5:6c:60:93";

    fn key_id() -> KeyId {
        KeyId::new(
            "ocid1.tenancy.oc1..aaaatenancy",
            "ocid1.user.oc1..aaaauser",
            FINGERPRINT,
        )
    }

    fn signer() -> RequestSigner {
        RequestSigner::from_pem(key_id(), &SecretValue::from(TEST_KEY), None).unwrap()
    }

    /// One request and what the SDK made of it.
    struct Vector {
        method: &'static str,
        url: &'static str,
        body: &'static str,
        /// The SDK's headers (lower-case names), `authorization` included.
        sdk: &'static [(&'static str, &'static str)],
    }

    const DATE: &str = "Mon, 05 Jan 2026 21:31:40 GMT";

    // Produced once with the official SDK (PyPI `oci` 2.189.0, the venv of
    // tests/tools/install-oci-sdk.sh) by tests/providers/sdk/oci_sign.py: `oci.signer.Signer` with
    // tests/fixtures/oci/test-key.pem, tenancy ocid1.tenancy.oc1..aaaatenancy, user
    // ocid1.user.oc1..aaaauser, the fingerprint above and a fixed `date` header of DATE; the JSON
    // bodies were sent with `content-type: application/json`. The encrypted copy of the key
    // (passphrase keyward-test) gave the same signatures.
    const VECTORS: &[Vector] = &[
        Vector {
            method: "GET",
            url: "https://vaults.eu-frankfurt-1.oci.oraclecloud.com/20180608/secrets?compartmentId=ocid1.compartment.oc1..aaaacomp&limit=2&page=abc%3D%3D",
            body: "",
            sdk: &[
                ("date", "Mon, 05 Jan 2026 21:31:40 GMT"),
                ("host", "vaults.eu-frankfurt-1.oci.oraclecloud.com"),
                ("content-type", "application/json"),
                (
                    "authorization",
                    "Signature algorithm=\"rsa-sha256\",headers=\"date (request-target) host\",keyId=\"ocid1.tenancy.oc1..aaaatenancy/ocid1.user.oc1..aaaauser/9f:9e:f6:15:91:b0:c3:fc:2d:e7:bc:57:d5:6c:60:93\",signature=\"FM//AYQM4fkL67LpqUK0dECsWdDFndcSwa+dek8KgWoHj9V4JO5L1XoQkWP8LEOKVniyiRUIS6xrlAz+rboXbJFoASvGI1hwsUahvQRZADHnXswsyhByZ+QsK3kXqRFFvxsltqGrvZ8NkVUJ1f7HRqq2+BKHvpwKqwwDL/pGEu0+MDN2UKTBri3Q1Bb5KWf47XD9Z6XtvjVfdyuGQMaNaehJmXDbuCXP3h3KREWQ93p5SPB+c1FRQcmxOIdE3105OBD9HolnIK9m6xCECY8ECHjs0WEH5LvGC2RFGcnyeTAXxrzgVvlf+CsY72DAbCjeHmZFWpLqg7xL9mebhx8U5g==\",version=\"1\"",
                ),
            ],
        },
        Vector {
            method: "POST",
            url: "http://127.0.0.1:8443/20180608/secrets",
            body: "{\"compartmentId\":\"ocid1.compartment.oc1..aaaacomp\",\"secretName\":\"db-password\"}",
            sdk: &[
                ("date", "Mon, 05 Jan 2026 21:31:40 GMT"),
                ("content-type", "application/json"),
                ("content-length", "78"),
                ("host", "127.0.0.1:8443"),
                (
                    "x-content-sha256",
                    "6GNB/HlAC0a5mNntn/1jHLnlWfZ3qMqcDxy5Rx1tqqw=",
                ),
                (
                    "authorization",
                    "Signature algorithm=\"rsa-sha256\",headers=\"date (request-target) host content-length content-type x-content-sha256\",keyId=\"ocid1.tenancy.oc1..aaaatenancy/ocid1.user.oc1..aaaauser/9f:9e:f6:15:91:b0:c3:fc:2d:e7:bc:57:d5:6c:60:93\",signature=\"K/WS6cSA0uPwQD2QLU51eJ6dk7CttMgQFlHz6e+2WmaFAr1nbMqGjfivmu1UkkU2aGwFQ648GqYkf9cLo9CRXIFc3Zf8s4rpwC14Duq0oHfH2PG9mb+KwanJVZuKPNevSEGnc7Z3qc2zZt8yWlnBvFKHHFHrhv2qwJiMVkNUPh4snf+aAZRamSGwg1YHFENa8v29oLZODxoAIVTsp9/2Txx+twjQccaz8GDV6eIfn4fGz663TovmeFgMGPRAeQmWcdwKOnVSmqHtX7M4DblMwS8jas6nXTU9kMp4kXwBkvApBFRyUUe7oqqDt4lXgX4riYp3vWTgINXdM+t5hX2YgA==\",version=\"1\"",
                ),
            ],
        },
        Vector {
            method: "POST",
            url: "http://127.0.0.1:8443/20190301/secretbundles/actions/getByName?secretName=db-password&vaultId=ocid1.vault.oc1..aaaavault",
            body: "",
            sdk: &[
                ("date", "Mon, 05 Jan 2026 21:31:40 GMT"),
                ("content-length", "0"),
                ("host", "127.0.0.1:8443"),
                ("content-type", "application/json"),
                (
                    "x-content-sha256",
                    "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
                ),
                (
                    "authorization",
                    "Signature algorithm=\"rsa-sha256\",headers=\"date (request-target) host content-length content-type x-content-sha256\",keyId=\"ocid1.tenancy.oc1..aaaatenancy/ocid1.user.oc1..aaaauser/9f:9e:f6:15:91:b0:c3:fc:2d:e7:bc:57:d5:6c:60:93\",signature=\"gc7uOsStd/2Rc3oeEt3uoa3O7MBslxWKtlrp2ZG8YaSoaL/WpXvwyJIVaZzuiCcldc2fMC8H11AlvEnTV8U4REeQAfMzqyXKi56HDSFGgwVJSE9Gc8iZninMCKsDHUYDwEw0T5n5FfLfyfwrIZ+B7pnU07PAIka5fzNA2HOHW3zT32/eRDt7RxT2gyIb4J4wjUvttj0DZUb62o5P7iMwT+V5W39AQTWXUg7TRU2JcSSNqvdikgaf+HTtKhpTn5waPpt6SPQgCpXOroMDnmcpfsPmT5l8kUYFNZJR4+cOctB5vWLzMStWcN82NZgRy7j+BEsmaNqmGXe4ji9RvsdfRA==\",version=\"1\"",
                ),
            ],
        },
        Vector {
            method: "PUT",
            url: "https://vaults.eu-frankfurt-1.oci.oraclecloud.com/20180608/secrets/ocid1.vaultsecret.oc1..aaaasecret",
            body: "{\"currentVersionNumber\":2}",
            sdk: &[
                ("date", "Mon, 05 Jan 2026 21:31:40 GMT"),
                ("content-type", "application/json"),
                ("content-length", "26"),
                ("host", "vaults.eu-frankfurt-1.oci.oraclecloud.com"),
                (
                    "x-content-sha256",
                    "1yTUnNsPcOwN7dw+bDG8rX6TncyMW05B1d1XQgZYwfQ=",
                ),
                (
                    "authorization",
                    "Signature algorithm=\"rsa-sha256\",headers=\"date (request-target) host content-length content-type x-content-sha256\",keyId=\"ocid1.tenancy.oc1..aaaatenancy/ocid1.user.oc1..aaaauser/9f:9e:f6:15:91:b0:c3:fc:2d:e7:bc:57:d5:6c:60:93\",signature=\"qUAoFYMBStAW0roT4GgC4r8E5APN8SeDWHAUJLdHMaq3N2ASWFNPTp4U240TaXgVTqgzYnka/e+71UuNdCl/j8o2i1kdHGr9kegwN107iUeNCDLVrn6t5M5jAzaIitsRRnryb3QzGp8f9k7LDjjrbXg+dNvMRFq8B9nc+tx+mlq5o1Y86hm0R321Bl8nS6dB0ZFeYMGB4RPD2AOa+pdf31+Pu1thNeAQK6RzmcVFdBNwIZR/GcPDvEbGoKqbdWUWdixQfrp4aZ0esQ/enyacSYf/nX3gtx2Ep7ZBLAYq4W8ysDboND9S4hyjFlgIYbQVVGZA7J+ZMFac4aYOTp7EtA==\",version=\"1\"",
                ),
            ],
        },
        Vector {
            method: "DELETE",
            url: "http://127.0.0.1:8443/20180608/x",
            body: "",
            sdk: &[
                ("date", "Mon, 05 Jan 2026 21:31:40 GMT"),
                ("content-length", "0"),
                ("host", "127.0.0.1:8443"),
                ("content-type", "application/json"),
                (
                    "authorization",
                    "Signature algorithm=\"rsa-sha256\",headers=\"date (request-target) host\",keyId=\"ocid1.tenancy.oc1..aaaatenancy/ocid1.user.oc1..aaaauser/9f:9e:f6:15:91:b0:c3:fc:2d:e7:bc:57:d5:6c:60:93\",signature=\"FHJbBSi0/RMxjTNDBN4Zx3Jv+wxmWW6B1HO7Z9QlHxGIeFLXyxQ3ZAanqs65d63/NXszZeJRA+8q2eWoMIHTeQp0q9WpkivnFTiy+4LhKV/On5q//lprtx+TgOApXhjGQSqU4UZQROt7SEaq9BkE2tmkGdmmsdlcxZFbwnLAOszREIov6XO+bw72tY6NokxA4nTm21+WUFEH+S6RQsB0AtS2FNczdVVwCdcxF5qRbBCsdLABHv1h+o4dUE6G53gZ/ANyuYBGckjgkB4zSnUFb5Ul0pvgjB4O0tjMH0o95rtvNns1H+wTU2avy3lIHUd/e4hEf8fW6ZXMbWfC1zLu3Q==\",version=\"1\"",
                ),
            ],
        },
    ];

    fn sign_vector(signer: &RequestSigner, v: &Vector) -> SignedHeaders {
        let url = reqwest::Url::parse(v.url).unwrap();
        let content_type = (!v.body.is_empty()).then_some("application/json");
        let date = jiff::fmt::rfc2822::parse(DATE).unwrap().timestamp();
        signer.sign_url(v.method, &url, v.body.as_bytes(), content_type, date)
    }

    #[test]
    fn signatures_match_the_python_sdk() {
        let signer = signer();
        for v in VECTORS {
            let sdk = |name: &str| v.sdk.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
            let ours = sign_vector(&signer, v);
            let what = format!("{} {}", v.method, v.url);
            assert_eq!(ours.get("authorization"), sdk("authorization"), "{what}");
            // Every header the SDK signed carries the same value here (host and the request
            // target are not headers the signer adds; the equal signature covers them).
            let signed = parse_authorization(sdk("authorization").unwrap()).unwrap();
            for name in signed
                .headers
                .iter()
                .filter(|n| *n != "host" && *n != "(request-target)")
            {
                assert_eq!(ours.get(name), sdk(name), "{what}: {name}");
            }
            assert_eq!(
                ours.headers.len(),
                signed.headers.len() - 1,
                "{what}: date, body headers, authorization"
            );
        }
    }

    #[test]
    fn every_key_form_signs_alike() {
        let want = sign_vector(&signer(), &VECTORS[1]);
        let pkcs1 =
            RequestSigner::from_pem(key_id(), &SecretValue::from(TEST_KEY_PKCS1), None).unwrap();
        assert_eq!(sign_vector(&pkcs1, &VECTORS[1]), want);
        let encrypted = RequestSigner::from_pem(
            key_id(),
            &SecretValue::from(TEST_KEY_ENCRYPTED),
            Some(&SecretValue::from("keyward-test")),
        )
        .unwrap();
        assert_eq!(sign_vector(&encrypted, &VECTORS[1]), want);
        // A passphrase for a key that has none is ignored, as the SDK does.
        let extra = RequestSigner::from_pem(
            key_id(),
            &SecretValue::from(TEST_KEY),
            Some(&SecretValue::from("unused")),
        )
        .unwrap();
        assert_eq!(sign_vector(&extra, &VECTORS[1]), want);
    }

    #[test]
    fn key_errors() {
        let pem = |s: &str| SecretValue::from(s);
        let cases: &[(&str, Option<&str>, KeyError)] = &[
            (TEST_KEY_ENCRYPTED, None, KeyError::PassphraseRequired),
            (TEST_KEY_ENCRYPTED, Some("wrong"), KeyError::Decrypt),
            (TEST_PUBLIC, None, KeyError::PublicKeyGiven),
            ("not a key", None, KeyError::NotPem),
            (
                "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n",
                Some("x"),
                KeyError::LegacyEncryption,
            ),
            (
                "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                None,
                KeyError::Unreadable("private"),
            ),
        ];
        for (text, pass, want) in cases {
            let pass = pass.map(SecretValue::from);
            let got = private_key_from_pem(&pem(text), pass.as_ref()).unwrap_err();
            assert_eq!(&got, want, "{text:.40}");
            assert!(!got.to_string().contains("MII"), "errors never quote a key");
        }
        let signer = signer();
        assert!(!format!("{signer:?}").contains("MII"));
        assert!(format!("{signer:?}").contains(FINGERPRINT));
    }

    /// Verifies SDK-signed vector `v` with the body `body`, the SDK's headers changed by `edit`.
    fn verify_vector(
        v: &Vector,
        body: &str,
        public: &str,
        now: Timestamp,
        edit: impl FnOnce(&mut HashMap<String, String>),
    ) -> Result<KeyId, VerifyError> {
        let url = reqwest::Url::parse(v.url).unwrap();
        let (host, path) = url_parts(&url);
        let mut headers: HashMap<String, String> = v
            .sdk
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        headers.insert("host".into(), host);
        edit(&mut headers);
        let public = public_key_from_pem(public).unwrap();
        let request = ReceivedRequest {
            method: v.method,
            path_and_query: path,
            header: |n: &str| headers.get(n).map(String::as_str),
            body: body.as_bytes(),
        };
        verify_request(&request, |id| (id == &key_id()).then_some(public), now)
    }

    #[test]
    fn sdk_signatures_verify_and_tampering_is_refused() {
        let at = jiff::fmt::rfc2822::parse(DATE).unwrap().timestamp();
        for v in VECTORS {
            assert_eq!(
                verify_vector(v, v.body, TEST_PUBLIC, at, |_| {}),
                Ok(key_id()),
                "{} {}",
                v.method,
                v.url
            );
        }
        let post = &VECTORS[1];
        let get = &VECTORS[0];
        let minutes = |m: i64| at + jiff::SignedDuration::from_mins(m);
        type Edit = fn(&mut HashMap<String, String>);
        let cases: Vec<(&Vector, &str, &str, Timestamp, Edit, VerifyError)> = vec![
            (post, "{}", TEST_PUBLIC, at, |_| {}, VerifyError::BodyDigest),
            (
                post,
                post.body,
                OTHER_PUBLIC,
                at,
                |_| {},
                VerifyError::BadSignature,
            ),
            (
                post,
                post.body,
                TEST_PUBLIC,
                minutes(6),
                |_| {},
                VerifyError::ClockSkew,
            ),
            (
                post,
                post.body,
                TEST_PUBLIC,
                minutes(-6),
                |_| {},
                VerifyError::ClockSkew,
            ),
            (
                get,
                "",
                TEST_PUBLIC,
                at,
                |h| {
                    h.insert("host".into(), "evil.example".into());
                },
                VerifyError::BadSignature,
            ),
            (
                get,
                "",
                TEST_PUBLIC,
                at,
                |h| {
                    h.remove("authorization");
                },
                VerifyError::Missing,
            ),
            (
                get,
                "",
                TEST_PUBLIC,
                at,
                |h| {
                    let a = h["authorization"].replace("rsa-sha256", "hmac-sha256");
                    h.insert("authorization".into(), a);
                },
                VerifyError::Algorithm("hmac-sha256".into()),
            ),
            (
                post,
                post.body,
                TEST_PUBLIC,
                at,
                |h| {
                    // A POST signed with the GET header set.
                    let a = h["authorization"]
                        .replace(" content-length content-type x-content-sha256", "");
                    h.insert("authorization".into(), a);
                },
                VerifyError::NotSigned("content-length"),
            ),
            (
                get,
                "",
                TEST_PUBLIC,
                at,
                |h| {
                    let a = h["authorization"].replace("..aaaauser/", "..aaaaother/");
                    h.insert("authorization".into(), a);
                },
                VerifyError::UnknownKey,
            ),
            (
                get,
                "",
                TEST_PUBLIC,
                at,
                |h| {
                    h.remove("date");
                },
                VerifyError::Date,
            ),
        ];
        for (i, (v, body, public, now, edit, want)) in cases.into_iter().enumerate() {
            assert_eq!(
                verify_vector(v, body, public, now, edit),
                Err(want),
                "case {i}"
            );
        }
        // Within the window on both sides.
        assert!(verify_vector(post, post.body, TEST_PUBLIC, minutes(5), |_| {}).is_ok());
        assert!(verify_vector(post, post.body, TEST_PUBLIC, minutes(-5), |_| {}).is_ok());
    }

    #[test]
    fn our_signatures_verify() {
        let signer = signer();
        let url = reqwest::Url::parse("http://127.0.0.1:9/20180608/secrets/x?a=b%20c").unwrap();
        let at: Timestamp = "2026-03-04T05:06:07Z".parse().unwrap();
        for method in ["GET", "HEAD", "DELETE", "POST", "PUT", "PATCH"] {
            let signed = signer.sign_url(method, &url, b"{\"k\":1}", None, at);
            let host = "127.0.0.1:9";
            let mut headers: HashMap<&str, &str> = signed
                .headers
                .iter()
                .map(|(n, v)| (*n, v.as_str()))
                .collect();
            headers.insert("host", host);
            let public = public_key_from_pem(TEST_PUBLIC).unwrap();
            let received = ReceivedRequest {
                method,
                path_and_query: "/20180608/secrets/x?a=b%20c",
                header: |n: &str| headers.get(n).copied(),
                body: if signs_body(method) {
                    b"{\"k\":1}"
                } else {
                    b""
                },
            };
            assert_eq!(
                verify_request(&received, |_| Some(public), at),
                Ok(key_id()),
                "{method}"
            );
            assert_eq!(signed.get("content-length").is_some(), signs_body(method));
        }
    }

    #[test]
    fn small_pieces() {
        assert_eq!(
            http_date("2026-01-05T21:31:40Z".parse().unwrap()),
            "Mon, 05 Jan 2026 21:31:40 GMT"
        );
        assert_eq!(
            content_sha256(b""),
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
        assert!(is_fingerprint(FINGERPRINT));
        assert!(!is_fingerprint("9f:9e"));
        assert!(!is_fingerprint(&FINGERPRINT.replace('f', "g")));
        assert!(!is_fingerprint(&FINGERPRINT.to_ascii_uppercase()));
        assert!(is_ocid("ocid1.tenancy.oc1..aaaatenancy"));
        assert!(is_ocid("ocid1.vaultsecret.oc1.eu-frankfurt-1.amaaa_x"));
        assert!(!is_ocid("ocid1.tenancy"));
        assert!(!is_ocid("ocid1.tenancy.oc1..aaaa/x"));
        assert!(!is_ocid("ocid1.tenancy.oc1.."));
        assert_eq!(KeyId::parse(&key_id().to_string()), Some(key_id()));
        assert_eq!(KeyId::parse("a/b"), None);
        assert_eq!(KeyId::parse("a/b/c/d"), None);
        assert_eq!(KeyId::parse("a//c"), None);
        for (url, want) in [
            (
                "https://vaults.x.oci.oraclecloud.com/p?q=1#frag",
                ("vaults.x.oci.oraclecloud.com", "/p?q=1"),
            ),
            (
                "https://vaults.x.oci.oraclecloud.com:443/p",
                ("vaults.x.oci.oraclecloud.com", "/p"),
            ),
            (
                "http://127.0.0.1:8443/a%20b/c?x=%2F",
                ("127.0.0.1:8443", "/a%20b/c?x=%2F"),
            ),
        ] {
            let url = reqwest::Url::parse(url).unwrap();
            let (host, path) = url_parts(&url);
            assert_eq!((host.as_str(), path), want);
        }
    }
}
