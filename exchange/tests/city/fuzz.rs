//! Fuzz properties of what the city reads from outside (no broker or database needed):
//! the intake's `check` on mutations of every example message of the standard, positive
//! and negative, and on random AMQP properties; and the city file loader on mutations of
//! the sample city file. A few hundred cases each by default; run longer by hand with
//! `PROPTEST_CASES=100000 cargo nextest run -p citygrid-exchange fuzz` (docs/SECURITY.md).
//!
//! What must hold: nothing panics; every refusal is a rejection the published schema
//! (json/v1/rejection.json) accepts, so its code is one of the standard's; and nothing the
//! published JSON Schema of its kind refuses is ever accepted.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use citygrid_exchange::config::City;
use citygrid_exchange::intake::validate::{Incoming, Verdict, check};
use citygrid_kit::http::extract::nul_in_json;
use citygrid_schemas::{self as v1, Kind};
use citygrid_test_support::fuzz::{
    awkward_string, cases, json_mutation, mutate_text, names_a_file, text_mutation,
};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{Value, json};

const SENDER: &str = "330102";

fn repo() -> PathBuf {
    citygrid_test_support::repo()
}

/// The sample city (its registry and catalogues), loaded once.
static CITY: LazyLock<City> =
    LazyLock::new(|| City::load(&repo().join("tenants/hangzhou/city.toml")).expect("sample city"));

fn user_of(code: &str) -> String {
    CITY.registry
        .get(code)
        .expect("district")
        .broker_user
        .clone()
}

/// The published JSON Schema of every kind, with formats (date-time, uuid) checked.
static SCHEMAS: LazyLock<HashMap<Kind, jsonschema::Validator>> = LazyLock::new(|| {
    Kind::ALL
        .into_iter()
        .map(|kind| {
            let path = repo().join(format!("schemas/json/v1/{}.json", kind.as_str()));
            let schema: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).expect("schema"))
                    .expect("schema JSON");
            let validator = jsonschema::options()
                .should_validate_formats(true)
                .build(&schema)
                .expect("a valid schema");
            (kind, validator)
        })
        .collect()
});

/// One example message: its file, the kind its sender sends it as, the message.
struct Example {
    file: PathBuf,
    kind: Kind,
    message: Value,
}

fn read(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("JSON")
}

fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("examples")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

fn kind_of(message: &Value) -> Kind {
    Kind::parse(message["kind"].as_str().expect("kind")).expect("a v1 kind")
}

/// schemas/examples (every kind, the city's own included: a district sending one is
/// refused) and the messages of schemas/examples/negative.
static POSITIVE: LazyLock<Vec<Example>> = LazyLock::new(|| {
    json_files(&repo().join("schemas/examples"))
        .into_iter()
        .map(|file| {
            let message = read(&file);
            Example {
                kind: kind_of(&message),
                file,
                message,
            }
        })
        .collect()
});

static NEGATIVE: LazyLock<Vec<Example>> = LazyLock::new(|| {
    json_files(&repo().join("schemas/examples/negative"))
        .into_iter()
        .map(|file| {
            let message = read(&file)["message"].clone();
            Example {
                kind: kind_of(&message),
                file,
                message,
            }
        })
        .collect()
});

fn every_example() -> Vec<&'static Example> {
    POSITIVE.iter().chain(NEGATIVE.iter()).collect()
}

/// Every example, the district's positive ones four times over: mutations of a valid
/// message are the likeliest to slip through.
fn seeds() -> Vec<&'static Example> {
    let valid = POSITIVE.iter().filter(|e| e.kind.from_district());
    every_example()
        .into_iter()
        .chain(valid.clone())
        .chain(valid.clone())
        .chain(valid)
        .collect()
}

/// A delivery of `data` as district 330102's relay sends a message of `kind`.
fn delivery<'a>(kind: Kind, user: &'a str, key: &'a str, data: &'a [u8]) -> Incoming<'a> {
    Incoming {
        routing_key: key,
        user_id: Some(user),
        message_id: Some("330102-fuzz"),
        kind: Some(kind.as_str()),
        persistent: true,
        data,
    }
}

fn schema_errors(kind: Kind, message: &Value) -> Vec<String> {
    SCHEMAS[&kind]
        .iter_errors(message)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

/// What holds of every verdict, whatever came in.
fn sound(incoming: &Incoming<'_>, verdict: &Verdict) -> Result<(), TestCaseError> {
    if verdict.dead_letter {
        prop_assert!(
            verdict.accepted.is_empty() && verdict.refusals.len() == 1,
            "a dead-lettered delivery has one refusal and nothing accepted: {verdict:?}"
        );
    }
    for refusal in &verdict.refusals {
        // The rejection the city would publish: valid against the standard's schema, so
        // its code is one of the standard's and its text can be stored and sent.
        let body = serde_json::to_value(&*refusal.rejection).expect("a rejection serialises");
        let message = json!({
            "schema": v1::SCHEMA, "kind": "rejection", "district": SENDER, "seq": 1,
            "sent_at": "2026-11-25T08:00:00Z", "body": body,
        });
        let errors = schema_errors(Kind::Rejection, &message);
        prop_assert!(errors.is_empty(), "rejection {body} invalid: {errors:?}");
        prop_assert!(
            !refusal.rejection.message.is_empty(),
            "a rejection says why: {body}"
        );
    }
    if verdict.accepted.is_empty() {
        return Ok(());
    }
    // Only a district's own broker user, under its own key, with the required properties.
    let sender = incoming
        .user_id
        .and_then(|u| CITY.registry.by_user(u))
        .map(|d| d.code.clone());
    let sender = sender.expect("accepted from a registered broker user");
    let key_kind = incoming.kind.unwrap_or_default();
    prop_assert_eq!(
        incoming.routing_key,
        format!("district.{sender}.{key_kind}"),
        "accepted under a key not the sender's"
    );
    prop_assert!(incoming.persistent && incoming.message_id.is_some_and(|m| !m.is_empty()));
    prop_assert!(incoming.data.len() <= v1::MAX_MESSAGE_BYTES);
    let delivered = serde_json::from_slice::<Value>(incoming.data);
    prop_assert!(
        delivered.is_ok(),
        "accepted what is not JSON ({delivered:?}): {}",
        String::from_utf8_lossy(incoming.data)
    );
    let mut delivered = delivered.expect("JSON");
    let delivered_kind = Kind::parse(key_kind).expect("accepted: a v1 kind");
    if delivered_kind == Kind::SyncBatch {
        // A batch's messages are each a message of its own, accepted or refused alone
        // (checked below); the batch itself is the rest.
        delivered["body"]["messages"] = json!([]);
    }
    let errors = schema_errors(delivered_kind, &delivered);
    prop_assert!(
        errors.is_empty(),
        "accepted a {key_kind} the published schema refuses: {errors:?}\n{delivered}"
    );
    for accepted in &verdict.accepted {
        prop_assert_eq!(&accepted.district, &sender);
        let raw: Value = serde_json::from_slice(&accepted.raw).expect("accepted raw: JSON");
        let errors = schema_errors(accepted.kind, &raw);
        prop_assert!(
            errors.is_empty(),
            "accepted a {} the published schema refuses: {errors:?}\n{raw}",
            accepted.kind.as_str()
        );
        prop_assert!(
            nul_in_json(&accepted.raw).is_none(),
            "accepted text with U+0000: {raw}"
        );
        if delivered_kind != Kind::SyncBatch {
            prop_assert_eq!(&accepted.raw, &incoming.data.to_vec());
        }
    }
    Ok(())
}

/// The examples as they are: each district → city positive is accepted whole and its
/// schema agrees, each city → district one is refused, each negative one is refused.
#[test]
fn fuzz_seeds_untouched_examples_get_their_verdict() {
    let user = user_of(SENDER);
    for example in POSITIVE.iter() {
        let data = serde_json::to_vec(&example.message).expect("JSON");
        let key = format!("district.{SENDER}.{}", example.kind.as_str());
        let incoming = delivery(example.kind, &user, &key, &data);
        let verdict = check(&CITY.registry, incoming);
        sound(&incoming, &verdict).expect("sound");
        let file = example.file.display();
        assert!(
            schema_errors(example.kind, &example.message).is_empty(),
            "{file}"
        );
        if example.kind.from_district() {
            assert!(
                !verdict.dead_letter && verdict.refusals.is_empty(),
                "{file}: {verdict:?}"
            );
            let expected = match &example.message["body"]["messages"] {
                Value::Array(inner) => inner.len(),
                _ => 1,
            };
            assert_eq!(verdict.accepted.len(), expected, "{file}");
        } else {
            assert!(verdict.dead_letter, "{file}: {verdict:?}");
        }
    }
    for example in NEGATIVE.iter() {
        let data = serde_json::to_vec(&example.message).expect("JSON");
        let key = format!("district.{SENDER}.{}", example.kind.as_str());
        let incoming = delivery(example.kind, &user, &key, &data);
        let verdict = check(&CITY.registry, incoming);
        sound(&incoming, &verdict).expect("sound");
        assert!(
            verdict.accepted.is_empty() && verdict.dead_letter,
            "{}: {verdict:?}",
            example.file.display()
        );
    }
}

proptest! {
    #![proptest_config(cases(256))]

    /// Every example, positive or negative, mutated (members dropped, types changed,
    /// huge or non-finite numbers, U+0000 and other awkward text, deep nesting, truncated
    /// or random bytes), sent by its district under its kind's key.
    #[test]
    fn fuzz_intake_mutated_examples(
        pick in any::<prop::sample::Index>(),
        mutation in json_mutation(),
    ) {
        let examples = seeds();
        let example = examples[pick.index(examples.len())];
        let data = mutation.apply(&example.message);
        let user = user_of(SENDER);
        let key = format!("district.{SENDER}.{}", example.kind.as_str());
        let incoming = delivery(example.kind, &user, &key, &data);
        let verdict = check(&CITY.registry, incoming);
        sound(&incoming, &verdict)?;
    }

    /// The messages inside a sync batch mutated one by one: the batch is accepted or
    /// refused as a whole by the same rules, its messages each by their own.
    #[test]
    fn fuzz_intake_mutated_sync_batch_messages(
        mutations in prop::collection::vec(json_mutation(), 1..4),
        picks in prop::collection::vec(any::<prop::sample::Index>(), 1..4),
    ) {
        let batch = POSITIVE.iter().find(|e| e.kind == Kind::SyncBatch).expect("a batch");
        let mut message = batch.message.clone();
        let examples = seeds();
        let inner: Vec<Value> = mutations
            .iter()
            .zip(picks.iter().cycle())
            .map(|(mutation, pick)| {
                let example = examples[pick.index(examples.len())];
                let bytes = mutation.apply(&example.message);
                serde_json::from_slice(&bytes).unwrap_or(Value::Null)
            })
            .collect();
        message["body"]["messages"] = Value::Array(inner);
        let data = serde_json::to_vec(&message).expect("JSON");
        let user = user_of(SENDER);
        let key = format!("district.{SENDER}.sync_batch");
        let incoming = delivery(Kind::SyncBatch, &user, &key, &data);
        let verdict = check(&CITY.registry, incoming);
        sound(&incoming, &verdict)?;
    }

    /// Random routing keys, broker users, message ids, types and delivery modes around a
    /// valid message: accepted only when every one of them is right.
    #[test]
    fn fuzz_intake_random_properties(
        pick in any::<prop::sample::Index>(),
        key in prop_oneof![
            Just(None),
            "district\\.[0-9]{6}\\.[a-z_]{0,20}".prop_map(Some),
            awkward_string().prop_map(Some),
            prop::sample::select(vec!["district..case_snapshot", "district.330102.",
                "district.330102.case_snapshot.extra", "DISTRICT.330102.case_snapshot",
                "district.330105.case_snapshot", "city.330102.rejection", ""])
                .prop_map(|k| Some(k.to_owned())),
        ],
        user in prop_oneof![
            Just(None),
            prop::sample::select(vec!["330102", "330105", "330106"]).prop_map(|c| Some(user_of(c))),
            awkward_string().prop_map(Some),
        ],
        message_id in prop::option::of(awkward_string()),
        kind in prop::option::of(prop_oneof![
            prop::sample::select(Kind::ALL.to_vec()).prop_map(|k| k.as_str().to_owned()),
            awkward_string(),
        ]),
        persistent in any::<bool>(),
    ) {
        let districts: Vec<&Example> =
            POSITIVE.iter().filter(|e| e.kind.from_district()).collect();
        let example = districts[pick.index(districts.len())];
        let data = serde_json::to_vec(&example.message).expect("JSON");
        // Without a key of its own, the example's (so the other properties are what is tested).
        let key = key.unwrap_or_else(|| format!("district.{SENDER}.{}", example.kind.as_str()));
        let incoming = Incoming {
            routing_key: &key,
            user_id: user.as_deref(),
            message_id: message_id.as_deref(),
            kind: kind.as_deref(),
            persistent,
            data: &data,
        };
        let verdict = check(&CITY.registry, incoming);
        sound(&incoming, &verdict)?;
    }

    /// Bytes that were never a message.
    #[test]
    fn fuzz_intake_random_bytes(
        data in prop::collection::vec(any::<u8>(), 0..2048),
        pick in any::<prop::sample::Index>(),
    ) {
        let kind = Kind::ALL[pick.index(Kind::ALL.len())];
        let user = user_of(SENDER);
        let key = format!("district.{SENDER}.{}", kind.as_str());
        let incoming = delivery(kind, &user, &key, &data);
        let verdict = check(&CITY.registry, incoming);
        sound(&incoming, &verdict)?;
    }
}

// --- The city file ------------------------------------------------------------------------

/// A folder laid out like tenants/hangzhou for the mutated city file: the catalogues and
/// boundaries it names are links to the real ones. Removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        // `<root>/hangzhou/city.toml` and `<root>/calendars`, as in the repository: the
        // city file names its holiday files as `../calendars/…`.
        let root = std::env::temp_dir().join(format!("citygrid-fuzz-{}", uuid::Uuid::new_v4()));
        let dir = root.join("hangzhou");
        std::fs::create_dir_all(&dir).expect("scratch folder");
        std::os::unix::fs::symlink(repo().join("tenants/calendars"), root.join("calendars"))
            .expect("link");
        let city = repo().join("tenants/hangzhou");
        for name in ["catalogue.toml", "catalogue-gbt47678.toml", "boundaries"] {
            std::os::unix::fs::symlink(city.join(name), dir.join(name)).expect("link");
        }
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Some(root) = self.0.parent() {
            let _ = std::fs::remove_dir_all(root);
        }
    }
}

static CITY_TEXT: LazyLock<String> = LazyLock::new(|| {
    std::fs::read_to_string(repo().join("tenants/hangzhou/city.toml")).expect("city file")
});

#[test]
fn fuzz_seeds_the_sample_city_file_loads_from_the_scratch_folder() {
    let scratch = Scratch::new();
    let path = scratch.0.join("city.toml");
    std::fs::write(&path, &*CITY_TEXT).expect("write");
    City::load(&path).expect("the untouched sample loads");
}

proptest! {
    #![proptest_config(cases(256))]

    /// The sample city file's text mutated: it loads, or the error names what is wrong;
    /// it never panics.
    #[test]
    fn fuzz_city_file_loader(ops in text_mutation()) {
        let scratch = Scratch::new();
        let path = scratch.0.join("city.toml");
        let text = mutate_text(&CITY_TEXT, &ops);
        std::fs::write(&path, &text).expect("write");
        if let Err(e) = City::load(&path) {
            let message = e.to_string();
            prop_assert!(
                names_a_file(&message, &scratch.0, &text),
                "the error names no file: {message}"
            );
        }
    }
}
