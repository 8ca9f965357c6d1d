//! 重复提示: open cases close to a case — in its grid cell or within [`RADIUS_M`], of the
//! same category where both have one, reported in the last [`WINDOW_DAYS`] days — so the
//! operator can file it as a duplicate (不予立案, 重复) instead of sending a second crew.
//! Hints only: the operator decides.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use geo::{Distance, Haversine, Point};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::case::model::Case;
use crate::case::workflow::{OPEN, State};
use crate::error::Result;
use crate::schema::cases;
use crate::vocab::CategoryKind;

/// How far apart two reports of one problem may be, metres (GPS error plus "the corner of").
pub const RADIUS_M: f64 = 200.0;
/// How far back to look.
pub const WINDOW_DAYS: i64 = 7;
/// At most this many hints, closest first.
pub const MAX_HINTS: usize = 20;

/// A case that may be the same problem.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Similar {
    pub id: Uuid,
    pub number: i64,
    pub state: State,
    pub category_kind: Option<CategoryKind>,
    pub category_major: Option<String>,
    pub category_minor: Option<String>,
    pub description: String,
    pub address: Option<String>,
    pub cell_code: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Metres between the two points.
    pub distance_m: f64,
    /// In the same unit grid cell.
    pub same_cell: bool,
}

/// The hints for `case` among `candidates`: same cell or near, matching category, not the
/// case itself; same cell first, then by distance.
pub fn rank(case: &Case, candidates: Vec<Case>) -> Vec<Similar> {
    let here = Point::new(case.lon, case.lat);
    let category = |c: &Case| {
        c.category_kind
            .map(|kind| (kind, c.category_major.clone(), c.category_minor.clone()))
    };
    let mine = category(case);
    let mut hints: Vec<Similar> = candidates
        .into_iter()
        .filter(|c| c.id != case.id && c.state.is_open())
        .filter(|c| match (&mine, category(c)) {
            (Some(a), Some(b)) => *a == b,
            _ => true,
        })
        .filter_map(|c| {
            let distance_m = Haversine.distance(here, Point::new(c.lon, c.lat));
            let same_cell = case.cell_code.is_some() && c.cell_code == case.cell_code;
            (same_cell || distance_m <= RADIUS_M).then(|| Similar {
                id: c.id,
                number: c.number,
                state: c.state,
                category_kind: c.category_kind,
                category_major: c.category_major,
                category_minor: c.category_minor,
                description: c.description,
                address: c.address,
                cell_code: c.cell_code,
                created_at: c.created_at,
                distance_m: distance_m.round(),
                same_cell,
            })
        })
        .collect();
    hints.sort_by(|a, b| {
        b.same_cell
            .cmp(&a.same_cell)
            .then(a.distance_m.total_cmp(&b.distance_m))
            .then(b.created_at.cmp(&a.created_at))
    });
    hints.truncate(MAX_HINTS);
    hints
}

/// The open cases of the last [`WINDOW_DAYS`] days in `case`'s cell or its neighbourhood
/// (a box a little larger than [`RADIUS_M`]), ranked.
pub fn find(conn: &mut PgConnection, case: &Case, now: DateTime<Utc>) -> Result<Vec<Similar>> {
    let dlat = RADIUS_M / 111_000.0;
    let dlon = dlat / case.lat.to_radians().cos().max(0.1);
    let near = cases::lon
        .between(case.lon - dlon, case.lon + dlon)
        .and(cases::lat.between(case.lat - dlat, case.lat + dlat));
    let mut query = cases::table
        .select(Case::as_select())
        .filter(cases::created_at.ge(now - Duration::days(WINDOW_DAYS)))
        .filter(cases::state.eq_any(OPEN.iter().copied()))
        .filter(cases::id.ne(case.id))
        .into_boxed();
    query = match &case.cell_code {
        Some(cell) => query.filter(near.or(cases::cell_code.eq(cell.clone()))),
        None => query.filter(near),
    };
    let candidates = query
        .order(cases::created_at.desc())
        .limit(500)
        .load(conn)?;
    Ok(rank(case, candidates))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(n: i64, lon: f64, lat: f64, cell: &str, category: Option<(&str, &str)>) -> Case {
        let json = serde_json::json!({
            "id": Uuid::from_u128(n as u128), "number": n, "state": "reported", "version": 1,
            "source": "supervisor", "urgency": "normal",
            "category_kind": category.map(|_| "event"),
            "category_major": category.map(|c| c.0), "category_minor": category.map(|c| c.1),
            "description": format!("case {n}"), "address": null, "lon": lon, "lat": lat,
            "street_code": null, "department_code": null, "reporter_id": null,
            "reporter_name": null, "reporter_phone": null, "verified": null, "rework_count": 0,
            "satisfaction": null, "duplicate_of": null,
            "created_at": format!("2026-12-0{}T01:00:00Z", n.min(9)),
            "updated_at": "2026-12-03T01:00:00Z", "manual_version": null,
            "manual_limits": null, "stage": null, "clock": null, "stage_started_at": null,
            "stage_limit_minutes": null, "stage_yellow_at": null, "stage_deadline": null,
            "pending_request": null, "pending_minutes": null,
            "suspended_remaining_minutes": null, "extension_minutes": 0,
            "supervision_pending": false, "supervision_level": null, "next_reminder_at": null,
            "cell_code": cell, "community_code": &cell[..12],
        });
        serde_json::from_value(json).expect("a case")
    }

    #[test]
    fn hints_are_near_or_in_the_cell_of_the_same_category_closest_first() {
        const CELL: &str = "330102001001001";
        let new = case(1, 120.2, 30.26, CELL, Some(("01", "02")));
        // 0.001° of latitude is about 111 m.
        let candidates = vec![
            case(2, 120.2, 30.2615, "330102001001002", Some(("01", "02"))), // 167 m
            case(3, 120.2, 30.2605, "330102001001002", None),               // 56 m, unfiled
            case(4, 120.2, 30.2603, "330102001001002", Some(("01", "03"))), // other category
            case(5, 120.2, 30.2625, "330102001001003", Some(("01", "02"))), // 278 m: too far
            case(6, 120.2, 30.2622, CELL, Some(("01", "02"))),              // 245 m, same cell
            {
                let mut closed = case(7, 120.2, 30.26, CELL, None);
                closed.state = State::Closed;
                closed
            },
            new.clone(),
        ];
        let hints: Vec<(i64, f64, bool)> = rank(&new, candidates)
            .into_iter()
            .map(|h| (h.number, h.distance_m, h.same_cell))
            .collect();
        assert_eq!(
            hints,
            [(6, 245.0, true), (3, 56.0, false), (2, 167.0, false)]
        );
    }
}
