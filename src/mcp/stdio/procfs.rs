//! Resource use of each server's process group, read from `/proc`: resident memory, CPU time and
//! open file descriptors, summed over the group so that `npx`, its shell and the node process it
//! starts count as one server; [`process`] reads one pid alone (`target.pid`, a server mcp-soak did
//! not start). Linux only; elsewhere every reading is empty.

use std::collections::HashMap;

/// What one process group uses now (CPU is cumulative over its life).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct GroupUsage {
    /// Resident memory, in bytes.
    pub resident_bytes: u64,
    /// CPU seconds (user + system) since the group started.
    pub cpu_seconds: f64,
    /// Open file descriptors.
    pub open_fds: u64,
    /// Processes in the group.
    pub processes: u64,
    /// Threads over the group's processes.
    pub threads: u64,
}

/// One `/proc/<pid>/stat` line's fields we need.
#[derive(Debug, PartialEq)]
struct Stat {
    pgrp: u32,
    ticks: u64,
    threads: u64,
    rss_pages: u64,
}

/// Parses `/proc/<pid>/stat`; the command name (field 2) may hold spaces and parentheses, so the
/// fields are counted from the last `)`.
fn parse_stat(text: &str) -> Option<Stat> {
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state(3) ppid(4) pgrp(5) … utime(14) stime(15) … num_threads(20) … rss(24).
    let at = |n: usize| f.get(n - 3).and_then(|v| v.parse::<u64>().ok());
    Some(Stat {
        pgrp: at(5)? as u32,
        ticks: at(14)? + at(15)?,
        threads: at(20)?,
        rss_pages: at(24)?,
    })
}

/// One process's stat line, parsed; `None` once it is gone (or off Linux).
fn read_stat(pid: u32) -> Option<Stat> {
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// Adds one process's usage to `u`.
fn add(u: &mut GroupUsage, pid: u32, st: &Stat, page: u64, hz: f64) {
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count() as u64);
    u.resident_bytes += st.rss_pages * page;
    u.cpu_seconds += st.ticks as f64 / hz;
    u.open_fds += fds;
    u.processes += 1;
    u.threads += st.threads;
}

/// Usage of the one process `pid` (not its group); `None` when no such process is readable.
pub fn process(pid: u32) -> Option<GroupUsage> {
    let st = read_stat(pid)?;
    let mut u = GroupUsage::default();
    add(&mut u, pid, &st, page_size(), ticks_per_second());
    Some(u)
}

/// Usage of the groups led by `leaders`, in one pass over `/proc`.
pub fn groups(leaders: &[u32]) -> HashMap<u32, GroupUsage> {
    let mut out: HashMap<u32, GroupUsage> = HashMap::new();
    if leaders.is_empty() {
        return out;
    }
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    let page = page_size();
    let hz = ticks_per_second();
    for entry in dir.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Some(st) = read_stat(pid) else {
            continue;
        };
        if !leaders.contains(&st.pgrp) {
            continue;
        }
        add(out.entry(st.pgrp).or_default(), pid, &st, page, hz);
    }
    out
}

fn page_size() -> u64 {
    #[cfg(target_os = "linux")]
    {
        rustix::param::page_size() as u64
    }
    #[cfg(not(target_os = "linux"))]
    {
        4096
    }
}

fn ticks_per_second() -> f64 {
    #[cfg(target_os = "linux")]
    {
        rustix::param::clock_ticks_per_second() as f64
    }
    #[cfg(not(target_os = "linux"))]
    {
        100.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_after_the_name() {
        let line = "4242 (node (x) y) S 1 4242 4242 0 -1 4194560 1 0 0 0 150 50 0 0 20 0 11 0 \
                    99 123456789 2048 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0";
        assert_eq!(
            parse_stat(line),
            Some(Stat {
                pgrp: 4242,
                ticks: 200,
                threads: 11,
                rss_pages: 2048
            })
        );
        assert_eq!(parse_stat("garbage"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn reads_this_process_group() {
        let pgrp = rustix::process::getpgrp().as_raw_nonzero().get() as u32;
        let u = groups(&[pgrp]);
        let me = u.get(&pgrp).expect("own group found");
        assert!(me.resident_bytes > 0 && me.open_fds > 0 && me.processes >= 1);
        let one = process(std::process::id()).expect("own process read");
        assert!(one.resident_bytes > 0 && one.threads >= 1 && one.processes == 1);
        assert_eq!(process(u32::MAX), None);
    }
}
