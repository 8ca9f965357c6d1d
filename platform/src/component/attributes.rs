//! The checks every component's attributes pass, whether they come from a census row or
//! an edit: texts, the competent department, dates, and where it is — a point inside the
//! district gives the cell, street and community from the grid, and what the caller also
//! gives must agree with it. Pure: a refusal is the field and the reason.

use crate::config::Tenant;
use crate::grid::CellCode;

use super::model::Attributes;

/// At most this many characters in a name (the standard has 30; some censuses add detail).
pub const NAME_CHARS: usize = 60;
/// In an owner's or maintainer's code (a unified social credit code has 18).
pub const CODE_CHARS: usize = 40;
/// In an owner's or maintainer's name.
pub const UNIT_CHARS: usize = 100;
/// In the remarks.
pub const REMARKS_CHARS: usize = 500;

/// A refused attribute: the field (as the census column or the API field names it) and why.
pub type Refusal = (&'static str, String);

/// A text attribute: no control characters (a census is one record a line), no NUL, at
/// most `max` characters.
pub fn text(field: &'static str, value: &str, max: usize) -> Result<(), Refusal> {
    let chars = value.chars().count();
    if chars > max {
        return Err((
            field,
            format!("at most {max} characters (this one has {chars})"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err((
            field,
            "control characters (line breaks, tabs…) are not allowed".into(),
        ));
    }
    Ok(())
}

/// Checks `attributes` against the district and fills in what the grid knows: returns the
/// attributes as stored.
pub fn check(tenant: &Tenant, mut a: Attributes) -> Result<Attributes, Refusal> {
    if a.name.trim().is_empty() {
        return Err(("name", "give the component's name".into()));
    }
    text("name", &a.name, NAME_CHARS)?;
    if tenant.department(&a.department_code).is_none() {
        return Err((
            "department",
            format!(
                "no department {:?} in district {}",
                a.department_code,
                tenant.code()
            ),
        ));
    }
    for (field, value, max) in [
        ("owner_code", &a.owner_code, CODE_CHARS),
        ("owner_name", &a.owner_name, UNIT_CHARS),
        ("maintainer_code", &a.maintainer_code, CODE_CHARS),
        ("maintainer_name", &a.maintainer_name, UNIT_CHARS),
        ("remarks", &a.remarks, REMARKS_CHARS),
    ] {
        if let Some(value) = value {
            text(field, value, max)?;
        }
    }
    if let (Some(initial), Some(changed)) = (a.initial_date, a.changed_date)
        && changed < initial
    {
        return Err((
            "changed_date",
            format!("{changed} is before the initial date {initial}"),
        ));
    }
    let (cell, street, community) = place(
        tenant,
        a.lon.zip(a.lat),
        a.cell_code.as_deref(),
        a.street_code.as_deref(),
        a.community_code.as_deref(),
    )?;
    a.cell_code = cell;
    a.street_code = street;
    a.community_code = community;
    Ok(a)
}

type Place = (Option<String>, Option<String>, Option<String>);

/// Where a component is: (cell, street, community). A point must be inside the district;
/// its grid cell decides, and a cell, street or community given as well must be that
/// cell's. Without a point, a cell must be one of the grid's (or, without a grid, a code
/// of the district's communities), and gives the street and community. Without either,
/// the component cannot be placed.
pub fn place(
    tenant: &Tenant,
    point: Option<(f64, f64)>,
    cell: Option<&str>,
    street: Option<&str>,
    community: Option<&str>,
) -> Result<Place, Refusal> {
    let district = format!("district {} {}", tenant.code(), tenant.config.district.name);
    let cell = match (point, cell) {
        (Some((lon, lat)), given) => {
            let inside = (-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat);
            if !(lon.is_finite() && lat.is_finite() && inside) {
                return Err((
                    "lon",
                    format!("({lon}, {lat}) is not a longitude and latitude"),
                ));
            }
            if !tenant.contains(lon, lat) {
                return Err((
                    "lon",
                    format!("the point ({lon}, {lat}) is outside {district}"),
                ));
            }
            let found = tenant.cell_at(lon, lat).map(|c| c.code.as_str().to_owned());
            match (found, given) {
                (Some(found), Some(given)) if found != given => {
                    return Err((
                        "cell",
                        format!(
                            "cell {given} is not the point's: ({lon}, {lat}) is in cell {found}"
                        ),
                    ));
                }
                (None, Some(given)) if tenant.grid.is_some() => {
                    return Err((
                        "cell",
                        format!(
                            "the point ({lon}, {lat}) is in no cell of the grid, not in {given}"
                        ),
                    ));
                }
                (None, Some(given)) => {
                    known_cell(tenant, given, &district)?;
                    Some(given.to_owned())
                }
                (None, None) => None,
                (found, _) => found,
            }
        }
        (None, Some(given)) => {
            known_cell(tenant, given, &district)?;
            Some(given.to_owned())
        }
        (None, None) => {
            return Err((
                "lon",
                "give the component's point (lon, lat) or its grid cell".into(),
            ));
        }
    };
    let Some(cell) = cell else {
        // A point in a district without a grid: the street and community as given.
        if let Some(street) = street
            && tenant.street(street).is_none()
        {
            return Err(("street", format!("no street {street} in {district}")));
        }
        if let Some(community) = community {
            let known = tenant.config.streets.iter().any(|s| {
                street.is_none_or(|st| st == s.code)
                    && s.communities.iter().any(|c| c.code == community)
            });
            if !known {
                return Err((
                    "community",
                    format!("no community {community} in {district}"),
                ));
            }
        }
        return Ok((
            None,
            street.map(str::to_owned),
            community.map(str::to_owned),
        ));
    };
    let (cell_street, cell_community) = (&cell[..9], &cell[..12]);
    if let Some(street) = street.filter(|s| *s != cell_street) {
        return Err((
            "street",
            format!("street {street} is not cell {cell}'s ({cell_street})"),
        ));
    }
    if let Some(community) = community.filter(|c| *c != cell_community) {
        return Err((
            "community",
            format!("community {community} is not cell {cell}'s ({cell_community})"),
        ));
    }
    let (street, community) = (cell_street.to_owned(), cell_community.to_owned());
    Ok((Some(cell), Some(street), Some(community)))
}

/// A cell code of the district: one of its grid's cells, or without a grid a well-formed
/// code of one of its communities.
fn known_cell(tenant: &Tenant, given: &str, district: &str) -> Result<(), Refusal> {
    let code = CellCode::parse(given).map_err(|e| ("cell", e))?;
    let known = match &tenant.grid {
        Some(grid) => grid
            .cells()
            .binary_search_by(|c| c.code.as_str().cmp(given))
            .is_ok(),
        None => tenant
            .street(code.street())
            .is_some_and(|s| s.communities.iter().any(|c| c.code == code.community())),
    };
    if known {
        Ok(())
    } else {
        Err(("cell", format!("no cell {given} in {district}")))
    }
}
