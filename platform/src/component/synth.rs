//! Synthetic sample censuses for the sample districts (`citygrid district components
//! synth`): `count` components at points drawn inside the district's grid (or boundary),
//! of the catalogue's component classes most streets have (manhole covers, lamps, bins,
//! benches, trees, signs…), each owned by the department the command manual routes its
//! class to. Seeded by the district code, so a district always gets the same census. They
//! look like a census and check clean; they are no real components, and the files say so.

use chrono::NaiveDate;
use geo::BoundingRect;

use citygrid_kit::seeded::SplitMix64;

use super::model::{Attributes, Component, DataSource, Status};
use crate::case::steps::Urgency;
use crate::catalogue::{CategoryKind, CategoryRef};
use crate::config::Tenant;
use crate::vocab::CategoryKind as Kind;
use citygrid_schemas::component_id::ComponentId;

/// Classes a sample draws from, with weights: common street furniture first.
const CLASSES: &[(&str, &str, u64)] = &[
    ("01", "01", 10), // 上水井盖
    ("01", "02", 10), // 污水井盖
    ("01", "03", 10), // 雨水井盖
    ("01", "04", 8),  // 雨水箅子
    ("01", "05", 4),  // 电力井盖
    ("01", "07", 4),  // 通讯井盖
    ("01", "11", 3),  // 燃气井盖
    ("01", "17", 4),  // 立杆
    ("01", "18", 10), // 路灯
    ("01", "23", 1),  // 邮筒
    ("02", "03", 3),  // 公交站亭
    ("02", "09", 4),  // 交通标志牌
    ("02", "10", 2),  // 交通信号灯
    ("02", "11", 3),  // 交通护栏
    ("02", "13", 3),  // 路名牌
    ("03", "01", 2),  // 公共厕所
    ("03", "05", 10), // 垃圾箱
    ("04", "02", 8),  // 行道树
    ("04", "07", 4),  // 街头坐椅
    ("04", "08", 2),  // 绿地护栏
];

/// The sample census of the district: `count` components, sorted by id.
pub fn synthetic(tenant: &Tenant, count: usize) -> Result<Vec<Component>, String> {
    if !(1..=100_000).contains(&count) {
        return Err(format!("{count} components: choose 1 to 100000"));
    }
    let classes: Vec<(CategoryRef, String, u64)> = CLASSES
        .iter()
        .filter_map(|(major, minor, weight)| {
            let category = CategoryRef {
                kind: CategoryKind::Component,
                major: (*major).to_owned(),
                minor: (*minor).to_owned(),
                edition: None,
            };
            let entry = tenant.catalogue.get(&category)?;
            Some((category, entry.name.clone(), *weight))
        })
        .collect();
    if classes.is_empty() {
        return Err(format!(
            "catalogue {} has none of the sample's component classes",
            tenant.catalogue.version
        ));
    }
    let total: u64 = classes.iter().map(|c| c.2).sum();
    let bounds = tenant
        .boundary
        .bounding_rect()
        .ok_or("the district boundary is empty")?;
    let (min, max) = (bounds.min(), bounds.max());
    let seed = tenant.code().bytes().fold(0x5eed_u64, |h, b| {
        h.wrapping_mul(31).wrapping_add(u64::from(b))
    });
    let mut stream = SplitMix64::new(seed);
    let mut serials = vec![0_u32; classes.len()];
    let mut out = Vec::with_capacity(count);
    let epoch = NaiveDate::from_ymd_opt(2015, 1, 1).ok_or("date")?;
    let mut attempts = 0;
    while out.len() < count {
        attempts += 1;
        if attempts > count * 1000 {
            return Err("cannot place the components inside the district".into());
        }
        // Coordinates kept to 1e-7° (about 1 cm), as the grid and address files.
        let round = |x: f64| (x * 1e7).round() / 1e7;
        let lon = round(min.x + stream.unit() * (max.x - min.x));
        let lat = round(min.y + stream.unit() * (max.y - min.y));
        if !tenant.contains(lon, lat) {
            continue;
        }
        let cell = tenant.cell_at(lon, lat).map(|c| c.code.clone());
        if tenant.grid.is_some() && cell.is_none() {
            continue;
        }
        let mut pick = stream.below(total);
        let class = classes
            .iter()
            .position(|c| {
                let hit = pick < c.2;
                pick = pick.saturating_sub(c.2);
                hit
            })
            .unwrap_or(0);
        let (category, name, _) = &classes[class];
        serials[class] += 1;
        let id = ComponentId::compose(
            tenant.code(),
            &category.major,
            &category.minor,
            serials[class],
        );
        let street = cell.as_ref().map(|c| c.street().to_owned());
        let department = tenant
            .manual
            .row(category, Urgency::Normal)
            .map(|row| row.department_for(street.as_deref()))
            .filter(|d| tenant.department(d).is_some())
            .or_else(|| tenant.config.departments.first().map(|d| d.code.clone()))
            .ok_or("the district has no departments")?;
        let department_name = tenant.department(&department).map(|d| d.name.clone());
        let status = match stream.below(100) {
            0..=87 => Status::Intact,
            88..=95 => Status::Damaged,
            96..=97 => Status::Missing,
            98 => Status::Abandoned,
            _ => Status::Removed,
        };
        let initial = epoch + chrono::Duration::days(stream.below(3650) as i64);
        let changed = (status != Status::Intact)
            .then(|| initial + chrono::Duration::days(1 + stream.below(300) as i64));
        let data_source = if stream.below(10) < 8 {
            DataSource::Surveyed
        } else {
            DataSource::BaseGeodata
        };
        let attributes = Attributes {
            name: name.clone(),
            department_code: department.clone(),
            owner_code: None,
            owner_name: department_name,
            maintainer_code: None,
            maintainer_name: None,
            cell_code: cell.as_ref().map(|c| c.as_str().to_owned()),
            street_code: street,
            community_code: cell.as_ref().map(|c| c.community().to_owned()),
            status,
            initial_date: Some(initial),
            changed_date: changed,
            data_source,
            remarks: None,
            lon: Some(lon),
            lat: Some(lat),
        };
        out.push(component(id, category, attributes));
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

/// A component row as export would see it (no database).
fn component(id: String, category: &CategoryRef, a: Attributes) -> Component {
    let at = chrono::DateTime::UNIX_EPOCH;
    Component {
        id,
        name: a.name,
        category_kind: Kind::Component,
        category_major: category.major.clone(),
        category_minor: category.minor.clone(),
        edition: citygrid_schemas::Edition::Gbt30428.as_str().to_owned(),
        department_code: a.department_code,
        owner_code: a.owner_code,
        owner_name: a.owner_name,
        maintainer_code: a.maintainer_code,
        maintainer_name: a.maintainer_name,
        cell_code: a.cell_code,
        street_code: a.street_code,
        community_code: a.community_code,
        status: a.status,
        initial_date: a.initial_date,
        changed_date: a.changed_date,
        data_source: a.data_source,
        remarks: a.remarks,
        lon: a.lon,
        lat: a.lat,
        version: 1,
        created_at: at,
        updated_at: at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant() -> Tenant {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tenants/hangzhou/districts/330102.toml");
        Tenant::load(&path).expect("sample tenant")
    }

    /// The sample is the same every time, and what it writes reads back clean and equal.
    #[test]
    fn a_synthetic_census_is_deterministic_and_reads_back_clean() {
        let tenant = tenant();
        let first = synthetic(&tenant, 120).expect("synth");
        let again = synthetic(&tenant, 120).expect("synth");
        let text = super::super::census::write_csv(&first, &["synthetic".into()]);
        let plain = super::super::census::write_csv(&again, &[]);
        assert_eq!(text, format!("# synthetic\n{plain}"));
        let census = super::super::census::read(&text, &tenant).expect("readable");
        assert!(census.findings.is_empty(), "{:?}", census.findings);
        assert_eq!(census.rows.len(), 120);
        for (row, component) in census.rows.iter().zip(&first) {
            assert_eq!(row.id.as_str(), component.id);
            assert_eq!(row.attributes, component.attributes());
        }
    }
}
