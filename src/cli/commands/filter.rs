//! `anylabel filter`: records selected by flags, rule files and presets; with a folder and
//! `--model`, labelled first (as `infer`, through the result cache).

use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use anylabel::decode::DecodeOptions;
use anylabel::filter::{Filter, Flags, Print, Rule, Run, preset};
use anylabel::home::Home;
use anylabel::pipeline::InferOptions;
use anylabel::{exit_codes, progress};

use super::backend::{backend_request, precision_misuse, preprocess_at};
use super::infer::{Labelling, RecordWriter, label, usage_error};
use super::{Output, parse_inputs};
use crate::cli::args::{DecodeAt, FilterArgs, WalkArgs};

pub(super) fn filter_command(args: FilterArgs, offline: bool) -> Result<u8> {
    if args.list_presets {
        return list_presets();
    }
    let rule = match rule(&args)? {
        Ok(rule) => rule,
        Err(usage) => return Ok(usage_error(&usage)),
    };
    if let Some(name) = &args.save_preset {
        let Some(rule) = &rule else {
            bail!(
                "--save-preset {name} needs a rule to save: give flags such as --class, or --rules FILE"
            );
        };
        let path = preset::save(&Home::from_env()?, name, rule)?;
        progress::note(&format!("saved preset {name} as {}", path.display()));
        if args.inputs.is_empty() {
            return Ok(exit_codes::SUCCESS);
        }
    }
    let filter = Filter {
        rule,
        keep: args.keep.into(),
        print: if args.stats && args.output.is_none() {
            Print::Nothing
        } else if args.paths {
            Print::Paths
        } else {
            Print::Records
        },
    };
    if args.model.is_some() {
        label_and_filter(args, &filter, offline)
    } else {
        filter_records(&args, &filter)
    }
}

/// `--list-presets`.
fn list_presets() -> Result<u8> {
    let home = Home::from_env()?;
    for (name, path) in preset::list(&home)? {
        match read_rule_file(&path) {
            Ok(rule) => outln!("{name}\t{}", rule.to_json()),
            Err(e) => outln!("{name}\t(does not load: {e:#})"),
        }
    }
    Ok(exit_codes::SUCCESS)
}

/// The rule the flags, `--rules` and `--preset` describe together (none: every record
/// matches), or the usage error in the flags.
fn rule(args: &FilterArgs) -> Result<Result<Option<Rule>, String>> {
    let flags = Flags {
        class: args.class.clone(),
        all_classes: args.all_classes.clone(),
        no_class: args.no_class.clone(),
        min_conf: args.min_conf,
        max_conf: args.max_conf,
        min_count: args.min_count,
        max_count: args.max_count,
        count: args.count,
        min_area: args.min_area,
        max_area: args.max_area,
    };
    let mut rules = match flags.to_rule() {
        Ok(rule) => Vec::from_iter(rule),
        Err(e) => return Ok(Err(e.to_string())),
    };
    if let Some(path) = &args.rules {
        rules.push(read_rule_file(path)?);
    }
    if let Some(name) = &args.preset {
        rules.push(read_preset(name)?);
    }
    Ok(Ok(match rules.len() {
        0 => None,
        1 => rules.pop(),
        _ => Some(Rule::And(rules)),
    }))
}

/// `--preset NAME`, or an error that lists the presets there are.
fn read_preset(name: &str) -> Result<Rule> {
    let home = Home::from_env()?;
    let path = preset::path(&home, name)?;
    if !path.exists() {
        let names: Vec<String> = preset::list(&home)?.into_iter().map(|(n, _)| n).collect();
        bail!(
            "no preset is called {name} (in {}); the presets are: {}",
            preset::dir(&home).display(),
            if names.is_empty() {
                "(none yet; save one with --save-preset NAME)".to_string()
            } else {
                names.join(", ")
            }
        );
    }
    read_rule_file(&path)
}

/// `filter DIR --model`: `infer`'s run, each record tested as it is made.
fn label_and_filter(args: FilterArgs, filter: &Filter, offline: bool) -> Result<u8> {
    let Some(model) = args.model else {
        unreachable!("called with --model")
    };
    // As `infer` checks them, in the same order.
    if let Some(e) = precision_misuse(&args.backend) {
        return Ok(usage_error(&e));
    }
    let (request, precision) = backend_request(&args.backend)?;
    let preprocess = preprocess_at(&args.backend, &request)?;
    let inputs = parse_inputs(&args.inputs, &WalkArgs::default())?;
    let labelling = Labelling {
        model: anylabel::infer::Options {
            model,
            imgsz: args.imgsz,
            conf: args.conf,
            iou: args.iou,
            classes: args.classes,
            agnostic: args.agnostic,
            batch: args.batch as usize,
            threads: 0,
            backend: request,
            precision,
            calib: args.backend.calib.clone(),
        },
        run: InferOptions {
            inputs,
            max_det: args.max_det as usize,
            batch: args.batch as usize,
            workers: args.workers,
            decode: DecodeOptions::default(),
            preprocess,
            gpu_decode: args.backend.decode == DecodeAt::Gpu,
            ..InferOptions::default()
        },
        output: args.output,
        no_cache: args.no_cache,
        json: None,
    };
    let mut writer = Filtering {
        filter,
        stats: anylabel::filter::Stats::default(),
        want_stats: args.stats,
    };
    let code = label(labelling, offline, &mut writer)?;
    if args.stats && code != exit_codes::INTERRUPTED {
        writer.stats.write(&mut std::io::stdout().lock())?;
    }
    Ok(code)
}

/// `filter RESULTS.jsonl...`: the records of the files (or stdin) that match.
fn filter_records(args: &FilterArgs, filter: &Filter) -> Result<u8> {
    let output = Output::open(args.output.as_deref())?;
    let stats = {
        let stdout = std::io::stdout();
        let mut out: Box<dyn Write> = match &output {
            Output::Stdout => Box::new(BufWriter::with_capacity(1 << 16, stdout.lock())),
            Output::File(out) => Box::new(BufWriter::with_capacity(1 << 16, Output::file(out)?)),
        };
        let mut run = Run::new(filter, args.jobs, args.stats, &mut *out)?;
        for input in &args.inputs {
            if input.as_os_str() == "-" {
                run.feed("<stdin>", std::io::stdin().lock())?;
                continue;
            }
            let name = input.display().to_string();
            match std::fs::File::open(input) {
                Ok(f) => run.feed(&name, f)?,
                Err(e) => {
                    tracing::warn!("cannot read {name}: {e}");
                    run.stats.unreadable += 1;
                }
            }
        }
        run.finish()?
    };
    if let Output::File(out) = output {
        out.finish()?;
    }
    if args.stats {
        stats.write(&mut std::io::stdout().lock())?;
    }
    Ok(if stats.bad_lines > 0 || stats.unreadable > 0 {
        exit_codes::PARTIAL
    } else {
        exit_codes::SUCCESS
    })
}

/// A rule file, with errors at `file:line:column`.
fn read_rule_file(path: &Path) -> Result<Rule> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {name}"))?;
    anylabel::filter::parse::parse_rule(&text, &name)
        .map_err(|e| anyhow!("{name}:{}:{}: {}", e.pos.line, e.pos.col, e.message))
}

/// `filter <DIR> --model`: tests each record as `infer` makes it.
struct Filtering<'a> {
    filter: &'a Filter,
    stats: anylabel::filter::Stats,
    want_stats: bool,
}

impl RecordWriter for Filtering<'_> {
    fn check(&mut self, class_names: &[String]) -> Result<()> {
        match &self.filter.rule {
            Some(rule) => anylabel::filter::check_classes(rule, class_names),
            None => Ok(()),
        }
    }

    fn write(
        &mut self,
        record: &anylabel::record::Record,
        out: &mut dyn Write,
    ) -> std::io::Result<()> {
        self.stats.read += 1;
        let Some(kept) = self.filter.apply(record) else {
            return Ok(());
        };
        if self.want_stats {
            self.stats.add(&kept);
        } else {
            self.stats.matched += 1;
        }
        let mut buf = Vec::new();
        self.filter.write(&kept, None, &mut buf);
        out.write_all(&buf)
    }
}
