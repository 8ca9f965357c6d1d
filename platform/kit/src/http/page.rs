//! Pages of lists limited by bytes as well as by rows: a list endpoint serialises its rows
//! one by one and stops before the answer would pass a byte budget, then tells the client
//! where to continue. Rows vary from a few hundred bytes to tens of kilobytes (free text),
//! so a row limit alone lets one answer reach megabytes.
//!
//! Object answers (`{"items": [...], "next_cursor": ...}`) add `truncated: true`; bare
//! arrays keep their shape and say it in headers ([`array`]): `X-Next-Cursor` (pass it
//! back as `?cursor=`) and `X-Truncated: true`.

use actix_web::HttpResponse;
use actix_web::http::header::{CONTENT_TYPE, HeaderValue};
use serde::Serialize;
use serde_json::value::RawValue;

/// The byte budget of a list answer by default: 1 MiB.
pub const PAGE_BYTES: usize = 1024 * 1024;

/// Room kept in the budget for what surrounds the items (field names, cursor).
const ENVELOPE_BYTES: usize = 1024;

/// The items that fit, serialised, in order.
#[derive(Debug)]
pub struct Fitted {
    pub items: Vec<Box<RawValue>>,
    /// Items were left out because the next would not have fitted.
    pub truncated: bool,
}

/// Serialises `items` in order until the next would take the answer over `budget` bytes.
/// Always at least one item: one larger than the budget goes alone, so paging moves on.
pub fn fit<T: Serialize>(
    items: impl IntoIterator<Item = T>,
    budget: usize,
) -> Result<Fitted, serde_json::Error> {
    let room = budget.saturating_sub(ENVELOPE_BYTES);
    let mut used = 2; // the brackets
    let mut fitted = Vec::new();
    for item in items {
        let raw = serde_json::value::to_raw_value(&item)?;
        let size = raw.get().len() + usize::from(!fitted.is_empty());
        if !fitted.is_empty() && used + size > room {
            return Ok(Fitted {
                items: fitted,
                truncated: true,
            });
        }
        used += size;
        fitted.push(raw);
    }
    Ok(Fitted {
        items: fitted,
        truncated: false,
    })
}

/// A bare JSON array answer, with `X-Next-Cursor` when there is more and
/// `X-Truncated: true` when the byte budget cut it.
pub fn array(
    fitted: &Fitted,
    next_cursor: Option<String>,
) -> Result<HttpResponse, serde_json::Error> {
    let body = serde_json::to_string(&fitted.items)?;
    let mut response = HttpResponse::Ok();
    response.insert_header((CONTENT_TYPE, HeaderValue::from_static("application/json")));
    if let Some(cursor) = next_cursor {
        response.insert_header(("X-Next-Cursor", cursor));
    }
    if fitted.truncated {
        response.insert_header(("X-Truncated", "true"));
    }
    Ok(response.body(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_stop_before_the_budget_and_one_always_goes() {
        let items: Vec<String> = (0..10).map(|i| format!("{i}").repeat(500)).collect();
        // Each item is 502 bytes serialised, 503 after the first.
        let fitted = fit(&items, ENVELOPE_BYTES + 2 + 502 + 503 * 2).expect("fit");
        assert_eq!((fitted.items.len(), fitted.truncated), (3, true));
        let body = serde_json::to_string(&fitted.items).expect("json");
        assert!(body.len() <= 2 + 502 + 503 * 2, "{}", body.len());
        let fitted = fit(&items, 0).expect("fit");
        assert_eq!((fitted.items.len(), fitted.truncated), (1, true));
        let fitted = fit(&items, PAGE_BYTES).expect("fit");
        assert_eq!((fitted.items.len(), fitted.truncated), (10, false));
        let empty: Vec<String> = Vec::new();
        let fitted = fit(&empty, 0).expect("fit");
        assert_eq!((fitted.items.len(), fitted.truncated), (0, false));
    }
}
