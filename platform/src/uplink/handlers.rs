//! `/api/v1/exchange/*`: where the district's stream to the city stands. For the admin and
//! the leaders, who answer for what the city sees.

use actix_web::{HttpResponse, web};
use citygrid_kit::http::{Query, page};

use super::{Status, StoredRejection};
use crate::app::AppState;
use crate::auth::Caller;
use crate::case::workflow::Role;
use crate::db;
use crate::error::{Error, Result};

fn require_overseer(caller: &Caller) -> Result<()> {
    if caller.has(Role::Admin) || caller.has(Role::Leader) {
        Ok(())
    } else {
        Err(Error::forbidden(
            "wrong_role",
            "the exchange status is for the admin and leaders",
        ))
    }
}

/// Last seq written and confirmed, backlog, broker connection.
#[utoipa::path(get, path = "/api/v1/exchange/status", tag = "exchange", responses((status = 200, body = Status)))]
pub async fn exchange_status(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse> {
    require_overseer(&caller)?;
    let district = state.tenant.code().to_owned();
    let configured = state.tenant.config.exchange.is_some();
    let link = state.uplink.clone();
    let status = db::run(&state.pool, move |conn| {
        super::status(conn, &district, configured, &link)
    })
    .await?;
    Ok(HttpResponse::Ok().json(status))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RejectionsQuery {
    /// `X-Next-Cursor` of the previous answer.
    pub cursor: Option<i64>,
}

/// The messages the city refused, newest first: at most 100 and `[limits] page_kib`
/// bytes; `X-Next-Cursor` (pass it as `cursor`) when there are more, `X-Truncated: true`
/// when the byte budget cut the answer.
#[utoipa::path(get, path = "/api/v1/exchange/rejections", tag = "exchange", params(RejectionsQuery), responses((status = 200, body = Vec<StoredRejection>)))]
pub async fn exchange_rejections(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<RejectionsQuery>,
) -> Result<HttpResponse> {
    const ROWS: i64 = 100;
    require_overseer(&caller)?;
    let before = query.cursor;
    let mut list = db::run(&state.pool, move |conn| {
        super::rejections(conn, before, ROWS + 1)
    })
    .await?;
    let more = list.len() as i64 > ROWS;
    list.truncate(ROWS as usize);
    let fitted = page::fit(&list, state.tenant.config.limits.page_bytes())?;
    let next = (more || fitted.truncated)
        .then(|| fitted.items.len().checked_sub(1))
        .flatten()
        .and_then(|last| list.get(last))
        .map(|r| r.id.to_string());
    Ok(page::array(&fitted, next)?)
}
