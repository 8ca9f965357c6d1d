//! Fuzz properties of what a district reads from outside, without a database: the tenant
//! file loader on mutations of the sample tenant files, and the kit's input checks every
//! request goes through (`nul_in_json` on JSON bodies, `parse_query` on query strings).
//! A few hundred cases each by default; run longer by hand with
//! `PROPTEST_CASES=100000 cargo nextest run -p citygrid-platform fuzz` (docs/SECURITY.md).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::LazyLock;

use citygrid_kit::http::NoParams;
use citygrid_kit::http::extract::{nul_in_json, parse_query};
use citygrid_platform::case::handlers::ListQuery;
use citygrid_platform::config::Tenant;
use citygrid_test_support::fuzz::{
    awkward_string, cases, json_mutation, mutate_text, names_a_file, text_mutation,
};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{Value, json};

use crate::helpers::{rubbish, tenant_path};

const DISTRICTS: [&str; 3] = ["330102", "330105", "330106"];

// --- Tenant files -------------------------------------------------------------------------

/// A folder laid out like tenants/ for a mutated tenant file at
/// `<scratch>/hangzhou/districts/<code>.toml`: what the file names (catalogues, manual,
/// boundaries, holiday calendars) are links to the real ones. Removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        let dir = std::env::temp_dir().join(format!("citygrid-fuzz-{}", uuid::Uuid::new_v4()));
        let tenants = citygrid_test_support::repo().join("tenants");
        std::fs::create_dir_all(dir.join("hangzhou/districts")).expect("scratch folder");
        for name in [
            "catalogue.toml",
            "catalogue-gbt47678.toml",
            "manual.toml",
            "boundaries",
            "grids",
            "addresses",
        ] {
            std::os::unix::fs::symlink(
                tenants.join("hangzhou").join(name),
                dir.join("hangzhou").join(name),
            )
            .expect("link");
        }
        std::os::unix::fs::symlink(tenants.join("calendars"), dir.join("calendars")).expect("link");
        Scratch(dir)
    }

    fn tenant(&self, code: &str) -> PathBuf {
        self.0.join(format!("hangzhou/districts/{code}.toml"))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

static TENANT_TEXTS: LazyLock<Vec<String>> = LazyLock::new(|| {
    DISTRICTS
        .iter()
        .map(|code| std::fs::read_to_string(tenant_path(code)).expect("sample tenant"))
        .collect()
});

#[test]
fn fuzz_seeds_the_sample_tenants_load_from_the_scratch_folder() {
    let scratch = Scratch::new();
    for (code, text) in DISTRICTS.iter().zip(TENANT_TEXTS.iter()) {
        let path = scratch.tenant(code);
        std::fs::write(&path, text).expect("write");
        Tenant::load(&path).expect("the untouched sample loads");
    }
}

proptest! {
    #![proptest_config(cases(256))]

    /// A sample tenant file's text mutated: it loads, or the error names the file at
    /// fault (the tenant file or one it points to); it never panics.
    #[test]
    fn fuzz_tenant_file_loader(pick in 0..DISTRICTS.len(), ops in text_mutation()) {
        let scratch = Scratch::new();
        let path = scratch.tenant(DISTRICTS[pick]);
        let text = mutate_text(&TENANT_TEXTS[pick], &ops);
        std::fs::write(&path, &text).expect("write");
        if let Err(e) = Tenant::load(&path) {
            let message = e.to_string();
            prop_assert!(
                names_a_file(&message, &scratch.0, &text),
                "the error names no file: {message}"
            );
        }
    }
}

// --- JSON bodies: nul_in_json -------------------------------------------------------------------

/// Bodies the district API takes, and the standard's messages (the city runs the same
/// check on them), as seeds.
static BODIES: LazyLock<Vec<Value>> = LazyLock::new(|| {
    let mut bodies = vec![
        json!({ "description": "暴露垃圾", "lon": 120.2, "lat": 30.26, "photos": [] }),
        json!({ "version": 1, "category": rubbish(), "street": "330102001" }),
        json!({ "username": "sc-op1", "password": "demo-pass-1" }),
        json!({ "version": 3, "reason": "out_of_scope", "comment": "x", "duplicate_of": null }),
    ];
    let examples = citygrid_test_support::repo().join("schemas/examples");
    for entry in std::fs::read_dir(examples).expect("examples").flatten() {
        if let Ok(text) = std::fs::read_to_string(entry.path()) {
            bodies.extend(serde_json::from_str::<Value>(&text));
        }
    }
    bodies
});

/// Where a NUL is, found the slow way: any string or member name holding U+0000.
fn holds_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(holds_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || holds_nul(v)),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

fn nul_found_exactly_where_it_is(bytes: &[u8]) -> Result<(), TestCaseError> {
    let found = nul_in_json(bytes);
    match serde_json::from_slice::<Value>(bytes) {
        Ok(value) => prop_assert_eq!(
            found.is_some(),
            holds_nul(&value),
            "nul_in_json said {:?} of {}",
            found,
            value
        ),
        // Not JSON: refused as malformed by the parser, whatever this says.
        Err(_) => prop_assert!(found.is_none()),
    }
    if let Some(path) = found {
        prop_assert!(!path.is_empty() && !path.contains('\0'), "{path:?}");
    }
    Ok(())
}

proptest! {
    #![proptest_config(cases(256))]

    /// Mutated bodies: a NUL is reported exactly when the document holds one, at a
    /// printable path; never a panic.
    #[test]
    fn fuzz_nul_in_json_mutated_bodies(
        pick in any::<prop::sample::Index>(),
        mutation in json_mutation(),
    ) {
        let seed = &BODIES[pick.index(BODIES.len())];
        nul_found_exactly_where_it_is(&mutation.apply(seed))?;
    }

    /// Random bytes, and text around the escape `\u0000` it looks for.
    #[test]
    fn fuzz_nul_in_json_random_bytes(
        bytes in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..512),
            "[\\[\\]{}\":,\\\\u0a ]{0,64}".prop_map(String::into_bytes),
            "(\\{\"[a-z\\\\u0]{0,6}\":\"[a-z\\\\u0]{0,8}\"\\}|\\[\"\\\\u0000\"\\]|\"\\\\\\\\u0000\"){1,4}"
                .prop_map(String::into_bytes),
        ],
    ) {
        nul_found_exactly_where_it_is(&bytes)?;
    }
}

// --- Query strings: parse_query -----------------------------------------------------------------

/// A query string: `name=value` pairs of known and unknown names, percent-escapes (valid,
/// invalid, `%00`), awkward text, or anything at all.
fn query() -> impl Strategy<Value = String> {
    let name = prop_oneof![
        prop::sample::select(vec![
            "state",
            "category",
            "department",
            "street",
            "from",
            "to",
            "q",
            "cursor",
            "limit",
            "",
            "st%00ate",
            "limit%",
            "%ZZ",
            "a+b",
        ])
        .prop_map(str::to_owned),
        awkward_string(),
    ];
    let value = prop_oneof![
        prop::sample::select(vec![
            "filed,dispatched",
            "event:0102",
            "330102001",
            "2026-11-24T01:02:00Z",
            "-1",
            "9223372036854775808",
            "1e3",
            "%00",
            "%",
            "%E4%B8",
            "%FF%FE",
            "",
            "+",
        ])
        .prop_map(str::to_owned),
        awkward_string(),
    ];
    let pair = (name, prop::option::of(value)).prop_map(|(n, v)| match v {
        Some(v) => format!("{n}={v}"),
        None => n,
    });
    prop_oneof![
        4 => prop::collection::vec(pair, 0..6).prop_map(|pairs| pairs.join("&")),
        1 => any::<String>(),
    ]
}

fn query_refusal_is_an_envelope<T: std::fmt::Debug>(
    result: Result<T, citygrid_kit::Error>,
) -> Result<(), TestCaseError> {
    if let Err(e) = result {
        let status = e.status().as_u16();
        prop_assert!(status == 400 || status == 422, "{status}: {e}");
        prop_assert!(!e.code().is_empty());
        if let Some(field) = e.field() {
            prop_assert!(!field.contains('\0'), "{field:?}");
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(cases(256))]

    /// Random query strings into the case list's filters, into a map and into no
    /// parameters: a value, or 400/422 naming the parameter without a NUL; never a panic.
    #[test]
    fn fuzz_parse_query(query in query()) {
        let list = parse_query::<ListQuery>(&query);
        if let Ok(f) = &list {
            let texts = [&f.state, &f.category, &f.department, &f.street, &f.q];
            prop_assert!(
                texts.iter().all(|t| t.as_deref().is_none_or(|t| !t.contains('\0'))),
                "a NUL passed: {f:?}"
            );
        }
        query_refusal_is_an_envelope(list)?;
        query_refusal_is_an_envelope(parse_query::<HashMap<String, String>>(&query))?;
        let none = parse_query::<NoParams>(&query);
        if none.is_ok() {
            prop_assert!(
                form_urlencoded_is_empty(&query),
                "NoParams took parameters: {query:?}"
            );
        }
        query_refusal_is_an_envelope(none)?;
    }
}

/// Whether a query string holds no parameter at all (`""`, `"&&"`).
fn form_urlencoded_is_empty(query: &str) -> bool {
    query.split('&').all(str::is_empty)
}
