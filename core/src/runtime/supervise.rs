//! Retry and restart decisions with exponential backoff and jitter.

use crate::config::RestartPolicy;
use crate::metrics::{ComponentMetrics, State};
use qdp_sdk::{ErrorDomain, PluginError};
use rand::Rng;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

/// What to do after a failed call.
#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    /// Call the same instance again.
    Retry,
    /// Destroy the instance and build a new one, then call again.
    Recreate,
}

/// Tracks consecutive failures of one component.
pub struct Supervisor {
    id: String,
    policy: RestartPolicy,
    failures: u32,
    restarts: u32,
    metrics: Arc<ComponentMetrics>,
}

impl Supervisor {
    /// A supervisor for component `id`.
    pub fn new(id: &str, policy: RestartPolicy, metrics: Arc<ComponentMetrics>) -> Self {
        Self {
            id: id.to_string(),
            policy,
            failures: 0,
            restarts: 0,
            metrics,
        }
    }

    /// The call worked: reset the backoff.
    pub fn succeeded(&mut self) {
        if self.failures > 0 {
            tracing::info!(component = %self.id, "recovered");
            self.metrics.set_state(State::Running);
        }
        self.failures = 0;
        self.restarts = 0;
    }

    /// Decides after `e`, waits the backoff, and gives up with `Err` once the
    /// restart budget is spent. Retryable errors are retried without limit:
    /// a destination that is down slows the pipeline, it never drops data.
    pub async fn failed(&mut self, e: &PluginError) -> Result<Action, PluginError> {
        self.failures += 1;
        self.metrics.errors.fetch_add(1, Relaxed);
        self.metrics.set_state(State::Degraded);
        let action = if e.retryable && e.domain != ErrorDomain::Internal {
            Action::Retry
        } else {
            Action::Recreate
        };
        if action == Action::Recreate {
            self.restarts += 1;
            if self.restarts > self.policy.max_restarts {
                self.metrics.set_state(State::Failed);
                tracing::error!(component = %self.id, error = %e, restarts = self.restarts - 1, "giving up");
                return Err(e.clone().with_context("component", &self.id));
            }
            self.metrics.restarts.fetch_add(1, Relaxed);
        } else {
            self.metrics.retries.fetch_add(1, Relaxed);
        }
        let wait = backoff(&self.policy, self.failures);
        tracing::warn!(component = %self.id, error = %e, ?action, wait_ms = wait.as_millis() as u64, "call failed");
        tokio::time::sleep(wait).await;
        Ok(action)
    }
}

/// Exponential backoff with jitter: a random wait in [d/2, d] where d doubles
/// from `backoff_initial` up to `backoff_max`.
pub fn backoff(policy: &RestartPolicy, attempt: u32) -> Duration {
    let exp = policy
        .backoff_initial
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
    let d = exp.min(policy.backoff_max);
    let jitter: f64 = rand::rng().random_range(0.5..=1.0);
    d.mul_f64(jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RestartPolicy {
            max_restarts: 3,
            backoff_initial: Duration::from_millis(100),
            backoff_max: Duration::from_secs(1),
        };
        let b1 = backoff(&p, 1);
        assert!(b1 >= Duration::from_millis(50) && b1 <= Duration::from_millis(100));
        let b3 = backoff(&p, 3);
        assert!(b3 >= Duration::from_millis(200) && b3 <= Duration::from_millis(400));
        assert!(backoff(&p, 30) <= Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_after_the_restart_budget() {
        let p = RestartPolicy {
            max_restarts: 2,
            backoff_initial: Duration::from_millis(1),
            backoff_max: Duration::from_millis(2),
        };
        let mut s = Supervisor::new("x", p, Arc::default());
        let bug = PluginError::internal("bug");
        assert_eq!(s.failed(&bug).await.unwrap(), Action::Recreate);
        assert_eq!(s.failed(&bug).await.unwrap(), Action::Recreate);
        assert!(s.failed(&bug).await.is_err());
        let mut s = Supervisor::new("y", RestartPolicy::default(), Arc::default());
        for _ in 0..20 {
            assert_eq!(
                s.failed(&PluginError::external("down")).await.unwrap(),
                Action::Retry
            );
        }
    }
}
