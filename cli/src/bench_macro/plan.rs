//! The simulated weeks: when each WPSR release is due and goes out, and what
//! goes wrong with it. Drawn from a seed, so a run can be repeated.

use super::tables::{Table, Template};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use qdp_sdk::calendar::ReleaseCalendar;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, VecDeque};

/// One way a request for a published table fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// 429 with `Retry-After: <seconds>`.
    TooMany(u64),
    /// 500, 502 or 503.
    ServerError(u16),
    /// No answer until the client times out.
    Hang,
    /// The connection drops halfway through the announced length.
    CutInTransit,
    /// A partial file served whole (no end-of-file byte).
    CutAtPublisher,
}

/// One simulated release.
#[derive(Debug, Clone)]
pub struct Release {
    /// The week ending it is about.
    pub period: NaiveDate,
    /// When it actually goes out.
    pub published: DateTime<Utc>,
    /// Failed answers, in order, to the first requests after publication.
    pub faults: VecDeque<Fault>,
    /// The process is killed as soon as it has the table.
    pub kill: bool,
    /// The table served.
    pub table: Table,
}

/// How often each fault appears, and how many releases met each one.
#[derive(Debug, Default, Clone)]
pub struct FaultCounts {
    pub late: usize,
    pub too_many: usize,
    pub server_error: usize,
    pub timeout: usize,
    pub truncated: usize,
    pub revised: usize,
    pub killed: usize,
    pub clean: usize,
}

impl FaultCounts {
    /// `late=.. 429=.. ...`: releases with each fault.
    pub fn line(&self) -> String {
        format!(
            "late={} 429={} 5xx={} timeout={} truncated={} revised_prior_week={} killed_mid_load={} no_fault={}",
            self.late,
            self.too_many,
            self.server_error,
            self.timeout,
            self.truncated,
            self.revised,
            self.killed,
            self.clean
        )
    }
}

/// Release 0 (already out when the run starts, not counted) and releases
/// 1..=n, one per week from the week ending `first`.
pub fn releases(
    template: &Template,
    n: usize,
    seed: u64,
    first: NaiveDate,
) -> (Vec<Release>, FaultCounts) {
    let mut rng = StdRng::seed_from_u64(seed);
    let revisable = template.revisable();
    let mut counts = FaultCounts::default();
    let mut out = Vec::with_capacity(n + 1);
    for k in 0..=n {
        let period = first + Duration::days(7 * k as i64);
        let expected = ReleaseCalendar::EiaWpsr.release_time(period);
        let mut faults = Vec::new();
        let (mut late, mut revised, mut kill) = (None, Vec::new(), false);
        if k > 0 {
            if rng.random_bool(0.2) {
                late = Some(Duration::seconds(rng.random_range(90..=50 * 60)));
            }
            if rng.random_bool(0.25) {
                for _ in 0..rng.random_range(1..=2) {
                    faults.push(Fault::TooMany(rng.random_range(1..=2)));
                }
            }
            if rng.random_bool(0.25) {
                for _ in 0..rng.random_range(1..=2) {
                    faults.push(Fault::ServerError([500, 502, 503][rng.random_range(0..3)]));
                }
            }
            if rng.random_bool(0.15) {
                faults.push(Fault::Hang);
            }
            if rng.random_bool(0.2) {
                faults.push(if rng.random_bool(0.5) {
                    Fault::CutInTransit
                } else {
                    Fault::CutAtPublisher
                });
            }
            if rng.random_bool(0.3) && !revisable.is_empty() {
                for _ in 0..rng.random_range(1..=3) {
                    revised.push(revisable[rng.random_range(0..revisable.len())].clone());
                }
            }
            kill = rng.random_bool(0.1);
            // The faults hit in any order.
            for i in (1..faults.len()).rev() {
                faults.swap(i, rng.random_range(0..=i));
            }
            let has = |f: fn(&Fault) -> bool| faults.iter().any(f);
            counts.late += usize::from(late.is_some());
            counts.too_many += usize::from(has(|f| matches!(f, Fault::TooMany(_))));
            counts.server_error += usize::from(has(|f| matches!(f, Fault::ServerError(_))));
            counts.timeout += usize::from(has(|f| matches!(f, Fault::Hang)));
            counts.truncated += usize::from(has(|f| {
                matches!(f, Fault::CutInTransit | Fault::CutAtPublisher)
            }));
            counts.revised += usize::from(!revised.is_empty());
            counts.killed += usize::from(kill);
            counts.clean +=
                usize::from(late.is_none() && faults.is_empty() && revised.is_empty() && !kill);
        }
        let table = template.render(seed, period, &revised, &mut rng);
        out.push(Release {
            period,
            published: expected + late.unwrap_or_default(),
            faults: faults.into(),
            kill,
            table,
        });
    }
    (out, counts)
}

/// What the warehouse must hold for each week once every release is in:
/// the week's own numbers, overwritten by the next release's corrections.
pub fn truth(releases: &[Release]) -> Vec<BTreeMap<String, f64>> {
    let mut out: Vec<BTreeMap<String, f64>> =
        releases.iter().map(|r| r.table.current.clone()).collect();
    for k in 1..releases.len() {
        for (field, v) in &releases[k].table.previous {
            out[k - 1].insert(field.clone(), *v);
        }
    }
    out
}
