use super::*;

const TENANCY: &str = "ocid1.tenancy.oc1..aaaatenancy";
const OTHER: &str = "ocid1.tenancy.oc1..aaaaother";
const PUBLIC: &str = include_str!("../../../../tests/fixtures/oci/test-key.pub.pem");

fn t0() -> Timestamp {
    "2026-03-01T10:00:00Z".parse().unwrap()
}

fn ms(n: i64) -> SignedDuration {
    SignedDuration::from_millis(n)
}

fn days(n: i64) -> SignedDuration {
    SignedDuration::from_hours(24 * n)
}

struct World {
    store: Account,
    limits: Limits,
    vault: String,
    key: String,
    disabled_key: String,
}

fn world() -> World {
    let mut store = Account::new("eu-frankfurt-1");
    let seeded = store
        .seed(
            Seed {
                api_keys: [TENANCY, OTHER]
                    .iter()
                    .map(|t| ApiKeyRecord {
                        tenancy: t.to_string(),
                        user: "ocid1.user.oc1..aaaauser".into(),
                        fingerprint: "9f:9e:f6:15:91:b0:c3:fc:2d:e7:bc:57:d5:6c:60:93".into(),
                        public_key: PUBLIC.into(),
                    })
                    .collect(),
                compartments: vec![],
                vaults: vec![VaultSeed {
                    id: None,
                    compartment_id: TENANCY.into(),
                    display_name: None,
                }],
                keys: vec![],
            },
            t0(),
        )
        .unwrap();
    let vault = seeded.vault_ids[0].clone();
    let keys = store
        .seed(
            Seed {
                keys: vec![
                    KeySeed {
                        vault_id: vault.clone(),
                        ..KeySeed::default()
                    },
                    KeySeed {
                        vault_id: vault.clone(),
                        lifecycle_state: Some("DISABLED".into()),
                        ..KeySeed::default()
                    },
                ],
                ..Seed::default()
            },
            t0(),
        )
        .unwrap()
        .key_ids;
    World {
        store,
        limits: Limits::default(),
        vault,
        key: keys[0].clone(),
        disabled_key: keys[1].clone(),
    }
}

fn content(text: &str) -> ContentBody {
    ContentBody {
        content_type: "BASE64".into(),
        content: Some(BASE64.encode(text)),
        name: None,
        stage: None,
    }
}

impl World {
    fn create(&mut self, name: &str, now: Timestamp) -> Result<SecretView, OciError> {
        let body = CreateSecretBody {
            compartment_id: TENANCY.into(),
            vault_id: self.vault.clone(),
            key_id: Some(self.key.clone()),
            secret_name: name.into(),
            secret_content: Some(content("v1")),
            secret_rules: None,
            description: None,
            freeform_tags: None,
            defined_tags: None,
            metadata: None,
        };
        self.store
            .create_secret(TENANCY, body, now, &self.limits)
            .map(|(v, _)| v)
    }

    fn upload(
        &mut self,
        id: &str,
        text: &str,
        stage: Option<&str>,
        now: Timestamp,
    ) -> Result<SecretView, OciError> {
        let mut c = content(text);
        c.stage = stage.map(str::to_string);
        let body = UpdateSecretBody {
            secret_content: Some(c),
            ..UpdateSecretBody::default()
        };
        self.store
            .update_secret(TENANCY, id, body, None, now, &self.limits)
            .map(|(v, _)| v)
    }

    fn stages(&self, id: &str) -> Vec<(u64, Vec<&'static str>)> {
        let (items, _) = self
            .store
            .list_secret_versions(
                TENANCY,
                id,
                None,
                &Paging {
                    sort_order: Some("ASC".into()),
                    ..Paging::default()
                },
            )
            .unwrap();
        items
            .into_iter()
            .map(|v| (v.version_number, v.stages))
            .collect()
    }
}

#[test]
fn writes_open_a_window_that_refuses_other_writes() {
    let mut w = world();
    let s = w.create("db", t0()).unwrap();
    assert_eq!(s.lifecycle_state, "CREATING");
    let err = w.upload(&s.id, "v2", None, t0() + ms(100)).unwrap_err();
    assert_eq!((err.status, err.code), (409, "IncorrectState"));
    assert!(err.message.contains("CREATING"), "{}", err.message);
    let after = t0() + ms(200);
    let (view, _) = w.store.get_secret(TENANCY, &s.id, after).unwrap();
    assert_eq!(view.lifecycle_state, "ACTIVE");
    let s2 = w.upload(&s.id, "v2", None, after).unwrap();
    assert_eq!(s2.lifecycle_state, "UPDATING");
    assert_eq!(s2.current_version_number, 2);
    // A window of 0 turns it off.
    w.limits.updating_window_ms = 0;
    let s3 = w.create("nowindow", t0()).unwrap();
    assert_eq!(s3.lifecycle_state, "ACTIVE");
    w.upload(&s3.id, "v2", None, t0()).unwrap();
    w.upload(&s3.id, "v3", None, t0()).unwrap();
}

#[test]
fn stages_follow_uploads_and_promotions() {
    let mut w = world();
    w.limits.updating_window_ms = 0;
    let id = w.create("db", t0()).unwrap().id;
    assert_eq!(w.stages(&id), [(1, vec!["CURRENT", "LATEST"])]);
    w.upload(&id, "v2", Some("PENDING"), t0()).unwrap();
    assert_eq!(
        w.stages(&id),
        [(1, vec!["CURRENT"]), (2, vec!["PENDING", "LATEST"])]
    );
    let promote = UpdateSecretBody {
        current_version_number: Some(2),
        ..UpdateSecretBody::default()
    };
    let (s, _) = w
        .store
        .update_secret(TENANCY, &id, promote, None, t0(), &w.limits)
        .unwrap();
    assert_eq!(s.current_version_number, 2);
    assert_eq!(
        w.stages(&id),
        [(1, vec!["PREVIOUS"]), (2, vec!["CURRENT", "LATEST"])]
    );
    w.upload(&id, "v3", None, t0()).unwrap();
    assert_eq!(
        w.stages(&id),
        [
            (1, vec!["DEPRECATED"]),
            (2, vec!["PREVIOUS"]),
            (3, vec!["CURRENT", "LATEST"])
        ]
    );
    // Bundles by stage.
    let bundle = |sel: BundleSelector| {
        w.store
            .get_secret_bundle(TENANCY, &id, Some(&sel), t0())
            .map(|b| b.version_number)
    };
    assert_eq!(bundle(BundleSelector::Stage("CURRENT".into())), Ok(3));
    assert_eq!(bundle(BundleSelector::Stage("PREVIOUS".into())), Ok(2));
    assert_eq!(bundle(BundleSelector::Stage("LATEST".into())), Ok(3));
    assert_eq!(bundle(BundleSelector::Stage("DEPRECATED".into())), Ok(1));
    assert_eq!(
        bundle(BundleSelector::Stage("PENDING".into()))
            .unwrap_err()
            .status,
        404
    );
    assert_eq!(bundle(BundleSelector::Number(1)), Ok(1));
    let b = w.store.get_secret_bundle(TENANCY, &id, None, t0()).unwrap();
    assert_eq!(b.version_number, 3);
    assert_eq!(
        BASE64.decode(&b.secret_bundle_content.content).unwrap(),
        b"v3"
    );
}

#[test]
fn combined_updates_and_bad_content_are_refused() {
    let mut w = world();
    w.limits.updating_window_ms = 0;
    let id = w.create("db", t0()).unwrap().id;
    let both = UpdateSecretBody {
        current_version_number: Some(1),
        secret_content: Some(content("x")),
        ..UpdateSecretBody::default()
    };
    let err = w
        .store
        .update_secret(TENANCY, &id, both, None, t0(), &w.limits)
        .unwrap_err();
    assert_eq!(err.status, 400);
    let cases: Vec<(ContentBody, &str)> = vec![
        (
            ContentBody {
                content: Some("***".into()),
                ..content("x")
            },
            "base64",
        ),
        (
            ContentBody {
                content_type: "TEXT".into(),
                ..content("x")
            },
            "BASE64",
        ),
        (
            ContentBody {
                stage: Some("LATEST".into()),
                ..content("x")
            },
            "CURRENT or PENDING",
        ),
        (content(&"x".repeat(25 * 1024 + 1)), "exceeds"),
    ];
    for (c, want) in cases {
        let body = UpdateSecretBody {
            secret_content: Some(c),
            ..UpdateSecretBody::default()
        };
        let err = w
            .store
            .update_secret(TENANCY, &id, body, None, t0(), &w.limits)
            .unwrap_err();
        assert!(err.message.contains(want), "{want}: {}", err.message);
    }
    // Version names are unique within the secret.
    let named = |name: &str| UpdateSecretBody {
        secret_content: Some(ContentBody {
            name: Some(name.into()),
            ..content(name)
        }),
        ..UpdateSecretBody::default()
    };
    w.store
        .update_secret(TENANCY, &id, named("v2"), None, t0(), &w.limits)
        .unwrap();
    let err = w
        .store
        .update_secret(TENANCY, &id, named("v2"), None, t0(), &w.limits)
        .unwrap_err();
    assert!(err.message.contains("already exists"), "{}", err.message);
    // if-match.
    let (_, etag) = w.store.get_secret(TENANCY, &id, t0()).unwrap();
    let err = w
        .store
        .update_secret(
            TENANCY,
            &id,
            named("v3"),
            Some("\"stale\""),
            t0(),
            &w.limits,
        )
        .unwrap_err();
    assert_eq!((err.status, err.code), (412, "NoEtagMatch"));
    w.store
        .update_secret(TENANCY, &id, named("v3"), Some(&etag), t0(), &w.limits)
        .unwrap();
}

#[test]
fn version_limits_and_deletion_rules() {
    let mut w = world();
    w.limits.updating_window_ms = 0;
    w.limits.max_versions_in_use = 4;
    w.limits.max_versions_pending_deletion = 1;
    let id = w.create("db", t0()).unwrap().id;
    for n in 2..=4 {
        w.upload(&id, &format!("v{n}"), None, t0()).unwrap();
    }
    let err = w.upload(&id, "v5", None, t0()).unwrap_err();
    assert_eq!((err.status, err.code), (400, "LimitExceeded"));
    // Only DEPRECATED versions can be scheduled: 4 is CURRENT, 3 PREVIOUS.
    let schedule = |w: &mut World, n: u64| {
        w.store
            .schedule_secret_version_deletion(TENANCY, &id, n, None, None, t0(), &w.limits)
    };
    for n in [3, 4] {
        let err = schedule(&mut w, n).unwrap_err();
        assert_eq!((err.status, err.code), (409, "IncorrectState"), "{n}");
        assert!(err.message.contains("DEPRECATED"), "{}", err.message);
    }
    schedule(&mut w, 1).unwrap();
    let err = schedule(&mut w, 1).unwrap_err();
    assert!(err.message.contains("already pending"), "{}", err.message);
    let err = schedule(&mut w, 2).unwrap_err();
    assert_eq!((err.status, err.code), (400, "LimitExceeded"));
    // A version pending deletion no longer counts as in use, and cannot be read.
    w.upload(&id, "v5", None, t0()).unwrap();
    assert_eq!(
        w.store
            .get_secret_bundle(TENANCY, &id, Some(&BundleSelector::Number(1)), t0())
            .unwrap_err()
            .status,
        404
    );
    // Cancel, check the window, then let a scheduled deletion happen.
    w.store
        .cancel_secret_version_deletion(TENANCY, &id, 1, None, t0(), &w.limits)
        .unwrap();
    // Windows: 1 to 30 days.
    let err = w
        .store
        .schedule_secret_version_deletion(
            TENANCY,
            &id,
            2,
            Some(t0() + days(31)),
            None,
            t0(),
            &w.limits,
        )
        .unwrap_err();
    assert!(
        err.message.contains("between 1 and 30 days"),
        "{}",
        err.message
    );
    w.store
        .schedule_secret_version_deletion(
            TENANCY,
            &id,
            1,
            Some(t0() + days(1)),
            None,
            t0(),
            &w.limits,
        )
        .unwrap();
    assert!(!w.store.sweep_due(t0() + days(1) - ms(1)));
    assert!(w.store.sweep(t0() + days(1)));
    assert_eq!(
        w.store
            .get_secret_version(TENANCY, &id, 1)
            .unwrap_err()
            .status,
        404
    );
    let numbers: Vec<u64> = w.stages(&id).into_iter().map(|(n, _)| n).collect();
    assert_eq!(numbers, [2, 3, 4, 5]);
}

#[test]
fn a_secret_pending_deletion_keeps_its_name_and_reads_404() {
    let mut w = world();
    w.limits.updating_window_ms = 0;
    let id = w.create("db", t0()).unwrap().id;
    let err = w.create("db", t0()).unwrap_err();
    assert_eq!(err.status, 400);
    assert!(err.message.contains("already exists"));
    w.store
        .schedule_secret_deletion(TENANCY, &id, Some(t0() + days(2)), None, t0(), &w.limits)
        .unwrap();
    let (s, _) = w.store.get_secret(TENANCY, &id, t0()).unwrap();
    assert_eq!(s.lifecycle_state, "PENDING_DELETION");
    assert_eq!(s.time_of_deletion, Some(t0() + days(2)));
    let err = w.create("db", t0()).unwrap_err();
    assert_eq!((err.status, err.code), (400, "InvalidParameter"));
    assert!(err.message.contains("pending deletion"), "{}", err.message);
    let by_name = w
        .store
        .get_secret_bundle_by_name(TENANCY, &w.vault, "db", None, t0())
        .unwrap_err();
    assert_eq!(by_name.status, 404);
    // Writes need ACTIVE.
    let err = w.upload(&id, "v2", None, t0()).unwrap_err();
    assert_eq!((err.status, err.code), (409, "IncorrectState"));
    assert!(err.message.contains("PENDING_DELETION"));
    // Cancelling restores it; scheduling again and waiting deletes it and frees the name.
    w.store
        .cancel_secret_deletion(TENANCY, &id, None, t0(), &w.limits)
        .unwrap();
    assert_eq!(
        w.store
            .get_secret(TENANCY, &id, t0())
            .unwrap()
            .0
            .lifecycle_state,
        "ACTIVE"
    );
    w.store
        .schedule_secret_deletion(TENANCY, &id, None, None, t0(), &w.limits)
        .unwrap();
    assert_eq!(
        w.store
            .get_secret(TENANCY, &id, t0())
            .unwrap()
            .0
            .time_of_deletion,
        Some(t0() + days(30)),
        "30 days by default"
    );
    w.store.sweep(t0() + days(30));
    assert_eq!(
        w.store
            .get_secret(TENANCY, &id, t0() + days(30))
            .unwrap()
            .0
            .lifecycle_state,
        "DELETED"
    );
    w.create("db", t0() + days(30)).unwrap();
}

#[test]
fn other_tenancies_see_404() {
    let mut w = world();
    let id = w.create("db", t0()).unwrap().id;
    assert_eq!(
        w.store.get_secret(OTHER, &id, t0()).unwrap_err().status,
        404
    );
    assert_eq!(
        w.store
            .get_secret_bundle(OTHER, &id, None, t0())
            .unwrap_err()
            .status,
        404
    );
    assert_eq!(
        w.store.get_key(OTHER, &w.key, t0()).unwrap_err().status,
        404
    );
    let query = SecretQuery {
        compartment_id: TENANCY.into(),
        ..SecretQuery::default()
    };
    assert_eq!(
        w.store
            .list_secrets(OTHER, &query, t0())
            .unwrap_err()
            .status,
        404
    );
}

#[test]
fn listing_pages_sorts_and_filters() {
    let mut w = world();
    for (i, name) in ["c", "a", "b", "e", "d"].iter().enumerate() {
        w.create(name, t0() + ms(i as i64)).unwrap();
    }
    let list = |sort_by: Option<&str>, order: Option<&str>, limit| {
        let mut names = Vec::new();
        let mut page = None;
        loop {
            let query = SecretQuery {
                compartment_id: TENANCY.into(),
                sort_by: sort_by.map(str::to_string),
                paging: Paging {
                    limit: Some(limit),
                    page: page.clone(),
                    sort_order: order.map(str::to_string),
                },
                ..SecretQuery::default()
            };
            let (items, next) = w.store.list_secrets(TENANCY, &query, t0()).unwrap();
            names.extend(items.into_iter().map(|s| s.secret_name));
            match next {
                Some(n) => page = Some(n),
                None => break,
            }
        }
        names
    };
    assert_eq!(
        list(None, None, 2),
        ["d", "e", "b", "a", "c"],
        "newest first"
    );
    assert_eq!(list(Some("NAME"), None, 2), ["a", "b", "c", "d", "e"]);
    assert_eq!(
        list(Some("NAME"), Some("DESC"), 10),
        ["e", "d", "c", "b", "a"]
    );
    let query = SecretQuery {
        compartment_id: TENANCY.into(),
        name: Some("b".into()),
        ..SecretQuery::default()
    };
    let (items, next) = w.store.list_secrets(TENANCY, &query, t0()).unwrap();
    assert_eq!((items.len(), next), (1, None));
    let bad = SecretQuery {
        compartment_id: TENANCY.into(),
        paging: Paging {
            page: Some("forged".into()),
            ..Paging::default()
        },
        ..SecretQuery::default()
    };
    assert_eq!(
        w.store
            .list_secrets(TENANCY, &bad, t0())
            .unwrap_err()
            .status,
        400
    );
}

#[test]
fn reuse_rule_refuses_old_content() {
    let mut w = world();
    w.limits.updating_window_ms = 0;
    let id = w.create("db", t0()).unwrap().id;
    let rules = UpdateSecretBody {
        secret_rules: Some(vec![SecretRule::Reuse {
            is_enforced_on_deleted_secret_versions: Some(false),
        }]),
        ..UpdateSecretBody::default()
    };
    w.store
        .update_secret(TENANCY, &id, rules, None, t0(), &w.limits)
        .unwrap();
    let err = w.upload(&id, "v1", None, t0()).unwrap_err();
    assert!(err.message.contains("reuse rule"), "{}", err.message);
    assert!(!err.message.contains("v1"), "never quotes content");
    w.upload(&id, "v2", None, t0()).unwrap();
    let bad = UpdateSecretBody {
        secret_rules: Some(vec![SecretRule::Expiry {
            secret_version_expiry_interval: Some("P91D".into()),
            time_of_absolute_expiry: None,
            is_secret_content_retrieval_blocked_on_expiry: None,
        }]),
        ..UpdateSecretBody::default()
    };
    assert_eq!(
        w.store
            .update_secret(TENANCY, &id, bad, None, t0(), &w.limits)
            .unwrap_err()
            .status,
        400
    );
}

#[test]
fn keys_gate_secrets_and_rotate() {
    let mut w = world();
    w.limits.updating_window_ms = 0;
    let id = w.create("db", t0()).unwrap().id;
    // A disabled key: no new secrets or versions with it, and reads are refused.
    let body = CreateSecretBody {
        compartment_id: TENANCY.into(),
        vault_id: w.vault.clone(),
        key_id: Some(w.disabled_key.clone()),
        secret_name: "other".into(),
        secret_content: Some(content("x")),
        secret_rules: None,
        description: None,
        freeform_tags: None,
        defined_tags: None,
        metadata: None,
    };
    let err = w
        .store
        .create_secret(TENANCY, body, t0(), &w.limits)
        .unwrap_err();
    assert_eq!(err.status, 400);
    assert!(err.message.contains("DISABLED"), "{}", err.message);
    w.store
        .set_key_state(&w.key, KeyState::Disabled, None, t0())
        .unwrap();
    assert!(
        w.upload(&id, "v2", None, t0())
            .unwrap_err()
            .message
            .contains("DISABLED")
    );
    assert_eq!(
        w.store
            .get_secret_bundle(TENANCY, &id, None, t0())
            .unwrap_err()
            .status,
        400
    );
    let err = w
        .store
        .create_key_version(TENANCY, &w.key, t0(), &w.limits)
        .unwrap_err();
    assert_eq!((err.status, err.code), (409, "IncorrectState"));
    w.store
        .set_key_state(&w.key, KeyState::Enabled, None, t0())
        .unwrap();
    // Rotation: the new version becomes current; the current one cannot be scheduled.
    let (first, _) = w.store.get_key(TENANCY, &w.key, t0()).unwrap();
    let (v2, _) = w
        .store
        .create_key_version(TENANCY, &w.key, t0(), &w.limits)
        .unwrap();
    let (key, _) = w.store.get_key(TENANCY, &w.key, t0()).unwrap();
    assert_eq!(key.current_key_version, v2.id);
    let err = w
        .store
        .schedule_key_version_deletion(TENANCY, &w.key, &v2.id, None, None, t0(), &w.limits)
        .unwrap_err();
    assert!(
        err.message.contains("current key version"),
        "{}",
        err.message
    );
    let err = w
        .store
        .schedule_key_version_deletion(
            TENANCY,
            &w.key,
            &first.current_key_version,
            Some(t0() + days(6)),
            None,
            t0(),
            &w.limits,
        )
        .unwrap_err();
    assert!(
        err.message.contains("between 7 and 30 days"),
        "{}",
        err.message
    );
    let (old, _) = w
        .store
        .schedule_key_version_deletion(
            TENANCY,
            &w.key,
            &first.current_key_version,
            None,
            None,
            t0(),
            &w.limits,
        )
        .unwrap();
    assert_eq!(old.lifecycle_state, "PENDING_DELETION");
    assert_eq!(old.time_of_deletion, Some(t0() + days(30)));
    let (back, _) = w
        .store
        .cancel_key_version_deletion(TENANCY, &w.key, &old.id, None, t0(), &w.limits)
        .unwrap();
    assert_eq!(back.lifecycle_state, "ENABLED");
    let (items, _) = w
        .store
        .list_key_versions(TENANCY, &w.key, None, &Paging::default())
        .unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].id, v2.id, "newest first");
    // The UPDATING window after a KMS write.
    w.limits.updating_window_ms = 200;
    w.store
        .create_key_version(TENANCY, &w.key, t0(), &w.limits)
        .unwrap();
    assert_eq!(
        w.store
            .get_key(TENANCY, &w.key, t0())
            .unwrap()
            .0
            .lifecycle_state,
        "UPDATING"
    );
    let err = w
        .store
        .create_key_version(TENANCY, &w.key, t0() + ms(100), &w.limits)
        .unwrap_err();
    assert!(err.message.contains("UPDATING"));
    w.store
        .create_key_version(TENANCY, &w.key, t0() + ms(200), &w.limits)
        .unwrap();
}

#[test]
fn seeding_again_keeps_what_the_seed_does_not_state() {
    let mut w = world();
    w.store
        .set_key_state(&w.key, KeyState::Disabled, None, t0())
        .unwrap();
    let again = Seed {
        keys: vec![KeySeed {
            id: Some(w.key.clone()),
            vault_id: w.vault.clone(),
            display_name: Some("renamed".into()),
            ..KeySeed::default()
        }],
        ..Seed::default()
    };
    w.store.seed(again, t0()).unwrap();
    let (key, _) = w.store.get_key(TENANCY, &w.key, t0()).unwrap();
    assert_eq!(
        (key.lifecycle_state, key.display_name.as_str()),
        ("DISABLED", "renamed")
    );
    let enable = Seed {
        keys: vec![KeySeed {
            id: Some(w.key.clone()),
            vault_id: w.vault.clone(),
            lifecycle_state: Some("ENABLED".into()),
            ..KeySeed::default()
        }],
        ..Seed::default()
    };
    w.store.seed(enable, t0()).unwrap();
    assert_eq!(
        w.store
            .get_key(TENANCY, &w.key, t0())
            .unwrap()
            .0
            .lifecycle_state,
        "ENABLED"
    );
}

#[test]
fn retry_tokens_replay_or_conflict() {
    let mut store = Account::new("r");
    let now = t0();
    assert_eq!(store.retry_lookup("k", "req-a", now), RetryLookup::New);
    let record = RetryRecord {
        request: "req-a".into(),
        status: 200,
        body: "{}".into(),
        etag: None,
        expires: now + RETRY_TOKEN_LIFETIME,
    };
    store.retry_remember("k".into(), record.clone());
    assert_eq!(
        store.retry_lookup("k", "req-a", now),
        RetryLookup::Replay(record)
    );
    assert_eq!(store.retry_lookup("k", "req-b", now), RetryLookup::Conflict);
    store.sweep(now + RETRY_TOKEN_LIFETIME);
    assert_eq!(
        store.retry_lookup("k", "req-b", now + RETRY_TOKEN_LIFETIME),
        RetryLookup::New
    );
}

#[test]
fn state_round_trips_through_json() {
    let mut w = world();
    w.create("db", t0()).unwrap();
    let json = serde_json::to_value(&w.store).unwrap();
    let back: Account = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(serde_json::to_value(&back).unwrap(), json);
    assert_eq!(back.secret_count(), 1);
}
