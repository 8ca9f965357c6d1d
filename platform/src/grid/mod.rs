//! The unit grid (万米单元网格): the district divided into cells of about 10,000 m², each
//! with a 15-digit code that names its street and community. Cases are located, routed and
//! appraised by cell, so a grid is checked hard before it is used: a gap leaves cases
//! without a cell, an overlap puts one place under two owners.
//!
//! Everything here is pure: files in, findings and an index out. The CLI (`citygrid
//! district grid check|synth`) and the running district build on it.

mod check;
mod code;
mod file;
mod index;
mod synth;

use std::collections::BTreeMap;

use geo::{ChamberlainDuquetteArea, Haversine, Length, MultiPolygon, Polygon};
use serde::Serialize;

pub use check::check;
pub use code::{CELL_CODE_LEN, CellCode};
pub use file::{read, write};
pub use index::Grid;
pub use synth::synthetic;

use crate::config::Tenant;

/// Pieces smaller than this (m²) are rounding, not findings.
pub const AREA_TOLERANCE_M2: f64 = 1.0;

/// Pieces narrower than this on average (m) are rounding too: coordinates kept to 1e-7°
/// (about 1 cm) leave slivers along a boundary that can add up to some square metres over
/// kilometres, but never get wider.
pub const WIDTH_TOLERANCE_M: f64 = 0.05;

/// Area in m² on the sphere. Robust for the small, possibly sliver-thin shapes of a grid
/// (a geodesic area of a degenerate sliver can come out as the whole Earth's).
pub fn area_m2(polygon: &Polygon<f64>) -> f64 {
    polygon.chamberlain_duquette_unsigned_area()
}

/// Whether a piece is coordinate rounding rather than ground: tiny, or sliver-thin (its
/// mean width, twice its area over its perimeter, under [`WIDTH_TOLERANCE_M`]).
pub fn is_rounding(polygon: &Polygon<f64>) -> bool {
    let area = area_m2(polygon);
    let perimeter = std::iter::once(polygon.exterior())
        .chain(polygon.interiors())
        .map(|ring| Haversine.length(ring))
        .sum::<f64>();
    area <= AREA_TOLERANCE_M2 || 2.0 * area / perimeter < WIDTH_TOLERANCE_M
}

/// One cell of a grid file.
#[derive(Debug, Clone)]
pub struct Cell {
    pub code: CellCode,
    /// Longitude/latitude (WGS 84), as everywhere in CityGrid.
    pub polygon: Polygon<f64>,
}

impl Cell {
    pub fn area_m2(&self) -> f64 {
        area_m2(&self.polygon)
    }
}

/// What a grid is checked against: the district's code, boundary, streets and communities.
#[derive(Debug, Clone)]
pub struct Frame {
    pub district: String,
    pub boundary: MultiPolygon<f64>,
    /// Street code → its community codes, in the tenant's order.
    pub streets: BTreeMap<String, Vec<String>>,
}

impl Frame {
    pub fn of(tenant: &Tenant) -> Frame {
        Frame {
            district: tenant.code().to_owned(),
            boundary: tenant.boundary.clone(),
            streets: tenant
                .config
                .streets
                .iter()
                .map(|s| {
                    (
                        s.code.clone(),
                        s.communities.iter().map(|c| c.code.clone()).collect(),
                    )
                })
                .collect(),
        }
    }

    fn has_community(&self, code: &CellCode) -> bool {
        self.streets
            .get(code.street())
            .is_some_and(|c| c.iter().any(|c| c == code.community()))
    }
}

/// What is wrong with a grid, by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// A feature that is not a cell: no code, a malformed code, not a polygon.
    Malformed,
    /// A code of another district, or of a street or community the district does not have.
    UnknownPlace,
    /// Two features with one code.
    Duplicate,
    /// A self-intersecting or otherwise invalid polygon.
    InvalidPolygon,
    /// Part of a cell lies outside the district.
    Outside,
    /// Two cells cover the same ground.
    Overlap,
    /// Ground of the district that no cell covers.
    Gap,
}

impl ProblemKind {
    /// Coverage findings may be accepted as warnings when asked (`--accept-warnings`): an
    /// overlap resolves to the lower code, a gap leaves cases there without a cell. The
    /// others make the file unusable.
    pub fn is_coverage(self) -> bool {
        matches!(
            self,
            ProblemKind::Outside | ProblemKind::Overlap | ProblemKind::Gap
        )
    }
}

/// One finding, naming the cells involved and, for coverage findings, the area in m² and a
/// point inside it (longitude, latitude) to look at.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    pub kind: ProblemKind,
    /// Cell codes (or `#n`, the feature's position, when it has no usable code).
    pub cells: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub area_m2: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<[f64; 2]>,
    pub message: String,
}

/// The outcome of checking a grid file.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub district: String,
    /// Cells usable for lookups (well-formed, valid polygons, known places, unique codes).
    pub cells: usize,
    pub streets: usize,
    pub communities: usize,
    /// Their total area, m².
    pub area_m2: f64,
    pub problems: Vec<Problem>,
}

impl Report {
    /// Whether the grid may be used: no problem at all, or only coverage findings and the
    /// caller accepts them as warnings.
    pub fn acceptable(&self, accept_warnings: bool) -> bool {
        self.problems
            .iter()
            .all(|p| accept_warnings && p.kind.is_coverage())
    }
}

#[cfg(test)]
mod tests {
    use geo::{Rect, polygon};
    use serde_json::Map;

    use super::*;

    /// A district of 3 × 2 squares of 0.001° (about 96 m × 111 m), one street, one community.
    fn frame() -> Frame {
        Frame {
            district: "330102".into(),
            boundary: MultiPolygon::new(vec![
                Rect::new((120.0, 30.0), (120.003, 30.002)).to_polygon(),
            ]),
            streets: BTreeMap::from([("330102001".into(), vec!["330102001001".into()])]),
        }
    }

    fn cell(serial: u32, (x0, y0): (f64, f64), (x1, y1): (f64, f64)) -> Cell {
        Cell {
            code: CellCode::parse(&format!("330102001001{serial:03}")).expect("code"),
            polygon: Rect::new((x0, y0), (x1, y1)).to_polygon(),
        }
    }

    /// The six squares, serials 1–6, row by row.
    fn tiles() -> Vec<Cell> {
        let mut cells = Vec::new();
        for row in 0..2 {
            for col in 0..3 {
                let (x, y) = (
                    120.0 + f64::from(col) * 0.001,
                    30.0 + f64::from(row) * 0.001,
                );
                cells.push(cell(row * 3 + col + 1, (x, y), (x + 0.001, y + 0.001)));
            }
        }
        cells
    }

    #[test]
    fn a_clean_grid_checks_clean() {
        let (report, cells) = check(&frame(), tiles(), Vec::new());
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        assert!(report.acceptable(false));
        assert_eq!(
            (report.cells, report.streets, report.communities),
            (6, 1, 1)
        );
        // About 0.003° × 0.002° at 30° N: 289 m × 222 m.
        assert!(
            (report.area_m2 - 64_200.0).abs() < 600.0,
            "{}",
            report.area_m2
        );
        assert_eq!(cells.len(), 6);
    }

    #[test]
    fn an_overlap_and_a_gap_are_named_by_code_with_their_areas() {
        let mut cells = tiles();
        // Cell 2 widened west over half of cell 1; cell 6 missing.
        cells[1] = cell(2, (120.0005, 30.0), (120.002, 30.001));
        cells.pop();
        let (report, _) = check(&frame(), cells, Vec::new());
        let found: Vec<(ProblemKind, Vec<&str>, i64)> = report
            .problems
            .iter()
            .map(|p| {
                (
                    p.kind,
                    p.cells.iter().map(String::as_str).collect(),
                    p.area_m2.map_or(0, |a| (a / 100.0).round() as i64 * 100),
                )
            })
            .collect();
        assert_eq!(
            found,
            [
                (
                    ProblemKind::Overlap,
                    vec!["330102001001001", "330102001001002"],
                    5400
                ),
                // Next to the gap: 3 (below), 5 (west) and 2 (at a corner).
                (
                    ProblemKind::Gap,
                    vec!["330102001001002", "330102001001003", "330102001001005"],
                    10700
                ),
            ],
            "{:?}",
            report.problems
        );
        let gap = &report.problems[1];
        let [lon, lat] = gap.at.expect("located");
        assert!(lon > 120.002 && lat > 30.001, "{gap:?}");
        assert!(gap.message.contains("m² of district 330102 lie in no cell"));
        // Coverage findings may be accepted as warnings, when asked.
        assert!(!report.acceptable(false) && report.acceptable(true));
    }

    #[test]
    fn codes_polygons_and_places_are_checked_before_geometry() {
        let mut cells = tiles();
        cells[1].code = CellCode::parse("330105001001002").expect("code");
        cells[2].code = CellCode::parse("330102009001003").expect("code");
        cells[3].code = cells[4].code.clone();
        // A bow tie: self-intersecting.
        cells[5].polygon = polygon![
            (x: 120.002, y: 30.001), (x: 120.003, y: 30.002),
            (x: 120.003, y: 30.001), (x: 120.002, y: 30.002),
        ];
        let (report, usable) = check(&frame(), cells, Vec::new());
        let kinds: Vec<(ProblemKind, &str)> = report
            .problems
            .iter()
            .filter(|p| !p.kind.is_coverage())
            .map(|p| (p.kind, p.cells[0].as_str()))
            .collect();
        assert_eq!(
            kinds,
            [
                (ProblemKind::UnknownPlace, "330102009001003"),
                (ProblemKind::UnknownPlace, "330105001001002"),
                (ProblemKind::Duplicate, "330102001001005"),
                (ProblemKind::InvalidPolygon, "330102001001006"),
            ]
        );
        assert_eq!(usable.len(), 1, "only cell 1 is usable");
        assert!(!report.acceptable(true), "not even with warnings accepted");
    }

    #[test]
    fn a_point_on_a_shared_edge_or_corner_is_in_exactly_one_cell() {
        let grid = Grid::new(tiles().into_iter().rev().collect());
        let code = |lon, lat| grid.locate(lon, lat).map(|c| c.code.to_string());
        // Inside.
        assert_eq!(code(120.0025, 30.0015).as_deref(), Some("330102001001006"));
        // The edge between 1 and 2, the corner of 1, 2, 4 and 5: the lowest code.
        assert_eq!(code(120.001, 30.0005).as_deref(), Some("330102001001001"));
        assert_eq!(code(120.001, 30.001).as_deref(), Some("330102001001001"));
        // The edge between 5 and 6.
        assert_eq!(code(120.002, 30.0015).as_deref(), Some("330102001001005"));
        // Outside the grid.
        assert_eq!(code(120.0035, 30.001), None);
    }

    #[test]
    fn the_sample_districts_get_clean_synthetic_grids_of_a_few_thousand_cells() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tenants/hangzhou");
        let tenant = Tenant::load(&dir.join("districts/330102.toml")).expect("sample");
        let frame = Frame::of(&tenant);
        let cells = synthetic(&frame, 100.0).expect("grid");
        // Through the file and back, as `grid synth` then `grid check` would.
        let text = write(&cells, Map::new());
        let (cells, problems) = read(&text).expect("read");
        let (report, _) = check(&frame, cells, problems);
        assert!(
            report.problems.is_empty(),
            "{:?}",
            &report.problems[..3.min(report.problems.len())]
        );
        assert!((2_000..10_000).contains(&report.cells), "{}", report.cells);
        assert_eq!((report.streets, report.communities), (4, 12));
        let district: f64 = frame.boundary.iter().map(area_m2).sum();
        assert!(
            (report.area_m2 - district).abs() < 100.0,
            "{} vs {district}",
            report.area_m2
        );
    }
}
