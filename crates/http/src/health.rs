//! The endpoints about the service itself rather than anyone's data: welcome, liveness,
//! readiness and metrics.

use actix_web::{HttpResponse, web};
use todo_application::ports::PortError;

use crate::dto::{Health, Welcome};
use crate::error::{ApiError, Problem, Result, chain};
use crate::services::Services;

#[utoipa::path(get, path = "/", tag = "service",
    responses((status = 200, description = "Service name, version and where the docs are", body = Welcome)))]
pub async fn welcome() -> HttpResponse {
    HttpResponse::Ok().json(Welcome {
        name: "todo-api",
        version: env!("CARGO_PKG_VERSION"),
        docs: "/docs",
    })
}

#[utoipa::path(get, path = "/health", tag = "service",
    responses((status = 200, description = "The process is alive (no database check)", body = Health)))]
pub async fn health() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

#[utoipa::path(get, path = "/health/ready", tag = "service",
    responses(
        (status = 200, description = "The database is reachable and migrated", body = Health),
        (status = 503, description = "Not ready; retry later", body = Problem,
            content_type = "application/problem+json"),
    ))]
pub async fn ready(services: web::Data<Services>) -> Result<HttpResponse> {
    if services.is_shutting_down() {
        return Err(ApiError::NotReady(
            "the service is shutting down".to_owned(),
        ));
    }
    match services.readiness.check().await {
        Ok(()) => Ok(HttpResponse::Ok().json(Health { status: "ready" })),
        Err(err) => {
            // The cause may name hosts, users or worse: it goes to the log, never the body.
            tracing::warn!(error.cause_chain = %chain(&err), "readiness check failed");
            Err(ApiError::NotReady(
                match err {
                    PortError::Unavailable(_) => "the database is unreachable",
                    PortError::Conflict(_) | PortError::Other(_) => "the database is not ready",
                }
                .to_owned(),
            ))
        }
    }
}

/// Prometheus metrics (text exposition format).
pub async fn metrics(services: web::Data<Services>) -> HttpResponse {
    let mut body = services.metrics.render();
    if let Some(hub) = &services.events {
        body.push_str(&event_metrics(hub.stats()));
    }
    if let Some(stats) = &services.webhook_stats {
        body.push_str(&webhook_metrics(stats.read()));
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(body)
}

/// The webhook deliverer's counters, in the exposition format.
fn webhook_metrics(counts: todo_application::DeliveryCounts) -> String {
    format!(
        "# HELP webhook_deliveries_total Webhook delivery attempts by outcome.\n\
         # TYPE webhook_deliveries_total counter\n\
         webhook_deliveries_total{{outcome=\"delivered\"}} {}\n\
         webhook_deliveries_total{{outcome=\"failed\"}} {}\n\
         webhook_deliveries_total{{outcome=\"refused\"}} {}\n\
         # HELP webhooks_disabled_total Webhooks disabled after their failures.\n\
         # TYPE webhooks_disabled_total counter\n\
         webhooks_disabled_total {}\n\
         # HELP webhook_delivery_lag_seconds From a change to its webhook delivery, as last seen.\n\
         # TYPE webhook_delivery_lag_seconds gauge\n\
         webhook_delivery_lag_seconds {:.3}\n",
        counts.delivered,
        counts.failed,
        counts.refused,
        counts.disabled,
        counts.lag_ms as f64 / 1000.0,
    )
}

/// The event stream's gauges and counters, in the exposition format.
fn event_metrics(stats: todo_application::EventStats) -> String {
    format!(
        "# HELP event_streams_open Event streams open in this process.\n\
         # TYPE event_streams_open gauge\n\
         event_streams_open {}\n\
         # HELP events_sent_total Events sent on the event streams.\n\
         # TYPE events_sent_total counter\n\
         events_sent_total {}\n\
         # HELP change_log_records_read_total Records this process's event reader read.\n\
         # TYPE change_log_records_read_total counter\n\
         change_log_records_read_total {}\n\
         # HELP change_log_lag_seconds From the newest change's time to its read, as last seen.\n\
         # TYPE change_log_lag_seconds gauge\n\
         change_log_lag_seconds {:.3}\n",
        stats.open_streams,
        stats.events_sent,
        stats.records_read,
        stats.lag_ms as f64 / 1000.0,
    )
}
