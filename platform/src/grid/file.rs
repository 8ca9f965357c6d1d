//! Grid files: a GeoJSON FeatureCollection of Polygon features whose properties carry the
//! cell `code` and, optionally, its `street` and `community` codes (checked against the
//! code's prefixes). A feature that cannot be a cell is a finding, not a failure, so one
//! bad row among thousands is reported with the rest.

use std::fmt::Write as _;

use geo::Polygon;
use serde_json::{Map, Value, json};

use super::{Cell, CellCode, Problem, ProblemKind};

/// The cells of a grid file, and what kept other features from being cells. `Err` only
/// when the text is not a GeoJSON FeatureCollection at all.
pub fn read(text: &str) -> Result<(Vec<Cell>, Vec<Problem>), String> {
    let collection: geojson::FeatureCollection = text
        .parse()
        .map_err(|e| format!("not a GeoJSON FeatureCollection: {e}"))?;
    let mut cells = Vec::with_capacity(collection.features.len());
    let mut problems = Vec::new();
    for (n, feature) in collection.features.iter().enumerate() {
        match cell(feature) {
            Ok(cell) => cells.push(cell),
            Err((name, message)) => problems.push(Problem {
                kind: ProblemKind::Malformed,
                cells: vec![name.unwrap_or_else(|| format!("#{n}"))],
                area_m2: None,
                at: None,
                message: format!("feature #{n}: {message}"),
            }),
        }
    }
    Ok((cells, problems))
}

/// One feature as a cell, or its code (when it has one) and what is wrong.
fn cell(feature: &geojson::Feature) -> Result<Cell, (Option<String>, String)> {
    let property = |key: &str| feature.properties.as_ref().and_then(|p| p.get(key));
    let text = match property("code") {
        Some(Value::String(code)) => code.clone(),
        Some(other) => return Err((None, format!("code must be a string, not {other}"))),
        None => return Err((None, "no code property".into())),
    };
    let code = CellCode::parse(&text).map_err(|e| (Some(text.clone()), e))?;
    for (key, expected) in [("street", code.street()), ("community", code.community())] {
        match property(key) {
            None => {}
            Some(Value::String(given)) if given == expected => {}
            Some(given) => {
                return Err((
                    Some(text),
                    format!("{key} {given} disagrees with the code, which says {expected}"),
                ));
            }
        }
    }
    let polygon = feature
        .geometry
        .as_ref()
        .ok_or("no geometry")
        .and_then(|g| Polygon::try_from(&g.value).map_err(|_| "the geometry is not a Polygon"))
        .map_err(|e| (Some(text), e.to_owned()))?;
    Ok(Cell { code, polygon })
}

/// Writes cells as a grid file, one feature per line (diffs stay readable), coordinates
/// rounded to 1e-7° (about 1 cm). `extra` properties go on the collection (e.g.
/// `synthetic: true`).
pub fn write(cells: &[Cell], extra: Map<String, Value>) -> String {
    let mut out = String::from("{\"type\":\"FeatureCollection\",");
    for (key, value) in &extra {
        let _ = write!(out, "{}:{},", Value::from(key.as_str()), value);
    }
    out.push_str("\"features\":[\n");
    for (n, cell) in cells.iter().enumerate() {
        let rings: Vec<Vec<[f64; 2]>> = std::iter::once(cell.polygon.exterior())
            .chain(cell.polygon.interiors())
            .map(|ring| ring.coords().map(|c| [round(c.x), round(c.y)]).collect())
            .collect();
        let feature = json!({
            "type": "Feature",
            "properties": {
                "code": cell.code,
                "street": cell.code.street(),
                "community": cell.code.community(),
            },
            "geometry": { "type": "Polygon", "coordinates": rings },
        });
        let _ = write!(out, "{}{feature}", if n == 0 { "" } else { ",\n" });
    }
    out.push_str("\n]}\n");
    out
}

fn round(degrees: f64) -> f64 {
    (degrees * 1e7).round() / 1e7
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feature(properties: Value, geometry: Value) -> Value {
        json!({ "type": "Feature", "properties": properties, "geometry": geometry })
    }

    fn square() -> Value {
        json!({ "type": "Polygon", "coordinates": [[[120.0, 30.0], [120.001, 30.0], [120.001, 30.001], [120.0, 30.001], [120.0, 30.0]]] })
    }

    #[test]
    fn each_bad_feature_is_named_and_the_rest_are_read() {
        let good = feature(json!({ "code": "330102001001001" }), square());
        let text = json!({ "type": "FeatureCollection", "features": [
            good,
            feature(json!({}), square()),
            feature(json!({ "code": 330102001001002_u64 }), square()),
            feature(json!({ "code": "33010200100100" }), square()),
            feature(json!({ "code": "330102001001004", "street": "330102002" }), square()),
            feature(json!({ "code": "330102001001005" }), json!({ "type": "Point", "coordinates": [120.0, 30.0] })),
        ]})
        .to_string();
        let (cells, problems) = read(&text).expect("a collection");
        assert_eq!(cells.len(), 1);
        let said: Vec<(&str, &str)> = problems
            .iter()
            .map(|p| (p.cells[0].as_str(), p.message.as_str()))
            .collect();
        let expect = [
            ("#1", "no code property"),
            ("#2", "must be a string"),
            ("33010200100100", "15 digits"),
            ("330102001001004", "street \"330102002\" disagrees"),
            ("330102001001005", "not a Polygon"),
        ];
        assert_eq!(said.len(), expect.len(), "{said:?}");
        for ((cell, message), (want_cell, want)) in said.iter().zip(expect) {
            assert!(
                *cell == want_cell && message.contains(want),
                "{cell}: {message}"
            );
        }
        assert!(read("{\"type\":\"Feature\"}").is_err());
    }

    #[test]
    fn written_cells_read_back_the_same() {
        let text = json!({ "type": "FeatureCollection", "features": [
            feature(json!({ "code": "330102001001001" }), square()),
        ]})
        .to_string();
        let (cells, _) = read(&text).expect("read");
        let written = write(&cells, Map::from_iter([("synthetic".into(), json!(true))]));
        assert!(written.contains("\"synthetic\":true"));
        let (again, problems) = read(&written).expect("read back");
        assert!(problems.is_empty());
        assert_eq!(again[0].code, cells[0].code);
        assert_eq!(again[0].polygon, cells[0].polygon);
    }
}
