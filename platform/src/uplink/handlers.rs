//! `/api/v1/exchange/*`: where the district's stream to the city stands. For the admin and
//! the leaders, who answer for what the city sees.

use actix_web::{HttpResponse, web};
use citygrid_kit::http::{NoParams, Query};

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

/// The messages the city refused, newest first (at most 100).
#[utoipa::path(get, path = "/api/v1/exchange/rejections", tag = "exchange", responses((status = 200, body = Vec<StoredRejection>)))]
pub async fn exchange_rejections(
    state: web::Data<AppState>,
    caller: Caller,
    _: Query<NoParams>,
) -> Result<HttpResponse> {
    require_overseer(&caller)?;
    let list = db::run(&state.pool, |conn| super::rejections(conn, 100)).await?;
    Ok(HttpResponse::Ok().json(list))
}
