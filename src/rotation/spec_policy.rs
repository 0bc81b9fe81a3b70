//! The generator of a ManagedSecret's `spec.generate`: the CRD's fields as a validated
//! [`ValuePolicy`]; errors are for an `InvalidSpec` message.

use crate::api::{GenerateSpec, PasswordPolicy as SpecPolicy};

use super::ValuePolicy;
use super::generate::{GeneratorInput, KeyInput, KeyValuePolicy, PasswordPolicy};

fn generator_input(policy: &SpecPolicy) -> GeneratorInput<'_> {
    GeneratorInput {
        length: Some(policy.length),
        lowercase: Some(policy.lowercase),
        uppercase: Some(policy.uppercase),
        digits: Some(policy.digits),
        symbols: Some(policy.symbols),
        symbol_set: policy.symbols.then(|| policy.symbol_set()),
        ..Default::default()
    }
}

/// The generator for `spec.generate`; errors are for an `InvalidSpec` message.
pub fn value_policy(generate: &GenerateSpec) -> Result<ValuePolicy, String> {
    match &generate.keys {
        None => PasswordPolicy::new(&generator_input(&generate.policy))
            .map(ValuePolicy::Single)
            .map_err(|e| format!("generate: {e}")),
        Some(keys) => {
            let policies: Vec<(String, Option<SpecPolicy>, Option<&str>)> = keys
                .iter()
                .map(|(k, v)| (k.clone(), v.generate.clone(), v.value.as_deref()))
                .collect();
            let inputs = policies.iter().map(|(k, generate, value)| {
                let input = match (generate, value) {
                    (Some(p), _) => KeyInput::Generate(generator_input(p)),
                    (None, v) => KeyInput::Fixed(v.unwrap_or("")),
                };
                (k.clone(), input)
            });
            KeyValuePolicy::from_inputs(inputs)
                .map(ValuePolicy::KeyValue)
                .map_err(|e| format!("generate.keys: {e}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn generate_specs_become_policies() {
        let single = value_policy(&GenerateSpec::default()).unwrap();
        let ValuePolicy::Single(p) = &single else {
            panic!("single");
        };
        assert_eq!(p.length(), 32);
        let keyed = GenerateSpec {
            keys: Some(BTreeMap::from([
                (
                    "username".to_string(),
                    crate::api::KeyValueSource {
                        value: Some("app".into()),
                        generate: None,
                    },
                ),
                (
                    "password".to_string(),
                    crate::api::KeyValueSource {
                        value: None,
                        generate: Some(Default::default()),
                    },
                ),
            ])),
            ..Default::default()
        };
        let ValuePolicy::KeyValue(kv) = value_policy(&keyed).unwrap() else {
            panic!("keyed");
        };
        let value = kv.generate();
        let parsed: BTreeMap<String, String> = serde_json::from_slice(value.expose()).unwrap();
        assert_eq!(parsed["username"], "app");
        assert_eq!(parsed["password"].len(), 32);
    }
}
