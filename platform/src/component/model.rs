//! Component and change rows, the attributes a census or a department sets, and the two
//! closed vocabularies of the standard's attributes (status, data source).

use chrono::{DateTime, NaiveDate, Utc};
use citygrid_kit::vocabulary;
use diesel::prelude::*;
use diesel::sql_types::Text;
use diesel::{AsExpression, FromSqlRow};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::schema::{component_changes, components};
use crate::vocab::CategoryKind;

/// 部件状态 (GB/T 47678.5 table 2).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    ToSchema,
    AsExpression,
    FromSqlRow,
)]
#[diesel(sql_type = Text)]
#[serde(rename_all = "snake_case")]
#[schema(as = ComponentStatus)]
pub enum Status {
    /// 完好
    Intact,
    /// 破损
    Damaged,
    /// 丢失
    Missing,
    /// 废弃
    Abandoned,
    /// 移除
    Removed,
}

vocabulary!(Status {
    Intact => "intact",
    Damaged => "damaged",
    Missing => "missing",
    Abandoned => "abandoned",
    Removed => "removed",
});

impl Status {
    /// The standard's word.
    pub fn chinese(self) -> &'static str {
        match self {
            Status::Intact => "完好",
            Status::Damaged => "破损",
            Status::Missing => "丢失",
            Status::Abandoned => "废弃",
            Status::Removed => "移除",
        }
    }

    /// The English name or the standard's word.
    pub fn read(text: &str) -> Option<Status> {
        Status::parse(text).or_else(|| Status::ALL.iter().copied().find(|s| s.chinese() == text))
    }
}

/// 数据来源 (GB/T 47678.5 table 2).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    ToSchema,
    AsExpression,
    FromSqlRow,
)]
#[diesel(sql_type = Text)]
#[serde(rename_all = "snake_case")]
#[schema(as = ComponentDataSource)]
pub enum DataSource {
    /// 实测
    Surveyed,
    /// 地形图
    Topographic,
    /// 基础地理数据
    BaseGeodata,
    /// 其他
    Other,
}

vocabulary!(DataSource {
    Surveyed => "surveyed",
    Topographic => "topographic",
    BaseGeodata => "base_geodata",
    Other => "other",
});

impl DataSource {
    pub fn chinese(self) -> &'static str {
        match self {
            DataSource::Surveyed => "实测",
            DataSource::Topographic => "地形图",
            DataSource::BaseGeodata => "基础地理数据",
            DataSource::Other => "其他",
        }
    }

    /// The English name or the standard's word.
    pub fn read(text: &str) -> Option<DataSource> {
        DataSource::parse(text).or_else(|| {
            DataSource::ALL
                .iter()
                .copied()
                .find(|s| s.chinese() == text)
        })
    }
}

/// How a change came in.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    ToSchema,
    AsExpression,
    FromSqlRow,
)]
#[diesel(sql_type = Text)]
#[serde(rename_all = "snake_case")]
#[schema(as = ComponentChangeVia)]
pub enum Via {
    /// A census file (`citygrid district components import`, or the tenant's sample at start).
    Import,
    /// `PATCH /api/v1/components/{id}`.
    Api,
}

vocabulary!(Via {
    Import => "import",
    Api => "api",
});

/// What a census row or an edit sets: every attribute but the id, its class and the
/// bookkeeping. Compared as a whole to tell an unchanged row from a changed one.
#[derive(Debug, Clone, PartialEq, Serialize, Insertable, AsChangeset)]
#[diesel(table_name = components, treat_none_as_null = true)]
pub struct Attributes {
    pub name: String,
    /// 主管部门: a department code of the district.
    pub department_code: String,
    pub owner_code: Option<String>,
    pub owner_name: Option<String>,
    pub maintainer_code: Option<String>,
    pub maintainer_name: Option<String>,
    pub cell_code: Option<String>,
    pub street_code: Option<String>,
    pub community_code: Option<String>,
    pub status: Status,
    pub initial_date: Option<NaiveDate>,
    pub changed_date: Option<NaiveDate>,
    pub data_source: DataSource,
    pub remarks: Option<String>,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
}

/// 部件: one component of the inventory.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = components)]
pub struct Component {
    /// 部件标识码: 16 digits (GB/T 30428.2) or 17 (GB/T 47678.5).
    pub id: String,
    pub name: String,
    /// Always `component`.
    pub category_kind: CategoryKind,
    pub category_major: String,
    /// 2 digits (GB/T 30428.2) or 3 (GB/T 47678.5).
    pub category_minor: String,
    /// The standard the id and class follow, e.g. `GB/T 30428.2-2013`.
    pub edition: String,
    /// 主管部门: the district department answering for it.
    pub department_code: String,
    /// 权属单位 code (e.g. a unified social credit code) and name.
    pub owner_code: Option<String>,
    pub owner_name: Option<String>,
    /// 养护单位 code (a district department code when the district dispatches to it) and name.
    pub maintainer_code: Option<String>,
    pub maintainer_name: Option<String>,
    /// 15-digit unit grid cell.
    pub cell_code: Option<String>,
    /// 9-digit street code.
    pub street_code: Option<String>,
    /// 12-digit community code.
    pub community_code: Option<String>,
    pub status: Status,
    /// 初始日期
    pub initial_date: Option<NaiveDate>,
    /// 变更日期
    pub changed_date: Option<NaiveDate>,
    pub data_source: DataSource,
    pub remarks: Option<String>,
    /// WGS84 longitude.
    pub lon: Option<f64>,
    /// WGS84 latitude.
    pub lat: Option<f64>,
    /// Incremented by every change; an edit must quote the version it saw.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Component {
    pub fn attributes(&self) -> Attributes {
        Attributes {
            name: self.name.clone(),
            department_code: self.department_code.clone(),
            owner_code: self.owner_code.clone(),
            owner_name: self.owner_name.clone(),
            maintainer_code: self.maintainer_code.clone(),
            maintainer_name: self.maintainer_name.clone(),
            cell_code: self.cell_code.clone(),
            street_code: self.street_code.clone(),
            community_code: self.community_code.clone(),
            status: self.status,
            initial_date: self.initial_date,
            changed_date: self.changed_date,
            data_source: self.data_source,
            remarks: self.remarks.clone(),
            lon: self.lon,
            lat: self.lat,
        }
    }
}

/// 部件变更记录: one change of a component. Append-only; the database refuses changes.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = component_changes)]
#[schema(as = ComponentChange)]
pub struct Change {
    pub id: i64,
    pub component_id: String,
    /// The component version this change produced (1: created).
    pub component_version: i32,
    pub via: Via,
    /// The user who made it through the API; none for an import.
    pub actor_id: Option<Uuid>,
    /// The username, or the census file.
    pub actor: String,
    /// `{"field": {"from": …, "to": …}}` for every attribute that changed.
    #[schema(value_type = Object)]
    pub changes: serde_json::Value,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = component_changes)]
pub struct NewChange<'a> {
    pub component_id: &'a str,
    pub component_version: i32,
    pub via: Via,
    pub actor_id: Option<Uuid>,
    pub actor: &'a str,
    pub changes: serde_json::Value,
    pub reason: Option<&'a str>,
    pub at: DateTime<Utc>,
}

/// The attributes that differ between `old` (none: a new component) and `new`, as
/// `{"field": {"from": …, "to": …}}`; empty when nothing changed.
pub fn diff(
    old: Option<&Attributes>,
    new: &Attributes,
) -> serde_json::Map<String, serde_json::Value> {
    let to_map = |a: &Attributes| match serde_json::to_value(a) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    let before = old.map(to_map).unwrap_or_default();
    to_map(new)
        .into_iter()
        .filter_map(|(field, to)| {
            let from = before
                .get(&field)
                .cloned()
                .unwrap_or(serde_json::Value::Null);
            (from != to).then(|| (field, serde_json::json!({ "from": from, "to": to })))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_and_source_read_the_standards_words_and_ours() {
        assert_eq!(Status::read("破损"), Some(Status::Damaged));
        assert_eq!(Status::read("removed"), Some(Status::Removed));
        assert_eq!(Status::read("broken"), None);
        assert_eq!(
            DataSource::read("基础地理数据"),
            Some(DataSource::BaseGeodata)
        );
        assert_eq!(DataSource::read("surveyed"), Some(DataSource::Surveyed));
    }

    #[test]
    fn a_diff_names_exactly_the_changed_fields() {
        let a = Attributes {
            name: "上水井盖".into(),
            department_code: "shuiwu".into(),
            owner_code: None,
            owner_name: None,
            maintainer_code: None,
            maintainer_name: None,
            cell_code: None,
            street_code: None,
            community_code: None,
            status: Status::Intact,
            initial_date: None,
            changed_date: None,
            data_source: DataSource::Surveyed,
            remarks: None,
            lon: Some(120.2),
            lat: Some(30.26),
        };
        assert!(diff(Some(&a), &a).is_empty());
        let b = Attributes {
            status: Status::Damaged,
            remarks: Some("裂缝".into()),
            ..a.clone()
        };
        let d = diff(Some(&a), &b);
        assert_eq!(d.len(), 2, "{d:?}");
        assert_eq!(
            d["status"],
            serde_json::json!({"from": "intact", "to": "damaged"})
        );
        assert_eq!(d["remarks"]["from"], serde_json::Value::Null);
        // A new component: every attribute that has a value.
        assert!(diff(None, &a).contains_key("name"));
        assert!(!diff(None, &a).contains_key("remarks"));
    }
}
