//! Release metrics for `/metrics`: the delay of the last loaded release, the
//! passes run, and the status of the release being watched, per source and
//! calendar.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

/// The figures of one (source, calendar).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReleaseFigures {
    /// `loaded_at - expected_at` of the last loaded release, seconds.
    pub delay_seconds: Option<f64>,
    /// Passes run under the calendar.
    pub polls_total: u64,
    /// `waiting`, `polling`, `loaded`, `late` or `missed`.
    pub status: String,
    /// The period of that status.
    pub period: String,
}

/// Every source's release figures.
#[derive(Debug, Default)]
pub struct ReleaseMetrics {
    by_source: Mutex<BTreeMap<(String, String), ReleaseFigures>>,
}

/// The statuses rendered, one gauge line each (1 for the current one).
const STATUSES: [&str; 5] = ["waiting", "polling", "loaded", "late", "missed"];

impl ReleaseMetrics {
    /// Changes the figures of (`source`, `calendar`).
    pub fn update(&self, source: &str, calendar: &str, f: impl FnOnce(&mut ReleaseFigures)) {
        let mut map = self.by_source.lock().unwrap_or_else(|p| p.into_inner());
        f(map
            .entry((source.to_string(), calendar.to_string()))
            .or_default());
    }

    /// The figures of (`source`, `calendar`).
    pub fn get(&self, source: &str, calendar: &str) -> Option<ReleaseFigures> {
        let map = self.by_source.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&(source.to_string(), calendar.to_string()))
            .cloned()
    }

    /// Appends the Prometheus text of every source.
    pub fn render(&self, out: &mut String, pipeline: &str) {
        let map = self.by_source.lock().unwrap_or_else(|p| p.into_inner());
        if map.is_empty() {
            return;
        }
        let _ = writeln!(
            out,
            "# HELP qdp_release_delay_seconds Seconds from the expected release time to the load of the last loaded release.\n# TYPE qdp_release_delay_seconds gauge"
        );
        for ((s, c), f) in map.iter() {
            if let Some(d) = f.delay_seconds {
                let _ = writeln!(
                    out,
                    "qdp_release_delay_seconds{{pipeline=\"{pipeline}\",source=\"{s}\",calendar=\"{c}\"}} {d}"
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP qdp_release_polls_total Passes run to find releases.\n# TYPE qdp_release_polls_total counter"
        );
        for ((s, c), f) in map.iter() {
            let _ = writeln!(
                out,
                "qdp_release_polls_total{{pipeline=\"{pipeline}\",source=\"{s}\",calendar=\"{c}\"}} {}",
                f.polls_total
            );
        }
        let _ = writeln!(
            out,
            "# HELP qdp_release_status Status of the release a source last watched (1 = current).\n# TYPE qdp_release_status gauge"
        );
        for ((s, c), f) in map.iter() {
            for st in STATUSES {
                let _ = writeln!(
                    out,
                    "qdp_release_status{{pipeline=\"{pipeline}\",source=\"{s}\",calendar=\"{c}\",period=\"{}\",status=\"{st}\"}} {}",
                    f.period,
                    u8::from(f.status == st)
                );
            }
        }
    }
}
