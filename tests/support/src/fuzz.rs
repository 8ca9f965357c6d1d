//! Structured random input for the fuzz properties (proptest, stable Rust): real samples —
//! the standard's example messages, the sample tenant and city files — mutated the way a
//! broken or hostile sender would: a member dropped, a type changed, a huge, negative or
//! non-finite number, awkward Unicode (U+0000 included), deep nesting, truncated or random
//! bytes. Each property runs [`cases`] cases: few by default, so `ops/test` stays quick;
//! `PROPTEST_CASES=100000 cargo nextest run -p citygrid-exchange fuzz` runs longer by hand
//! (docs/SECURITY.md).

use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{Map, Value};

/// The cases a property runs: `PROPTEST_CASES` when set (a longer run by hand), else
/// `default`. Failures are kept in `proptest-regressions/` beside the test and replayed
/// first on every later run.
pub fn cases(default: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

/// Text that no `serde_json::Value` holds, written into a document in place of a marker
/// string: numbers beyond every Rust type, non-finite "numbers", lone surrogates, nesting
/// deeper than any parser's limit.
fn raw_json() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("1e400".to_owned()),
        Just("-1e400".to_owned()),
        Just("18446744073709551616".to_owned()),
        Just("-9223372036854775809".to_owned()),
        Just("123456789012345678901234567890.5".to_owned()),
        Just("NaN".to_owned()),
        Just("Infinity".to_owned()),
        Just("-0".to_owned()),
        Just("1.0".to_owned()),
        Just("1e2".to_owned()),
        Just("\"\\ud800\"".to_owned()),
        Just("\"\\u0000\"".to_owned()),
        (1usize..3000).prop_map(|depth| format!("{}{}", "[".repeat(depth), "]".repeat(depth))),
        (1usize..3000).prop_map(|depth| format!(
            "{}null{}",
            "{\"a\":".repeat(depth),
            "}".repeat(depth)
        )),
    ]
}

/// Strings a sender should not get away with: U+0000 and other controls, the largest
/// scalar, right-to-left marks, combining characters, very long text.
pub fn awkward_string() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "\\PC{0,40}",
        Just("\0".to_owned()),
        Just("a\0b".to_owned()),
        Just("\u{10FFFF}\u{FFFE}\u{FEFF}".to_owned()),
        Just("\u{202E}evil\u{202C}".to_owned()),
        Just("e\u{301}\u{301}\u{301}".to_owned()),
        Just(String::new()),
        Just(" ".to_owned()),
        (1usize..600_000).prop_map(|n| "x".repeat(n)),
    ]
}

/// A JSON value of any type, biased to the edges.
pub fn edge_value() -> impl Strategy<Value = Value> {
    let number = prop_oneof![
        Just(Value::from(0)),
        Just(Value::from(-1)),
        Just(Value::from(1)),
        Just(Value::from(u64::MAX)),
        Just(Value::from(i64::MIN)),
        Just(Value::from(u64::from(u32::MAX) + 1)),
        Just(Value::from(1e308)),
        Just(Value::from(-0.5)),
        Just(Value::from(f64::MIN_POSITIVE)),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        number,
        awkward_string().prop_map(Value::from),
        Just(Value::Array(Vec::new())),
        Just(Value::Object(Map::new())),
    ];
    leaf.prop_recursive(3, 12, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{0,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// One change to one node of a JSON document.
#[derive(Debug, Clone)]
pub enum JsonOp {
    /// The member or element goes (the root becomes `null`).
    Remove,
    Replace(Value),
    /// Replaced by text no `Value` holds (see [`raw_json`]).
    Raw(String),
    /// The same content as another type: a string as a number, an object as an array, …
    Retype,
    /// A member (an element, in an array) is added.
    Add(String, Value),
    /// Characters inserted into a string (or the node becomes that string).
    Splice(Index, String),
    /// An array's element or an object's member repeated.
    Repeat(Index, usize),
    /// A string in another spelling its format may or may not allow: a UUID without
    /// hyphens, in capitals or braces; a date-time with a space, in lower case, without
    /// its zone, with a leap second; digits in full width; padding.
    Respell(u8),
}

fn json_op() -> impl Strategy<Value = JsonOp> {
    prop_oneof![
        3 => Just(JsonOp::Remove),
        3 => edge_value().prop_map(JsonOp::Replace),
        1 => raw_json().prop_map(JsonOp::Raw),
        2 => Just(JsonOp::Retype),
        2 => ("[a-z_]{0,10}", edge_value()).prop_map(|(k, v)| JsonOp::Add(k, v)),
        2 => (any::<Index>(), awkward_string()).prop_map(|(i, s)| JsonOp::Splice(i, s)),
        1 => (any::<Index>(), 1usize..40).prop_map(|(i, n)| JsonOp::Repeat(i, n)),
        3 => any::<u8>().prop_map(JsonOp::Respell),
    ]
}

/// What happens to the bytes after the JSON mutations.
#[derive(Debug, Clone)]
pub enum ByteOp {
    Keep,
    Truncate(Index),
    Insert(Index, Vec<u8>),
    Flip(Index, u8),
    /// Bytes that were never JSON.
    Random(Vec<u8>),
}

fn byte_op() -> impl Strategy<Value = ByteOp> {
    prop_oneof![
        40 => Just(ByteOp::Keep),
        2 => any::<Index>().prop_map(ByteOp::Truncate),
        1 => (any::<Index>(), prop::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(i, b)| ByteOp::Insert(i, b)),
        1 => (any::<Index>(), 1u8..=255).prop_map(|(i, b)| ByteOp::Flip(i, b)),
        1 => prop::collection::vec(any::<u8>(), 0..256).prop_map(ByteOp::Random),
    ]
}

/// A mutation of a JSON document: one to three node changes, each at a node picked among
/// all of the document's nodes, then perhaps a change to the bytes.
#[derive(Debug, Clone)]
pub struct JsonMutation {
    pub ops: Vec<(Index, JsonOp)>,
    pub bytes: ByteOp,
}

pub fn json_mutation() -> impl Strategy<Value = JsonMutation> {
    (
        prop::collection::vec((any::<Index>(), json_op()), 1..4),
        byte_op(),
    )
        .prop_map(|(ops, bytes)| JsonMutation { ops, bytes })
}

/// A marker no sample holds: where raw text goes in the serialised document.
const RAW: &str = "\u{1}raw-json\u{1}";

/// A node's place: member names and element positions from the root.
#[derive(Debug, Clone)]
enum Step {
    Key(String),
    At(usize),
}

fn paths(value: &Value, at: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    out.push(at.clone());
    match value {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                at.push(Step::At(i));
                paths(item, at, out);
                at.pop();
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                at.push(Step::Key(key.clone()));
                paths(item, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

fn node<'a>(value: &'a mut Value, path: &[Step]) -> Option<&'a mut Value> {
    path.iter().try_fold(value, |v, step| match (step, v) {
        (Step::Key(k), Value::Object(map)) => map.get_mut(k),
        (Step::At(i), Value::Array(items)) => items.get_mut(*i),
        _ => None,
    })
}

fn retype(value: &Value) -> Value {
    match value {
        Value::Null => Value::from(""),
        Value::Bool(b) => Value::from(b.to_string()),
        Value::Number(n) => Value::from(n.to_string()),
        Value::String(s) => s
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or_else(|| Value::from(s.chars().count()), Value::Number),
        Value::Array(items) => Value::Object(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| (i.to_string(), v.clone()))
                .collect(),
        ),
        Value::Object(map) => Value::Array(map.values().cloned().collect()),
    }
}

/// `s` spelt another way (see [`JsonOp::Respell`]); `pick` chooses which.
fn respell(s: &str, pick: u8) -> String {
    let uuid_like = s.len() == 36 && s.matches('-').count() == 4;
    let time_like = s.len() >= 20 && s.as_bytes().get(10) == Some(&b'T');
    let digits = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let options: Vec<String> = if uuid_like {
        vec![
            s.replace('-', ""),
            s.to_uppercase(),
            format!("{{{s}}}"),
            format!("urn:uuid:{s}"),
            s.replacen('-', "", 1),
        ]
    } else if time_like {
        vec![
            s.replacen('T', " ", 1),
            s.replacen('T', "t", 1).to_lowercase(),
            s.trim_end_matches('Z').to_owned(),
            s.replace('Z', "+08:00"),
            s.replace('Z', "+0800"),
            s.replace('Z', ".123456789Z"),
            s.replace("00Z", "60Z"),
            s.replace('Z', "-00:00"),
            s.replacen('-', "", 2),
            format!("+{s}"),
            s[..10].to_owned(),
        ]
    } else if digits {
        vec![
            s.chars()
                .map(|c| char::from_u32(u32::from(c) - 0x30 + 0xFF10).unwrap_or(c))
                .collect(),
            format!(" {s}"),
            format!("{s}\n"),
            format!("+{s}"),
            s.chars().rev().collect(),
        ]
    } else {
        vec![
            s.to_uppercase(),
            format!("{s} "),
            s.replace(' ', "\u{3000}"),
        ]
    };
    options[usize::from(pick) % options.len()].clone()
}

fn char_boundary(s: &str, at: &Index) -> usize {
    let bounds: Vec<usize> = s.char_indices().map(|(i, _)| i).chain([s.len()]).collect();
    bounds[at.index(bounds.len())]
}

/// Applies one op; the raw texts it leaves as markers are returned to be written in.
fn apply_op(doc: &mut Value, at: &Index, op: &JsonOp, raws: &mut Vec<String>) {
    let mut all = Vec::new();
    paths(doc, &mut Vec::new(), &mut all);
    let path = &all[at.index(all.len())];
    if let JsonOp::Remove = op {
        match path.split_last() {
            None => *doc = Value::Null,
            Some((last, parent)) => match (last, node(doc, parent)) {
                (Step::Key(k), Some(Value::Object(map))) => {
                    map.remove(k);
                }
                (Step::At(i), Some(Value::Array(items))) => {
                    items.remove(*i);
                }
                _ => {}
            },
        }
        return;
    }
    let Some(target) = node(doc, path) else {
        return;
    };
    match op {
        JsonOp::Remove => {}
        JsonOp::Replace(value) => *target = value.clone(),
        JsonOp::Raw(text) => {
            *target = Value::from(format!("{RAW}{}", raws.len()));
            raws.push(text.clone());
        }
        JsonOp::Retype => *target = retype(target),
        JsonOp::Add(key, value) => match target {
            Value::Object(map) => {
                map.insert(key.clone(), value.clone());
            }
            Value::Array(items) => items.push(value.clone()),
            other => *other = Value::Array(vec![other.clone(), value.clone()]),
        },
        JsonOp::Splice(i, text) => match target {
            Value::String(s) => {
                let at = char_boundary(s, i);
                s.insert_str(at, text);
            }
            other => *other = Value::from(text.clone()),
        },
        JsonOp::Respell(pick) => {
            if let Value::String(s) = target {
                *s = respell(s, *pick);
            }
        }
        JsonOp::Repeat(i, n) => match target {
            Value::Array(items) if !items.is_empty() => {
                let item = items[i.index(items.len())].clone();
                items.extend(std::iter::repeat_n(item, *n));
            }
            Value::Object(map) if !map.is_empty() => {
                let (key, item) = map
                    .iter()
                    .nth(i.index(map.len()))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .expect("a member");
                for n in 0..*n {
                    map.insert(format!("{key}{n}"), item.clone());
                }
            }
            _ => {}
        },
    }
}

impl JsonMutation {
    /// The mutated document's bytes.
    pub fn apply(&self, original: &Value) -> Vec<u8> {
        let mut doc = original.clone();
        let mut raws = Vec::new();
        for (at, op) in &self.ops {
            apply_op(&mut doc, at, op, &mut raws);
        }
        let mut text = serde_json::to_string(&doc).expect("a Value serialises");
        for (i, raw) in raws.iter().enumerate().rev() {
            // The marker's control characters are escaped in the JSON text.
            let marker = serde_json::to_string(&format!("{RAW}{i}")).expect("marker");
            text = text.replace(&marker, raw);
        }
        let mut bytes = text.into_bytes();
        mutate_bytes(&mut bytes, &self.bytes);
        bytes
    }
}

fn mutate_bytes(bytes: &mut Vec<u8>, op: &ByteOp) {
    match op {
        ByteOp::Keep => {}
        ByteOp::Truncate(at) => bytes.truncate(at.index(bytes.len() + 1)),
        ByteOp::Insert(at, extra) => {
            let at = at.index(bytes.len() + 1);
            bytes.splice(at..at, extra.iter().copied());
        }
        ByteOp::Flip(at, mask) => {
            if !bytes.is_empty() {
                let at = at.index(bytes.len());
                bytes[at] ^= mask;
            }
        }
        ByteOp::Random(random) => bytes.clone_from(random),
    }
}

// --- Text files (TOML) -------------------------------------------------------------------

/// Values a TOML key could be set to, most of them wrong for it.
fn toml_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("\"\"".to_owned()),
        Just("\"\\u0000\"".to_owned()),
        Just("0".to_owned()),
        Just("-1".to_owned()),
        Just("9223372036854775807".to_owned()),
        Just("-9223372036854775808".to_owned()),
        Just("99999999999999999999".to_owned()),
        Just("nan".to_owned()),
        Just("inf".to_owned()),
        Just("-inf".to_owned()),
        Just("1e400".to_owned()),
        Just("0.0".to_owned()),
        Just("true".to_owned()),
        Just("[]".to_owned()),
        Just("{}".to_owned()),
        Just("1979-05-27T07:32:00Z".to_owned()),
        Just("\"../../../../nowhere\"".to_owned()),
        Just("\"/\"".to_owned()),
        Just(format!("[{}]", "[".repeat(200) + &"]".repeat(200))),
        any::<i64>().prop_map(|n| n.to_string()),
        awkward_string().prop_map(|s| {
            let s: String = s.chars().take(2_000).collect();
            toml_quote(&s)
        }),
    ]
}

/// `s` as a TOML basic string.
fn toml_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// One change to a text file.
#[derive(Debug, Clone)]
pub enum TextOp {
    /// A `key = value` line's value replaced.
    SetValue(Index, String),
    DropLine(Index),
    RepeatLine(Index),
    /// Characters or bytes' worth of text inserted anywhere.
    Insert(Index, String),
    Delete(Index, usize),
    Truncate(Index),
}

fn text_op() -> impl Strategy<Value = TextOp> {
    prop_oneof![
        6 => (any::<Index>(), toml_value()).prop_map(|(i, v)| TextOp::SetValue(i, v)),
        3 => any::<Index>().prop_map(TextOp::DropLine),
        2 => any::<Index>().prop_map(TextOp::RepeatLine),
        2 => (any::<Index>(), prop_oneof![
                Just("[".to_owned()), Just("]".to_owned()), Just("\"".to_owned()),
                Just("=".to_owned()), Just("\n".to_owned()), Just("[[".to_owned()),
                Just("\0".to_owned()), Just("'''".to_owned()), awkward_string(),
            ]).prop_map(|(i, s)| TextOp::Insert(i, s)),
        1 => (any::<Index>(), 1usize..64).prop_map(|(i, n)| TextOp::Delete(i, n)),
        1 => any::<Index>().prop_map(TextOp::Truncate),
    ]
}

/// Up to four changes to a text file.
pub fn text_mutation() -> impl Strategy<Value = Vec<TextOp>> {
    prop::collection::vec(text_op(), 1..5)
}

/// `text` after `ops`.
pub fn mutate_text(text: &str, ops: &[TextOp]) -> String {
    let mut text = text.to_owned();
    for op in ops {
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        match op {
            TextOp::SetValue(at, value) => {
                let keyed: Vec<usize> = (0..lines.len())
                    .filter(|&i| lines[i].contains('=') && !lines[i].trim_start().starts_with('#'))
                    .collect();
                if keyed.is_empty() {
                    continue;
                }
                let line = &mut lines[keyed[at.index(keyed.len())]];
                let eq = line.find('=').expect("a key line");
                line.truncate(eq + 1);
                line.push(' ');
                line.push_str(value);
                text = lines.join("\n");
            }
            TextOp::DropLine(at) if !lines.is_empty() => {
                lines.remove(at.index(lines.len()));
                text = lines.join("\n");
            }
            TextOp::RepeatLine(at) if !lines.is_empty() => {
                let i = at.index(lines.len());
                lines.insert(i, lines[i].clone());
                text = lines.join("\n");
            }
            TextOp::Insert(at, extra) => {
                let at = char_boundary(&text, at);
                text.insert_str(at, extra);
            }
            TextOp::Delete(at, n) => {
                let from = char_boundary(&text, at);
                let to = text[from..]
                    .char_indices()
                    .nth(*n)
                    .map_or(text.len(), |(i, _)| from + i);
                text.replace_range(from..to, "");
            }
            TextOp::Truncate(at) => {
                let at = char_boundary(&text, at);
                text.truncate(at);
            }
            TextOp::DropLine(_) | TextOp::RepeatLine(_) => {}
        }
    }
    text
}

/// Whether a loader's error names the file at fault: one in `dir` (the file loaded, or
/// one it points to), or a path the (mutated) file `text` itself names, such as `"/"`.
pub fn names_a_file(message: &str, dir: &std::path::Path, text: &str) -> bool {
    if message.contains(&*dir.to_string_lossy()) {
        return true;
    }
    text.split('"')
        .skip(1)
        .step_by(2)
        .any(|quoted| quoted.contains('/') && message.contains(quoted))
}

#[cfg(test)]
mod tests {
    use super::*;

    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    #[test]
    fn raw_text_replaces_its_marker_wherever_it_lands() {
        let mut runner = TestRunner::deterministic();
        let doc = serde_json::json!({ "a": [1, { "b": "c" }] });
        for _ in 0..50 {
            let at = any::<Index>()
                .new_tree(&mut runner)
                .expect("an index")
                .current();
            let mutation = JsonMutation {
                ops: vec![(at, JsonOp::Raw("1e400".into()))],
                bytes: ByteOp::Keep,
            };
            let out = String::from_utf8(mutation.apply(&doc)).expect("UTF-8");
            assert!(out.contains("1e400") && !out.contains("raw-json"), "{out}");
        }
    }

    #[test]
    fn text_edits_keep_to_char_boundaries() {
        let mut runner = TestRunner::deterministic();
        let text = "a = \"上城区\"\n[b]\nc = 1\n";
        for _ in 0..500 {
            let ops = text_mutation()
                .new_tree(&mut runner)
                .expect("ops")
                .current();
            mutate_text(text, &ops);
        }
    }
}
