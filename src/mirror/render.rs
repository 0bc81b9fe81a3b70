//! Rendering the target Secret's data from a revision's payload, optionally through templates.
//!
//! Without templates the payload's entries are the data. With templates the data is exactly the
//! templated keys (the payload keys are not copied through; a template `{{ username }}` does that).
//! Templates are minijinja (Jinja2 syntax). They see:
//! - each payload key as a variable (`{{ password }}`; a single-value payload under its key, `value`
//!   unless configured),
//! - `payload`, a map of all keys, for keys that are not identifiers (`{{ payload["db-host"] }}`);
//!   a payload key literally named `payload` wins over it,
//! - the filters `b64encode`, `b64decode`, `urlquote` (percent-encodes everything but unreserved
//!   characters, for passwords inside URLs) and minijinja's built-ins (`urlencode`, `default`, …).
//!
//! Errors never carry a value: minijinja's own messages can quote data, so only the error kind, the
//! line and names taken from the template text (which is spec, not secret) are kept.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use minijinja::syntax::SyntaxConfig;
use minijinja::value::{Value, ValueKind};
use minijinja::{AutoEscape, Environment, ErrorKind, UndefinedBehavior};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::payload::{PayloadError, PayloadFormat, is_valid_secret_key, payload_entries};
use crate::secret_value::SecretValue;

/// The API server refuses Secrets larger than this (all of `data` together, roughly).
pub const MAX_SECRET_BYTES: usize = 1024 * 1024;
/// Bounds the work one render may do, so a runaway loop in a template cannot stall the controller.
const TEMPLATE_FUEL: u64 = 200_000;

const B64DECODE_NOT_BASE64: &str = "b64decode: input is not valid base64";
const B64DECODE_NOT_UTF8: &str = "b64decode: decoded bytes are not UTF-8 text";
const B64ENCODE_NOT_TEXT: &str = "b64encode: input is not a string or bytes";
const BINARY_OUTPUT: &str = "a binary (non-UTF-8) value cannot be printed as text; use b64encode";
/// Error details written by Keyward's own filters: fixed text, safe to show.
const OWN_DETAILS: [&str; 4] = [
    B64DECODE_NOT_BASE64,
    B64DECODE_NOT_UTF8,
    B64ENCODE_NOT_TEXT,
    BINARY_OUTPUT,
];

/// Rendered Secret data. `Debug` lists the keys only.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct RenderedData(BTreeMap<String, Vec<u8>>);

impl RenderedData {
    pub fn new(data: BTreeMap<String, Vec<u8>>) -> Self {
        Self(data)
    }

    /// The bytes, for writing the Secret. Keep call sites few.
    pub fn expose(&self) -> &BTreeMap<String, Vec<u8>> {
        &self.0
    }

    pub fn into_inner(self) -> BTreeMap<String, Vec<u8>> {
        self.0
    }

    pub fn keys(&self) -> BTreeSet<String> {
        self.0.keys().cloned().collect()
    }

    pub fn total_bytes(&self) -> usize {
        self.0.iter().map(|(k, v)| k.len() + v.len()).sum()
    }
}

impl fmt::Debug for RenderedData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RenderedData")
            .field("keys", &self.0.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("template must map at least one key")]
    Empty,
    #[error(
        "template key {key:?} is not a valid Secret key (letters, digits, '-', '_' and '.', at most 253 characters)"
    )]
    InvalidKey { key: String },
    /// Syntax details come from the template text itself, which is spec, never secret.
    #[error("template for key `{key}` has a syntax error{}: {detail}", at_line(*.line))]
    Syntax {
        key: String,
        line: Option<usize>,
        detail: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error(transparent)]
    Payload(#[from] PayloadError),
    #[error("payload key {key:?} is not a valid Secret key; map it to a valid key with a template")]
    PayloadKeyNotMirrorable { key: String },
    #[error("template for key `{key}` failed: undefined variable `{variable}`")]
    UndefinedVariable { key: String, variable: String },
    #[error("template for key `{key}` failed{}: {problem}", at_line(*.line))]
    Template {
        key: String,
        line: Option<usize>,
        problem: String,
    },
    #[error("rendered Secret data is {size} bytes, over the {MAX_SECRET_BYTES}-byte limit")]
    TooLarge { size: usize },
}

fn at_line(line: Option<usize>) -> String {
    line.map(|l| format!(" at line {l}")).unwrap_or_default()
}

/// Validated templates: target key → template source. Syntax is checked once, here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Templates(BTreeMap<String, String>);

impl Templates {
    pub fn new(templates: BTreeMap<String, String>) -> Result<Self, TemplateError> {
        if templates.is_empty() {
            return Err(TemplateError::Empty);
        }
        let env = environment();
        for (key, source) in &templates {
            if !is_valid_secret_key(key) {
                return Err(TemplateError::InvalidKey { key: key.clone() });
            }
            if let Err(e) = env.template_from_str(source) {
                return Err(TemplateError::Syntax {
                    key: key.clone(),
                    line: e.line(),
                    detail: e.detail().unwrap_or(&e.kind().to_string()).to_owned(),
                });
            }
        }
        Ok(Self(templates))
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }
}

/// How to turn a payload into Secret data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderSpec {
    pub format: PayloadFormat,
    pub templates: Option<Templates>,
}

impl RenderSpec {
    /// How a target with these templates renders payloads of `secret_type`; errors name the field.
    pub fn for_target(
        secret_type: crate::provider::SecretType,
        templates: Option<&std::collections::BTreeMap<String, String>>,
    ) -> Result<Self, String> {
        let format = PayloadFormat::for_type(secret_type, None).map_err(|e| e.to_string())?;
        let templates = match templates {
            None => None,
            Some(t) => {
                Some(Templates::new(t.clone()).map_err(|e| format!("target.template: {e}"))?)
            }
        };
        Ok(RenderSpec { format, templates })
    }
}

/// Suffix of the previous revision's keys in the target Secret (`target.includePrevious`).
pub const PREVIOUS_SUFFIX: &str = "_previous";

/// The target Secret's desired data for a revision's payload.
pub fn render(payload: &SecretValue, spec: &RenderSpec) -> Result<RenderedData, RenderError> {
    render_with_previous(payload, None, spec)
}

/// The same, with the previous revision's payload alongside (`target.includePrevious`, during
/// the grace period): without templates its keys come with the suffix `_previous`; templates see
/// them as the map `previous` (`{{ previous.password }}`), which is empty when there is none.
pub fn render_with_previous(
    payload: &SecretValue,
    previous: Option<&SecretValue>,
    spec: &RenderSpec,
) -> Result<RenderedData, RenderError> {
    let entries = payload_entries(payload, &spec.format)?;
    let previous = previous
        .map(|p| payload_entries(p, &spec.format))
        .transpose()?;
    let data = match &spec.templates {
        None => {
            let mut data = entries;
            for (k, v) in previous.into_iter().flatten() {
                data.insert(format!("{k}{PREVIOUS_SUFFIX}"), v);
            }
            if let Some(key) = data.keys().find(|k| !is_valid_secret_key(k)) {
                return Err(RenderError::PayloadKeyNotMirrorable { key: key.clone() });
            }
            data
        }
        Some(templates) => render_templates(&entries, previous.as_ref(), templates)?,
    };
    let data = RenderedData(data);
    let size = data.total_bytes();
    if size > MAX_SECRET_BYTES {
        return Err(RenderError::TooLarge { size });
    }
    Ok(data)
}

fn render_templates(
    entries: &BTreeMap<String, Vec<u8>>,
    previous: Option<&BTreeMap<String, Vec<u8>>>,
    templates: &Templates,
) -> Result<BTreeMap<String, Vec<u8>>, RenderError> {
    let env = environment();
    let values: BTreeMap<String, Value> = entries
        .iter()
        .map(|(k, v)| (k.clone(), to_value(v)))
        .collect();
    let mut context = values.clone();
    context
        .entry("payload".to_owned())
        .or_insert_with(|| Value::from(values));
    let previous: BTreeMap<String, Value> = previous
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), to_value(v)))
        .collect();
    context
        .entry("previous".to_owned())
        .or_insert_with(|| Value::from(previous));
    let known: BTreeSet<String> = context
        .keys()
        .cloned()
        .chain(env.globals().map(|(name, _)| name.to_owned()))
        .collect();
    let context = Value::from(context);

    let mut out = BTreeMap::new();
    for (key, source) in &templates.0 {
        let template = env
            .template_from_str(source)
            .map_err(|e| template_failure(key, &e))?;
        // Name the first missing variable (sorted, so the message is stable). The names come from
        // the template text, so they are safe to show.
        let undeclared: BTreeSet<String> =
            template.undeclared_variables(false).into_iter().collect();
        if let Some(variable) = undeclared.iter().find(|v| !known.contains(*v)) {
            return Err(RenderError::UndefinedVariable {
                key: key.clone(),
                variable: variable.clone(),
            });
        }
        let rendered = template
            .render(&context)
            .map_err(|e| template_failure(key, &e))?;
        out.insert(key.clone(), rendered.into_bytes());
    }
    Ok(out)
}

/// A value-free description of a minijinja error.
fn template_failure(key: &str, e: &minijinja::Error) -> RenderError {
    let problem = match e.detail() {
        Some(detail) if OWN_DETAILS.contains(&detail) => detail.to_owned(),
        _ => e.kind().to_string(),
    };
    RenderError::Template {
        key: key.to_owned(),
        line: e.line(),
        problem,
    }
}

fn to_value(bytes: &[u8]) -> Value {
    match std::str::from_utf8(bytes) {
        Ok(s) => Value::from(s),
        Err(_) => Value::from_bytes(bytes.to_vec()),
    }
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    // A Secret is not HTML; a failed lookup must fail loudly rather than render as empty.
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(TEMPLATE_FUEL));
    // Templates often produce config files; keep the final newline the author wrote.
    let syntax = SyntaxConfig::builder()
        .keep_trailing_newline(true)
        .build()
        .expect("the default delimiters are valid");
    env.set_syntax(syntax);
    // Printing bytes would replace invalid UTF-8 with U+FFFD and silently corrupt the value.
    env.set_formatter(|out, state, value| {
        if value.kind() == ValueKind::Bytes {
            return Err(minijinja::Error::new(
                ErrorKind::InvalidOperation,
                BINARY_OUTPUT,
            ));
        }
        minijinja::escape_formatter(out, state, value)
    });
    env.add_filter("b64encode", b64encode);
    env.add_filter("b64decode", b64decode);
    env.add_filter("urlquote", urlquote);
    env
}

/// Everything but RFC 3986 unreserved characters is escaped.
const URL_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encode a whole URL component, `/`, `:` and `@` included, so a password can sit in the
/// userinfo of a connection URL. (The built-in `urlencode` leaves `/` alone, as Jinja's does.)
fn urlquote(value: &str) -> String {
    utf8_percent_encode(value, URL_COMPONENT).to_string()
}

fn b64encode(value: &Value) -> Result<String, minijinja::Error> {
    value
        .as_bytes()
        .map(|b| BASE64.encode(b))
        .ok_or_else(|| minijinja::Error::new(ErrorKind::InvalidOperation, B64ENCODE_NOT_TEXT))
}

fn b64decode(value: &str) -> Result<String, minijinja::Error> {
    let bytes = BASE64
        .decode(value.trim())
        .map_err(|_| minijinja::Error::new(ErrorKind::InvalidOperation, B64DECODE_NOT_BASE64))?;
    String::from_utf8(bytes)
        .map_err(|_| minijinja::Error::new(ErrorKind::InvalidOperation, B64DECODE_NOT_UTF8))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn templates(pairs: &[(&str, &str)]) -> Templates {
        Templates::new(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
        .unwrap()
    }

    fn kv_spec(t: Option<Templates>) -> RenderSpec {
        RenderSpec {
            format: PayloadFormat::JsonObject,
            templates: t,
        }
    }

    fn text(data: &RenderedData) -> BTreeMap<&str, &str> {
        data.expose()
            .iter()
            .map(|(k, v)| (k.as_str(), std::str::from_utf8(v).unwrap()))
            .collect()
    }

    const DB: &str = r#"{"engine":"postgres","username":"app","password":"p@ss/w:rd","host":"db.internal","port":"5432","dbname":"orders","db-name":"orders2"}"#;

    #[test]
    fn the_previous_revision_comes_suffixed_or_as_a_template_map() {
        let now = SecretValue::from(r#"{"username":"app","password":"new"}"#);
        let before = SecretValue::from(r#"{"username":"app","password":"old"}"#);
        let plain = render_with_previous(&now, Some(&before), &kv_spec(None)).unwrap();
        assert_eq!(
            text(&plain),
            BTreeMap::from([
                ("password", "new"),
                ("password_previous", "old"),
                ("username", "app"),
                ("username_previous", "app"),
            ])
        );
        let t = templates(&[(
            "DSN",
            "{{ password }}|{{ previous.password | default('none') }}",
        )]);
        let both = render_with_previous(&now, Some(&before), &kv_spec(Some(t.clone()))).unwrap();
        assert_eq!(text(&both)["DSN"], "new|old");
        let alone = render_with_previous(&now, None, &kv_spec(Some(t))).unwrap();
        assert_eq!(text(&alone)["DSN"], "new|none");
        assert_eq!(
            render_with_previous(&now, None, &kv_spec(None)).unwrap(),
            render(&now, &kv_spec(None)).unwrap()
        );
    }

    #[test]
    fn without_templates_the_payload_keys_are_the_data() {
        let data = render(&SecretValue::from(DB), &kv_spec(None)).unwrap();
        let t = text(&data);
        assert_eq!(t.len(), 7);
        assert_eq!(t["password"], "p@ss/w:rd");
        assert_eq!(t["db-name"], "orders2");

        let single = RenderSpec {
            format: PayloadFormat::Single {
                key: "token".to_owned(),
            },
            templates: None,
        };
        let data = render(&SecretValue::new(vec![0xde, 0xad]), &single).unwrap();
        assert_eq!(
            data.into_inner(),
            BTreeMap::from([("token".to_owned(), vec![0xde, 0xad])])
        );
    }

    #[test]
    fn templates_render_exactly_their_keys() {
        let spec = kv_spec(Some(templates(&[
            (
                "url",
                "postgresql://{{ username }}:{{ password | urlquote }}@{{ host }}:{{ port }}/{{ dbname }}",
            ),
            ("user", "{{ username }}"),
            ("other-db", "{{ payload['db-name'] }}"),
            ("auth", "{{ (username ~ ':' ~ password) | b64encode }}"),
            ("jinja-urlencode", "{{ password | urlencode }}"),
        ])));
        let data = render(&SecretValue::from(DB), &spec).unwrap();
        let t = text(&data);
        assert_eq!(
            t,
            BTreeMap::from([
                ("auth", "YXBwOnBAc3MvdzpyZA=="),
                ("jinja-urlencode", "p%40ss/w%3Ard"),
                ("other-db", "orders2"),
                (
                    "url",
                    "postgresql://app:p%40ss%2Fw%3Ard@db.internal:5432/orders"
                ),
                ("user", "app"),
            ])
        );
    }

    #[test]
    fn single_value_templates_and_base64_helpers() {
        let spec = RenderSpec {
            format: PayloadFormat::Single {
                key: "value".to_owned(),
            },
            templates: Some(templates(&[
                ("decoded", "{{ value | b64decode }}"),
                ("again", "{{ value | b64decode | b64encode }}"),
                ("conf", "password = \"{{ value }}\"\n"),
            ])),
        };
        let data = render(&SecretValue::from("aHVudGVyMg=="), &spec).unwrap();
        let t = text(&data);
        assert_eq!(t["decoded"], "hunter2");
        assert_eq!(t["again"], "aHVudGVyMg==");
        // No HTML escaping of quotes, and the trailing newline is kept.
        assert_eq!(t["conf"], "password = \"aHVudGVyMg==\"\n");
    }

    #[test]
    fn binary_values_must_be_encoded_to_be_printed() {
        let binary = SecretValue::new(vec![0xff, 0x41]);
        let spec = |source: &str| RenderSpec {
            format: PayloadFormat::Single {
                key: "value".to_owned(),
            },
            templates: Some(templates(&[("k", source)])),
        };
        let err = render(&binary, &spec("{{ value }}")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "template for key `k` failed at line 1: a binary (non-UTF-8) value cannot be printed as text; use b64encode"
        );
        let data = render(&binary, &spec("{{ value | b64encode }}")).unwrap();
        assert_eq!(data.expose()["k"], b"/0E=");
    }

    #[test]
    fn undefined_variables_are_named_and_values_are_not() {
        let canary = "canary-4b2e";
        let payload = SecretValue::from(format!(r#"{{"password":"{canary}"}}"#).as_str());
        let spec = kv_spec(Some(templates(&[("url", "x{{ password }}{{ passwrd }}")])));
        let err = render(&payload, &spec).unwrap_err();
        assert_eq!(
            err.to_string(),
            "template for key `url` failed: undefined variable `passwrd`"
        );
        // An undefined attribute is caught at render time; the message still has no value in it.
        let spec = kv_spec(Some(templates(&[("url", "{{ payload.passwrd }}")])));
        let err = render(&payload, &spec).unwrap_err();
        assert_eq!(
            err.to_string(),
            "template for key `url` failed at line 1: undefined value"
        );
    }

    #[test]
    fn loop_variables_and_builtin_functions_are_not_undefined() {
        let spec = kv_spec(Some(templates(&[
            (
                "list",
                "{% for k in ['a', 'b'] %}{{ loop.index }}={{ k }}{% if not loop.last %},{% endif %}{% endfor %}",
            ),
            ("range", "{% for i in range(3) %}{{ i }}{% endfor %}"),
            ("dict", "{{ dict(a=username).a }}"),
            (
                "ns",
                "{% set ns = namespace(n=0) %}{% for i in range(2) %}{% set ns.n = ns.n + 1 %}{% endfor %}{{ ns.n }}",
            ),
            ("set", "{% set u = username | upper %}{{ u }}"),
        ])));
        let t = render(&SecretValue::from(DB), &spec).unwrap();
        let t = text(&t);
        assert_eq!(t["list"], "1=a,2=b");
        assert_eq!(t["range"], "012");
        assert_eq!(t["dict"], "app");
        assert_eq!(t["ns"], "2");
        assert_eq!(t["set"], "APP");
    }

    #[test]
    fn runtime_errors_never_quote_values() {
        let canary = "canary-88aa";
        let payload = SecretValue::from(format!(r#"{{"password":"{canary}"}}"#).as_str());
        let cases = [
            (
                "{{ password | b64decode }}",
                "b64decode: input is not valid base64",
            ),
            ("{{ password | int }}", "invalid operation"),
            ("{{ password + 1 }}", "invalid operation"),
            ("{{ password.missing.deeper }}", "undefined value"),
            (
                "{% for c in password %}{{ c + 1 }}{% endfor %}",
                "invalid operation",
            ),
            ("{{ password | nosuchfilter }}", "unknown filter"),
        ];
        for (source, want) in cases {
            let spec = kv_spec(Some(templates(&[("k", source)])));
            match render(&payload, &spec) {
                Err(err) => {
                    let msg = err.to_string();
                    let dbg = format!("{err:?}");
                    assert!(msg.contains(want), "{source}: {msg}");
                    assert!(
                        !msg.contains(canary) && !dbg.contains(canary),
                        "{source}: {msg}"
                    );
                }
                Ok(data) => panic!("{source}: expected an error, got keys {data:?}"),
            }
        }
    }

    #[test]
    fn runaway_templates_run_out_of_fuel() {
        let spec = kv_spec(Some(templates(&[(
            "k",
            "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
        )])));
        let err = render(&SecretValue::from("{}"), &spec).unwrap_err();
        assert!(err.to_string().contains("ran out of fuel"), "{err}");
    }

    #[test]
    fn template_validation_table() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[], "template must map at least one key"),
            (
                &[("bad key", "x")],
                "template key \"bad key\" is not a valid Secret key",
            ),
            (
                &[("url", "{{ username ")],
                "template for key `url` has a syntax error at line 1",
            ),
            (
                &[("url", "ok"), ("x", "{% if %}")],
                "template for key `x` has a syntax error at line 1",
            ),
        ];
        for (pairs, want) in cases {
            let map = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            let err = Templates::new(map).unwrap_err();
            assert!(err.to_string().starts_with(want), "{err}");
        }
    }

    #[test]
    fn payload_keys_that_cannot_be_secret_keys() {
        let payload = SecretValue::from(r#"{"db host":"x"}"#);
        assert_eq!(
            render(&payload, &kv_spec(None)),
            Err(RenderError::PayloadKeyNotMirrorable {
                key: "db host".to_owned()
            })
        );
        let spec = kv_spec(Some(templates(&[("host", "{{ payload['db host'] }}")])));
        assert_eq!(text(&render(&payload, &spec).unwrap())["host"], "x");
    }

    #[test]
    fn oversize_data_is_refused() {
        let big = "a".repeat(MAX_SECRET_BYTES);
        let spec = RenderSpec {
            format: PayloadFormat::Single {
                key: "value".to_owned(),
            },
            templates: None,
        };
        assert!(matches!(
            render(&SecretValue::from(big.as_str()), &spec),
            Err(RenderError::TooLarge { .. })
        ));
    }

    #[test]
    fn rendered_data_debug_lists_keys_only() {
        let data = render(
            &SecretValue::from(r#"{"password":"canary-51f0"}"#),
            &kv_spec(None),
        )
        .unwrap();
        let dbg = format!("{data:?}");
        assert!(dbg.contains("password") && !dbg.contains("canary"), "{dbg}");
    }
}
