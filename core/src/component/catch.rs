//! Turning panics inside native components into errors, so a panicking
//! component is restarted like a failing one and the host survives.

use qdp_sdk::{PluginError, Result};
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};

/// Wraps a future so a panic while polling it becomes an `internal` error.
pub fn catch_panics<F, T>(fut: F) -> impl Future<Output = Result<T>> + Send
where
    F: Future<Output = Result<T>> + Send,
{
    CatchPanics {
        inner: Box::pin(fut),
    }
}

/// Runs `f`, turning a panic into an `internal` error.
pub fn catch_sync<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| Err(panic_error(payload)))
}

fn panic_error(payload: Box<dyn std::any::Any + Send>) -> PluginError {
    let msg = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".into());
    PluginError::internal(format!("component panicked: {msg}"))
}

struct CatchPanics<F> {
    inner: Pin<Box<F>>,
}

impl<F, T> Future for CatchPanics<F>
where
    F: Future<Output = Result<T>>,
{
    type Output = Result<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.inner.as_mut();
        match catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(p) => p,
            Err(payload) => Poll::Ready(Err(panic_error(payload))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn panic_becomes_internal_error() {
        let r: Result<()> = catch_panics(async { panic!("boom") }).await;
        let e = r.unwrap_err();
        assert_eq!(e.domain, qdp_sdk::ErrorDomain::Internal);
        assert!(e.message.contains("boom"));
    }
}
