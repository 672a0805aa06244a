//! Downloads over HTTPS, verified by sha256, with a progress bar.
//!
//! Certificates are checked against the platform's trust store, not a bundled list, so
//! anylabel works behind the TLS-inspecting proxies that companies and CI providers run
//! (a client with bundled roots fails there with `UnknownIssuer`). `HTTPS_PROXY` and
//! `NO_PROXY` are honoured.

use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};

/// What made the run offline, for the messages that refuse a download: the environment
/// variable when it is set (the user may not know it is), else the flag.
pub fn offline_by() -> &'static str {
    // True as clap's boolish parser reads the flag's variable.
    let set = std::env::var("ANYLABEL_OFFLINE").is_ok_and(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "y" | "yes" | "t" | "true" | "on" | "1"
        )
    });
    if set { "ANYLABEL_OFFLINE" } else { "--offline" }
}
use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};

use crate::progress;

/// An HTTP client that trusts the platform's certificate store.
pub fn agent() -> ureq::Agent {
    use ureq::tls::{RootCerts, TlsConfig};
    ureq::Agent::config_builder()
        .tls_config(
            TlsConfig::builder()
                .root_certs(RootCerts::PlatformVerifier)
                .build(),
        )
        .timeout_connect(Some(Duration::from_secs(30)))
        .timeout_recv_response(Some(Duration::from_secs(60)))
        .user_agent(concat!("anylabel/", env!("CARGO_PKG_VERSION")))
        .build()
        .new_agent()
}

/// GETs `url` as text, sending `accept` as the `Accept` header.
pub fn get_text(agent: &ureq::Agent, url: &str, accept: &str) -> Result<String> {
    let mut response = agent
        .get(url)
        .header("Accept", accept)
        .call()
        .map_err(|e| anyhow!("cannot fetch {url}: {e}"))?;
    response
        .body_mut()
        .with_config()
        .limit(64 << 20)
        .read_to_string()
        .map_err(|e| anyhow!("cannot read the answer from {url}: {e}"))
}

/// Streams `url` into `dest` (a new file), hashing as it goes, and fails unless the
/// content's sha256 is `sha256`. On failure `dest` is removed.
pub fn download_verified(
    agent: &ureq::Agent,
    url: &str,
    sha256: &str,
    dest: &Path,
    what: &str,
) -> Result<()> {
    let result = download_inner(agent, url, sha256, dest, what);
    if result.is_err() {
        let _ = std::fs::remove_file(dest);
    }
    result
}

fn download_inner(
    agent: &ureq::Agent,
    url: &str,
    sha256: &str,
    dest: &Path,
    what: &str,
) -> Result<()> {
    let response = agent
        .get(url)
        .call()
        .map_err(|e| anyhow!("cannot download {what} from {url}: {e}"))?;
    let length = response
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let size = length
        .map(|l| format!(" ({:.1} MB)", l as f64 / 1e6))
        .unwrap_or_default();
    progress::note(&format!("downloading {what}{size} from {url}"));

    let bar = if progress::enabled() {
        let bar = ProgressBar::new(length.unwrap_or(0));
        bar.set_style(
            ProgressStyle::with_template(
                "  {bar:40.cyan/blue} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .expect("valid template"),
        );
        bar
    } else {
        ProgressBar::hidden()
    };

    let mut file =
        std::fs::File::create(dest).with_context(|| format!("cannot create {}", dest.display()))?;
    let mut reader = response.into_body().into_reader();
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = reader
            .read(&mut buf)
            .map_err(|e| anyhow!("download of {what} from {url} broke off: {e}"))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        file.write_all(&buf[..n])
            .with_context(|| format!("cannot write {}", dest.display()))?;
        bar.inc(n as u64);
    }
    bar.finish_and_clear();
    file.sync_all()
        .with_context(|| format!("cannot write {}", dest.display()))?;
    let got = hex::encode(hasher.finalize());
    if !got.eq_ignore_ascii_case(sha256) {
        bail!(
            "{what} from {url} failed its integrity check: sha256 {got}, expected {sha256}; \
             nothing was installed (a proxy or mirror may have altered the file)"
        );
    }
    Ok(())
}

/// The sha256 of a file, as lower-case hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file
            .read(&mut buf)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}
