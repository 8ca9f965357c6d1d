//! Census files (专项普查): CSV with a header row naming the columns in any order (`#` lines
//! are comments, fields quoted `"…"` with `""` for a quote when they hold a comma, one
//! record a line), or a GeoJSON FeatureCollection of Point features (or features without
//! geometry that name their `cell`) with the same names as properties. Told apart by the
//! first character (`{` is GeoJSON).
//!
//! Columns: `id`, `name`, `department` (the competent department's code in the district),
//! `status` (`intact`/`完好`, `damaged`/`破损`, `missing`/`丢失`, `abandoned`/`废弃`,
//! `removed`/`移除`) are required; `owner_code`, `owner_name`, `maintainer_code`,
//! `maintainer_name`, `cell`, `street`, `community`, `initial_date`, `changed_date`
//! (YYYY-MM-DD), `data_source` (`surveyed`/`实测`, `topographic`/`地形图`,
//! `base_geodata`/`基础地理数据`, `other`/`其他`; default `other`), `remarks`, `lon`, `lat`
//! are optional. The id gives the class and the edition.
//!
//! A bad row is a finding naming its line (or feature) and the reason, not a failure, so
//! a census is reported whole; `Err` only when the file as a whole is unreadable.

use std::collections::HashMap;
use std::fmt::Write as _;

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::attributes::{self, Refusal};
use super::model::{Attributes, Component, DataSource, Status};
use crate::address::{csv_fields, csv_quoted};
use crate::config::Tenant;
use citygrid_schemas::component_id::ComponentId;

/// The columns of a census file, in the order export writes them.
pub const COLUMNS: [&str; 17] = [
    "id",
    "name",
    "department",
    "status",
    "owner_code",
    "owner_name",
    "maintainer_code",
    "maintainer_name",
    "cell",
    "street",
    "community",
    "initial_date",
    "changed_date",
    "data_source",
    "remarks",
    "lon",
    "lat",
];

const REQUIRED: [&str; 4] = ["id", "name", "department", "status"];

/// One good row of a census.
#[derive(Debug, Clone)]
pub struct CensusRow {
    /// `line 12` or `feature #3`.
    pub at: String,
    pub id: ComponentId,
    pub attributes: Attributes,
}

/// A bad row: where, which id (when it has one), the field at fault and why.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// `line 12` (CSV, counting every line of the file from 1) or `feature #3` (GeoJSON,
    /// from 0).
    pub at: String,
    pub id: Option<String>,
    pub field: String,
    /// `line 12: id 3301050101000001: wrong district: …`
    pub message: String,
}

/// A census read: the good rows and the findings for the rest.
#[derive(Debug, Default)]
pub struct Census {
    pub rows: Vec<CensusRow>,
    pub findings: Vec<Finding>,
}

type Raw = HashMap<&'static str, String>;

/// Reads and checks a census file against the district.
pub fn read(text: &str, tenant: &Tenant) -> Result<Census, String> {
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    let raw = if text.trim_start().starts_with('{') {
        geojson_rows(text)?
    } else {
        csv_rows(text)?
    };
    let mut census = Census::default();
    let mut seen: HashMap<String, String> = HashMap::new();
    for (at, parsed) in raw {
        let id = parsed
            .as_ref()
            .ok()
            .and_then(|r| r.get("id"))
            .filter(|id| !id.is_empty())
            .cloned();
        let finding = |(field, reason): Refusal| Finding {
            at: at.clone(),
            id: id.clone(),
            field: field.to_owned(),
            message: match &id {
                Some(id) => format!("{at}: id {id}: {reason}"),
                None => format!("{at}: {reason}"),
            },
        };
        let row = parsed
            .map_err(|reason| ("-", reason))
            .and_then(|raw| row(&raw, tenant));
        match row {
            Err(refusal) => census.findings.push(finding(refusal)),
            Ok((id, attributes)) => {
                if let Some(first) = seen.get(id.as_str()) {
                    census.findings.push(finding((
                        "id",
                        format!("the id appears before, at {first}"),
                    )));
                    continue;
                }
                seen.insert(id.as_str().to_owned(), at.clone());
                census.rows.push(CensusRow { at, id, attributes });
            }
        }
    }
    Ok(census)
}

/// One row's id and attributes, or the first field at fault.
fn row(raw: &Raw, tenant: &Tenant) -> Result<(ComponentId, Attributes), Refusal> {
    let get = |c: &str| raw.get(c).map(|s| s.trim()).filter(|s| !s.is_empty());
    let opt = |c: &str| get(c).map(str::to_owned);
    for column in REQUIRED {
        if get(column).is_none() {
            return Err((column, format!("no {column}")));
        }
    }
    let text = get("id").unwrap_or_default();
    let id = ComponentId::parse(text, tenant.code(), &[&tenant.catalogue])
        .map_err(|e| ("id", e.to_string()))?;
    let status = get("status").unwrap_or_default();
    let status = Status::read(status).ok_or_else(|| {
        (
            "status",
            format!(
                "{status:?} is not a status ({})",
                Status::ALL
                    .iter()
                    .map(|s| format!("{}/{}", s.as_str(), s.chinese()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    })?;
    let data_source = match get("data_source") {
        None => DataSource::Other,
        Some(source) => DataSource::read(source).ok_or_else(|| {
            (
                "data_source",
                format!(
                    "{source:?} is not a data source ({})",
                    DataSource::ALL
                        .iter()
                        .map(|s| format!("{}/{}", s.as_str(), s.chinese()))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?,
    };
    let date = |field: &'static str| {
        get(field)
            .map(|d| {
                NaiveDate::parse_from_str(d, "%Y-%m-%d")
                    .map_err(|_| (field, format!("{d:?} is not a date (YYYY-MM-DD)")))
            })
            .transpose()
    };
    let number = |field: &'static str| {
        get(field)
            .map(|n| {
                n.parse::<f64>()
                    .map_err(|_| (field, format!("{n:?} is not a number")))
            })
            .transpose()
    };
    let (lon, lat) = match (number("lon")?, number("lat")?) {
        (Some(lon), Some(lat)) => (Some(lon), Some(lat)),
        (None, None) => (None, None),
        (Some(_), None) => return Err(("lat", "a lon without a lat".into())),
        (None, Some(_)) => return Err(("lon", "a lat without a lon".into())),
    };
    let attributes = Attributes {
        name: get("name").unwrap_or_default().to_owned(),
        department_code: get("department").unwrap_or_default().to_owned(),
        owner_code: opt("owner_code"),
        owner_name: opt("owner_name"),
        maintainer_code: opt("maintainer_code"),
        maintainer_name: opt("maintainer_name"),
        cell_code: opt("cell"),
        street_code: opt("street"),
        community_code: opt("community"),
        status,
        initial_date: date("initial_date")?,
        changed_date: date("changed_date")?,
        data_source,
        remarks: opt("remarks"),
        lon,
        lat,
    };
    let attributes = attributes::check(tenant, attributes)?;
    Ok((id, attributes))
}

type Row = (String, Result<Raw, String>);

fn csv_rows(text: &str) -> Result<Vec<Row>, String> {
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(n, line)| (n + 1, line.trim_end_matches('\r')))
        .filter(|(_, line)| !line.trim().is_empty() && !line.trim_start().starts_with('#'));
    let (header_line, header) = lines
        .next()
        .ok_or_else(|| format!("no header row ({})", COLUMNS.join(",")))?;
    let names = csv_fields(header).map_err(|e| format!("line {header_line}: {e}"))?;
    let mut columns: Vec<&'static str> = Vec::with_capacity(names.len());
    for name in &names {
        let name = name.trim();
        let column = COLUMNS.iter().find(|c| **c == name).ok_or_else(|| {
            format!(
                "line {header_line}: unknown column {name:?} (columns: {})",
                COLUMNS.join(", ")
            )
        })?;
        if columns.contains(column) {
            return Err(format!("line {header_line}: column {name:?} twice"));
        }
        columns.push(column);
    }
    if let Some(missing) = REQUIRED.iter().find(|c| !columns.contains(c)) {
        return Err(format!(
            "line {header_line}: no {missing:?} column (required: {})",
            REQUIRED.join(", ")
        ));
    }
    Ok(lines
        .map(|(n, line)| {
            let parsed = csv_fields(line).and_then(|fields| {
                if fields.len() != columns.len() {
                    return Err(format!(
                        "{} fields where the header has {}",
                        fields.len(),
                        columns.len()
                    ));
                }
                Ok(columns.iter().copied().zip(fields).collect())
            });
            (format!("line {n}"), parsed)
        })
        .collect())
}

fn geojson_rows(text: &str) -> Result<Vec<Row>, String> {
    let collection: geojson::FeatureCollection = text
        .parse()
        .map_err(|e| format!("not a GeoJSON FeatureCollection: {e}"))?;
    Ok(collection
        .features
        .iter()
        .enumerate()
        .map(|(n, feature)| (format!("feature #{n}"), feature_row(feature)))
        .collect())
}

fn feature_row(feature: &geojson::Feature) -> Result<Raw, String> {
    let mut raw = Raw::new();
    if let Some(properties) = &feature.properties {
        for (key, value) in properties {
            let Some(column) = COLUMNS.iter().find(|c| **c == key.as_str()) else {
                continue; // other properties (a map style, a note) are not the census's
            };
            if matches!(*column, "lon" | "lat") {
                continue; // the geometry's
            }
            let text = match value {
                Value::Null => continue,
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                other => return Err(format!("{key} must be a string, not {other}")),
            };
            raw.insert(column, text);
        }
    }
    if !raw.contains_key("id")
        && let Some(id) = &feature.id
    {
        let id = match id {
            geojson::feature::Id::String(s) => s.clone(),
            geojson::feature::Id::Number(n) => n.to_string(),
        };
        raw.insert("id", id);
    }
    match feature.geometry.as_ref().map(|g| &g.value) {
        None => {}
        Some(geojson::GeometryValue::Point { coordinates }) if coordinates.len() >= 2 => {
            raw.insert("lon", coordinates[0].to_string());
            raw.insert("lat", coordinates[1].to_string());
        }
        Some(_) => return Err("the geometry is not a Point".into()),
    }
    Ok(raw)
}

/// A component's fields by column, as export writes them.
fn fields(c: &Component) -> [String; 17] {
    let text = |s: &Option<String>| s.clone().unwrap_or_default();
    let date = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    let coordinate = |x: Option<f64>| x.map(|x| x.to_string()).unwrap_or_default();
    [
        c.id.clone(),
        c.name.clone(),
        c.department_code.clone(),
        c.status.as_str().to_owned(),
        text(&c.owner_code),
        text(&c.owner_name),
        text(&c.maintainer_code),
        text(&c.maintainer_name),
        text(&c.cell_code),
        text(&c.street_code),
        text(&c.community_code),
        date(c.initial_date),
        date(c.changed_date),
        c.data_source.as_str().to_owned(),
        text(&c.remarks),
        coordinate(c.lon),
        coordinate(c.lat),
    ]
}

/// Writes components as a census CSV, `comments` first as `#` lines.
pub fn write_csv(components: &[Component], comments: &[String]) -> String {
    let mut out = String::new();
    for comment in comments {
        let _ = writeln!(out, "# {comment}");
    }
    out.push_str(&COLUMNS.join(","));
    out.push('\n');
    for c in components {
        let row: Vec<String> = fields(c).iter().map(|f| csv_quoted(f)).collect();
        out.push_str(&row.join(","));
        out.push('\n');
    }
    out
}

/// Writes components as a GeoJSON FeatureCollection of Points (no geometry for a
/// component placed by its cell only), `extra` as foreign members of the collection.
pub fn write_geojson(components: &[Component], extra: Map<String, Value>) -> String {
    let features: Vec<Value> = components
        .iter()
        .map(|c| {
            let mut properties = Map::new();
            for (column, value) in COLUMNS.iter().zip(fields(c)) {
                if !matches!(*column, "lon" | "lat") && !value.is_empty() {
                    properties.insert((*column).to_owned(), Value::String(value));
                }
            }
            let geometry = match c.lon.zip(c.lat) {
                Some((lon, lat)) => json!({ "type": "Point", "coordinates": [lon, lat] }),
                None => Value::Null,
            };
            json!({ "type": "Feature", "id": c.id, "geometry": geometry, "properties": properties })
        })
        .collect();
    let mut collection = Map::new();
    collection.insert("type".into(), json!("FeatureCollection"));
    collection.extend(extra);
    collection.insert("features".into(), Value::Array(features));
    let mut text = serde_json::to_string_pretty(&Value::Object(collection)).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant() -> Tenant {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tenants/hangzhou/districts/330102.toml");
        Tenant::load(&path).expect("sample tenant")
    }

    /// GeoJSON reads like CSV: what export writes reads back the same, and a feature
    /// without geometry is placed by its cell.
    #[test]
    fn geojson_round_trips_and_a_feature_without_a_point_needs_its_cell() {
        let tenant = tenant();
        let components = super::super::synth::synthetic(&tenant, 40).expect("synth");
        let text = write_geojson(&components, Map::new());
        let census = read(&text, &tenant).expect("readable");
        assert!(census.findings.is_empty(), "{:?}", census.findings);
        for (row, component) in census.rows.iter().zip(&components) {
            assert_eq!(row.id.as_str(), component.id);
            assert_eq!(row.attributes, component.attributes());
        }
        let cell = components[0].cell_code.clone().expect("cell");
        let text = json!({ "type": "FeatureCollection", "features": [
            { "type": "Feature", "geometry": null, "properties":
                { "id": "3301020101000009", "name": "上水井盖", "department": "shuiwu", "status": "完好", "cell": cell } },
            { "type": "Feature", "geometry": null, "properties":
                { "id": "3301020101000010", "name": "上水井盖", "department": "shuiwu", "status": "完好" } },
            { "type": "Feature", "geometry": { "type": "LineString", "coordinates": [[120.2, 30.26], [120.3, 30.26]] },
                "properties": { "id": "3301020101000011", "name": "上水井盖", "department": "shuiwu", "status": "完好" } },
        ]})
        .to_string();
        let census = read(&text, &tenant).expect("readable");
        assert_eq!(census.rows.len(), 1);
        assert_eq!(
            census.rows[0].attributes.community_code.as_deref(),
            Some(&cell[..12])
        );
        let found: Vec<(&str, &str)> = census
            .findings
            .iter()
            .map(|f| (f.at.as_str(), f.field.as_str()))
            .collect();
        assert_eq!(found, [("feature #1", "lon"), ("feature #2", "-")]);
    }

    /// A file that is no census at all is an error, not findings.
    #[test]
    fn an_unreadable_file_is_an_error() {
        let tenant = tenant();
        let err = read("id,colour\n1,red\n", &tenant).expect_err("unknown column");
        assert!(err.contains("unknown column \"colour\""), "{err}");
        let err = read("name,department\n", &tenant).expect_err("no id column");
        assert!(err.contains("no \"id\" column"), "{err}");
    }
}
