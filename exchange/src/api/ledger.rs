//! `GET /api/v1/city/ledger/…`: the bonus/penalty ledger (docs/LEDGER.md). City roles read
//! every account; a district officer reads their own district's statement and no other.

use actix_web::{HttpResponse, web};
use chrono::NaiveDate;
use citygrid_kit::Error as HttpError;
use citygrid_kit::http::{ErrorBody, Query};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{AnyCaller, CityCaller, CityState, HttpResult};
use crate::blocking;
use crate::ledger::{self, store};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BalancesQuery {
    /// A local day (YYYY-MM-DD, the city's time zone): the balances at its end; now
    /// without.
    as_of: Option<NaiveDate>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Balances {
    as_of: Option<NaiveDate>,
    accounts: Vec<store::Balance>,
}

/// Every account's balance in fen (the city's pool and funds, each district's and each
/// leader's), as of the end of a day.
#[utoipa::path(get, path = "/api/v1/city/ledger/balances", tag = "city", params(BalancesQuery),
    responses((status = 200, body = Balances), (status = 400, body = ErrorBody, description = "unknown parameter"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody, description = "a district officer"),
        (status = 422, body = ErrorBody)))]
pub async fn balances(
    state: web::Data<CityState>,
    _caller: CityCaller,
    query: Query<BalancesQuery>,
) -> HttpResult<HttpResponse> {
    let as_of = query.into_inner().as_of;
    let at = as_of.map(|d| ledger::end_of_day(d, state.time_zone));
    let accounts = blocking(&state.pool, move |conn| store::balances(conn, at, None)).await?;
    Ok(HttpResponse::Ok().json(Balances { as_of, accounts }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatementQuery {
    /// 6-digit district code; a district officer's own by default (and only).
    district: Option<String>,
    /// First local day (YYYY-MM-DD); from the beginning without.
    from: Option<NaiveDate>,
    /// Last local day; until now without.
    to: Option<NaiveDate>,
}

/// A district's statement: its accounts' and its leaders' opening balances, every entry
/// with the cause it cites and the balance after it, and the closing balances.
#[utoipa::path(get, path = "/api/v1/city/ledger/statement", tag = "city", params(StatementQuery),
    responses((status = 200, body = store::Statement), (status = 400, body = ErrorBody, description = "unknown parameter"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "a district officer asking for another district (`wrong_district`)"),
        (status = 404, body = ErrorBody, description = "no such district in the registry"),
        (status = 422, body = ErrorBody)))]
pub async fn statement(
    state: web::Data<CityState>,
    caller: AnyCaller,
    query: Query<StatementQuery>,
) -> HttpResult<HttpResponse> {
    let q = query.into_inner();
    let district = match (&caller.0.district, q.district) {
        (Some(own), Some(asked)) if *own != asked => {
            return Err(HttpError::forbidden(
                "wrong_district",
                format!("district {own}'s officer reads only district {own}'s statement"),
            ));
        }
        (_, Some(asked)) => asked,
        (Some(own), None) => own.clone(),
        (None, None) => return Err(HttpError::invalid("district", "a 6-digit district code")),
    };
    if state.registry.get(&district).is_none() {
        return Err(HttpError::NotFound(format!("district {district}")));
    }
    if let (Some(from), Some(to)) = (q.from, q.to)
        && from > to
    {
        return Err(HttpError::invalid("to", "on or after `from`"));
    }
    let zone = state.time_zone;
    let (from, to) = (
        q.from.map(|d| ledger::start_of_day(d, zone)),
        q.to.map(|d| ledger::end_of_day(d, zone)),
    );
    let statement = blocking(&state.pool, move |conn| {
        store::statement(conn, &district, from, to)
    })
    .await?;
    Ok(HttpResponse::Ok().json(statement))
}
