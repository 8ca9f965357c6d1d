//! Synthetic grids for the sample districts (`citygrid district grid synth`): squares of
//! about `metres` a side on a longitude/latitude raster, clipped to the district boundary.
//! Streets take bands of columns west to east, communities bands of rows within them. They
//! look like a grid and check clean; they are not anyone's real grid, and their files say so.

use std::collections::BTreeMap;

use geo::{BooleanOps, BoundingRect, Contains, Coord, MapCoords, MultiPolygon, Rect};

use super::{Cell, CellCode, Frame, is_rounding};

/// Metres per degree of latitude (and of longitude at the equator), WGS 84 mean.
const METRES_PER_DEGREE: f64 = 111_320.0;

pub fn synthetic(frame: &Frame, metres: f64) -> Result<Vec<Cell>, String> {
    if !(10.0..=2000.0).contains(&metres) {
        return Err(format!(
            "a cell of {metres} m a side is not a unit grid cell"
        ));
    }
    let bounds = frame
        .boundary
        .bounding_rect()
        .ok_or("the district boundary is empty")?;
    let streets: Vec<&Vec<String>> = frame.streets.values().filter(|c| !c.is_empty()).collect();
    if streets.is_empty() {
        return Err(format!(
            "district {} has no street with a community",
            frame.district
        ));
    }
    let (min, max) = (bounds.min(), bounds.max());
    let dlat = metres / METRES_PER_DEGREE;
    let dlon = dlat / ((min.y + max.y) / 2.0).to_radians().cos();
    let (cols, rows) = (
        ((max.x - min.x) / dlon).ceil() as usize,
        ((max.y - min.y) / dlat).ceil() as usize,
    );
    // Shared edges come from one expression, rounded as files keep them: neighbours meet exactly.
    let x = |k: usize| round(min.x + k as f64 * dlon);
    let y = |k: usize| round(min.y + k as f64 * dlat);
    let mut serials: BTreeMap<&str, u32> = BTreeMap::new();
    let mut cells = Vec::new();
    for col in 0..cols {
        let communities = streets[col * streets.len() / cols];
        for row in 0..rows {
            let community = communities[row * communities.len() / rows].as_str();
            let square = Rect::new((x(col), y(row)), (x(col + 1), y(row + 1))).to_polygon();
            let pieces = if frame.boundary.contains(&square) {
                vec![square]
            } else {
                frame
                    .boundary
                    .intersection(&MultiPolygon::new(vec![square]))
                    .0
            };
            for polygon in pieces {
                let polygon = polygon.map_coords(|c| Coord {
                    x: round(c.x),
                    y: round(c.y),
                });
                if is_rounding(&polygon) {
                    continue;
                }
                let serial = serials.entry(community).or_default();
                *serial += 1;
                if *serial > 999 {
                    return Err(format!(
                        "community {community} would get more than 999 cells: choose larger cells"
                    ));
                }
                let code = CellCode::parse(&format!("{community}{serial:03}"))?;
                cells.push(Cell { code, polygon });
            }
        }
    }
    Ok(cells)
}

fn round(degrees: f64) -> f64 {
    (degrees * 1e7).round() / 1e7
}
