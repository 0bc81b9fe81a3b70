//! The payload pushed from a fromSecret source: the source Secret's selected keys as the payload
//! of the remote secret's type. Errors name keys, never values.

use std::collections::BTreeMap;

use crate::provider::SecretType;
use crate::secret_value::SecretValue;

/// Build the payload pushed from a source Secret's data. Single-value types take the one selected
/// key's bytes; keyed types a JSON object of the selected keys (values must be UTF-8). Errors name
/// keys, never values.
pub fn source_payload(
    type_: SecretType,
    data: &BTreeMap<String, Vec<u8>>,
    keys: Option<&[String]>,
    secret_name: &str,
) -> Result<SecretValue, SourceProblem> {
    let selected: BTreeMap<&str, &[u8]> = match keys {
        None => data
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_slice()))
            .collect(),
        Some(keys) => {
            let mut out = BTreeMap::new();
            for key in keys {
                let value = data.get(key).ok_or_else(|| {
                    SourceProblem::Missing(format!(
                        "source Secret {secret_name} has no key {key:?}"
                    ))
                })?;
                out.insert(key.as_str(), value.as_slice());
            }
            out
        }
    };
    if !type_.is_keyed() {
        let mut values = selected.values();
        return match (values.next(), values.next()) {
            (Some(value), None) => Ok(SecretValue::new(value.to_vec())),
            (None, _) => Err(SourceProblem::Invalid(format!(
                "source Secret {secret_name} has no data to push"
            ))),
            _ => Err(SourceProblem::Invalid(format!(
                "source Secret {secret_name} has {} keys; a {} secret holds one value, so select one key with fromSecret.keys",
                selected.len(),
                type_.as_str()
            ))),
        };
    }
    let mut object = serde_json::Map::new();
    for (key, value) in selected {
        let text = std::str::from_utf8(value).map_err(|_| {
            SourceProblem::Invalid(format!(
                "source Secret {secret_name} key {key:?} is not UTF-8 text, which a {} secret needs",
                type_.as_str()
            ))
        })?;
        object.insert(key.to_owned(), serde_json::Value::String(text.to_owned()));
    }
    for required in type_.required_keys() {
        if !object.contains_key(*required) {
            return Err(SourceProblem::Invalid(format!(
                "source Secret {secret_name} lacks the key {required:?} that a {} secret needs",
                type_.as_str()
            )));
        }
    }
    let bytes = serde_json::to_vec(&object).map_err(|_| {
        SourceProblem::Invalid(format!(
            "source Secret {secret_name} data cannot be encoded"
        ))
    })?;
    Ok(SecretValue::new(bytes))
}

/// Why a source cannot be pushed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceProblem {
    Missing(String),
    Invalid(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mirror::PayloadFormat;

    fn data(pairs: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn source_payload_table() {
        use SecretType::*;
        let one = data(&[("token", "abc")]);
        let two = data(&[("username", "u"), ("password", "p")]);
        let keys = vec!["password".to_string()];
        assert_eq!(
            source_payload(Opaque, &one, None, "s").unwrap().expose(),
            b"abc"
        );
        assert_eq!(
            source_payload(Opaque, &two, Some(&keys), "s")
                .unwrap()
                .expose(),
            b"p"
        );
        assert!(matches!(
            source_payload(Opaque, &two, None, "s"),
            Err(SourceProblem::Invalid(m)) if m.contains("2 keys")
        ));
        assert!(matches!(
            source_payload(Opaque, &one, Some(&keys), "s"),
            Err(SourceProblem::Missing(m)) if m.contains("password")
        ));
        assert_eq!(
            source_payload(BasicCredentials, &two, None, "s")
                .unwrap()
                .expose(),
            br#"{"password":"p","username":"u"}"#
        );
        let err = source_payload(DatabaseCredentials, &two, None, "s").unwrap_err();
        assert!(
            matches!(err, SourceProblem::Invalid(ref m) if m.contains("dbname") || m.contains("engine"))
        );
        let binary: BTreeMap<String, Vec<u8>> = [("k".to_string(), vec![0xff, 0xfe])].into();
        let err = source_payload(KeyValue, &binary, None, "s").unwrap_err();
        assert!(matches!(err, SourceProblem::Invalid(ref m) if m.contains("UTF-8")));
    }

    /// Push (source Secret -> remote payload) and mirror (remote payload -> target Secret) agree for
    /// every type: the payload a push builds is one the remote accepts (the emulator is the referee
    /// for what Scaleway stores), and mirroring it gives back the pushed keys and values.
    #[test]
    fn push_then_mirror_round_trips_every_type() {
        use crate::emulator::scaleway::{model, payload::validate_for_type};
        use crate::mirror::payload_entries;

        const PEM: &str =
            "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n";
        const SSH: &str = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE=\n-----END OPENSSH PRIVATE KEY-----\n";
        type Pairs = &'static [(&'static str, &'static str)];
        // (type, pushed keys, mirrored keys; `None`: the keyed types mirror back the pushed keys)
        let rows: [(SecretType, Pairs, Option<Pairs>); 6] = [
            (Opaque, &[("token", "abc")], Some(&[("value", "abc")])),
            (Certificate, &[("tls.crt", PEM)], Some(&[("value", PEM)])),
            (KeyValue, &[("a", "1"), ("b", "2")], None),
            (
                BasicCredentials,
                &[("username", "u"), ("password", "p")],
                None,
            ),
            (
                DatabaseCredentials,
                &[
                    ("engine", "postgres"),
                    ("username", "u"),
                    ("password", "p"),
                    ("host", "db"),
                    ("dbname", "app"),
                    ("port", "5432"),
                ],
                None,
            ),
            (SshKey, &[("ssh_private_key", SSH)], None),
        ];
        use SecretType::*;
        for (type_, source, mirrored) in rows {
            let pushed = source_payload(type_, &data(source), None, "s")
                .unwrap_or_else(|e| panic!("{type_}: push refused: {e:?}"));
            let remote_type = model::SecretType::parse(type_.as_str()).unwrap();
            assert!(
                validate_for_type(remote_type, pushed.expose()).is_ok(),
                "{type_}: the remote would refuse the pushed payload"
            );
            let format = PayloadFormat::for_type(type_, None).unwrap();
            let entries = payload_entries(&pushed, &format).unwrap();
            assert_eq!(entries, data(mirrored.unwrap_or(source)), "{type_}");
        }
    }

    /// What Scaleway stores for ssh_key mirrors to the `ssh_private_key` key, and a push needs that key.
    #[test]
    fn ssh_key_is_the_ssh_private_key_object_both_ways() {
        use crate::mirror::payload_entries;
        let stored = SecretValue::from(r#"{"ssh_private_key":"k"}"#);
        let format = PayloadFormat::for_type(SecretType::SshKey, None).unwrap();
        assert_eq!(
            payload_entries(&stored, &format).unwrap(),
            data(&[("ssh_private_key", "k")])
        );
        let pushed = source_payload(
            SecretType::SshKey,
            &data(&[("ssh_private_key", "k")]),
            None,
            "s",
        )
        .unwrap();
        assert_eq!(pushed.expose(), stored.expose());
        let wrong_key = source_payload(SecretType::SshKey, &data(&[("id_rsa", "k")]), None, "s");
        assert!(
            matches!(wrong_key, Err(SourceProblem::Invalid(ref m)) if m.contains("ssh_private_key")),
            "{wrong_key:?}"
        );
    }
}
