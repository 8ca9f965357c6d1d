//! What the simulated city does, as data and pure draws: the problems people report, how
//! many and when, and how each department works. No I/O, so the shape of the months the
//! demo lives through is unit-tested here.
//!
//! The figures are a sample city's, chosen so the three districts end up different
//! enough to rank: street-level cleanliness and order dominate the reports, as in every
//! published 数字城管 yearbook, and the departments differ in speed and care.

use chrono::{DateTime, Datelike, Duration, Timelike, Utc, Weekday};
use chrono_tz::Tz;
use rand::{Rng, RngExt};
use uuid::Uuid;

/// A kind of problem: its category, how often it is reported relative to the others,
/// and what reporters write.
#[derive(Debug, Clone, Copy)]
pub struct Problem {
    pub kind: &'static str,
    /// Major and minor, four digits.
    pub code: &'static str,
    pub weight: u32,
    pub descriptions: &'static [&'static str],
}

/// The problems of the sample city, commonest first (event majors 01, 02 and 05 and a few
/// facilities make up most of what supervisors find).
pub const PROBLEMS: &[Problem] = &[
    Problem {
        kind: "event",
        code: "0102",
        weight: 20,
        descriptions: &[
            "暴露垃圾：路边堆放生活垃圾",
            "垃圾桶外散落生活垃圾",
            "绿化带内有暴露垃圾",
        ],
    },
    Problem {
        kind: "event",
        code: "0201",
        weight: 16,
        descriptions: &[
            "电线杆上张贴非法小广告",
            "墙面喷涂办证小广告",
            "公交站牌上粘贴小广告",
        ],
    },
    Problem {
        kind: "event",
        code: "0504",
        weight: 14,
        descriptions: &["店外经营：商铺占用人行道摆放货物", "餐饮店门前占道经营"],
    },
    Problem {
        kind: "event",
        code: "0104",
        weight: 10,
        descriptions: &["道路不洁：路面有油污", "人行道上有大量落叶和纸屑"],
    },
    Problem {
        kind: "event",
        code: "0505",
        weight: 8,
        descriptions: &["机动车占用人行道停放", "非机动车道上乱停车辆"],
    },
    Problem {
        kind: "event",
        code: "0103",
        weight: 6,
        descriptions: &["路边积存建筑渣土", "小区门口积存垃圾渣土"],
    },
    Problem {
        kind: "event",
        code: "0304",
        weight: 4,
        descriptions: &["施工围挡占用车行道", "施工材料堆放占道"],
    },
    Problem {
        kind: "component",
        code: "0103",
        weight: 5,
        descriptions: &["雨水井盖破损", "雨水井盖松动，车辆经过有响声"],
    },
    Problem {
        kind: "component",
        code: "0101",
        weight: 3,
        descriptions: &["上水井盖破损", "人行道上水井盖缺角"],
    },
    Problem {
        kind: "event",
        code: "0101",
        weight: 3,
        descriptions: &["屋顶私搭乱建彩钢棚", "绿地内搭建简易棚"],
    },
    Problem {
        kind: "event",
        code: "0404",
        weight: 3,
        descriptions: &["下水道堵塞，污水外溢", "雨水口堵塞，路面积水"],
    },
    Problem {
        kind: "event",
        code: "0202",
        weight: 3,
        descriptions: &["违章悬挂横幅广告", "店招破损有坠落风险"],
    },
];

/// One problem drawn by weight.
pub fn problem(rng: &mut impl Rng) -> &'static Problem {
    let total: u32 = PROBLEMS.iter().map(|p| p.weight).sum();
    let mut pick = rng.random_range(0..total);
    for p in PROBLEMS {
        if pick < p.weight {
            return p;
        }
        pick -= p.weight;
    }
    &PROBLEMS[0]
}

/// Who reported a problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reporter {
    /// A supervisor on patrol (about four in five reports).
    Supervisor,
    /// A resident, through the public channel.
    Public,
    /// The 12345 hotline, entered by an operator.
    Hotline,
}

pub fn reporter(rng: &mut impl Rng) -> Reporter {
    match rng.random_range(0..100) {
        0..78 => Reporter::Supervisor,
        78..90 => Reporter::Public,
        _ => Reporter::Hotline,
    }
}

/// Reports expected in the local hour starting at `at`, for a district whose weekday
/// average is `per_day`: patrols run 08:00–18:00 with a midday dip, the public reports
/// from morning to night, and weekends bring about 60% of a weekday.
pub fn expected_reports(per_day: f64, at: DateTime<Tz>) -> f64 {
    // Shares of a day's reports by local hour (sums to 1).
    const SHARE: [f64; 24] = [
        0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.02, 0.08, 0.12, 0.12, 0.09, 0.04, 0.06, 0.11, 0.12,
        0.09, 0.06, 0.04, 0.02, 0.02, 0.01, 0.0, 0.0,
    ];
    let weekend = matches!(at.weekday(), Weekday::Sat | Weekday::Sun);
    per_day * SHARE[at.hour() as usize] * if weekend { 0.6 } else { 1.0 }
}

/// A Poisson draw with mean `mean` (Knuth's method: the means here are small).
pub fn poisson(rng: &mut impl Rng, mean: f64) -> u32 {
    if mean <= 0.0 {
        return 0;
    }
    let limit = (-mean).exp();
    let (mut k, mut p) = (0, 1.0);
    loop {
        p *= rng.random::<f64>();
        if p <= limit {
            return k;
        }
        k += 1;
    }
}

/// How a department works: the share of its time limit it takes to handle a case (drawn
/// uniformly between `fast` and `slow`: above 1 is overdue), how often its work fails the
/// check, and how often it asks for more time instead of finishing late.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Profile {
    pub fast: f64,
    pub slow: f64,
    /// Per cent of handlings sent back for rework.
    pub rework: u32,
    /// Per cent of late cases for which an extension is asked before the deadline.
    pub extension: u32,
    /// Hours to acknowledge a supervision order.
    pub acknowledge_hours: (i64, i64),
}

/// Diligent (1), ordinary (2) and struggling (3) departments.
pub const PROFILES: [Profile; 3] = [
    Profile {
        fast: 0.15,
        slow: 0.8,
        rework: 4,
        extension: 60,
        acknowledge_hours: (0, 2),
    },
    Profile {
        fast: 0.25,
        slow: 1.1,
        rework: 10,
        extension: 40,
        acknowledge_hours: (1, 3),
    },
    Profile {
        fast: 0.4,
        slow: 1.7,
        rework: 22,
        extension: 20,
        acknowledge_hours: (2, 8),
    },
];

/// The profile of a department: a district's own level of care (`tier`, 0 = best) shifts
/// every department's, and each department has its own draw, fixed by its code so a run
/// is repeatable.
pub fn profile(tier: usize, department: &str) -> Profile {
    let own = fnv(department.as_bytes()) % 3;
    let level = match (tier, own) {
        (0, 0 | 1) => 0,
        (0, _) | (1, 0 | 1) => 1,
        _ => 2,
    };
    PROFILES[level]
}

/// A repeatable uniform draw in [0, 1) for one step of one case: the same case, version
/// and purpose always give the same share, so a department's behaviour does not depend on
/// when the simulator happens to look.
pub fn share(case: Uuid, version: i32, purpose: &str) -> f64 {
    let mut bytes = case.as_bytes().to_vec();
    bytes.extend_from_slice(&version.to_le_bytes());
    bytes.extend_from_slice(purpose.as_bytes());
    (fnv(&bytes) >> 11) as f64 / (1u64 << 53) as f64
}

/// When a step falls due: `share` of the way from `from` to `deadline` (past it when
/// `share` is above 1); an hour after `from` when the stage has no deadline.
pub fn due_at(from: DateTime<Utc>, deadline: Option<DateTime<Utc>>, share: f64) -> DateTime<Utc> {
    match deadline {
        Some(deadline) if deadline > from => {
            let span = (deadline - from).num_seconds() as f64;
            from + Duration::seconds((span * share) as i64)
        }
        _ => from + Duration::hours(1),
    }
}

/// Whether local time `at` is within the command centre's hours (07:00–22:00).
pub fn centre_on_duty(at: DateTime<Tz>) -> bool {
    (7..22).contains(&at.hour())
}

/// Whether a department works at local time `at`: weekdays 08:00–18:00, or any centre
/// hour for an urgent case (a missing cover does not wait for Monday).
pub fn department_on_duty(at: DateTime<Tz>, urgent: bool) -> bool {
    let weekday = !matches!(at.weekday(), Weekday::Sat | Weekday::Sun);
    (urgent && centre_on_duty(at)) || (weekday && (8..18).contains(&at.hour()))
}

/// 64-bit FNV-1a: a stable hash (std's is seeded per process).
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn local(y: i32, m: u32, d: u32, h: u32) -> DateTime<Tz> {
        chrono_tz::Asia::Shanghai
            .with_ymd_and_hms(y, m, d, h, 0, 0)
            .unwrap()
    }

    #[test]
    fn a_weekday_brings_its_average_and_a_weekend_less() {
        let day = |d| {
            (0..24)
                .map(|h| expected_reports(40.0, local(2026, 9, d, h)))
                .sum::<f64>()
        };
        // 2026-09-07 is a Monday, 09-12 a Saturday.
        assert!((day(7) - 40.0).abs() < 1e-9, "{}", day(7));
        assert!((day(12) - 24.0).abs() < 1e-9, "{}", day(12));
        assert_eq!(expected_reports(40.0, local(2026, 9, 7, 3)), 0.0);
    }

    #[test]
    fn poisson_draws_average_their_mean() {
        let mut rng = StdRng::seed_from_u64(7);
        let n = 20_000;
        let total: u32 = (0..n).map(|_| poisson(&mut rng, 2.5)).sum();
        let mean = f64::from(total) / f64::from(n);
        assert!((mean - 2.5).abs() < 0.05, "{mean}");
        assert_eq!(poisson(&mut rng, 0.0), 0);
    }

    #[test]
    fn problems_are_drawn_by_weight_and_supervisors_report_most() {
        let mut rng = StdRng::seed_from_u64(1);
        let n = 10_000;
        let rubbish = (0..n).filter(|_| problem(&mut rng).code == "0102").count();
        let expected = n * 20 / PROBLEMS.iter().map(|p| p.weight as usize).sum::<usize>();
        assert!(
            rubbish.abs_diff(expected) < n / 50,
            "{rubbish} vs {expected}"
        );
        let supervised = (0..n)
            .filter(|_| reporter(&mut rng) == Reporter::Supervisor)
            .count();
        assert!((7_500..8_100).contains(&supervised), "{supervised}");
    }

    #[test]
    fn a_careful_district_has_no_struggling_department_and_a_careless_one_no_diligent() {
        let departments = [
            "huanwei",
            "zhifa",
            "shizheng",
            "yuanlin",
            "shuiwu",
            "jd-330102001",
        ];
        assert!(departments.iter().all(|d| profile(0, d) != PROFILES[2]));
        assert!(departments.iter().all(|d| profile(2, d) == PROFILES[2]));
        assert!(departments.iter().any(|d| profile(1, d) == PROFILES[1]));
    }

    #[test]
    fn shares_are_repeatable_and_differ_by_version_and_purpose() {
        let id = Uuid::from_u128(42);
        assert_eq!(share(id, 3, "handle"), share(id, 3, "handle"));
        assert_ne!(share(id, 3, "handle"), share(id, 4, "handle"));
        assert_ne!(share(id, 3, "handle"), share(id, 3, "check"));
        let all: Vec<f64> = (0..1000).map(|v| share(id, v, "x")).collect();
        assert!(all.iter().all(|s| (0.0..1.0).contains(s)));
        let mean = all.iter().sum::<f64>() / 1000.0;
        assert!((mean - 0.5).abs() < 0.05, "{mean}");
    }

    #[test]
    fn a_step_falls_due_part_way_to_its_deadline_or_past_it() {
        let from = Utc.with_ymd_and_hms(2026, 9, 7, 1, 0, 0).unwrap();
        let deadline = Some(from + Duration::hours(4));
        assert_eq!(due_at(from, deadline, 0.5), from + Duration::hours(2));
        assert_eq!(due_at(from, deadline, 1.5), from + Duration::hours(6));
        assert_eq!(due_at(from, None, 0.5), from + Duration::hours(1));
    }

    #[test]
    fn departments_work_office_hours_except_on_urgent_cases() {
        assert!(department_on_duty(local(2026, 9, 7, 9), false));
        assert!(!department_on_duty(local(2026, 9, 7, 19), false));
        assert!(!department_on_duty(local(2026, 9, 12, 10), false));
        assert!(department_on_duty(local(2026, 9, 12, 10), true));
        assert!(!department_on_duty(local(2026, 9, 12, 23), true));
    }
}
