//! Prometheus metrics: requests by route template and status, latency histograms,
//! requests in flight, database pool occupancy, authentication failures by reason,
//! requests refused by a rate limit, by budget.
//!
//! Hand-written text exposition (format 0.0.4): a handful of counters does not justify a
//! metrics framework and its dependency tree.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use todo_application::ports::PoolMetrics;

use crate::rate_limit::Budget;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
struct Counters {
    /// route template → what each method's requests to it counted. Looked up by the
    /// template as the request has it, so a request allocates nothing once its route and
    /// method have been seen (keyed by owned (method, route, status) tuples, each update
    /// copied the labels four times over: ~1 000 instructions a request).
    routes: HashMap<String, Vec<MethodCounts>>,
    /// reason → count
    auth_failures: BTreeMap<&'static str, u64>,
}

/// One method's requests to one route: by status, and their latency.
struct MethodCounts {
    method: String,
    /// status → count (a route answers a few statuses)
    statuses: Vec<(u16, u64)>,
    latency: Histogram,
}

impl MethodCounts {
    fn count(methods: &mut Vec<Self>, method: &str, status: u16, secs: f64) {
        if !methods.iter().any(|m| m.method == method) {
            methods.push(Self {
                method: method.to_owned(),
                statuses: Vec::new(),
                latency: Histogram::default(),
            });
        }
        let Some(counts) = methods.iter_mut().find(|m| m.method == method) else {
            return;
        };
        match counts.statuses.iter_mut().find(|(s, _)| *s == status) {
            Some((_, n)) => *n += 1,
            None => counts.statuses.push((status, 1)),
        }
        let h = &mut counts.latency;
        for (bound, count) in BUCKETS.iter().zip(h.counts.iter_mut()) {
            if secs <= *bound {
                *count += 1;
            }
        }
        h.count += 1;
        h.sum += secs;
    }
}

/// The service's metrics. Cheap to update from every request.
#[derive(Default)]
pub struct Metrics {
    in_flight: AtomicI64,
    /// Requests refused by the reads, writes and auth-failures budgets.
    limited: [AtomicU64; Budget::ALL.len()],
    counters: Mutex<Counters>,
    pool: Option<Arc<dyn PoolMetrics>>,
}

/// Decrements the in-flight gauge when dropped (also when a request is cancelled).
pub struct InFlight<'a>(&'a Metrics);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Metrics {
    #[must_use]
    pub fn with_pool(pool: Arc<dyn PoolMetrics>) -> Self {
        Self {
            pool: Some(pool),
            ..Self::default()
        }
    }

    pub fn start(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self)
    }

    pub fn record(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        let mut c = self.counters.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(methods) = c.routes.get_mut(route) {
            MethodCounts::count(methods, method, status, secs);
        } else {
            let mut methods = Vec::new();
            MethodCounts::count(&mut methods, method, status, secs);
            c.routes.insert(route.to_owned(), methods);
        }
    }

    pub fn auth_failure(&self, reason: &'static str) {
        let mut c = self.counters.lock().unwrap_or_else(PoisonError::into_inner);
        *c.auth_failures.entry(reason).or_default() += 1;
    }

    /// Counts a request refused with 429 by `budget`.
    pub fn rate_limited(&self, budget: Budget) {
        if let Some(counter) = self.limited.get(budget.index()) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The Prometheus text exposition.
    #[must_use]
    pub fn render(&self) -> String {
        let mut out = String::new();
        let c = self.counters.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = writeln!(
            out,
            "# HELP http_requests_total Requests served, by route template and status."
        );
        let _ = writeln!(out, "# TYPE http_requests_total counter");
        // In the order of (method, route, status), as Prometheus' own clients write them.
        let mut requests: Vec<(&str, &str, u16, u64)> = Vec::new();
        let mut latency: Vec<(&str, &str, &Histogram)> = Vec::new();
        for (route, methods) in &c.routes {
            for m in methods {
                requests.extend(
                    m.statuses
                        .iter()
                        .map(|&(s, n)| (m.method.as_str(), route.as_str(), s, n)),
                );
                latency.push((m.method.as_str(), route.as_str(), &m.latency));
            }
        }
        requests.sort_unstable_by(|a, b| (a.0, a.1, a.2).cmp(&(b.0, b.1, b.2)));
        latency.sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        for (method, route, status, n) in requests {
            let _ = writeln!(
                out,
                "http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {n}",
                escape(route)
            );
        }
        let _ = writeln!(
            out,
            "# HELP http_request_duration_seconds Request latency, by route template."
        );
        let _ = writeln!(out, "# TYPE http_request_duration_seconds histogram");
        for (method, route, h) in latency {
            let labels = format!("method=\"{method}\",route=\"{}\"", escape(route));
            for (bound, count) in BUCKETS.iter().zip(h.counts.iter()) {
                let _ = writeln!(
                    out,
                    "http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "http_request_duration_seconds_sum{{{labels}}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "http_request_duration_seconds_count{{{labels}}} {}",
                h.count
            );
        }
        let _ = writeln!(
            out,
            "# HELP auth_failures_total Refused credentials, by reason."
        );
        let _ = writeln!(out, "# TYPE auth_failures_total counter");
        for (reason, n) in &c.auth_failures {
            let _ = writeln!(out, "auth_failures_total{{reason=\"{reason}\"}} {n}");
        }
        drop(c);
        let _ = writeln!(
            out,
            "# HELP rate_limited_total Requests refused with 429, by budget."
        );
        let _ = writeln!(out, "# TYPE rate_limited_total counter");
        for budget in Budget::ALL {
            let n = self
                .limited
                .get(budget.index())
                .map_or(0, |c| c.load(Ordering::Relaxed));
            let _ = writeln!(
                out,
                "rate_limited_total{{budget=\"{}\"}} {n}",
                budget.as_str()
            );
        }
        let _ = writeln!(
            out,
            "# HELP http_requests_in_flight Requests being served now."
        );
        let _ = writeln!(out, "# TYPE http_requests_in_flight gauge");
        let _ = writeln!(
            out,
            "http_requests_in_flight {}",
            self.in_flight.load(Ordering::Relaxed)
        );
        if let Some(pool) = &self.pool {
            let s = pool.stats();
            let _ = writeln!(out, "# HELP db_pool_connections Open database connections.");
            let _ = writeln!(out, "# TYPE db_pool_connections gauge");
            let _ = writeln!(out, "db_pool_connections {}", s.size);
            let _ = writeln!(
                out,
                "# HELP db_pool_idle_connections Open database connections not in use."
            );
            let _ = writeln!(out, "# TYPE db_pool_idle_connections gauge");
            let _ = writeln!(out, "db_pool_idle_connections {}", s.idle);
            let _ = writeln!(out, "# HELP db_pool_max_connections The pool's size limit.");
            let _ = writeln!(out, "# TYPE db_pool_max_connections gauge");
            let _ = writeln!(out, "db_pool_max_connections {}", s.max);
            let _ = writeln!(
                out,
                "# HELP db_pool_waiting Database operations waiting for a connection."
            );
            let _ = writeln!(out, "# TYPE db_pool_waiting gauge");
            let _ = writeln!(out, "db_pool_waiting {}", s.waiting);
        }
        out
    }
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_are_counted_apart_and_written_in_label_order() {
        let m = Metrics::default();
        for (method, route, status) in [
            ("POST", "/b", 201),
            ("GET", "/b", 200),
            ("GET", "/a", 404),
            ("GET", "/a", 200),
            ("GET", "/b", 200),
        ] {
            m.record(method, route, status, Duration::ZERO);
        }
        let text = m.render();
        let series = |prefix: &str| -> Vec<String> {
            text.lines()
                .filter(|l| l.starts_with(prefix))
                .map(str::to_owned)
                .collect()
        };
        assert_eq!(
            series("http_requests_total{"),
            [
                r#"http_requests_total{method="GET",route="/a",status="200"} 1"#,
                r#"http_requests_total{method="GET",route="/a",status="404"} 1"#,
                r#"http_requests_total{method="GET",route="/b",status="200"} 2"#,
                r#"http_requests_total{method="POST",route="/b",status="201"} 1"#,
            ]
        );
        assert_eq!(
            series("http_request_duration_seconds_count{"),
            [
                r#"http_request_duration_seconds_count{method="GET",route="/a"} 2"#,
                r#"http_request_duration_seconds_count{method="GET",route="/b"} 2"#,
                r#"http_request_duration_seconds_count{method="POST",route="/b"} 1"#,
            ]
        );
    }

    #[test]
    fn counters_and_histograms_are_rendered() {
        let m = Metrics::default();
        m.record("GET", "/api/{user_id}/tasks", 200, Duration::from_millis(3));
        m.record(
            "GET",
            "/api/{user_id}/tasks",
            200,
            Duration::from_millis(30),
        );
        m.auth_failure("expired");
        let text = m.render();
        assert!(text.contains(
            "http_requests_total{method=\"GET\",route=\"/api/{user_id}/tasks\",status=\"200\"} 2"
        ));
        assert!(text.contains(
            "http_request_duration_seconds_bucket{method=\"GET\",route=\"/api/{user_id}/tasks\",le=\"0.005\"} 1"
        ));
        assert!(text.contains(
            "http_request_duration_seconds_bucket{method=\"GET\",route=\"/api/{user_id}/tasks\",le=\"+Inf\"} 2"
        ));
        assert!(text.contains("auth_failures_total{reason=\"expired\"} 1"));
        m.rate_limited(Budget::Writes);
        let text = m.render();
        assert!(text.contains("rate_limited_total{budget=\"writes\"} 1"));
        assert!(text.contains("rate_limited_total{budget=\"reads\"} 0"));
        let guard = m.start();
        assert!(m.render().contains("http_requests_in_flight 1"));
        drop(guard);
        assert!(m.render().contains("http_requests_in_flight 0"));
    }
}
