//! The bonus/penalty ledger in a real warehouse: the database refuses what would break it,
//! posting is idempotent whatever the order of posts and reversals, a month's appraisal
//! posts once, a year settles three districts to the fen, and a district officer reads
//! only their own statement.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use citygrid_appraisal::engine::Counts;
use citygrid_appraisal::{Appraisal, Level, Period, Unit};
use citygrid_exchange::ledger::book::{Account, Posting, Pot};
use citygrid_exchange::ledger::policy::Policy;
use citygrid_exchange::ledger::store::{self, Outcome};
use citygrid_exchange::ledger::{self, book};
use citygrid_schemas as v1;
use citygrid_test_support::pg::TestDatabase;
use diesel::{Connection, PgConnection, RunQueryDsl};
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestRunner};
use serde_json::json;

use crate::broker::TestBroker;
use crate::helpers::{TestCity, dispatched, send_as};

fn t(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("time")
        .with_timezone(&Utc)
}

/// A migrated warehouse with the sample registry's three districts.
fn warehouse(name: &str) -> (TestDatabase, PgConnection) {
    let database = TestDatabase::new(name);
    let mut conn = PgConnection::establish(&database.url).expect("connect");
    citygrid_kit::db::migrate(&mut conn, citygrid_exchange::MIGRATIONS).expect("migrate");
    let city = sample_city();
    citygrid_exchange::warehouse::register_districts(&mut conn, &city.registry).expect("register");
    (database, conn)
}

fn sample_city() -> citygrid_exchange::config::City {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tenants/hangzhou/city.toml");
    citygrid_exchange::config::City::load(&path).expect("sample city")
}

fn fine(key: &str, district: &str, fen: i64) -> Posting {
    Posting::transfer(
        key.to_owned(),
        Some("2026-10".into()),
        format!("test fine of {district}"),
        json!({ "kind": "test" }),
        Account::district(district, Pot::Penalty),
        Account::city(Pot::Pool),
        fen,
    )
}

fn balance_of(conn: &mut PgConnection, account: &Account) -> i64 {
    store::balances(conn, None, None)
        .expect("balances")
        .into_iter()
        .find(|b| b.account == *account)
        .map_or(0, |b| b.balance_fen)
}

/// What the database says when `sql` runs in a transaction of its own.
fn refusal(conn: &mut PgConnection, sql: &str) -> String {
    let result = conn.transaction(|conn| diesel::sql_query(sql).execute(conn).map(|_| ()));
    match result {
        Ok(()) => panic!("{sql} was accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn the_database_refuses_to_change_delete_or_unbalance_the_ledger() {
    let (_db, mut conn) = warehouse("citygrid_xledger_db");
    let conn = &mut conn;
    let now = Utc::now();
    let outcomes = store::post(conn, &[fine("test:one", "330102", 20_000)], now).expect("post");
    assert_eq!(outcomes, [Outcome::Posted("test:one".into())]);

    for sql in [
        "UPDATE ledger_entries SET amount_fen = 1",
        "DELETE FROM ledger_entries",
        "TRUNCATE ledger_entries CASCADE",
        "UPDATE ledger_postings SET memo = 'edited'",
        "DELETE FROM ledger_postings",
        "DELETE FROM ledger_accounts",
    ] {
        assert!(refusal(conn, sql).contains("append-only"), "{sql}");
    }
    // A posting whose entries do not sum to zero, or with one entry, fails at commit.
    let unbalanced = "WITH p AS (INSERT INTO ledger_postings (key, memo, cause) \
                        VALUES ('test:bad', 'm', '{\"kind\":\"test\"}') RETURNING id) \
                      INSERT INTO ledger_entries (posting_id, line, account, amount_fen) \
                      SELECT id, 0, 'city:pool', 5 FROM p";
    assert!(refusal(conn, unbalanced).contains("does not balance"));
    // An entry slipped into an existing posting later unbalances it, so it fails too.
    let slipped = "INSERT INTO ledger_entries (posting_id, line, account, amount_fen) \
                   SELECT id, 9, 'city:pool', 1 FROM ledger_postings WHERE key = 'test:one'";
    assert!(refusal(conn, slipped).contains("does not balance"));
    // The domain refuses an unbalanced posting before the database sees it.
    let mut bad = fine("test:two", "330102", 100);
    bad.entries[0].amount_fen = -99;
    assert!(store::post(conn, &[bad], now).is_err());

    assert_eq!(store::verify(conn).expect("verify"), Vec::<String>::new());
    assert_eq!(balance_of(conn, &Account::city(Pot::Pool)), 20_000);
    assert_eq!(
        balance_of(conn, &Account::district("330102", Pot::Penalty)),
        -20_000
    );
    // Disabling a trigger is an invariant broken: verify says so.
    diesel::sql_query("ALTER TABLE ledger_entries DISABLE TRIGGER ledger_entries_append_only")
        .execute(conn)
        .expect("disable");
    let violations = store::verify(conn).expect("verify");
    assert_eq!(
        violations,
        ["trigger ledger_entries_append_only is missing or disabled"]
    );
}

/// One step of a random run against the ledger.
#[derive(Debug, Clone)]
enum Step {
    /// Post key `k` (of a few) with this amount.
    Post(usize, i64),
    /// Reverse whatever stands under key `k`.
    Reverse(usize),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0usize..4, 1i64..1_000_000).prop_map(|(k, fen)| Step::Post(k, fen)),
        1 => (0usize..4).prop_map(Step::Reverse),
    ]
}

/// Random sequences of postings and reversals: the ledger always verifies, each key has at
/// most one standing posting, reversing restores the balances from before, re-posting
/// what stands posts nothing new — and the balances are always those of the standing
/// postings alone.
#[test]
fn random_postings_and_reversals_keep_the_books_balanced() {
    let (_db, conn) = warehouse("citygrid_xledger_prop");
    // The runner takes a `Fn`: the connection and the case number live in cells.
    let conn = std::cell::RefCell::new(conn);
    let cases = std::cell::Cell::new(0);
    let mut runner = TestRunner::new(ProptestConfig {
        cases: 24,
        ..ProptestConfig::default()
    });
    runner
        .run(&proptest::collection::vec(step(), 1..12), |steps| {
            cases.set(cases.get() + 1);
            let case = cases.get();
            let conn = &mut *conn.borrow_mut();
            let now = Utc::now();
            let pool = Account::city(Pot::Pool);
            let base = balance_of(conn, &pool);
            // Per key: the amount standing, and the next revision the ledger will use.
            let mut standing: BTreeMap<usize, (String, i64)> = BTreeMap::new();
            let mut revisions: BTreeMap<usize, u32> = BTreeMap::new();
            for step in steps {
                let before = balance_of(conn, &pool);
                match step {
                    Step::Post(k, fen) => {
                        let key = format!("prop:{case}:{k}");
                        let got = store::post(conn, &[fine(&key, "330105", fen)], now)
                            .map_err(|e| TestCaseError::fail(e.to_string()))?;
                        match standing.get(&k) {
                            None => {
                                let n = revisions.entry(k).or_insert(0);
                                *n += 1;
                                let stored = book::revision_key(&key, *n);
                                prop_assert_eq!(&got[..], &[Outcome::Posted(stored.clone())]);
                                standing.insert(k, (stored, fen));
                                prop_assert_eq!(balance_of(conn, &pool), before + fen);
                            }
                            Some((stored, posted)) if *posted == fen => {
                                prop_assert_eq!(&got[..], &[Outcome::Unchanged(stored.clone())]);
                                prop_assert_eq!(balance_of(conn, &pool), before);
                            }
                            Some((stored, _)) => {
                                let differs = matches!(&got[..], [Outcome::Differs { key, .. }] if key == stored);
                                prop_assert!(differs, "{:?}", got);
                                prop_assert_eq!(balance_of(conn, &pool), before);
                            }
                        }
                    }
                    Step::Reverse(k) => {
                        let key = format!("prop:{case}:{k}");
                        match standing.remove(&k) {
                            Some((stored, fen)) => {
                                let reversal = store::reverse(conn, &stored, "test", now)
                                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                                prop_assert_eq!(reversal, book::reversal_key(&stored));
                                prop_assert_eq!(balance_of(conn, &pool), before - fen);
                            }
                            None => {
                                // Nothing stands: the newest revision is already reversed,
                                // or nothing was posted.
                                let newest = revisions.get(&k).map(|n| book::revision_key(&key, *n));
                                let target = newest.unwrap_or(key);
                                prop_assert!(store::reverse(conn, &target, "test", now).is_err());
                                prop_assert_eq!(balance_of(conn, &pool), before);
                            }
                        }
                    }
                }
            }
            let expected: i64 = standing.values().map(|(_, fen)| fen).sum();
            prop_assert_eq!(balance_of(conn, &pool), base + expected);
            let violations = store::verify(conn).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert!(violations.is_empty(), "{:?}", violations);
            Ok(())
        })
        .expect("the ledger's invariants hold");
}

/// A unit of a year's district appraisal with this composite (hundredths of a point).
fn unit(district: &str, composite: Option<i64>) -> Unit {
    Unit {
        key: district.to_owned(),
        counts: Counts::zero(),
        rates: BTreeMap::new(),
        avg_handling_centihours: None,
        avg_handling_working_centihours: None,
        composite,
        grade: None,
        rank: None,
        filed_per_10k_residents: None,
        filed_per_km2: None,
        filed_per_cell: None,
        complete: true,
    }
}

/// The sample city's rules (tenants/hangzhou/city.toml `[ledger]`) over 2026, three
/// districts, worked out to the fen:
///
/// Deposits (保证金) posted at the start of the year: each district 2,000,000.00 CNY
/// (200,000,000 fen), each of its two leaders 20,000.00 (2,000,000 fen); the city funds its
/// pool with 1,000,000.00 (100,000,000 fen).
///
/// The year's composites: 上城区 330102 scores 92.50 (≥ 90: double), 拱墅区 330105 75.00
/// (≥ 60: back), 西湖区 330106 41.20 (< 60: forfeit).
///
/// - 330102: deposit 200,000,000 → funds get 400,000,000, the pool pays 200,000,000; each
///   leader's 2,000,000 → 4,000,000 back, the pool pays 2,000,000 each.
/// - 330105: deposit and leaders' deposits back as paid.
/// - 330106: 200,000,000 + 2 × 2,000,000 = 204,000,000 forfeited to the pool.
///
/// Pool: 100,000,000 − 200,000,000 − 4,000,000 + 204,000,000 = 100,000,000 fen.
/// Funds of 330102: −200,000,000 + 400,000,000 = +200,000,000; of 330105: 0; of 330106:
/// −200,000,000. Every deposit account ends at 0, and the books sum to zero.
#[test]
fn a_worked_annual_settlement_of_three_districts() {
    let (_db, mut conn) = warehouse("citygrid_xledger_year");
    let conn = &mut conn;
    let city = sample_city();
    let policy: &Policy = &city.file.ledger;
    let codes: Vec<String> = city.registry.iter().map(|d| d.code.clone()).collect();
    let now = Utc::now();
    let opened = ledger::open_year(conn, policy, &codes, 2026, now).expect("open");
    // 3 districts + 6 leaders + the pool's funding.
    assert_eq!(opened.outcomes.len(), 10);
    let again = ledger::open_year(conn, policy, &codes, 2026, now).expect("open again");
    assert!(
        again
            .outcomes
            .iter()
            .all(|o| matches!(o, Outcome::Unchanged(_))),
        "{again:?}"
    );

    let deposits = store::deposits_of(conn, 2026).expect("deposits");
    assert_eq!(deposits.len(), 9);
    let year = Appraisal {
        period: Period::Year { year: 2026 },
        level: Level::District,
        config_version: "test".into(),
        input_digest: "0".repeat(64),
        cases: 0,
        units: vec![
            unit("330102", Some(9250)),
            unit("330105", Some(7500)),
            unit("330106", Some(4120)),
        ],
        total: unit("total", None),
    };
    let plan = policy.settle(&year, &deposits);
    assert!(plan.held.is_empty());
    assert_eq!(plan.postings.len(), 9);
    let posted = store::post(conn, &plan.postings, now).expect("settle");
    assert!(posted.iter().all(|o| matches!(o, Outcome::Posted(_))));
    // Settling again posts nothing.
    let again = store::post(conn, &plan.postings, now).expect("settle again");
    assert!(again.iter().all(|o| matches!(o, Outcome::Unchanged(_))));

    let balances: BTreeMap<String, i64> = store::balances(conn, None, None)
        .expect("balances")
        .into_iter()
        .map(|b| (b.account.to_string(), b.balance_fen))
        .collect();
    let expected: BTreeMap<String, i64> = [
        ("city:funds", -100_000_000),
        ("city:pool", 100_000_000),
        ("district:330102:deposit", 0),
        ("district:330102:funds", 200_000_000),
        ("district:330105:deposit", 0),
        ("district:330105:funds", 0),
        ("district:330106:deposit", 0),
        ("district:330106:funds", -200_000_000),
        ("leader:330102:deputy:deposit", 0),
        ("leader:330102:deputy:funds", 2_000_000),
        ("leader:330102:head:deposit", 0),
        ("leader:330102:head:funds", 2_000_000),
        ("leader:330105:deputy:deposit", 0),
        ("leader:330105:deputy:funds", 0),
        ("leader:330105:head:deposit", 0),
        ("leader:330105:head:funds", 0),
        ("leader:330106:deputy:deposit", 0),
        ("leader:330106:deputy:funds", -2_000_000),
        ("leader:330106:head:deposit", 0),
        ("leader:330106:head:funds", -2_000_000),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_owned(), b))
    .collect();
    assert_eq!(balances, expected);
    assert_eq!(store::verify(conn).expect("verify"), Vec::<String>::new());

    // The statement of 330106 shows its deposit paid and forfeited, nobody else's.
    let statement = store::statement(conn, "330106", None, None).expect("statement");
    assert!(
        statement
            .lines
            .iter()
            .all(|l| l.account.district_code() == Some("330106"))
    );
    let settled = statement
        .lines
        .iter()
        .find(|l| l.key == "year:2026:district:330106:settlement")
        .expect("the settlement");
    assert_eq!(
        (
            settled.amount_fen,
            settled.balance_fen,
            &settled.cause["outcome"]
        ),
        (-200_000_000, 0, &json!("forfeit"))
    );
    // Balances as of before the deposits: nothing was open.
    let before = store::balances(conn, Some(now - Duration::seconds(1)), None).expect("as of");
    assert!(before.is_empty(), "{before:?}");
}

/// October through the whole path: the districts' streams into the warehouse, the
/// month's appraisal, the rules' penalties and bonus — posted once however often the
/// month is posted, and by a restarted city too; a changed rule is reported, not
/// silently re-posted, and is put right by a reversal and a second revision. Then the
/// statements over the API: a district officer sees their own and is refused another's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_month_posts_once_and_each_district_reads_only_its_own_statement() {
    let broker = TestBroker::new().await;
    let city = TestCity::start(&broker).await;
    // 330102: two overdue cases; 330105: none. Both reconcile October 31.
    let mut seqs = BTreeMap::new();
    for (district, cases) in [("330102", vec![1u128, 2]), ("330105", vec![])] {
        let mut seq = 0;
        for n in cases {
            seq += 1;
            send_as(
                &broker,
                district,
                seq,
                dispatched(
                    district,
                    n,
                    3,
                    t("2026-10-28T02:00:00Z"),
                    t("2026-10-30T02:00:00Z"),
                ),
            )
            .await;
        }
        seq += 1;
        send_as(
            &broker,
            district,
            seq,
            v1::ReconciliationDigest {
                day: chrono::NaiveDate::from_ymd_opt(2026, 10, 31).expect("day"),
                cases: 0,
                sha256: v1::digest_hash(&[]),
                up_to_seq: seq,
            },
        )
        .await;
        seqs.insert(district, seq);
    }
    for (district, seq) in &seqs {
        city.wait_for_cursor(district, *seq as i64).await;
    }

    let mut config = sample_city();
    config.registry.retain(|d| d.code != "330106");
    let policy = config.file.ledger.clone();
    let october: Period = "2026-10".parse().expect("month");
    let now = t("2026-11-03T00:00:00Z");
    let post = |policy: &Policy| {
        let mut conn = city.pool.get().expect("conn");
        tokio::task::block_in_place(|| {
            ledger::post_month(&mut conn, &config.appraiser(), policy, october, now)
        })
        .expect("post October")
    };
    let first = post(&policy);
    // 330102: 2 overdue × 200.00 = 400.00, and as the only district with a composite (330105
    // had nothing to rate, so it is not ranked) rank 1's bonus, 50,000.00.
    let keys: Vec<&str> = first
        .outcomes
        .iter()
        .map(|o| match o {
            Outcome::Posted(k) => k.as_str(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        keys,
        [
            "month:2026-10:330102:overdue-penalty",
            "month:2026-10:330102:rank-bonus",
        ]
    );
    assert!(first.held.is_empty(), "{:?}", first.held);
    // Again, and as a city started anew (a new connection, the same warehouse): nothing new.
    for _ in 0..2 {
        let again = post(&policy);
        assert!(
            again
                .outcomes
                .iter()
                .all(|o| matches!(o, Outcome::Unchanged(_))),
            "{again:?}"
        );
    }
    let mut conn = city.pool.get().expect("conn");
    let penalty = Account::district("330102", Pot::Penalty);
    assert_eq!(balance_of(&mut conn, &penalty), -40_000);
    // A month not over is refused.
    let open = tokio::task::block_in_place(|| {
        ledger::post_month(
            &mut conn,
            &config.appraiser(),
            &policy,
            "2026-11".parse().expect("month"),
            now,
        )
    });
    assert!(open.is_err());

    // The rule changes to 300.00 per case: reported as differing, nothing posted…
    let mut dearer = policy.clone();
    dearer.monthly.overdue_case_fen = 30_000;
    let differs = post(&dearer);
    assert_eq!(differs.differing(), 1);
    assert_eq!(balance_of(&mut conn, &penalty), -40_000);
    // …until a person reverses the standing posting; then the second revision is posted.
    let reversal = tokio::task::block_in_place(|| {
        store::reverse(
            &mut conn,
            "month:2026-10:330102:overdue-penalty",
            "rate raised by the city's decision",
            now,
        )
    })
    .expect("reverse");
    assert_eq!(reversal, "reversal:month:2026-10:330102:overdue-penalty");
    assert_eq!(balance_of(&mut conn, &penalty), 0);
    let corrected = post(&dearer);
    assert!(
        corrected.outcomes.contains(&Outcome::Posted(
            "month:2026-10:330102:overdue-penalty#2".into()
        )),
        "{corrected:?}"
    );
    assert_eq!(balance_of(&mut conn, &penalty), -60_000);
    assert_eq!(
        tokio::task::block_in_place(|| store::verify(&mut conn)).expect("verify"),
        Vec::<String>::new()
    );

    // Over the API: the district officer of 330102 reads its statement, by default and by
    // name, and is refused 330105's and the balances.
    let (status, own) = city
        .get_as("hz-d330102", "/api/v1/city/ledger/statement")
        .await;
    assert_eq!(status, 200, "{own}");
    assert_eq!(own["district"], "330102");
    let lines = own["lines"].as_array().expect("lines");
    assert_eq!(
        lines.len(),
        4,
        "penalty, bonus, the penalty's reversal, its revision"
    );
    assert!(
        lines.iter().all(|l| l["account"]
            .as_str()
            .is_some_and(|a| a.contains(":330102:"))),
        "{own}"
    );
    let closing: BTreeMap<&str, i64> = own["closing"]
        .as_array()
        .expect("closing")
        .iter()
        .map(|b| {
            (
                b["account"].as_str().expect("account"),
                b["balance_fen"].as_i64().expect("fen"),
            )
        })
        .collect();
    assert_eq!(
        closing,
        BTreeMap::from([
            ("district:330102:bonus", 5_000_000),
            ("district:330102:penalty", -60_000)
        ])
    );
    let (status, _) = city
        .get_as(
            "hz-d330102",
            "/api/v1/city/ledger/statement?district=330102",
        )
        .await;
    assert_eq!(status, 200);
    for path in [
        "/api/v1/city/ledger/statement?district=330105",
        "/api/v1/city/ledger/balances",
    ] {
        let (status, body) = city.get_as("hz-d330102", path).await;
        assert_eq!(status, 403, "{path}: {body}");
        assert!(
            matches!(
                body["error"]["code"].as_str(),
                Some("wrong_district" | "wrong_role")
            ),
            "{body}"
        );
    }
    // A city leader reads any district's and every balance; bad parameters name the field.
    let (status, other) = city
        .get("/api/v1/city/ledger/statement?district=330105&from=2026-11-01&to=2026-11-30")
        .await;
    assert_eq!(status, 200, "{other}");
    assert_eq!(
        other["lines"].as_array().map(Vec::len),
        Some(0),
        "booked in the test's now, not November"
    );
    let (status, all) = city.get("/api/v1/city/ledger/balances").await;
    assert_eq!(status, 200, "{all}");
    let pool = all["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .find(|b| b["account"] == "city:pool")
        .expect("the pool");
    // The bonus paid out, the penalty taken in.
    assert_eq!(pool["balance_fen"], -5_000_000 + 60_000);
    for (query, status, field) in [
        ("", 422, Some("district")),
        ("?district=330199", 404, None),
        (
            "?district=330102&from=2026-11-02&to=2026-11-01",
            422,
            Some("to"),
        ),
        ("?district=330102&from=yesterday", 422, Some("from")),
    ] {
        let (got, body) = city
            .get(&format!("/api/v1/city/ledger/statement{query}"))
            .await;
        assert_eq!(got, status, "{query}: {body}");
        if field.is_some() {
            assert_eq!(body["error"]["field"].as_str(), field, "{query}: {body}");
        }
    }
}
