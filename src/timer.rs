//! A one-shot timer precise to tens of microseconds, for the pacer and the mock's latency.
//!
//! `tokio::time` rounds every deadline up to its next millisecond tick, which would add ~1 ms of
//! schedule lag to every call (and ~1 ms to every injected mock latency). On Linux this arms a
//! `timerfd` and waits for it on tokio's reactor: the same worker wakes at the deadline, with no
//! extra thread. Elsewhere (or if the timerfd cannot be made) it falls back to `tokio::time`.

use std::time::Instant;

/// Where time comes from: the monotonic clock and the precise [`Timer`] in production; in tests a
/// virtual clock that jumps to every deadline it is asked to sleep until, so a schedule runs in
/// virtual time, deterministically and at once, or tokio's clock, which a test pauses
/// (`start_paused`) to see a task's state at exact instants.
#[derive(Debug, Clone, Default)]
pub enum Clock {
    /// `Instant::now` and the timerfd [`Timer`].
    #[default]
    Precise,
    /// Virtual time: starts at the instant it was made and moves only when slept on.
    Virtual(std::sync::Arc<VirtualTime>),
    /// `tokio::time`: its `Instant::now` and `sleep_until` (millisecond ticks), paused in tests.
    Tokio,
}

/// The state of a [`Clock::Virtual`].
#[derive(Debug)]
pub struct VirtualTime {
    base: Instant,
    offset_ns: std::sync::atomic::AtomicU64,
}

impl Clock {
    /// A virtual clock starting now.
    pub fn virtual_time() -> Clock {
        Clock::Virtual(std::sync::Arc::new(VirtualTime {
            base: Instant::now(),
            offset_ns: std::sync::atomic::AtomicU64::new(0),
        }))
    }

    /// Now.
    pub fn now(&self) -> Instant {
        match self {
            Clock::Precise => Instant::now(),
            Clock::Virtual(v) => {
                v.base
                    + std::time::Duration::from_nanos(
                        v.offset_ns.load(std::sync::atomic::Ordering::Relaxed),
                    )
            }
            Clock::Tokio => tokio::time::Instant::now().into_std(),
        }
    }

    /// Waits until `deadline` on this clock (`timer` is used by [`Clock::Precise`]); a virtual
    /// clock jumps there and yields once.
    pub async fn sleep_until(&self, timer: &Timer, deadline: Instant) {
        match self {
            Clock::Precise => timer.sleep_until(deadline).await,
            Clock::Virtual(v) => {
                let ns = deadline.saturating_duration_since(v.base).as_nanos() as u64;
                v.offset_ns
                    .fetch_max(ns, std::sync::atomic::Ordering::Relaxed);
                tokio::task::yield_now().await;
            }
            Clock::Tokio => tokio::time::sleep_until(deadline.into()).await,
        }
    }
}

/// A one-shot timer for one task at a time.
pub struct Timer {
    #[cfg(target_os = "linux")]
    fd: Option<tokio::io::unix::AsyncFd<std::os::fd::OwnedFd>>,
}

impl Timer {
    /// A timerfd on Linux when the kernel allows one; tokio's timer otherwise.
    pub fn new() -> Timer {
        #[cfg(target_os = "linux")]
        {
            use rustix::time::{TimerfdClockId, TimerfdFlags, timerfd_create};
            let fd = timerfd_create(
                TimerfdClockId::Monotonic,
                TimerfdFlags::NONBLOCK | TimerfdFlags::CLOEXEC,
            )
            .ok()
            .and_then(|fd| {
                // SAFETY: the AsyncFd takes the OwnedFd; nothing else can close or replace that
                // descriptor while it is registered, and OwnedFd always returns the same one.
                unsafe {
                    tokio::io::unix::AsyncFd::register_with_interest(
                        fd,
                        tokio::io::Interest::READABLE,
                    )
                }
                .ok()
            });
            if fd.is_none() {
                tracing::debug!("no timerfd: the pacer uses tokio's millisecond timer");
            }
            Timer { fd }
        }
        #[cfg(not(target_os = "linux"))]
        Timer {}
    }

    /// Waits until `deadline` (at once if it has passed).
    pub async fn sleep_until(&self, deadline: Instant) {
        // A loop, so that a stale expiration (left by a wait that was cancelled) never ends a
        // sleep early: it re-arms for what is left.
        loop {
            let now = Instant::now();
            if deadline <= now {
                return;
            }
            #[cfg(target_os = "linux")]
            if let Some(fd) = &self.fd
                && wait_timerfd(fd, deadline - now).await.is_ok()
            {
                continue;
            }
            tokio::time::sleep_until(deadline.into()).await;
            return;
        }
    }
}

/// Sleeps for `d`: tokio's timer for all but the last 2 ms, then a fresh [`Timer`], so that
/// thousands of concurrent sleeps hold a timerfd each only for their last 2 ms.
pub async fn sleep(d: std::time::Duration) {
    const COARSE_SLACK: std::time::Duration = std::time::Duration::from_millis(2);
    let deadline = Instant::now() + d;
    if let Some(coarse) = d.checked_sub(COARSE_SLACK) {
        tokio::time::sleep(coarse).await;
    }
    Timer::new().sleep_until(deadline).await;
}

impl Default for Timer {
    fn default() -> Self {
        Timer::new()
    }
}

/// Arms `fd` to fire once after `after` and waits for it.
#[cfg(target_os = "linux")]
async fn wait_timerfd(
    fd: &tokio::io::unix::AsyncFd<std::os::fd::OwnedFd>,
    after: std::time::Duration,
) -> std::io::Result<()> {
    use rustix::time::{Itimerspec, TimerfdTimerFlags, Timespec, timerfd_settime};
    let value = Timespec {
        tv_sec: after.as_secs() as _,
        // A zero it_value disarms the timer: wake at least 1 ns from now.
        tv_nsec: after.subsec_nanos().max(u32::from(after.as_secs() == 0)) as _,
    };
    let spec = Itimerspec {
        it_interval: Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        },
        it_value: value,
    };
    timerfd_settime(fd.get_ref(), TimerfdTimerFlags::empty(), &spec)?;
    // The expiration count is never read: tokio registers the descriptor edge-triggered, so every
    // expiry is an event of its own, and re-arming resets the count. That saves two syscalls a
    // slot (the read, and the read that finds nothing on the next wait). A readiness left by the
    // expiry of a cancelled wait ends this one early; `sleep_until` sees its deadline has not
    // passed and waits again.
    let mut ready = fd.readable().await?;
    ready.clear_ready();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn waits_at_least_until_the_deadline() {
        let t = Timer::new();
        for us in [0u64, 1, 300, 2_500] {
            let deadline = Instant::now() + Duration::from_micros(us);
            t.sleep_until(deadline).await;
            assert!(Instant::now() >= deadline, "woke before a {us} µs deadline");
        }
        // A deadline in the past returns at once.
        t.sleep_until(Instant::now() - Duration::from_millis(5))
            .await;
    }

    #[tokio::test]
    async fn sleep_lasts_at_least_its_duration() {
        for ms in [0u64, 1, 5] {
            let start = Instant::now();
            sleep(Duration::from_millis(ms)).await;
            assert!(start.elapsed() >= Duration::from_millis(ms), "{ms} ms");
        }
    }

    #[tokio::test]
    async fn a_cancelled_wait_does_not_end_the_next_one_early() {
        let t = Timer::new();
        // Arm the timer (first branch polled once), then cancel it at once: deterministic on a busy box.
        tokio::select! {
            biased;
            _ = t.sleep_until(Instant::now() + Duration::from_millis(5)) => panic!("not cancelled"),
            _ = std::future::ready(()) => {}
        }
        // Let the abandoned expiration fire unread, then sleep again.
        std::thread::sleep(Duration::from_millis(10));
        let deadline = Instant::now() + Duration::from_millis(20);
        t.sleep_until(deadline).await;
        assert!(
            Instant::now() >= deadline,
            "a stale expiration ended the sleep early"
        );
    }
}
