//! The one place URLs meet handlers.

use actix_web::web;
use citygrid_kit::http::edge;
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

use crate::address::handlers as address;
use crate::api::{self, ApiDoc};
use crate::appraisal::city_reports;
use crate::appraisal::handlers as appraisal;
use crate::auth::handlers as auth;
use crate::case::handlers as case;
use crate::component::handlers as component;
use crate::manual::handlers as manual;
use crate::media::handlers as media;
use crate::uplink::handlers as exchange;

/// Handlers take their input through the kit's extractors (`Json`, `Query`, `Path`), which
/// refuse text PostgreSQL cannot store, unknown query parameters and non-JSON bodies with
/// the error envelope; `unmatched` answers 404 or 405 (with `Allow`) in it.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let doc = ApiDoc::openapi();
    // Static paths first and one dynamic scope per resource: actix matches dynamic
    // segments with a regex, tried route by route, which showed up in the intake profile.
    cfg.service(
        web::scope("/api/v1")
            .route("/auth/token", web::post().to(auth::issue_token))
            .route("/auth/refresh", web::post().to(auth::refresh_token))
            .route("/auth/logout", web::post().to(auth::logout))
            .route(
                "/users/{username}/revoke-tokens",
                web::post().to(auth::revoke_tokens),
            )
            .route("/categories", web::get().to(api::categories))
            .route("/manual", web::get().to(manual::read_manual))
            .route("/queue", web::get().to(case::my_queue))
            .route("/stats/lights", web::get().to(case::light_stats))
            .route("/appraisal", web::get().to(appraisal::appraisal))
            .route("/city-reports", web::get().to(city_reports::list_reports))
            .route(
                "/city-reports/{month}/{file}",
                web::get().to(city_reports::download_report),
            )
            .route("/exchange/status", web::get().to(exchange::exchange_status))
            .route(
                "/exchange/rejections",
                web::get().to(exchange::exchange_rejections),
            )
            .route("/geo/geocode", web::get().to(address::geocode))
            .route("/geo/reverse", web::get().to(address::reverse_geocode))
            .route("/components", web::get().to(component::list_components))
            .route("/components/{id}", web::get().to(component::get_component))
            .route(
                "/components/{id}",
                web::patch().to(component::update_component),
            )
            .route("/media", web::post().to(media::upload_media))
            .route("/cases", web::post().to(case::report_case))
            .route("/cases", web::get().to(case::list_cases))
            .service(
                web::scope("/cases/{id}")
                    .route("", web::get().to(case::get_case))
                    .route("/similar", web::get().to(case::similar_cases))
                    .route(
                        "/assignments",
                        web::get().to(crate::patrol::handlers::assignments),
                    )
                    .route(
                        "/task/assign",
                        web::post().to(crate::patrol::handlers::assign_task),
                    )
                    .route(
                        "/request-verification",
                        web::post().to(case::request_verification),
                    )
                    .route("/verify", web::post().to(case::verify_case))
                    .route("/file", web::post().to(case::file_case))
                    .route("/reject", web::post().to(case::reject_case))
                    .route("/dispatch", web::post().to(case::dispatch_case))
                    .route("/return", web::post().to(case::return_case))
                    .route("/handle", web::post().to(case::handle_case))
                    .route("/check", web::post().to(case::check_case))
                    .route("/callback", web::post().to(case::callback_case))
                    .route("/close", web::post().to(case::close_case))
                    .route("/refer", web::post().to(case::refer_case))
                    .route(
                        "/cancellation/request",
                        web::post().to(case::request_cancellation),
                    )
                    .route(
                        "/cancellation/approve",
                        web::post().to(case::approve_cancellation),
                    )
                    .route(
                        "/cancellation/reject",
                        web::post().to(case::reject_cancellation),
                    )
                    .route(
                        "/extension/request",
                        web::post().to(case::request_extension),
                    )
                    .route(
                        "/extension/approve",
                        web::post().to(case::approve_extension),
                    )
                    .route("/extension/reject", web::post().to(case::reject_extension))
                    .route(
                        "/suspension/request",
                        web::post().to(case::request_suspension),
                    )
                    .route(
                        "/suspension/approve",
                        web::post().to(case::approve_suspension),
                    )
                    .route(
                        "/suspension/reject",
                        web::post().to(case::reject_suspension),
                    )
                    .route("/resume", web::post().to(case::resume_case))
                    .route("/urge", web::post().to(case::urge_case))
                    .route("/supervise", web::post().to(case::supervise_case))
                    .route(
                        "/supervision/acknowledge",
                        web::post().to(case::acknowledge_supervision),
                    ),
            )
            .route("/media/{sha256}", web::get().to(media::download_media)),
    )
    .route("/healthz", web::get().to(api::healthz))
    .route("/readyz", web::get().to(api::readyz))
    .service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", doc.clone()))
    .app_data(web::Data::new(
        edge::Allowed::from_openapi(&doc)
            .with("/openapi.json", "GET")
            .with("/docs/{_:.*}", "GET"),
    ))
    .default_service(web::to(edge::unmatched));
}
