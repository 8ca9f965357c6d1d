//! The grid check: codes of this district's streets and communities, unique, valid
//! polygons, each inside the district, none overlapping another, and together covering the
//! district with no gap. Overlaps and gaps are measured (m²) and located, so whoever drew
//! the grid finds them on a map.

use std::collections::{BTreeMap, BTreeSet};

use geo::{
    BooleanOps, BoundingRect, InteriorPoint, Intersects, MultiPolygon, Polygon, Validation,
    unary_union,
};
use rstar::AABB;

use super::index::envelopes;
use super::{Cell, Frame, Problem, ProblemKind, Report, area_m2, is_rounding};

/// Checks `cells` (as read, with the reader's findings in `problems`) against the district.
/// The report counts the cells that remain usable.
pub fn check(frame: &Frame, cells: Vec<Cell>, mut problems: Vec<Problem>) -> (Report, Vec<Cell>) {
    let cells = well_formed(frame, cells, &mut problems);
    let tree = envelopes(&cells);
    for (i, cell) in cells.iter().enumerate() {
        let outside = MultiPolygon::new(vec![cell.polygon.clone()]).difference(&frame.boundary);
        if let Some((area, at)) = measured(&outside) {
            problems.push(coverage(
                ProblemKind::Outside,
                vec![cell.code.to_string()],
                area,
                at,
                format!(
                    "{} extends {area:.0} m² outside district {}",
                    cell.code, frame.district
                ),
            ));
        }
        let Some(bounds) = cell.polygon.bounding_rect() else {
            continue;
        };
        let envelope = AABB::from_corners(bounds.min().into(), bounds.max().into());
        for other in tree.locate_in_envelope_intersecting(&envelope) {
            let j = other.data;
            if j <= i || !cell.polygon.intersects(&cells[j].polygon) {
                continue;
            }
            let shared = cell.polygon.intersection(&cells[j].polygon);
            if let Some((area, at)) = measured(&shared) {
                problems.push(coverage(
                    ProblemKind::Overlap,
                    vec![cell.code.to_string(), cells[j].code.to_string()],
                    area,
                    at,
                    format!(
                        "{} and {} overlap by {area:.0} m²",
                        cell.code, cells[j].code
                    ),
                ));
            }
        }
    }
    let covered = unary_union(cells.iter().map(|c| &c.polygon));
    for piece in frame.boundary.difference(&covered) {
        let Some((area, at)) = measured(&MultiPolygon::new(vec![piece.clone()])) else {
            continue;
        };
        let neighbours = beside(&piece, &cells, &tree);
        problems.push(coverage(
            ProblemKind::Gap,
            neighbours.clone(),
            area,
            at,
            format!(
                "{area:.0} m² of district {} lie in no cell (next to {})",
                frame.district,
                if neighbours.is_empty() {
                    "no cell".to_owned()
                } else {
                    neighbours.join(", ")
                }
            ),
        ));
    }
    problems.sort_by(|a, b| (a.kind, &a.cells).cmp(&(b.kind, &b.cells)));
    let report = Report {
        district: frame.district.clone(),
        cells: cells.len(),
        streets: cells
            .iter()
            .map(|c| c.code.street())
            .collect::<BTreeSet<_>>()
            .len(),
        communities: cells
            .iter()
            .map(|c| c.code.community())
            .collect::<BTreeSet<_>>()
            .len(),
        area_m2: cells.iter().map(Cell::area_m2).sum(),
        problems,
    };
    (report, cells)
}

/// Keeps the cells of known places with unique codes and valid polygons; reports the rest.
fn well_formed(frame: &Frame, cells: Vec<Cell>, problems: &mut Vec<Problem>) -> Vec<Cell> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for cell in &cells {
        *seen.entry(cell.code.to_string()).or_default() += 1;
    }
    for (code, count) in seen.iter().filter(|(_, n)| **n > 1) {
        problems.push(plain(
            ProblemKind::Duplicate,
            code,
            format!("{code} is used by {count} features"),
        ));
    }
    cells
        .into_iter()
        .filter(|cell| {
            let code = cell.code.as_str();
            let place = if cell.code.district() != frame.district {
                Some(format!(
                    "{code} is not a cell of district {}",
                    frame.district
                ))
            } else if !frame.has_community(&cell.code) {
                Some(format!(
                    "{code}: district {} has no community {} in street {}",
                    frame.district,
                    cell.code.community(),
                    cell.code.street()
                ))
            } else {
                None
            };
            if let Some(message) = place {
                problems.push(plain(ProblemKind::UnknownPlace, code, message));
                return false;
            }
            if let Err(e) = cell.polygon.check_validation() {
                problems.push(plain(
                    ProblemKind::InvalidPolygon,
                    code,
                    format!("{code}: {e}"),
                ));
                return false;
            }
            seen.get(code) == Some(&1)
        })
        .collect()
}

/// Area (m²) of `shape` and a point inside its largest piece, unless it is all rounding.
fn measured(shape: &MultiPolygon<f64>) -> Option<(f64, [f64; 2])> {
    let pieces: Vec<(f64, &Polygon<f64>)> = shape
        .iter()
        .filter(|p| !is_rounding(p))
        .map(|p| (area_m2(p), p))
        .collect();
    let (_, largest) = pieces.iter().max_by(|a, b| a.0.total_cmp(&b.0))?;
    let at = largest
        .interior_point()
        .map_or([f64::NAN; 2], |p| [p.x(), p.y()]);
    Some((pieces.iter().map(|(a, _)| a).sum(), at))
}

/// Codes of the cells touching `piece`, for a gap's report (at most eight).
fn beside(piece: &Polygon<f64>, cells: &[Cell], tree: &super::index::Tree) -> Vec<String> {
    let Some(bounds) = piece.bounding_rect() else {
        return Vec::new();
    };
    let envelope = AABB::from_corners(bounds.min().into(), bounds.max().into());
    let mut codes: Vec<String> = tree
        .locate_in_envelope_intersecting(&envelope)
        .filter(|e| cells[e.data].polygon.intersects(piece))
        .map(|e| cells[e.data].code.to_string())
        .collect();
    codes.sort();
    codes.truncate(8);
    codes
}

fn plain(kind: ProblemKind, code: &str, message: String) -> Problem {
    Problem {
        kind,
        cells: vec![code.to_owned()],
        area_m2: None,
        at: None,
        message,
    }
}

fn coverage(
    kind: ProblemKind,
    cells: Vec<String>,
    area: f64,
    at: [f64; 2],
    message: String,
) -> Problem {
    Problem {
        kind,
        cells,
        area_m2: Some(area),
        at: Some(at),
        message,
    }
}
