//! Where and when a report was made: dates in UTC and the machine, for the reports' headers.

use std::time::SystemTime;

/// Now, in UTC, to the minute: `2026-11-24 06:44 UTC`.
pub fn utc_minute() -> String {
    let now = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    // `2026-11-24T06:44:12Z`
    format!("{} {} UTC", &now[..10], &now[11..16])
}

/// Today in UTC: `2026-11-24`.
pub fn utc_date() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()[..10].to_owned()
}

/// The machine, in a line: CPU model, cores, memory, OS, architecture and kernel.
pub fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory_gib = meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|value| {
            value
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<f64>()
                .ok()
        })
        .map_or_else(String::new, |kib| {
            format!(", {:.0} GiB", kib / 1024.0 / 1024.0)
        });
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "{model}, {cores} cores{memory_gib}, {} {} (kernel {})",
        std::env::consts::OS,
        std::env::consts::ARCH,
        kernel.trim()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_have_their_shapes() {
        let minute = utc_minute();
        assert_eq!(minute.len(), "2026-11-24 06:44 UTC".len(), "{minute}");
        assert!(minute.ends_with(" UTC") && minute.as_bytes()[10] == b' ');
        assert!(minute.starts_with(&utc_date()[..4]));
        assert_eq!(utc_date().len(), 10);
    }
}
