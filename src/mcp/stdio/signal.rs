//! Signals for server process groups, so that no server outlives mcp-soak.
//!
//! Every server runs in its own process group (its pid is the group id), so a wrapper like
//! `npx` and the node process it starts are signalled together. On Linux the direct child also
//! gets `PR_SET_PDEATHSIG = SIGKILL`: if mcp-soak itself is SIGKILLed, the kernel kills the child,
//! and its descendants see their stdin close. Elsewhere only the orderly path applies.

use std::time::Duration;

/// The signals the shutdown sequence sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sig {
    /// SIGTERM: asks the process group to exit.
    Term,
    /// SIGKILL: ends it when it did not.
    Kill,
}

/// Asks the kernel to SIGKILL the child when the thread that spawned it ends. Tokio spawns from its
/// worker threads, which live as long as the runtime, i.e. as long as mcp-soak.
#[cfg(target_os = "linux")]
pub fn die_with_parent(cmd: &mut tokio::process::Command) {
    use rustix::process::{Signal, getppid, set_parent_process_death_signal};
    let parent = std::process::id();
    // SAFETY: the closure runs between fork and exec and makes only the prctl and getppid system
    // calls, which are async-signal-safe; it allocates nothing on its success path and takes no lock.
    unsafe {
        cmd.pre_exec(move || {
            set_parent_process_death_signal(Some(Signal::KILL)).map_err(std::io::Error::from)?;
            // mcp-soak died between fork and prctl: the signal will never come, so do not start.
            if getppid().map(|p| p.as_raw_nonzero().get() as u32) != Some(parent) {
                return Err(std::io::Error::other("parent exited"));
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
pub fn die_with_parent(_cmd: &mut tokio::process::Command) {}

/// Sends `sig` to the process group led by `pid`; true when someone got it.
#[cfg(target_os = "linux")]
pub fn group(pid: u32, sig: Sig) -> bool {
    use rustix::process::{Pid, Signal, kill_process_group};
    let Some(pid) = i32::try_from(pid).ok().and_then(Pid::from_raw) else {
        return false;
    };
    let sig = match sig {
        Sig::Term => Signal::TERM,
        Sig::Kill => Signal::KILL,
    };
    kill_process_group(pid, sig).is_ok()
}

#[cfg(not(target_os = "linux"))]
pub fn group(_pid: u32, _sig: Sig) -> bool {
    false
}

/// True while any process of the group led by `pid` is alive.
#[cfg(target_os = "linux")]
pub fn group_alive(pid: u32) -> bool {
    use rustix::process::{Pid, test_kill_process_group};
    i32::try_from(pid)
        .ok()
        .and_then(Pid::from_raw)
        .is_some_and(|p| test_kill_process_group(p).is_ok())
}

#[cfg(not(target_os = "linux"))]
pub fn group_alive(_pid: u32) -> bool {
    false
}

/// After the group leader exited: SIGTERM whatever is left of its group, then SIGKILL after `grace`.
pub async fn sweep_group(pid: u32, grace: Duration) {
    if !group_alive(pid) {
        return;
    }
    group(pid, Sig::Term);
    let deadline = tokio::time::Instant::now() + grace;
    while group_alive(pid) && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    if group_alive(pid) {
        group(pid, Sig::Kill);
    }
}

/// Kills the group at once; for drop paths that cannot wait.
pub fn kill_now(pid: u32) {
    group(pid, Sig::Kill);
}
