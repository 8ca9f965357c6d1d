//! The units one appraisal ranks: which column of the facts groups the cases.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    /// The city's view: one row per district.
    District,
    /// 街道
    Street,
    /// 社区
    Community,
    /// 万米单元网格
    Cell,
    /// 部件/事件 category (`kind:majorminor`).
    Category,
    /// 处置部门: the department a case is dispatched to.
    Department,
}

impl Level {
    pub const ALL: [Level; 6] = [
        Level::District,
        Level::Street,
        Level::Community,
        Level::Cell,
        Level::Category,
        Level::Department,
    ];

    /// The weight groups of the configuration: regions and categories are appraised on
    /// the whole loop, departments on their handling.
    pub const GROUPS: &'static [&'static str] = &["region", "department"];

    pub fn key(self) -> &'static str {
        match self {
            Level::District => "district",
            Level::Street => "street",
            Level::Community => "community",
            Level::Cell => "cell",
            Level::Category => "category",
            Level::Department => "department",
        }
    }

    pub fn group(self) -> &'static str {
        match self {
            Level::Department => "department",
            _ => "region",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

impl FromStr for Level {
    type Err = String;

    fn from_str(text: &str) -> Result<Level, String> {
        Level::ALL
            .into_iter()
            .find(|l| l.key() == text)
            .ok_or_else(|| {
                let known: Vec<&str> = Level::ALL.iter().map(|l| l.key()).collect();
                format!("{text:?} is not a level: use {}", known.join(", "))
            })
    }
}
