//! The processes of a `wrangler dev` and their CPU time, for the benchmarks
//! (`examples/gateway_load.rs`, `examples/flood_load.rs`): the process
//! listening on a port, its process group, and utime + stime from
//! `/proc/PID/stat`.

use std::path::PathBuf;
use std::process::Command;

use crate::Wrangler;

/// Clock ticks per second for `/proc/PID/stat` (`getconf CLK_TCK`), and
/// whether it was read (else 100 is assumed).
pub fn clock_ticks() -> (f64, bool) {
    let read = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.trim().parse::<u32>().ok())
        .filter(|&ticks| ticks > 0);
    match read {
        Some(ticks) => (f64::from(ticks), true),
        None => (100.0, false),
    }
}

/// The fields of `/proc/PID/stat` after the command name (the first is
/// the state: field 3 of proc(5)).
fn stat_fields(pid: u32) -> Result<Vec<String>, String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map_err(|e| format!("/proc/{pid}/stat: {e}"))?;
    let (_, rest) = stat.rsplit_once(')').ok_or(format!("/proc/{pid}/stat: no command"))?;
    Ok(rest.split_whitespace().map(str::to_owned).collect())
}

/// utime + stime of `pid`, in clock ticks (proc(5) fields 14 and 15).
pub fn cpu_ticks(pid: u32) -> Result<u64, String> {
    let fields = stat_fields(pid)?;
    let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<u64>().ok());
    match (field(14), field(15)) {
        (Some(utime), Some(stime)) => Ok(utime + stime),
        _ => Err(format!("/proc/{pid}/stat: no utime and stime")),
    }
}

pub fn cpu_of(pids: &[u32]) -> Result<u64, String> {
    pids.iter().map(|&pid| cpu_ticks(pid)).sum()
}

/// The process group of `pid` (proc(5) field 5).
pub fn process_group(pid: u32) -> Result<u32, String> {
    stat_fields(pid)?
        .get(2)
        .and_then(|f| f.parse().ok())
        .ok_or(format!("/proc/{pid}/stat: no process group"))
}

/// Every process in process group `group`.
pub fn group_members(group: u32) -> Result<Vec<u32>, String> {
    let mut members = Vec::new();
    for entry in std::fs::read_dir("/proc").map_err(|e| format!("/proc: {e}"))?.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        if process_group(pid).is_ok_and(|g| g == group) {
            members.push(pid);
        }
    }
    Ok(members)
}

/// The process listening on 127.0.0.1:`port`: the socket's inode from
/// `/proc/net/tcp`, then the process holding it among `/proc/*/fd`.
pub fn listener_of(port: u16) -> Result<u32, String> {
    let table = std::fs::read_to_string("/proc/net/tcp").map_err(|e| e.to_string())?;
    let local = format!("0100007F:{port:04X}");
    let inode = table
        .lines()
        .skip(1)
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        // local_address, st (0A: LISTEN), inode: columns 2, 4 and 10.
        .find(|cols| cols.get(1) == Some(&local.as_str()) && cols.get(3) == Some(&"0A"))
        .and_then(|cols| cols.get(9).map(|inode| (*inode).to_owned()))
        .ok_or(format!("nothing listens on 127.0.0.1:{port}"))?;
    let socket = PathBuf::from(format!("socket:[{inode}]"));
    for entry in std::fs::read_dir("/proc").map_err(|e| format!("/proc: {e}"))?.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else { continue };
        if fds.flatten().any(|fd| std::fs::read_link(fd.path()).is_ok_and(|l| l == socket)) {
            return Ok(pid);
        }
    }
    Err(format!("no process holds the socket of 127.0.0.1:{port}"))
}

/// The workerd processes of the `wrangler dev` serving 127.0.0.1:`port`
/// (the process group of the process listening there), and its other ones.
///
/// # Errors
/// When `/proc` cannot be read or no workerd is found.
pub fn processes_on(port: u16) -> Result<(Vec<u32>, Vec<u32>), String> {
    let group = process_group(listener_of(port)?)?;
    let (workerd, others): (Vec<u32>, Vec<u32>) =
        group_members(group)?.into_iter().partition(|&pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| comm.trim() == "workerd")
        });
    if workerd.is_empty() {
        return Err(format!("no workerd in process group {group}"));
    }
    Ok((workerd, others))
}

/// [`processes_on`] the port of `worker`.
///
/// # Errors
/// As [`processes_on`].
pub fn wrangler_processes(worker: &Wrangler) -> Result<(Vec<u32>, Vec<u32>), String> {
    let port: u16 = worker
        .origin
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .ok_or(format!("no port in {}", worker.origin))?;
    processes_on(port)
}
