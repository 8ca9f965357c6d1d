//! Fuzz properties of the catalogue parser (`Catalogue::parse`, `parse_label`), seeded with
//! the sample catalogues of both editions: their parsed tree mutated (members dropped,
//! types changed, codes of every width, duplicates) and their text mutated (lines dropped
//! or repeated, characters inserted, truncation). The parser answers Ok or an error naming
//! the file, the key and the problem; it never panics.
//!
//! Self-contained: the standard depends on none of the other crates, not even in tests
//! (tests/support/tests/crate_graph.rs), so the text mutations of
//! `citygrid_test_support::fuzz` are not used here. A few hundred cases by default;
//! `PROPTEST_CASES=100000 cargo nextest run -p citygrid-schemas fuzz` runs longer.

use std::path::Path;
use std::sync::LazyLock;

use citygrid_schemas::catalogue::{Catalogue, parse_label};
use proptest::prelude::*;
use proptest::sample::Index;

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(256);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

const FILE: &str = "fuzz-catalogue.toml";

static SAMPLES: LazyLock<Vec<String>> = LazyLock::new(|| {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tenants/hangzhou");
    ["catalogue.toml", "catalogue-gbt47678.toml"]
        .iter()
        .map(|f| std::fs::read_to_string(dir.join(f)).expect("sample catalogue"))
        .collect()
});

/// The parser's answer is Ok, or an error that names this file, a key and a problem.
fn answers(text: &str) -> Result<(), TestCaseError> {
    if let Err(e) = Catalogue::parse(FILE, text) {
        prop_assert_eq!(&e.file, FILE);
        prop_assert!(!e.key.is_empty() && !e.message.is_empty(), "{e:?}");
    }
    Ok(())
}

#[test]
fn fuzz_seeds_the_sample_catalogues_parse() {
    for text in SAMPLES.iter() {
        let catalogue = Catalogue::parse(FILE, text).expect("sample parses");
        assert!(!catalogue.categories.is_empty());
    }
}

/// Values for any key of a catalogue, most of them wrong for it.
fn toml_value() -> impl Strategy<Value = toml::Value> {
    let leaf = prop_oneof![
        "[0-9]{0,6}".prop_map(toml::Value::String),
        Just(toml::Value::String("\0".into())),
        Just(toml::Value::String("GB/T 47678.5-2026".into())),
        Just(toml::Value::String("GB/T 30428.2-2013".into())),
        prop::sample::select(vec!["component", "event", "Event", "", "component:0101"])
            .prop_map(|s| toml::Value::String(s.into())),
        "(component|event|x):[0-9]{0,7}".prop_map(toml::Value::String),
        any::<String>().prop_map(toml::Value::String),
        any::<i64>().prop_map(toml::Value::Integer),
        any::<f64>().prop_map(toml::Value::Float),
        any::<bool>().prop_map(toml::Value::Boolean),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(toml::Value::Array),
            prop::collection::btree_map("[a-z]{1,8}", inner, 0..3)
                .prop_map(|m| toml::Value::Table(m.into_iter().collect())),
        ]
    })
}

#[derive(Debug, Clone)]
enum TreeOp {
    Remove,
    Replace(toml::Value),
    /// An element of an array (a major, a minor) repeated, so codes appear twice.
    Repeat(Index),
    Add(String, toml::Value),
}

fn tree_op() -> impl Strategy<Value = TreeOp> {
    prop_oneof![
        2 => Just(TreeOp::Remove),
        4 => toml_value().prop_map(TreeOp::Replace),
        1 => any::<Index>().prop_map(TreeOp::Repeat),
        1 => (prop::sample::select(vec!["aliases", "local", "replaces", "extra", "code"]),
              toml_value()).prop_map(|(k, v)| TreeOp::Add(k.into(), v)),
    ]
}

/// Every node's place in the tree: keys and positions from the root.
fn places(
    value: &toml::Value,
    at: &mut Vec<Result<String, usize>>,
    out: &mut Vec<Vec<Result<String, usize>>>,
) {
    out.push(at.clone());
    match value {
        toml::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                at.push(Err(i));
                places(item, at, out);
                at.pop();
            }
        }
        toml::Value::Table(table) => {
            for (key, item) in table {
                at.push(Ok(key.clone()));
                places(item, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

fn node<'a>(
    value: &'a mut toml::Value,
    path: &[Result<String, usize>],
) -> Option<&'a mut toml::Value> {
    path.iter().try_fold(value, |v, step| match (step, v) {
        (Ok(k), toml::Value::Table(t)) => t.get_mut(k),
        (Err(i), toml::Value::Array(a)) => a.get_mut(*i),
        _ => None,
    })
}

fn mutate_tree(doc: &mut toml::Value, ops: &[(Index, TreeOp)]) {
    for (at, op) in ops {
        let mut all = Vec::new();
        places(doc, &mut Vec::new(), &mut all);
        let path = &all[at.index(all.len())];
        if let TreeOp::Remove = op {
            if let Some((last, parent)) = path.split_last() {
                match (last, node(doc, parent)) {
                    (Ok(k), Some(toml::Value::Table(t))) => {
                        t.remove(k);
                    }
                    (Err(i), Some(toml::Value::Array(a))) => {
                        a.remove(*i);
                    }
                    _ => {}
                }
            }
            continue;
        }
        let Some(target) = node(doc, path) else {
            continue;
        };
        match op {
            TreeOp::Remove => {}
            TreeOp::Replace(v) if !path.is_empty() => *target = v.clone(),
            TreeOp::Replace(_) => {}
            TreeOp::Repeat(i) => {
                if let toml::Value::Array(a) = target
                    && !a.is_empty()
                {
                    let item = a[i.index(a.len())].clone();
                    a.push(item);
                }
            }
            TreeOp::Add(k, v) => {
                if let toml::Value::Table(t) = target {
                    t.insert(k.clone(), v.clone());
                }
            }
        }
    }
}

#[derive(Debug, Clone)]
enum TextOp {
    DropLine(Index),
    RepeatLine(Index),
    Insert(Index, String),
    Truncate(Index),
}

fn text_op() -> impl Strategy<Value = TextOp> {
    prop_oneof![
        any::<Index>().prop_map(TextOp::DropLine),
        any::<Index>().prop_map(TextOp::RepeatLine),
        (
            any::<Index>(),
            prop_oneof![
                prop::sample::select(vec![
                    "[",
                    "]",
                    "{",
                    "}",
                    "\"",
                    "=",
                    "\n",
                    "[[majors]]\n",
                    "\0",
                    ","
                ])
                .prop_map(str::to_owned),
                any::<String>(),
            ]
        )
            .prop_map(|(i, s)| TextOp::Insert(i, s)),
        any::<Index>().prop_map(TextOp::Truncate),
    ]
}

fn boundary(s: &str, at: &Index) -> usize {
    let bounds: Vec<usize> = s.char_indices().map(|(i, _)| i).chain([s.len()]).collect();
    bounds[at.index(bounds.len())]
}

fn mutate_text(text: &str, ops: &[TextOp]) -> String {
    let mut text = text.to_owned();
    for op in ops {
        let mut lines: Vec<&str> = text.lines().collect();
        text = match op {
            TextOp::DropLine(i) if !lines.is_empty() => {
                lines.remove(i.index(lines.len()));
                lines.join("\n")
            }
            TextOp::RepeatLine(i) if !lines.is_empty() => {
                let i = i.index(lines.len());
                lines.insert(i, lines[i]);
                lines.join("\n")
            }
            TextOp::Insert(i, extra) => {
                let mut t = text.clone();
                t.insert_str(boundary(&text, i), extra);
                t
            }
            TextOp::Truncate(i) => text[..boundary(&text, i)].to_owned(),
            TextOp::DropLine(_) | TextOp::RepeatLine(_) => text.clone(),
        };
    }
    text
}

proptest! {
    #![proptest_config(config())]

    /// The parsed sample mutated and written back: reaches the parser's own checks
    /// (codes, widths of each edition, duplicates, `replaces`) with well-formed TOML.
    #[test]
    fn fuzz_catalogue_tree(
        pick in 0usize..2,
        ops in prop::collection::vec((any::<Index>(), tree_op()), 1..5),
    ) {
        let mut doc: toml::Value = toml::from_str(&SAMPLES[pick]).expect("sample TOML");
        mutate_tree(&mut doc, &ops);
        if let Ok(text) = toml::to_string(&doc) {
            answers(&text)?;
        }
    }

    /// The sample's text mutated.
    #[test]
    fn fuzz_catalogue_text(
        pick in 0usize..2,
        ops in prop::collection::vec(text_op(), 1..5),
    ) {
        answers(&mutate_text(&SAMPLES[pick], &ops))?;
    }

    /// Random text, and labels shaped like `event:0102`.
    #[test]
    fn fuzz_catalogue_random_text_and_labels(
        text in any::<String>(),
        label in prop_oneof![
            "(component|event|[a-z]{0,9}):[0-9]{0,7}",
            any::<String>(),
            "[a-z]{0,9}:[\\PC]{0,6}",
        ],
    ) {
        answers(&text)?;
        if let Some(category) = parse_label(&label) {
            prop_assert_eq!(
                format!("{}:{}{}", category.kind.as_str(), category.major, category.minor),
                label
            );
        }
    }
}
