//! Conformance: replays every recorded cassette in `../shared/fixtures/scaleway-cassettes/` against a
//! fresh emulator, in recorded order, and compares each answer with the recording.
//!
//! The cassettes are read at test time and never copied into this repository. When the folder is
//! absent the test is skipped with a loud message, except under `CI`, where that is a failure.
//!
//! How answers are compared:
//! - Status code, `Content-Type: application/json` (also on 204) and an empty body where the
//!   recording has one.
//! - Every JSON field, with exactly the same set of keys (explicit `null`s included).
//! - Ids and timestamps are compared by form *and* by identity: the first time a recorded UUID or
//!   timestamp is seen it is bound to the emulator's value at the same place, and from then on the
//!   recording and the emulator must agree on which values are equal and which differ (a bijection).
//!   So "updated_at did not change on version create", "updated_at == deletion_requested_at after
//!   DELETE", "the id in the 404 body is the deleted secret's" are all checked. The emulator's clock is
//!   frozen and moved 1 ms before each interaction, so distinct recorded instants get distinct
//!   emulator instants.
//! - Recorded ids in request URLs and bodies are rewritten to the emulator's ids through that mapping.
//!
//! The shared recording project:
//! The recordings come from one Scaleway project in which other acceptance tests ran at the same time,
//! and which also held secrets of other products (S2S VPN connections, a certificate). Those are not
//! ours to reproduce. The rule: a secret belongs to the cassette when the cassette created it (its id
//! was bound from a `POST /secrets` answer). In list answers, only the recorded items that belong to the
//! cassette are expected, in their recorded relative order, and `total_count` is expected to be their
//! number (the recorded lists are single pages, which the test asserts). Requests that address a secret
//! the cassette did not create (the recorded `GET /secrets/{id}/versions` calls for every secret in the
//! project) are still sent, unchanged, and the emulator must answer them 404 `not_found` naming that
//! id, which is the correct answer for a project that does not hold them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use keyward::emulator::{EmulatorConfig, spawn};
use serde_json::Value;

const RECORDED_HOST: &str = "https://api.scaleway.com";

fn cassette_dir() -> Option<PathBuf> {
    crate::support::shared::cassettes(
        "providers::emulator_conformance::every_cassette_replays_against_the_emulator",
    )
}

struct Interaction {
    method: String,
    url: String,
    body: String,
    content_type: Option<String>,
    code: u16,
    response_body: String,
}

fn load_cassette(path: &Path) -> Vec<Interaction> {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let doc: serde_yaml::Value =
        serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()));
    let Some(items) = doc.get("interactions").and_then(|i| i.as_sequence()) else {
        return Vec::new();
    };
    let s =
        |v: Option<&serde_yaml::Value>| v.and_then(|v| v.as_str()).unwrap_or_default().to_string();
    items
        .iter()
        .map(|i| {
            let req = &i["request"];
            let resp = &i["response"];
            Interaction {
                method: s(req.get("method")),
                url: s(req.get("url")),
                body: s(req.get("body")),
                content_type: req
                    .get("headers")
                    .and_then(|h| h.get("Content-Type"))
                    .and_then(|c| c.get(0))
                    .and_then(|c| c.as_str())
                    .map(str::to_string),
                code: resp.get("code").and_then(|c| c.as_u64()).unwrap_or(0) as u16,
                response_body: s(resp.get("body")),
            }
        })
        .collect()
}

/// Recorded value → emulator value, one-to-one.
#[derive(Default)]
struct Bijection {
    forward: HashMap<String, String>,
    backward: HashMap<String, String>,
}

impl Bijection {
    fn get(&self, recorded: &str) -> Option<&String> {
        self.forward.get(recorded)
    }

    /// Binds on first sight; afterwards both directions must agree.
    fn check(&mut self, recorded: &str, actual: &str) -> Result<(), String> {
        match (self.forward.get(recorded), self.backward.get(actual)) {
            (Some(a), _) if a == actual => Ok(()),
            (Some(a), _) => Err(format!(
                "recorded {recorded} was answered as {a} before, now {actual}"
            )),
            (None, Some(r)) => Err(format!(
                "{actual} already stands for recorded {r}, now also for {recorded}"
            )),
            (None, None) => {
                self.forward
                    .insert(recorded.to_string(), actual.to_string());
                self.backward
                    .insert(actual.to_string(), recorded.to_string());
                Ok(())
            }
        }
    }
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// `2026-07-03T15:27:54.805853Z`: the API's form (UTC, microseconds, `Z`).
fn is_api_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 27
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'.',
            26 => *c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

/// Replaces every bound recorded UUID in `text` by the emulator's.
fn rewrite_ids(text: &str, ids: &Bijection) -> String {
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        if let Some(candidate) = text.get(i..i + 36)
            && is_uuid(candidate)
            && let Some(mapped) = ids.get(candidate)
        {
            out.push_str(mapped);
            i += 36;
            continue;
        }
        let ch = text[i..].chars().next().unwrap_or_default();
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

/// The secret id a request URL addresses, if any (`…/secrets/{id}…`).
fn addressed_secret(url: &str) -> Option<&str> {
    let rest = url.split("/secrets/").nth(1)?;
    rest.get(..36).filter(|c| is_uuid(c))
}

struct Comparison<'a> {
    ids: &'a mut Bijection,
    times: &'a mut Bijection,
    problems: Vec<String>,
}

impl Comparison<'_> {
    fn compare(&mut self, at: &str, expected: &Value, actual: &Value) {
        match (expected, actual) {
            (Value::Object(e), Value::Object(a)) => {
                for k in e.keys().filter(|k| !a.contains_key(*k)) {
                    self.problems.push(format!("{at}.{k}: missing"));
                }
                for k in a.keys().filter(|k| !e.contains_key(*k)) {
                    self.problems
                        .push(format!("{at}.{k}: not in the recording"));
                }
                for (k, ev) in e {
                    if let Some(av) = a.get(k) {
                        self.compare(&format!("{at}.{k}"), ev, av);
                    }
                }
            }
            (Value::Array(e), Value::Array(a)) => {
                if e.len() != a.len() {
                    self.problems.push(format!(
                        "{at}: {} items recorded, {} answered",
                        e.len(),
                        a.len()
                    ));
                }
                for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                    self.compare(&format!("{at}[{i}]"), ev, av);
                }
            }
            (Value::String(e), Value::String(a)) if is_uuid(e) => {
                if !is_uuid(a) {
                    self.problems.push(format!("{at}: {a:?} is not a UUID"));
                } else if let Err(m) = self.ids.check(e, a) {
                    self.problems.push(format!("{at}: {m}"));
                }
            }
            (Value::String(e), Value::String(a)) if is_api_timestamp(e) => {
                if !is_api_timestamp(a) {
                    self.problems
                        .push(format!("{at}: {a:?} is not an API timestamp"));
                } else if let Err(m) = self.times.check(e, a) {
                    self.problems.push(format!("{at}: {m}"));
                }
            }
            (e, a) if e == a => {}
            (e, a) => self
                .problems
                .push(format!("{at}: recorded {e}, answered {a}")),
        }
    }
}

/// Keeps only the list items the cassette created (see the module comment) and fixes `total_count`.
fn expected_view(recorded: &Value, ids: &Bijection, problems: &mut Vec<String>) -> Value {
    let mut expected = recorded.clone();
    if let Some(Value::Array(items)) = expected.get_mut("secrets") {
        let recorded_len = items.len() as u64;
        if recorded.get("total_count").and_then(Value::as_u64) != Some(recorded_len) {
            problems.push(
                "recorded list is not a single complete page; the ownership rule cannot apply"
                    .into(),
            );
        }
        items.retain(|s| {
            s.get("id")
                .and_then(Value::as_str)
                .is_some_and(|id| ids.get(id).is_some())
        });
        let kept = items.len();
        expected["total_count"] = Value::from(kept);
    }
    expected
}

#[derive(Default)]
struct Totals {
    cassettes: usize,
    interactions: usize,
    foreign_requests: usize,
    foreign_list_items: usize,
}

async fn replay(path: &Path, totals: &mut Totals) -> Vec<String> {
    let interactions = load_cassette(path);
    let start: jiff::Timestamp = "2026-07-03T12:00:00Z".parse().unwrap();
    let emu = spawn(EmulatorConfig {
        frozen_clock_at: Some(start),
        ..EmulatorConfig::for_tests()
    })
    .await
    .expect("emulator starts");
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let mut ids = Bijection::default();
    let mut times = Bijection::default();
    let mut problems = Vec::new();
    for (n, it) in interactions.iter().enumerate() {
        emu.clock().advance(jiff::SignedDuration::from_millis(1));
        let where_ = format!(
            "#{n} {} {}",
            it.method,
            it.url.trim_start_matches(RECORDED_HOST)
        );
        let path_and_query = it.url.strip_prefix(RECORDED_HOST).unwrap_or(&it.url);
        let foreign = addressed_secret(path_and_query)
            .filter(|id| ids.get(id).is_none())
            .map(str::to_string);
        let url = format!("{}{}", emu.base_url(), rewrite_ids(path_and_query, &ids));
        let method = reqwest::Method::from_bytes(it.method.as_bytes()).unwrap();
        let mut req = client
            .request(method, &url)
            .header("X-Auth-Token", "conformance-token");
        if let Some(ct) = &it.content_type {
            req = req.header("Content-Type", ct);
        }
        if !it.body.is_empty() {
            req = req.body(rewrite_ids(&it.body, &ids));
        }
        let resp = req.send().await.unwrap_or_else(|e| panic!("{where_}: {e}"));
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = resp.bytes().await.unwrap_or_default();
        totals.interactions += 1;

        if let Some(foreign_id) = foreign {
            // A secret of the shared project that this cassette did not create.
            totals.foreign_requests += 1;
            let answer: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            if status != 404
                || answer["type"] != "not_found"
                || answer["resource_id"] != foreign_id.as_str()
            {
                problems.push(format!("{where_}: a secret this cassette did not create must be 404 not_found, got {status} {answer}"));
            }
            continue;
        }
        if status != it.code {
            problems.push(format!(
                "{where_}: status {status}, recorded {} (body {})",
                it.code,
                String::from_utf8_lossy(&body)
            ));
            continue;
        }
        if content_type.as_deref() != Some("application/json") {
            problems.push(format!("{where_}: content type {content_type:?}"));
        }
        if it.response_body.is_empty() {
            if !body.is_empty() {
                problems.push(format!(
                    "{where_}: recorded an empty body, answered {}",
                    String::from_utf8_lossy(&body)
                ));
            }
            continue;
        }
        let recorded: Value = serde_json::from_str(&it.response_body)
            .unwrap_or_else(|e| panic!("{where_}: recorded body: {e}"));
        let actual: Value = match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => {
                problems.push(format!("{where_}: answer is not JSON: {e}"));
                continue;
            }
        };
        let mut list_problems = Vec::new();
        let expected = expected_view(&recorded, &ids, &mut list_problems);
        if let (Some(Value::Array(r)), Some(Value::Array(e))) =
            (recorded.get("secrets"), expected.get("secrets"))
        {
            totals.foreign_list_items += r.len() - e.len();
        }
        let mut cmp = Comparison {
            ids: &mut ids,
            times: &mut times,
            problems: Vec::new(),
        };
        cmp.compare("body", &expected, &actual);
        problems.extend(
            list_problems
                .into_iter()
                .chain(cmp.problems)
                .map(|p| format!("{where_}: {p}")),
        );
    }
    totals.cassettes += 1;
    emu.shutdown().await.expect("emulator stops");
    problems
}

#[tokio::test]
async fn every_cassette_replays_against_the_emulator() {
    let Some(dir) = cassette_dir() else { return };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".cassette.yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no cassettes in {}", dir.display());

    let mut totals = Totals::default();
    let mut failures = Vec::new();
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        for p in replay(file, &mut totals).await {
            failures.push(format!("{name} {p}"));
        }
    }
    eprintln!(
        "conformance: {} cassettes, {} interactions replayed; {} requests for secrets the cassettes did not create \
         answered 404; {} foreign list items left out",
        totals.cassettes, totals.interactions, totals.foreign_requests, totals.foreign_list_items
    );
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(totals.cassettes, files.len());
}

#[test]
fn helpers_recognise_ids_and_timestamps() {
    assert!(is_uuid("98ba1319-16e6-4547-b249-175a9393989d"));
    assert!(!is_uuid("98ba1319x16e6-4547-b249-175a9393989d"));
    assert!(is_api_timestamp("2026-07-03T15:27:54.719648Z"));
    assert!(!is_api_timestamp("2026-07-03T15:27:54Z"));
    let mut ids = Bijection::default();
    ids.check("a", "x").unwrap();
    assert!(ids.check("a", "y").is_err());
    assert!(ids.check("b", "x").is_err());
    let mut m = Bijection::default();
    m.check(
        "98ba1319-16e6-4547-b249-175a9393989d",
        "00000000-0000-4000-8000-000000000001",
    )
    .unwrap();
    assert_eq!(
        rewrite_ids(
            "/secrets/98ba1319-16e6-4547-b249-175a9393989d/versions?x=é",
            &m
        ),
        "/secrets/00000000-0000-4000-8000-000000000001/versions?x=é"
    );
}
