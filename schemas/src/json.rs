//! The JSON Schema files (`schemas/json/v1/<kind>.json`, and `details.json` for a business
//! record's `details` per action) and example messages (`schemas/examples/<kind>.json`),
//! generated from the types. `cargo test -p
//! citygrid-schemas` fails when the committed files differ; `CITYGRID_BLESS=1` rewrites them.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::*;

fn schema_of<B: Body>() -> Value {
    let mut schema =
        serde_json::to_value(schemars::schema_for!(Envelope<B>)).expect("a schema is JSON");
    let kind = B::KIND.as_str();
    schema["title"] = json!(format!("{SCHEMA} {kind}"));
    schema["description"] = json!(format!(
        "A `{kind}` message of the CityGrid interchange standard v1. Fields not listed are \
         ignored by readers."
    ));
    schema["properties"]["schema"] = json!({ "const": SCHEMA });
    schema["properties"]["kind"] = json!({ "const": kind });
    schema
}

/// `(kind, JSON Schema)` for every kind.
pub fn schemas() -> Vec<(Kind, Value)> {
    Kind::ALL
        .into_iter()
        .map(|kind| {
            let schema = match kind {
                Kind::CaseSnapshot => schema_of::<CaseSnapshot>(),
                Kind::BusinessRecord => {
                    let mut schema = schema_of::<BusinessRecord>();
                    point_to_details(&mut schema);
                    schema
                }
                Kind::MediaManifest => schema_of::<MediaManifest>(),
                Kind::MediaChunk => schema_of::<MediaChunk>(),
                Kind::SyncRequest => schema_of::<SyncRequest>(),
                Kind::SyncBatch => schema_of::<SyncBatch>(),
                Kind::SupervisionOrder => schema_of::<SupervisionOrder>(),
                Kind::SupervisionAck => schema_of::<SupervisionAck>(),
                Kind::ReconciliationDigest => schema_of::<ReconciliationDigest>(),
                Kind::Rejection => schema_of::<Rejection>(),
                Kind::MediaRequest => schema_of::<MediaRequest>(),
                Kind::CityProblem => schema_of::<CityProblem>(),
                Kind::ReferralDecision => schema_of::<ReferralDecision>(),
                Kind::ReportNotice => schema_of::<ReportNotice>(),
            };
            (kind, schema)
        })
        .collect()
}

/// The business record's `details` stays any JSON value in its own schema (what it accepts
/// does not change); its description sends readers to `details.json`.
fn point_to_details(schema: &mut Value) {
    if let Some(details) = schema
        .pointer_mut("/$defs/BusinessRecord/properties/details")
        .and_then(Value::as_object_mut)
    {
        let said = details
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let more = "Its shape per `action` is in `details.json` (`$defs.<action>`, e.g. \
                    `$defs.file`), which also validates a whole business_record body.";
        details.insert(
            "description".into(),
            json!(if said.is_empty() {
                more.to_owned()
            } else {
                format!("{said}\n{more}")
            }),
        );
    }
}

/// The file name of the details schema, next to the kinds' in `json/v1/`.
pub const DETAILS_FILE: &str = "details.json";

/// The JSON Schema of a business record's `details`, per action: `$defs.<action>` (e.g.
/// `$defs.file`) is the details of that action, the other `$defs` the types they use. The
/// schema itself validates an object with `action` and `details` (a `business_record`
/// body): `details` against the definition of its `action`.
pub fn details_schema() -> Value {
    let mut generator = schemars::SchemaGenerator::default();
    let actions = details::schemas(&mut generator);
    let action_ref = generator.subschema_for::<Action>().to_value();
    let mut defs = generator.take_definitions(true);
    let examples: std::collections::BTreeMap<String, Value> = details::examples()
        .into_iter()
        .map(|(action, example)| (action_name(action), example))
        .collect();
    let mut cases = Vec::new();
    for (action, reference) in actions {
        let name = action_name(action);
        // The definition moves from the type's name (`File`) to the action's (`file`).
        let type_name = reference["$ref"]
            .as_str()
            .and_then(|r| r.strip_prefix("#/$defs/"))
            .expect("a details type is a definition")
            .to_owned();
        let mut definition = defs.remove(&type_name).expect("its definition");
        if let Some(example) = examples.get(&name) {
            definition["examples"] = json!([example]);
        }
        defs.insert(name.clone(), definition);
        cases.push(json!({
            "if": {
                "properties": { "action": { "const": name } },
                "required": ["action"]
            },
            "then": {
                "properties": { "details": { "$ref": format!("#/$defs/{name}") } }
            }
        }));
    }
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": format!("{SCHEMA} business_record details"),
        "description": "The `details` of a `business_record`, one shape per `action`: \
            `$defs.<action>` (e.g. `$defs.file`). This schema validates a business_record \
            body (any object with `action` and `details`): `details` against the \
            definition of its `action`. Keys not listed are ignored by readers, so a later \
            minor revision can add optional keys.",
        "type": "object",
        "properties": {
            "action": action_ref,
            "details": { "type": "object" }
        },
        "required": ["action", "details"],
        "allOf": cases,
        "$defs": defs,
    })
}

fn action_name(action: Action) -> String {
    serde_json::to_value(action)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .expect("an action is a string")
}

fn at(hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, hour, minute, 0)
        .single()
        .expect("a valid instant")
}

fn message<B: Body>(seq: u64, sent_at: DateTime<Utc>, body: B) -> Value {
    serde_json::to_value(Envelope::new("330102", seq, sent_at, body)).expect("serialisable")
}

const CASE: Uuid = Uuid::from_u128(0x0193_5a7e_4c1d_7b2a_9f00_3e51_c0a8_0001);

/// A dispatched case of 上城区 (330102): 暴露垃圾 on a street, supervisor report.
pub fn example_snapshot() -> CaseSnapshot {
    CaseSnapshot {
        case_id: CASE,
        number: 1024,
        version: 3,
        state: CaseState::Dispatched,
        source: Source::Supervisor,
        urgency: Urgency::Normal,
        category: Some(Category {
            kind: CategoryKind::Event,
            major: "01".into(),
            minor: "02".into(),
            edition: Some(Edition::Gbt30428),
        }),
        description: "暴露垃圾: 路边堆放生活垃圾约 2 平方米".into(),
        address: Some("上城区解放路 120 号".into()),
        location: Point {
            lon: 120.1718,
            lat: 30.2571,
        },
        street_code: Some("330102001".into()),
        community_code: Some("330102001002".into()),
        cell_code: Some("330102001002017".into()),
        department_code: Some("huanwei".into()),
        reporter_id: Some(Uuid::from_u128(0x51)),
        verified: None,
        duplicate_of: None,
        rework_count: 0,
        return_count: 0,
        extension_minutes: 0,
        satisfaction: None,
        manual_version: Some("hz-manual-2026.1".into()),
        manual_condition: Some("01".into()),
        component_id: None,
        current_stage: Some(StageClock {
            stage: Stage::Handling,
            clock: Clock::Working,
            started_at: at(1, 40),
            limit_minutes: 240,
            yellow_at: Some(at(4, 52)),
            deadline: Some(at(5, 40)),
        }),
        supervision_pending: false,
        supervision_level: None,
        milestones: Milestones {
            reported_at: Some(at(1, 2)),
            filed_at: Some(at(1, 15)),
            dispatched_at: Some(at(1, 40)),
            ..Milestones::default()
        },
        created_at: at(1, 2),
        updated_at: at(1, 40),
    }
}

/// Every kind's example message.
pub fn examples() -> Vec<(Kind, Value)> {
    let (manifest, chunks) = split_media(
        b"\xff\xd8\xff\xe0 an example, not a real JPEG",
        "image/jpeg",
        CASE,
    );
    let photo_hash = manifest.sha256.clone();
    let record = BusinessRecord {
        record_id: 4711,
        case_id: CASE,
        case_version: 3,
        action: Action::Dispatch,
        from_state: Some(CaseState::Filed),
        to_state: CaseState::Dispatched,
        actor_id: Some(Uuid::from_u128(0x53)),
        actor_role: Role::Dispatcher,
        comment: Some("请尽快清运".into()),
        media: vec![],
        details: json!({ "department": "huanwei" }),
        stage_ended: Some(StageOutcome {
            stage: Stage::Dispatch,
            clock: Clock::Working,
            started_at: at(1, 15),
            deadline: at(1, 45),
            ended_at: at(1, 40),
            on_time: true,
            // 09:15 to 09:40 Beijing time, all inside the morning's working period.
            working_minutes: Some(25),
        }),
        at: at(1, 40),
    };
    let request = Uuid::from_u128(0x5e);
    vec![
        (
            Kind::CaseSnapshot,
            message(12, at(1, 40), example_snapshot()),
        ),
        (Kind::BusinessRecord, message(11, at(1, 40), record.clone())),
        (Kind::MediaManifest, message(10, at(1, 2), manifest)),
        (Kind::MediaChunk, message(10, at(1, 2), chunks[0].clone())),
        (
            Kind::SyncRequest,
            message(
                3,
                at(2, 0),
                SyncRequest {
                    request_id: request,
                    from_seq: 11,
                    to_seq: Some(12),
                },
            ),
        ),
        (
            Kind::SyncBatch,
            message(
                13,
                at(2, 0),
                SyncBatch {
                    request_id: request,
                    messages: vec![
                        serde_json::from_value(message(11, at(1, 40), record))
                            .expect("an envelope"),
                    ],
                    oldest_retained_seq: None,
                    last: false,
                },
            ),
        ),
        (
            Kind::SupervisionOrder,
            message(
                4,
                at(6, 0),
                SupervisionOrder {
                    order_id: Uuid::from_u128(0x0d),
                    case_id: CASE,
                    level: SupervisionLevel::Key,
                    text: "超期未处置, 市级督办, 请于今日 17:00 前处置完毕".into(),
                    due_at: at(9, 0),
                    issued_at: at(6, 0),
                    issued_by: "杭州市城市管理指挥中心".into(),
                },
            ),
        ),
        (
            Kind::SupervisionAck,
            message(
                14,
                at(6, 5),
                SupervisionAck {
                    order_id: Uuid::from_u128(0x0d),
                    case_id: CASE,
                    department_code: "huanwei".into(),
                    acknowledged_at: at(6, 5),
                },
            ),
        ),
        (
            Kind::ReconciliationDigest,
            message(
                15,
                at(16, 5),
                ReconciliationDigest {
                    day: NaiveDate::from_ymd_opt(2026, 11, 24).expect("a date"),
                    cases: 1,
                    sha256: digest_hash(&[(CASE, 3)]),
                    up_to_seq: 14,
                },
            ),
        ),
        (
            Kind::Rejection,
            message(
                5,
                at(1, 41),
                Rejection {
                    message_id: Some(message_id("330102", 12)),
                    kind: Some("case_snapshot".into()),
                    seq: Some(12),
                    code: RejectionCode::InvalidBody,
                    message: "longitude 420.0 is out of range".into(),
                    field: Some("body.location.lon".into()),
                },
            ),
        ),
        (
            Kind::MediaRequest,
            message(
                6,
                at(2, 30),
                MediaRequest {
                    sha256: vec![photo_hash],
                },
            ),
        ),
        (
            Kind::CityProblem,
            message(
                7,
                at(3, 5),
                CityProblem {
                    case_id: Uuid::from_u128(0x0193_5a7f_0000_7c00_8a00_0000_c17f_0001),
                    category: Category {
                        kind: CategoryKind::Component,
                        major: "01".into(),
                        minor: "01".into(),
                        edition: Some(Edition::Gbt30428),
                    },
                    urgency: Urgency::Urgent,
                    description: "上水井盖缺失, 已临时围挡".into(),
                    address: Some("上城区解放路 88 号".into()),
                    location: Point {
                        lon: 120.1702,
                        lat: 30.2566,
                    },
                    photos: vec![InlinePhoto::new(
                        b"\xff\xd8\xff\xe0 an example, not a real JPEG",
                        "image/jpeg",
                    )],
                    reported_at: at(3, 2),
                    reported_by: "杭州市城市管理指挥中心 (市级监督员 city-sup-1)".into(),
                    referred_from: None,
                },
            ),
        ),
        (
            Kind::ReferralDecision,
            message(
                8,
                at(4, 10),
                ReferralDecision {
                    case_id: Uuid::from_u128(0x0193_5a7f_0000_7c00_8a00_0000_0000_0042),
                    record_id: 318,
                    outcome: ReferralOutcome::Reassigned,
                    reassigned_to: Some(CaseRef {
                        district: "330105".into(),
                        case_id: Uuid::from_u128(0x0193_5a7f_0000_7c00_8a00_0000_c17f_0002),
                    }),
                    reason: "井盖位于拱墅区一侧, 改派拱墅区".into(),
                    decided_at: at(4, 8),
                    decided_by: "杭州市城市管理指挥中心 (市级领导 hz-clead1)".into(),
                },
            ),
        ),
        (
            Kind::ReportNotice,
            message(
                9,
                at(2, 0),
                ReportNotice {
                    month: "2026-10".into(),
                    published_at: at(2, 0),
                    rank: Some(1),
                    ranked: 2,
                    composite: Some(9_245),
                    grade: Some("A".into()),
                    complete: true,
                    files: vec![ReportFile::new(
                        "ranking.csv",
                        "text/csv; charset=utf-8",
                        "rank,district,name,composite,grade\n1,330102,上城区,92.45,A\n".as_bytes(),
                    )],
                    omitted: vec!["report.pdf".into()],
                },
            ),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
    }

    fn pretty(value: &Value) -> String {
        serde_json::to_string_pretty(value).expect("JSON") + "\n"
    }

    /// Compares generated files with the committed ones (or writes them when blessing).
    fn check_files(dir: &Path, files: Vec<(Kind, Value)>) {
        let bless = std::env::var_os("CITYGRID_BLESS").is_some();
        let mut stale = Vec::new();
        for (kind, value) in files {
            let path = dir.join(format!("{}.json", kind.as_str()));
            let want = pretty(&value);
            if bless {
                std::fs::write(&path, &want).expect("writable");
            } else if std::fs::read_to_string(&path).ok().as_deref() != Some(want.as_str()) {
                stale.push(path.display().to_string());
            }
        }
        assert!(
            stale.is_empty(),
            "these files differ from what the types generate; rerun with CITYGRID_BLESS=1 \
             and review the diff: {stale:?}"
        );
    }

    #[test]
    fn committed_json_schemas_match_the_types() {
        check_files(&root().join("json/v1"), schemas());
    }

    #[test]
    fn committed_details_schema_matches_the_types() {
        let path = root().join("json/v1").join(DETAILS_FILE);
        let want = pretty(&details_schema());
        if std::env::var_os("CITYGRID_BLESS").is_some() {
            std::fs::write(&path, &want).expect("writable");
        } else {
            assert!(
                std::fs::read_to_string(&path).ok().as_deref() == Some(want.as_str()),
                "{} differs from what the types generate; rerun with CITYGRID_BLESS=1 and \
                 review the diff",
                path.display()
            );
        }
    }

    fn committed_details_validator() -> jsonschema::Validator {
        let path = root().join("json/v1").join(DETAILS_FILE);
        let schema: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("committed"))
                .expect("JSON");
        jsonschema::validator_for(&schema).expect("a valid schema")
    }

    #[test]
    fn every_details_example_validates_against_the_details_schema() {
        let validator = committed_details_validator();
        for (action, example) in details::examples() {
            let record = json!({ "action": action, "details": example });
            let errors: Vec<String> = validator
                .iter_errors(&record)
                .map(|e| format!("{} at {}", e, e.instance_path()))
                .collect();
            assert!(errors.is_empty(), "{action:?}: {errors:?}");
        }
        // The example business record's body too.
        let record = examples()
            .into_iter()
            .find(|(kind, _)| *kind == Kind::BusinessRecord)
            .expect("a record example")
            .1;
        assert!(validator.is_valid(&record["body"]));
    }

    #[test]
    fn the_details_schema_refuses_what_the_types_refuse() {
        let validator = committed_details_validator();
        // (action, details, whether `details::check` refuses it too: patterns are the
        // schema's alone, as everywhere in the standard).
        for (action, details, read_refuses) in [
            (
                Action::RequestExtension,
                json!({ "minutes": "two hours" }),
                true,
            ),
            (Action::RequestExtension, json!({ "minutes": 0 }), true),
            (Action::Dispatch, json!({}), true),
            (
                Action::File,
                json!({ "category": { "kind": "event", "major": "1", "minor": "02" }, "category_name": "x", "standard": "y" }),
                false,
            ),
            (
                Action::File,
                json!({ "category": { "kind": "event", "major": "01", "minor": "02" }, "category_name": "x", "standard": "y", "condition": "1" }),
                false,
            ),
            (
                Action::CheckPass,
                json!({ "passed": false, "department": "huanwei" }),
                true,
            ),
            (
                Action::Rework,
                json!({ "passed": true, "department": "huanwei" }),
                true,
            ),
            (
                Action::RejectSuspension,
                json!({ "request": "extension" }),
                true,
            ),
            (Action::Handle, json!(null), true),
        ] {
            let record = json!({ "action": action, "details": details });
            assert!(
                !validator.is_valid(&record),
                "{action:?} {details} accepted"
            );
            assert_eq!(
                details::check(action, &details).is_err(),
                read_refuses,
                "{action:?} {details}"
            );
        }
        let mut extra = json!({ "action": "dispatch", "details": { "department": "huanwei" } });
        extra["details"]["added_in_v1_1"] = json!(true);
        assert!(validator.is_valid(&extra), "unknown keys must be allowed");
    }

    #[test]
    fn the_business_record_schema_points_to_the_details_schema() {
        let schemas = schemas();
        let record = &schemas
            .iter()
            .find(|(kind, _)| *kind == Kind::BusinessRecord)
            .expect("the record's schema")
            .1;
        let details = &record["$defs"]["BusinessRecord"]["properties"]["details"];
        assert!(
            details["description"]
                .as_str()
                .is_some_and(|d| d.contains(DETAILS_FILE)),
            "{details}"
        );
        // It accepts any value, as before: the details schema is where shapes are checked.
        assert_eq!(
            details.as_object().map(|o| o.keys().collect::<Vec<_>>()),
            Some(vec![&"description".to_owned()])
        );
    }

    #[test]
    fn committed_examples_match_the_types() {
        check_files(&root().join("examples"), examples());
    }

    #[test]
    fn every_example_validates_against_its_committed_schema() {
        for (kind, _) in examples() {
            let read = |dir: &str| -> Value {
                let path = root().join(dir).join(format!("{}.json", kind.as_str()));
                serde_json::from_str(&std::fs::read_to_string(&path).expect("committed"))
                    .expect("JSON")
            };
            let validator = jsonschema::validator_for(&read("json/v1")).expect("a valid schema");
            let example = read("examples");
            let errors: Vec<String> = validator
                .iter_errors(&example)
                .map(|e| format!("{} at {}", e, e.instance_path()))
                .collect();
            assert!(errors.is_empty(), "{}: {errors:?}", kind.as_str());
        }
    }

    #[test]
    fn the_validator_refuses_what_the_standard_forbids() {
        let schemas = schemas();
        let snapshot = &schemas[0].1;
        let validator = jsonschema::validator_for(snapshot).expect("a valid schema");
        let good = message(1, at(1, 0), example_snapshot());
        assert!(validator.is_valid(&good));
        for (pointer, bad) in [
            ("/body/location/lon", json!("east")),
            ("/body/state", json!("lost")),
            ("/district", json!("3301")),
            ("/kind", json!("business_record")),
            ("/body/category/major", json!("1")),
        ] {
            let mut message = good.clone();
            *message.pointer_mut(pointer).expect("present") = bad;
            assert!(!validator.is_valid(&message), "{pointer} accepted");
        }
        let mut missing = good.clone();
        missing["body"]
            .as_object_mut()
            .expect("object")
            .remove("case_id");
        assert!(!validator.is_valid(&missing), "missing case_id accepted");
        let mut extra = good.clone();
        extra["body"]["added_in_v1_1"] = json!(true);
        assert!(validator.is_valid(&extra), "unknown fields must be allowed");
    }

    #[test]
    fn readers_ignore_unknown_fields() {
        let mut value = message(1, at(1, 0), example_snapshot());
        value["body"]["added_in_v1_1"] = json!({ "x": 1 });
        value["trace"] = json!("abc");
        let read: Envelope<CaseSnapshot> = serde_json::from_value(value).expect("readable");
        assert_eq!(read.body, example_snapshot());
    }
}
