//! `~/.anylabeling/config.toml`: defaults for settings, which `ANYLABEL_*` environment
//! variables and flags override (flag > environment > file > built-in).
//!
//! ```toml
//! [cache]
//! max_size = "5GB"   # least recently used results are evicted after a run to stay under it
//!
//! [infer]
//! model = "nudenet-320n"
//! conf = 0.4
//! ```
//!
//! This is the file model: [`SETTINGS`] (each key, its variable, its help and the flags it
//! is the default of), [`Config::load`], [`Config::effective`], and the edits of `config
//! set` and `unset`. The binary makes the effective values its flags' default values
//! before it parses the command line, so a flag always wins; nothing here knows clap.
//! Each value is checked with the function its flag parses it with ([`crate::values`]).
//! The file is read with `toml_edit`, which keeps each value's position (errors name the
//! line) and, for `config set` and `unset`, the file's other keys, comments and layout.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};

use crate::home::Home;

/// One setting: its key in the file, its environment variable, and the flags it is the
/// default of.
#[derive(Debug)]
pub struct Setting {
    pub key: &'static str,
    pub env: &'static str,
    /// What the setting does (for `config --help` and docs/config.md).
    pub help: &'static str,
    /// The built-in default, as `config list` and `config get` print it; `None` where there
    /// is no single value (it depends on the model, or there is none).
    pub builtin: Option<&'static str>,
    /// The built-in default in words.
    pub builtin_help: &'static str,
    /// `(subcommand, argument id)` pairs whose default the setting is.
    pub args: &'static [(&'static str, &'static str)],
    validate: fn(&str) -> Result<(), String>,
}

fn valid_unit(s: &str) -> Result<(), String> {
    crate::values::parse_unit(s).map(drop)
}
fn valid_imgsz(s: &str) -> Result<(), String> {
    crate::values::parse_imgsz(s).map(drop)
}
fn valid_size(s: &str) -> Result<(), String> {
    crate::cache::parse_size(s).map(drop)
}
fn valid_model(s: &str) -> Result<(), String> {
    if s.trim().is_empty() {
        return Err("the model is empty".into());
    }
    Ok(())
}
fn valid_batch(s: &str) -> Result<(), String> {
    match s.trim().parse::<u32>() {
        Ok(n) if (1..=1024).contains(&n) => Ok(()),
        Ok(n) => Err(format!("{n} is not in 1..=1024")),
        Err(_) => Err(format!("'{s}' is not a whole number")),
    }
}
fn valid_count(s: &str) -> Result<(), String> {
    s.trim()
        .parse::<usize>()
        .map(drop)
        .map_err(|_| format!("'{s}' is not a whole number (0: automatic)"))
}
fn valid_backend(s: &str) -> Result<(), String> {
    crate::values::parse_backend(s).map(drop)
}

fn valid_device(s: &str) -> Result<(), String> {
    s.trim()
        .parse::<u32>()
        .map(drop)
        .map_err(|_| format!("'{s}' is not a GPU index (0, 1, ...)"))
}

/// Every setting, in the order `config list` prints them.
pub const SETTINGS: &[Setting] = &[
    Setting {
        key: "cache.max_size",
        env: "ANYLABEL_CACHE_MAX_SIZE",
        help: "result cache size limit (500MB, 5GB), enforced after each `infer` run (LRU)",
        builtin: None,
        builtin_help: "no limit",
        args: &[],
        validate: valid_size,
    },
    Setting {
        key: "infer.model",
        env: "ANYLABEL_MODEL",
        help: "`infer --model`: a .onnx file, a model config .yaml or a catalogue name",
        builtin: None,
        builtin_help: "none: --model is required",
        args: &[("infer", "model")],
        validate: valid_model,
    },
    Setting {
        key: "infer.conf",
        env: "ANYLABEL_CONF",
        help: "`--conf` of infer and filter --model: keep detections scoring above it (0..1)",
        builtin: None,
        builtin_help: "the model config's, else 0.25",
        args: &[("infer", "conf"), ("filter", "conf")],
        validate: valid_unit,
    },
    Setting {
        key: "infer.iou",
        env: "ANYLABEL_IOU",
        help: "`--iou` of infer, filter --model and preload --model: the NMS IoU (0..1)",
        builtin: None,
        builtin_help: "the model config's, else 0.45",
        args: &[("infer", "iou"), ("filter", "iou"), ("preload", "iou")],
        validate: valid_unit,
    },
    Setting {
        key: "infer.imgsz",
        env: "ANYLABEL_IMGSZ",
        help: "`--imgsz` of infer, filter --model and preload --model: N or H,W (multiples of 32)",
        builtin: None,
        builtin_help: "the model's fixed size, else its config's, else 640",
        args: &[
            ("infer", "imgsz"),
            ("filter", "imgsz"),
            ("preload", "imgsz"),
        ],
        validate: valid_imgsz,
    },
    Setting {
        key: "infer.batch",
        env: "ANYLABEL_BATCH",
        help: "`--batch` of infer and filter --model: images per inference call (1..=1024)",
        builtin: Some("1"),
        builtin_help: "1",
        args: &[("infer", "batch"), ("filter", "batch")],
        validate: valid_batch,
    },
    Setting {
        key: "infer.workers",
        env: "ANYLABEL_WORKERS",
        help: "`--workers` of infer, filter and preload: decode threads",
        builtin: Some("0"),
        builtin_help: "0: one per CPU",
        args: &[
            ("infer", "workers"),
            ("filter", "workers"),
            ("preload", "workers"),
        ],
        validate: valid_count,
    },
    Setting {
        key: "infer.threads",
        env: "ANYLABEL_THREADS",
        help: "`infer --threads`: inference threads",
        builtin: Some("0"),
        builtin_help: "0: one per physical core",
        args: &[("infer", "threads")],
        validate: valid_count,
    },
    Setting {
        key: "infer.backend",
        env: "ANYLABEL_BACKEND",
        help: "`--backend` of infer, filter and bench: auto, cpu, cuda or trt",
        builtin: Some("auto"),
        builtin_help: "auto",
        args: &[
            ("infer", "backend"),
            ("filter", "backend"),
            ("bench", "backend"),
        ],
        validate: valid_backend,
    },
    Setting {
        key: "infer.device",
        env: "ANYLABEL_DEVICE",
        help: "`--device` of infer, filter and bench: the GPU's index",
        builtin: Some("0"),
        builtin_help: "0",
        args: &[
            ("infer", "device"),
            ("filter", "device"),
            ("bench", "device"),
        ],
        validate: valid_device,
    },
];

/// The keys, for clap's possible values.
pub const KEYS: [&str; 10] = [
    "cache.max_size",
    "infer.model",
    "infer.conf",
    "infer.iou",
    "infer.imgsz",
    "infer.batch",
    "infer.workers",
    "infer.threads",
    "infer.backend",
    "infer.device",
];

/// The setting of a key, or an error listing the known keys.
pub fn setting(key: &str) -> Result<&'static Setting> {
    SETTINGS
        .iter()
        .find(|s| s.key == key)
        .ok_or_else(|| anyhow!("unknown key '{key}'; the keys are: {}", KEYS.join(", ")))
}

/// The table of keys for `anylabel config --help`.
pub fn help_table() -> String {
    let mut s = String::from(
        "Each setting is taken from, in order: the flag on the command line, its environment
variable, ~/.anylabeling/config.toml (ANYLABEL_HOME moves it), the built-in default.
An invalid value in the file or the environment is an error for every command but
`anylabel config`. A file value of infer.conf, infer.iou or infer.imgsz wins over a
model config's (.yaml) value, as the flag does.

Keys:
",
    );
    for st in SETTINGS {
        s.push_str(&format!(
            "  {:<15} {}\n  {:<15} env {}; built-in: {}\n",
            st.key, st.help, "", st.env, st.builtin_help
        ));
    }
    s.push_str(
        "
Examples:
  anylabel config set infer.model nudenet-320n
  anylabel config set infer.imgsz 480,640
  anylabel config get infer.conf --show-origin
  anylabel config list
  anylabel config unset cache.max_size",
    );
    s
}

/// Where an effective value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Env(&'static str),
    File { path: PathBuf, line: usize },
    BuiltIn,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Env(var) => write!(f, "env {var}"),
            Origin::File { path, line } => write!(f, "file {}:{line}", path.display()),
            Origin::BuiltIn => write!(f, "built-in"),
        }
    }
}

/// A setting's effective value (before any flag) and where it comes from.
#[derive(Debug, Clone)]
pub struct Effective {
    pub setting: &'static Setting,
    /// `None`: the built-in default has no single value ([`Setting::builtin_help`] says it).
    pub value: Option<String>,
    pub origin: Origin,
}

/// The settings in the config file, checked.
#[derive(Debug, Default)]
pub struct Config {
    path: PathBuf,
    /// key → (value as text, 1-based line)
    entries: BTreeMap<&'static str, (String, usize)>,
}

impl Config {
    pub fn path(home: &Home) -> PathBuf {
        home.root().join("config.toml")
    }

    /// Reads the config file; a missing file is the built-in defaults. A file that is not
    /// TOML, an unknown key or an invalid value is an error naming the file and line.
    pub fn load(home: &Home) -> Result<Config> {
        let path = Config::path(home);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Config {
                    path,
                    entries: BTreeMap::new(),
                });
            }
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        Config::parse(&path, &text)
    }

    /// Checks the text of a config file at `path`.
    pub fn parse(path: &Path, text: &str) -> Result<Config> {
        let doc = toml_edit::Document::parse(text)
            .map_err(|e| anyhow!("{} is not valid TOML: {e}", path.display()))?;
        let line_of = |span: Option<std::ops::Range<usize>>| {
            span.map_or(0, |r| text[..r.start].matches('\n').count() + 1)
        };
        let mut entries = BTreeMap::new();
        for (section, item) in doc.as_table().iter() {
            let Some(table) = item.as_table_like() else {
                bail!(
                    "{}:{}: '{section}' is not a table; the keys are: {}",
                    path.display(),
                    line_of(item.span()),
                    KEYS.join(", ")
                );
            };
            for (name, value) in table.iter() {
                let key = format!("{section}.{name}");
                let line = line_of(value.span());
                let st = setting(&key).map_err(|e| anyhow!("{}:{line}: {e}", path.display()))?;
                let text = value_text(value).ok_or_else(|| {
                    anyhow!(
                        "{}:{line}: {key} is not a string or a number",
                        path.display()
                    )
                })?;
                // Surrounding whitespace is ignored, here as in the environment.
                let text = text.trim().to_string();
                (st.validate)(&text)
                    .map_err(|e| anyhow!("{}:{line}: {key} = {text}: {e}", path.display()))?;
                entries.insert(st.key, (text, line));
            }
        }
        Ok(Config {
            path: path.to_path_buf(),
            entries,
        })
    }

    /// The file's value of a key.
    pub fn file_value(&self, key: &str) -> Option<&str> {
        self.entries.get(key).map(|(v, _)| v.as_str())
    }

    /// A setting's effective value: its environment variable (when set and not blank, and
    /// then checked), else the file's, else the built-in default. Surrounding whitespace
    /// is ignored, so what is checked is what the flag gets.
    pub fn effective(&self, st: &'static Setting) -> Result<Effective> {
        if let Ok(v) = std::env::var(st.env)
            && !v.trim().is_empty()
        {
            let v = v.trim().to_string();
            (st.validate)(&v).map_err(|e| anyhow!("{}={v}: {e}", st.env))?;
            return Ok(Effective {
                setting: st,
                value: Some(v),
                origin: Origin::Env(st.env),
            });
        }
        if let Some((v, line)) = self.entries.get(st.key) {
            return Ok(Effective {
                setting: st,
                value: Some(v.clone()),
                origin: Origin::File {
                    path: self.path.clone(),
                    line: *line,
                },
            });
        }
        Ok(Effective {
            setting: st,
            value: st.builtin.map(str::to_string),
            origin: Origin::BuiltIn,
        })
    }

    /// The cache size limit: `ANYLABEL_CACHE_MAX_SIZE`, else `cache.max_size`.
    pub fn cache_max_size(&self) -> Result<Option<u64>> {
        let eff = self.effective(setting("cache.max_size")?)?;
        eff.value
            .map(|v| crate::cache::parse_size(&v).map_err(|e| anyhow!("{}: {e}", eff.origin)))
            .transpose()
    }
}

/// A value of the file as text: strings as they are, numbers and booleans as TOML writes
/// them, an array of two integers (an imgsz) as `H,W`.
fn value_text(item: &toml_edit::Item) -> Option<String> {
    use toml_edit::Value;
    match item.as_value()? {
        Value::String(s) => Some(s.value().clone()),
        Value::Integer(i) => Some(i.value().to_string()),
        Value::Float(f) => Some(f.value().to_string()),
        Value::Boolean(b) => Some(b.value().to_string()),
        Value::Array(a) => {
            let nums: Option<Vec<String>> = a
                .iter()
                .map(|v| v.as_integer().map(|i| i.to_string()))
                .collect();
            nums.map(|n| n.join(","))
        }
        _ => None,
    }
}

/// The text of the file with `key` set to `value` (checked as the flag checks it), keeping
/// the other keys, the comments and the layout.
pub fn set_in(text: &str, key: &str, value: &str) -> Result<String> {
    let st = setting(key)?;
    let value = value.trim();
    (st.validate)(value).map_err(|e| anyhow!("{key} = {value}: {e}"))?;
    let mut doc: toml_edit::DocumentMut = text.parse()?;
    let (section, name) = st.key.split_once('.').expect("keys are section.name");
    let table = doc
        .entry(section)
        .or_insert_with(toml_edit::table)
        .as_table_like_mut()
        .ok_or_else(|| anyhow!("'{section}' in the config file is not a table"))?;
    let mut new = if let Ok(i) = value.trim().parse::<i64>() {
        toml_edit::Value::from(i)
    } else if let Ok(f) = value.trim().parse::<f64>()
        && f.is_finite()
    {
        toml_edit::Value::from(f)
    } else {
        toml_edit::Value::from(value)
    };
    if let Some(old) = table.get(name).and_then(|i| i.as_value()) {
        *new.decor_mut() = old.decor().clone();
    }
    table.insert(name, toml_edit::Item::Value(new));
    Ok(doc.to_string())
}

/// The text of the file without `key`, and whether it was there.
pub fn unset_in(text: &str, key: &str) -> Result<(String, bool)> {
    let st = setting(key)?;
    let mut doc: toml_edit::DocumentMut = text.parse()?;
    let (section, name) = st.key.split_once('.').expect("keys are section.name");
    let removed = doc
        .get_mut(section)
        .and_then(|t| t.as_table_like_mut())
        .and_then(|t| t.remove(name))
        .is_some();
    Ok((doc.to_string(), removed))
}

/// Rewrites the config file through `edit`, atomically (a temporary file renamed over it).
pub fn edit_file<T>(home: &Home, edit: impl FnOnce(&str) -> Result<(String, T)>) -> Result<T> {
    let path = Config::path(home);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let (new, out) = edit(&text).with_context(|| format!("in {}", path.display()))?;
    if new == text {
        return Ok(out);
    }
    Home::ensure_dir(home.root())?;
    let mut tmp = tempfile::NamedTempFile::new_in(home.root())
        .with_context(|| format!("cannot write in {}", home.root().display()))?;
    std::io::Write::write_all(&mut tmp, new.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    tmp.persist(&path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config> {
        Config::parse(Path::new("/h/config.toml"), text)
    }

    #[test]
    fn reads_values_and_rejects_unknown_keys_and_bad_values_by_line() {
        let c = parse("[cache]\nmax_size = \"2GB\"\n\n[infer]\nconf = 0.4\nimgsz = [480, 640]\n")
            .unwrap();
        assert_eq!(c.file_value("cache.max_size"), Some("2GB"));
        assert_eq!(c.file_value("infer.conf"), Some("0.4"));
        assert_eq!(c.file_value("infer.imgsz"), Some("480,640"));
        let e = parse("[cache]\nmax_sise = 1\n").unwrap_err().to_string();
        assert!(
            e.contains("/h/config.toml:2") && e.contains("infer.conf"),
            "{e}"
        );
        let e = parse("[infer]\n\nconf = 1.5\n").unwrap_err().to_string();
        assert!(
            e.contains("/h/config.toml:3") && e.contains("infer.conf"),
            "{e}"
        );
        let e = parse("[infer\n").unwrap_err().to_string();
        assert!(e.contains("/h/config.toml") && e.contains("line 1"), "{e}");
        assert!(parse("").is_ok());
    }

    #[test]
    fn keys_match_the_settings() {
        assert_eq!(SETTINGS.iter().map(|s| s.key).collect::<Vec<_>>(), KEYS);
    }

    #[test]
    fn set_keeps_comments_and_other_keys_and_unset_removes() {
        let text = "# mine\n[cache]\nmax_size = \"5GB\" # big\n";
        let t = set_in(text, "cache.max_size", "1GB").unwrap();
        assert_eq!(t, "# mine\n[cache]\nmax_size = \"1GB\" # big\n");
        let t = set_in(&t, "infer.conf", "0.4").unwrap();
        assert!(t.contains("[infer]\nconf = 0.4\n"), "{t}");
        assert!(set_in(&t, "infer.conf", "2").is_err());
        assert!(set_in(&t, "infer.imgsz", "641").is_err());
        assert!(set_in(&t, "infer.nope", "1").is_err());
        let (t, removed) = unset_in(&t, "cache.max_size").unwrap();
        assert!(
            removed && t.starts_with("# mine\n[cache]\n") && !t.contains("5GB"),
            "{t}"
        );
        assert!(!unset_in(&t, "cache.max_size").unwrap().1);
    }
}
