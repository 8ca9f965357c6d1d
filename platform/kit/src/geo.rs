//! District boundaries: the district checks that a report lies inside its own, and the city
//! finds which district a point it was told about belongs to. Both read the same GeoJSON.

use std::path::Path;

use geo::{Contains, MultiPolygon, Point, Polygon};
use serde::Deserialize;

/// Reads a GeoJSON Feature (or the first feature of a FeatureCollection) or a bare geometry
/// holding a Polygon or MultiPolygon of (lon, lat) positions. The error is for people and
/// names what is wrong, not the file (the caller knows it).
pub fn read_boundary(path: &Path) -> Result<MultiPolygon<f64>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
    parse_boundary(&text)
}

/// [`read_boundary`] of text already read.
pub fn parse_boundary(text: &str) -> Result<MultiPolygon<f64>, String> {
    #[derive(Deserialize)]
    struct Object {
        #[serde(rename = "type")]
        kind: String,
        geometry: Option<serde_json::Value>,
        coordinates: Option<serde_json::Value>,
        features: Option<Vec<serde_json::Value>>,
    }
    let top: Object = serde_json::from_str(text).map_err(|e| format!("not GeoJSON: {e}"))?;
    let geometry: serde_json::Value = match top.kind.as_str() {
        "Feature" => top
            .geometry
            .ok_or_else(|| "the Feature has no geometry".to_owned())?,
        "FeatureCollection" => top
            .features
            .and_then(|f| f.into_iter().next())
            .and_then(|f| f.get("geometry").cloned())
            .ok_or_else(|| "the FeatureCollection has no feature with a geometry".to_owned())?,
        _ => serde_json::json!({ "type": top.kind, "coordinates": top.coordinates }),
    };
    let kind = geometry["type"].as_str().unwrap_or_default().to_owned();
    let coordinates = geometry["coordinates"].clone();
    type Rings = Vec<Vec<(f64, f64)>>;
    let polygons: Vec<Rings> = match kind.as_str() {
        "Polygon" => vec![
            serde_json::from_value(coordinates)
                .map_err(|e| format!("bad Polygon coordinates: {e}"))?,
        ],
        "MultiPolygon" => serde_json::from_value(coordinates)
            .map_err(|e| format!("bad MultiPolygon coordinates: {e}"))?,
        other => {
            return Err(format!(
                "geometry must be a Polygon or MultiPolygon, not {other:?}"
            ));
        }
    };
    let polygons = polygons
        .into_iter()
        .map(|mut rings| {
            if rings.is_empty() || rings[0].len() < 4 {
                return Err("a polygon needs an outer ring of at least 4 positions".to_owned());
            }
            let outer = rings.remove(0);
            Ok(Polygon::new(
                outer.into(),
                rings.into_iter().map(Into::into).collect(),
            ))
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(MultiPolygon::new(polygons))
}

/// Whether (lon, lat) lies inside `area` (a point on the edge does not).
pub fn contains(area: &MultiPolygon<f64>, lon: f64, lat: f64) -> bool {
    area.contains(&Point::new(lon, lat))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SQUARE: &str = r#"{"type":"Feature","properties":{},"geometry":{"type":"Polygon",
        "coordinates":[[[120.0,30.0],[120.1,30.0],[120.1,30.1],[120.0,30.1],[120.0,30.0]]]}}"#;

    #[test]
    fn a_feature_a_collection_and_a_bare_geometry_read_alike() {
        let feature = parse_boundary(SQUARE).expect("feature");
        let collection = parse_boundary(&format!(
            r#"{{"type":"FeatureCollection","features":[{SQUARE}]}}"#
        ))
        .expect("collection");
        let bare = parse_boundary(
            r#"{"type":"MultiPolygon","coordinates":[[[[120.0,30.0],[120.1,30.0],[120.1,30.1],[120.0,30.1],[120.0,30.0]]]]}"#,
        )
        .expect("bare");
        for area in [&feature, &collection, &bare] {
            assert!(contains(area, 120.05, 30.05));
            assert!(!contains(area, 120.15, 30.05));
        }
    }

    #[test]
    fn what_is_not_an_area_is_named() {
        let line = r#"{"type":"LineString","coordinates":[[120.0,30.0],[120.1,30.0]]}"#;
        assert!(parse_boundary(line).unwrap_err().contains("LineString"));
        let short =
            r#"{"type":"Polygon","coordinates":[[[120.0,30.0],[120.1,30.0],[120.0,30.0]]]}"#;
        assert!(parse_boundary(short).unwrap_err().contains("at least 4"));
        assert!(parse_boundary("{").unwrap_err().contains("not GeoJSON"));
    }
}
