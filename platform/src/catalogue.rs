//! The category catalogue (部件 components and 事件 events) is reference data of the
//! interchange standard: both sides read it with `citygrid_schemas::catalogue`. The names
//! here are the district's for the same types.

pub use citygrid_schemas::catalogue::{Catalogue, CatalogueEntry as Category, CatalogueError};
pub use citygrid_schemas::{Category as CategoryRef, CategoryKind};

use crate::error::{Error, Result};

/// The district's entry for a category a user sent: it must be of the district's edition
/// (a request may leave the edition out) and in its catalogue.
pub fn entry<'a>(catalogue: &'a Catalogue, category: &CategoryRef) -> Result<&'a Category> {
    if let Some(edition) = category.edition
        && edition != catalogue.edition
    {
        return Err(Error::invalid(
            "category.edition",
            format!(
                "this district files under {}, not {edition}",
                catalogue.edition
            ),
        ));
    }
    catalogue.get(category).ok_or_else(|| {
        Error::invalid(
            "category",
            format!(
                "no {} in catalogue {} ({})",
                category.label(),
                catalogue.version,
                catalogue.edition
            ),
        )
    })
}
