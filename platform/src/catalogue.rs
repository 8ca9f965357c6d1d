//! The category catalogue (部件 components and 事件 events) is reference data of the
//! interchange standard: both sides read it with `citygrid_schemas::catalogue`. The names
//! here are the district's for the same types.

pub use citygrid_schemas::catalogue::{Catalogue, CatalogueEntry as Category, CatalogueError};
pub use citygrid_schemas::{Category as CategoryRef, CategoryKind};
