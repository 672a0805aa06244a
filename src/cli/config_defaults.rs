//! The config file's and the environment's values as the default values of the flags
//! they stand for, applied to the clap command before the command line is parsed: a flag
//! on the command line still wins, and the parsed [`super::args::Cli`] needs nothing else.
//! (The file model itself is the library's [`anylabel::config`].)

use anyhow::Result;
use anylabel::config::{Config, Origin, SETTINGS};
use anylabel::home::Home;

/// Makes `config`'s effective values (environment, then file) the default values of the
/// flags they stand for. `infer --model` stops being required when a model is given this
/// way.
pub fn apply(config: &Config, mut cmd: clap::Command) -> Result<clap::Command> {
    for st in SETTINGS {
        let eff = config.effective(st)?;
        let (Some(value), false) = (eff.value, eff.origin == Origin::BuiltIn) else {
            continue;
        };
        // Parsed once per process: leaking the few values is simpler than owning them.
        let value: &'static str = Box::leak(value.into_boxed_str());
        for &(sub, arg) in st.args {
            cmd = cmd.mut_subcommand(sub, |c| {
                c.mut_arg(arg, |a| a.default_value(value).required(false))
            });
        }
    }
    Ok(cmd)
}

/// The clap command with the config's defaults applied, and the error that kept them from
/// being applied, if any (`anylabel config` still runs then, to show or fix the file).
pub fn command_with_config(cmd: clap::Command) -> (clap::Command, Option<anyhow::Error>) {
    // Without a home folder there is no file; the commands that need one say so.
    let Ok(home) = Home::from_env() else {
        return (cmd, None);
    };
    match Config::load(&home).and_then(|c| apply(&c, cmd.clone())) {
        Ok(applied) => (applied, None),
        Err(e) => (cmd, Some(e)),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use anylabel::config::set_in;

    fn parse(text: &str) -> Result<Config> {
        Config::parse(Path::new("/h/config.toml"), text)
    }

    #[test]
    fn every_setting_applies_to_the_cli() {
        let text = "[cache]\nmax_size = \"1GB\"\n[infer]\nmodel = \"m\"\nconf = 0.3\niou = 0.5\n\
                    imgsz = 320\nbatch = 2\nworkers = 3\nthreads = 4\nbackend = \"cpu\"\n";
        // Panics if a setting names an argument that does not exist.
        infer_defaults(&parse(text).unwrap());
    }

    /// `anylabel infer x` with `c`'s values as the defaults, checked as model m, conf 0.3
    /// and batch 2: the infer subcommand's matches.
    fn infer_defaults(c: &Config) -> clap::ArgMatches {
        use clap::CommandFactory;
        let cmd = apply(c, crate::cli::args::Cli::command()).unwrap();
        cmd.clone().debug_assert();
        let m = cmd
            .try_get_matches_from(["anylabel", "infer", "x"])
            .unwrap();
        let sub = m.subcommand().unwrap().1.clone();
        assert_eq!(
            sub.get_one::<String>("model").map(String::as_str),
            Some("m")
        );
        assert_eq!(sub.get_one::<f32>("conf"), Some(&0.3));
        assert_eq!(sub.get_one::<u32>("batch"), Some(&2));
        sub
    }

    #[test]
    fn surrounding_whitespace_is_ignored_as_the_flags_parse_it() {
        let text = "[infer]\nmodel = \"m \"\nconf = \" 0.3\"\nbatch = \" 2\"\n\
                    workers = \"3 \"\nthreads = \" 4 \"\ndevice = \"\t1\"\nbackend = \" cpu\"\n";
        let c = parse(text).unwrap();
        assert_eq!(c.file_value("infer.workers"), Some("3"));
        let sub = infer_defaults(&c);
        assert_eq!(sub.get_one::<usize>("workers"), Some(&3));
        assert_eq!(sub.get_one::<usize>("threads"), Some(&4));
        assert_eq!(sub.get_one::<u32>("device"), Some(&1));
        let t = set_in("", "infer.model", " m ").unwrap();
        assert_eq!(t, "[infer]\nmodel = \"m\"\n");
    }
}
