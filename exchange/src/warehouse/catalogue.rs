//! The category catalogues as the warehouse holds them: every category of every edition
//! the city knows, with its counterpart in the city's compare edition. Rewritten from the
//! city file at every start, so a revised catalogue or mapping re-labels the cases already
//! stored; the intake reads it when it applies a snapshot.

use citygrid_schemas::catalogue::{Catalogue, Mapping};
use diesel::prelude::*;

use crate::error::Result;
use crate::schema::category_map;

/// Rewrites `category_map` from the catalogues and re-labels every stored case.
pub fn register_catalogues(
    conn: &mut PgConnection,
    catalogues: &[std::sync::Arc<Catalogue>],
    mappings: &[Mapping],
) -> Result<()> {
    let mut rows = Vec::new();
    for catalogue in catalogues {
        let mapping = mappings.iter().find(|m| m.from == catalogue.edition);
        for entry in &catalogue.categories {
            let compared = match mapping {
                // The compare edition itself.
                None => Some(entry.code.label()),
                Some(mapping) => mapping.get(&entry.code).map(|c| c.label()),
            };
            rows.push((
                category_map::edition.eq(catalogue.edition.as_str()),
                category_map::kind.eq(entry.code.kind.as_str()),
                category_map::code.eq(format!("{}{}", entry.code.major, entry.code.minor)),
                category_map::name.eq(&entry.name),
                category_map::compared.eq(compared),
            ));
        }
    }
    conn.transaction(|conn| {
        diesel::delete(category_map::table).execute(conn)?;
        for chunk in rows.chunks(1000) {
            diesel::insert_into(category_map::table)
                .values(chunk)
                .execute(conn)?;
        }
        diesel::sql_query(
            "UPDATE cases SET category_compared = m.compared FROM category_map m \
             WHERE m.edition = cases.category_edition AND m.kind = cases.category_kind \
               AND m.code = cases.category_major || cases.category_minor \
               AND cases.category_compared IS DISTINCT FROM m.compared",
        )
        .execute(conn)?;
        Ok(())
    })
}
