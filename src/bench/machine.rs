//! The machine a report was measured on: figures mean nothing without it.

use serde::{Deserialize, Serialize};

/// ONNX Runtime as a suite loaded it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuntimeInfo {
    pub version: String,
    /// The execution providers this ONNX Runtime build offers.
    pub providers: Vec<String>,
    /// The backend the model ran on (`cpu`, `cuda`, `trt`); absent in older reports.
    #[serde(default)]
    pub backend: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    /// `model name` from /proc/cpuinfo.
    pub cpu: String,
    /// Threads this process may run on at once.
    pub cores: usize,
    /// `MemTotal` from /proc/meminfo, in MB.
    pub memory_mb: u64,
    /// `PRETTY_NAME` from /etc/os-release, the kernel release and the architecture.
    pub os: String,
    /// `null` when no suite loaded ONNX Runtime.
    pub onnxruntime: Option<RuntimeInfo>,
    /// What `nvidia-smi` says, or "none found".
    pub gpu: String,
    /// The 1-minute load average (`/proc/loadavg`) when the run finished: above the core
    /// count, something else was competing for the CPUs.
    #[serde(default)]
    pub load_average: Option<f64>,
    pub anylabel: String,
    /// When the run finished, UTC, ISO 8601.
    pub date: String,
}

impl Machine {
    pub fn probe(onnxruntime: Option<RuntimeInfo>) -> Machine {
        let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
        let cpuinfo = read("/proc/cpuinfo");
        let cpu = field(&cpuinfo, "model name").unwrap_or_else(|| "unknown".into());
        let memory_mb = field(&read("/proc/meminfo"), "MemTotal")
            .and_then(|v| v.trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kb| kb / 1024);
        let release = read("/etc/os-release");
        let pretty = release
            .lines()
            .find_map(|l| l.strip_prefix("PRETTY_NAME="))
            .map(|v| v.trim_matches('"').to_string())
            .unwrap_or_else(|| std::env::consts::OS.into());
        let kernel = read("/proc/sys/kernel/osrelease");
        let os = format!(
            "{pretty}, kernel {}, {}",
            kernel.trim(),
            std::env::consts::ARCH
        );
        Machine {
            cpu,
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            memory_mb,
            os,
            onnxruntime,
            gpu: gpu(),
            load_average: read("/proc/loadavg")
                .split_whitespace()
                .next()
                .and_then(|v| v.parse().ok()),
            anylabel: env!("CARGO_PKG_VERSION").into(),
            date: utc_now(),
        }
    }
}

/// The value of the first `key : value` line.
fn field(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k.trim() == key).then(|| v.trim().to_string())
    })
}

fn gpu() -> String {
    let out = std::process::Command::new("nvidia-smi")
        .args([
            "--query-gpu=name,memory.total,driver_version",
            "--format=csv,noheader",
        ])
        .stderr(std::process::Stdio::null())
        .output();
    match out {
        Ok(o) if o.status.success() && !o.stdout.trim_ascii().is_empty() => {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .map(str::trim)
                .collect::<Vec<_>>()
                .join("; ")
        }
        _ => "none found".into(),
    }
}

/// Now, as `2026-11-26T18:53:35Z`.
fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm,
/// <https://howardhinnant.github.io/date_algorithms.html#civil_from_days>).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_418), (2025, 11, 26));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    #[test]
    fn fields() {
        let t = "processor\t: 0\nmodel name\t: AMD EPYC 7B13\n";
        assert_eq!(field(t, "model name").as_deref(), Some("AMD EPYC 7B13"));
        assert_eq!(field(t, "cache"), None);
    }
}
