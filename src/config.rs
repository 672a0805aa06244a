//! `~/.anylabeling/config.toml`: defaults for settings, which `ANYLABEL_*` environment
//! variables and flags override (flag > environment > file > built-in).
//!
//! ```toml
//! [cache]
//! max_size = "5GB"   # least recently used results are evicted after a run to stay under it
//! ```

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow};
use serde::Deserialize;

use crate::home::Home;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub cache: CacheConfig,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheConfig {
    /// A size such as `5GB`; no limit when absent.
    pub max_size: Option<String>,
}

impl Config {
    pub fn path(home: &Home) -> PathBuf {
        home.root().join("config.toml")
    }

    /// Reads the config file; a missing file is the built-in defaults.
    pub fn load(home: &Home) -> Result<Config> {
        let path = Config::path(home);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        toml::from_str(&text).map_err(|e| anyhow!("{} is not valid: {e}", path.display()))
    }

    /// The cache size limit: `ANYLABEL_CACHE_MAX_SIZE`, else `cache.max_size`.
    pub fn cache_max_size(&self) -> Result<Option<u64>> {
        let (value, from) = match std::env::var("ANYLABEL_CACHE_MAX_SIZE") {
            Ok(v) if !v.is_empty() => (Some(v), "ANYLABEL_CACHE_MAX_SIZE"),
            _ => (self.cache.max_size.clone(), "cache.max_size in config.toml"),
        };
        value
            .map(|v| crate::cache::parse_size(&v).map_err(|e| anyhow!("{from}: {e}")))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_cache_limit_and_rejects_unknown_keys() {
        let c: Config = toml::from_str("[cache]\nmax_size = \"2GB\"\n").unwrap();
        assert_eq!(c.cache.max_size.as_deref(), Some("2GB"));
        assert!(toml::from_str::<Config>("[cache]\nmax_sise = 1\n").is_err());
        assert!(toml::from_str::<Config>("").is_ok());
    }
}
