//! Address files: CSV (`id,address,lon,lat[,street,community]`, a header row naming the
//! columns in any order, `#` lines as comments, fields quoted `"…"` with `""` for a quote
//! when they hold a comma; one record a line) or a GeoJSON FeatureCollection of Point
//! features with `id`, `address` and optional `street`, `community` properties. Told apart
//! by the first character (`{` is GeoJSON).
//!
//! A row that cannot be an address point is a finding, not a failure, so one bad row among
//! thousands is reported with the rest: bad coordinates, a point outside the district, an
//! id seen before, an empty address (or one that names only places the district implies),
//! street or community codes the district does not have.

use std::collections::HashSet;
use std::fmt::Write as _;

use geo::{Contains, Point};
use serde_json::Value;

use super::normalise::{Region, normalise};
use super::{AddressPoint, Finding, FindingKind};
use crate::grid::Frame;

/// The columns a CSV file may have.
const COLUMNS: [&str; 6] = ["id", "address", "lon", "lat", "street", "community"];

/// The points of an address file that passed, and findings for the rest. `Err` only when
/// the file as a whole is unreadable (not GeoJSON, no CSV header, unknown columns).
pub fn read(
    text: &str,
    frame: &Frame,
    region: &Region,
) -> Result<(Vec<AddressPoint>, Vec<Finding>), String> {
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    let rows = if text.trim_start().starts_with('{') {
        geojson_rows(text)?
    } else {
        csv_rows(text)?
    };
    let mut points = Vec::with_capacity(rows.len());
    let mut findings = Vec::new();
    let mut ids = HashSet::new();
    for (row, parsed) in rows {
        let finding = |id: Option<&str>, kind, message: String| Finding {
            row: row.clone(),
            id: id.map(str::to_owned),
            kind,
            message: format!("{row}: {message}"),
        };
        let point = match parsed {
            Ok(point) => point,
            Err(message) => {
                findings.push(finding(None, FindingKind::Malformed, message));
                continue;
            }
        };
        let id = Some(point.id.as_str());
        if let Some((kind, message)) = problem(&point, frame, region) {
            findings.push(finding(id, kind, message));
        } else if !ids.insert(point.id.clone()) {
            findings.push(finding(
                id,
                FindingKind::DuplicateId,
                format!("id {:?} appears twice", point.id),
            ));
        } else {
            points.push(point);
        }
    }
    Ok((points, findings))
}

/// What is wrong with a well-formed row, if anything.
fn problem(point: &AddressPoint, frame: &Frame, region: &Region) -> Option<(FindingKind, String)> {
    if point.id.trim().is_empty() {
        return Some((FindingKind::Malformed, "the id is empty".into()));
    }
    if point.address.trim().is_empty() {
        return Some((FindingKind::EmptyAddress, "the address is empty".into()));
    }
    if normalise(&point.address, region).road.is_empty() {
        return Some((
            FindingKind::EmptyAddress,
            format!(
                "the address {:?} names only places the district implies",
                point.address
            ),
        ));
    }
    let (lon, lat) = (point.lon, point.lat);
    let inside = (-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat);
    if !(lon.is_finite() && lat.is_finite() && inside) {
        return Some((
            FindingKind::BadCoordinates,
            format!("({lon}, {lat}) is not a longitude and latitude"),
        ));
    }
    if !frame.boundary.contains(&Point::new(lon, lat)) {
        return Some((
            FindingKind::Outside,
            format!(
                "the point ({lon}, {lat}) is outside district {}",
                frame.district
            ),
        ));
    }
    if let Some(street) = &point.street
        && !frame.streets.contains_key(street)
    {
        return Some((
            FindingKind::UnknownPlace,
            format!("no street {street:?} in district {}", frame.district),
        ));
    }
    if let Some(community) = &point.community {
        let street = point
            .street
            .as_deref()
            .unwrap_or(community.get(..9).unwrap_or(""));
        let known = frame
            .streets
            .get(street)
            .is_some_and(|c| c.iter().any(|c| c == community));
        if !known {
            return Some((
                FindingKind::UnknownPlace,
                format!(
                    "no community {community:?} in {} of district {}",
                    point
                        .street
                        .as_deref()
                        .map_or("any street".into(), |s| format!("street {s}")),
                    frame.district
                ),
            ));
        }
    }
    None
}

type Row = (String, Result<AddressPoint, String>);

fn csv_rows(text: &str) -> Result<Vec<Row>, String> {
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(n, line)| (n + 1, line.trim_end_matches('\r')))
        .filter(|(_, line)| !line.trim().is_empty() && !line.trim_start().starts_with('#'));
    let (header_line, header) = lines
        .next()
        .ok_or("no header row (id,address,lon,lat[,street,community])")?;
    let names = fields(header).map_err(|e| format!("line {header_line}: {e}"))?;
    let mut at = [None; COLUMNS.len()];
    for (i, name) in names.iter().enumerate() {
        let name = name.trim();
        let column = COLUMNS.iter().position(|c| *c == name).ok_or_else(|| {
            format!(
                "line {header_line}: unknown column {name:?} (columns: {})",
                COLUMNS.join(", ")
            )
        })?;
        if at[column].replace(i).is_some() {
            return Err(format!("line {header_line}: column {name:?} twice"));
        }
    }
    let required = |c: usize| {
        at[c].ok_or_else(|| {
            format!(
                "line {header_line}: no {:?} column (columns: id, address, lon, lat[, street, community])",
                COLUMNS[c]
            )
        })
    };
    let (id, address, lon, lat) = (required(0)?, required(1)?, required(2)?, required(3)?);
    let (street, community) = (at[4], at[5]);
    Ok(lines
        .map(|(n, line)| {
            let parsed = fields(line).and_then(|f| {
                if f.len() != names.len() {
                    return Err(format!(
                        "{} fields where the header has {}",
                        f.len(),
                        names.len()
                    ));
                }
                let number = |i: usize, what: &str| {
                    f[i].trim()
                        .parse::<f64>()
                        .map_err(|_| format!("{what} {:?} is not a number", f[i]))
                };
                let optional =
                    |i: Option<usize>| i.map(|i| f[i].trim().to_owned()).filter(|s| !s.is_empty());
                Ok(AddressPoint {
                    id: f[id].trim().to_owned(),
                    address: f[address].trim().to_owned(),
                    lon: number(lon, "lon")?,
                    lat: number(lat, "lat")?,
                    street: optional(street),
                    community: optional(community),
                })
            });
            (format!("line {n}"), parsed)
        })
        .collect())
}

/// One CSV line's fields (also the component census's, crate::component).
pub(crate) fn fields(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(c) => field.push(c),
                    None => return Err("a quoted field is not closed".into()),
                }
            }
            match chars.next() {
                None => {
                    out.push(field);
                    return Ok(out);
                }
                Some(',') => out.push(field),
                Some(c) => return Err(format!("{c:?} after a closing quote")),
            }
        } else {
            loop {
                match chars.next() {
                    None => {
                        out.push(field);
                        return Ok(out);
                    }
                    Some(',') => break,
                    Some(c) => field.push(c),
                }
            }
            out.push(field);
        }
    }
}

fn geojson_rows(text: &str) -> Result<Vec<Row>, String> {
    let collection: geojson::FeatureCollection = text
        .parse()
        .map_err(|e| format!("not a GeoJSON FeatureCollection: {e}"))?;
    Ok(collection
        .features
        .iter()
        .enumerate()
        .map(|(n, feature)| (format!("feature #{n}"), feature_point(feature)))
        .collect())
}

fn feature_point(feature: &geojson::Feature) -> Result<AddressPoint, String> {
    let property = |key: &str| feature.properties.as_ref().and_then(|p| p.get(key));
    let text = |key: &str| match property(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
        Some(Value::Number(n)) if key == "id" => Ok(Some(n.to_string())),
        Some(other) => Err(format!("{key} must be a string, not {other}")),
    };
    let id = text("id")?
        .or_else(|| {
            feature.id.as_ref().map(|id| match id {
                geojson::feature::Id::String(s) => s.clone(),
                geojson::feature::Id::Number(n) => n.to_string(),
            })
        })
        .ok_or("no id property")?;
    let address = text("address")?.ok_or("no address property")?;
    let point = match feature.geometry.as_ref().map(|g| &g.value) {
        Some(geojson::GeometryValue::Point { coordinates }) if coordinates.len() >= 2 => {
            (coordinates[0], coordinates[1])
        }
        _ => return Err("the geometry is not a Point".into()),
    };
    Ok(AddressPoint {
        id,
        address,
        lon: point.0,
        lat: point.1,
        street: text("street")?.filter(|s| !s.is_empty()),
        community: text("community")?.filter(|s| !s.is_empty()),
    })
}

/// Writes points as a CSV address file, `comments` first as `#` lines; coordinates kept
/// to 1e-7° (about 1 cm).
pub fn write_csv(points: &[AddressPoint], comments: &[String]) -> String {
    let mut out = String::new();
    for comment in comments {
        let _ = writeln!(out, "# {comment}");
    }
    out.push_str("id,address,lon,lat,street,community\n");
    for p in points {
        let _ = writeln!(
            out,
            "{},{},{},{},{},{}",
            quoted(&p.id),
            quoted(&p.address),
            (p.lon * 1e7).round() / 1e7,
            (p.lat * 1e7).round() / 1e7,
            quoted(p.street.as_deref().unwrap_or("")),
            quoted(p.community.as_deref().unwrap_or("")),
        );
    }
    out
}

pub(crate) fn quoted(field: &str) -> String {
    if field.contains([',', '"']) || field.starts_with(' ') || field.ends_with(' ') {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use geo::{MultiPolygon, Rect};
    use serde_json::json;

    use super::*;

    fn frame() -> Frame {
        Frame {
            district: "330102".into(),
            boundary: MultiPolygon::new(vec![
                Rect::new((120.0, 30.0), (120.01, 30.01)).to_polygon(),
            ]),
            streets: BTreeMap::from([("330102001".into(), vec!["330102001001".into()])]),
        }
    }

    fn region() -> Region {
        Region::of_district("330102", "上城区", ["湖滨街道"], ["东坡路社区"])
    }

    #[test]
    fn each_bad_row_is_named_and_the_rest_are_read() {
        let text = "\u{FEFF}# synthetic\n\
            id,address,lon,lat,street,community\n\
            A1,解放路1号,120.001,30.001,330102001,330102001001\n\
            A2,\"解放路2号, 东侧\",120.002,30.001,,\n\
            A3,,120.003,30.001,,\n\
            A4,浙江省杭州市上城区,120.003,30.001,,\n\
            A5,解放路5号,east,30.001,,\n\
            A6,解放路6号,200,30.001,,\n\
            A7,解放路7号,120.5,30.5,,\n\
            A1,解放路8号,120.004,30.001,,\n\
            A9,解放路9号,120.004,30.001,330102009,\n\
            A10,解放路10号,120.004,30.001,330102001,330102001002\n\
            A11,解放路11号,120.004\n\
            \n\
            A12,解放路12号,120.005,30.001,,\n";
        let (points, findings) = read(text, &frame(), &region()).expect("a file");
        let ids: Vec<&str> = points.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["A1", "A2", "A12"]);
        assert_eq!(points[1].address, "解放路2号, 东侧");
        assert_eq!(points[0].community.as_deref(), Some("330102001001"));
        assert_eq!(points[1].street, None);
        let said: Vec<(&str, FindingKind, &str)> = findings
            .iter()
            .map(|f| (f.row.as_str(), f.kind, f.message.as_str()))
            .collect();
        let expect = [
            ("line 5", FindingKind::EmptyAddress, "empty"),
            ("line 6", FindingKind::EmptyAddress, "only places"),
            (
                "line 7",
                FindingKind::Malformed,
                "lon \"east\" is not a number",
            ),
            ("line 8", FindingKind::BadCoordinates, "not a longitude"),
            ("line 9", FindingKind::Outside, "outside district 330102"),
            ("line 10", FindingKind::DuplicateId, "\"A1\" appears twice"),
            (
                "line 11",
                FindingKind::UnknownPlace,
                "no street \"330102009\"",
            ),
            (
                "line 12",
                FindingKind::UnknownPlace,
                "no community \"330102001002\"",
            ),
            (
                "line 13",
                FindingKind::Malformed,
                "3 fields where the header has 6",
            ),
        ];
        assert_eq!(said.len(), expect.len(), "{said:?}");
        for ((row, kind, message), (want_row, want_kind, want)) in said.iter().zip(expect) {
            assert!(
                *row == want_row && *kind == want_kind && message.contains(want),
                "{row}: {kind:?} {message}"
            );
        }
        assert!(
            read("id,address,lon\n", &frame(), &region()).is_err_and(|e| e.contains("\"lat\""))
        );
        assert!(
            read("id,address,lon,lat,x\n", &frame(), &region())
                .is_err_and(|e| e.contains("unknown column \"x\""))
        );
        assert!(read("# only a comment\n", &frame(), &region()).is_err());
    }

    #[test]
    fn geojson_points_read_like_rows() {
        let feature = |properties: Value, geometry: Value| json!({ "type": "Feature", "properties": properties, "geometry": geometry });
        let text = json!({ "type": "FeatureCollection", "features": [
            feature(json!({ "id": "G1", "address": "解放路1号", "street": "330102001" }),
                json!({ "type": "Point", "coordinates": [120.001, 30.001] })),
            feature(json!({ "id": 2, "address": "解放路2号" }),
                json!({ "type": "Point", "coordinates": [120.002, 30.001] })),
            feature(json!({ "id": "G3" }), json!({ "type": "Point", "coordinates": [120.003, 30.001] })),
            feature(json!({ "id": "G4", "address": "解放路4号" }),
                json!({ "type": "LineString", "coordinates": [[120.0, 30.0], [120.001, 30.0]] })),
            feature(json!({ "id": "G5", "address": "解放路5号" }),
                json!({ "type": "Point", "coordinates": [121.0, 30.001] })),
        ]})
        .to_string();
        let (points, findings) = read(&text, &frame(), &region()).expect("a collection");
        let ids: Vec<&str> = points.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["G1", "2"]);
        let said: Vec<(&str, FindingKind)> =
            findings.iter().map(|f| (f.row.as_str(), f.kind)).collect();
        assert_eq!(
            said,
            [
                ("feature #2", FindingKind::Malformed),
                ("feature #3", FindingKind::Malformed),
                ("feature #4", FindingKind::Outside),
            ]
        );
    }

    #[test]
    fn written_points_read_back_the_same() {
        let points = vec![
            AddressPoint {
                id: "330102-000001".into(),
                address: "解放路1号".into(),
                lon: 120.001,
                lat: 30.001,
                street: Some("330102001".into()),
                community: Some("330102001001".into()),
            },
            AddressPoint {
                id: "x\"2".into(),
                address: "解放路2号, 东侧".into(),
                lon: 120.002,
                lat: 30.002,
                street: None,
                community: None,
            },
        ];
        let text = write_csv(&points, &["synthetic: not real addresses".into()]);
        assert!(text.starts_with("# synthetic"));
        let (again, findings) = read(&text, &frame(), &region()).expect("read back");
        assert!(findings.is_empty(), "{findings:?}");
        assert_eq!(again, points);
    }
}
