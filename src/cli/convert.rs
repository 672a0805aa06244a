//! The CLI's enums as the library's: one `From` each, so that the command layer converts
//! with `.into()` and a variant added on one side without the other fails to compile.

use anylabel::backend::{Kind, Wanted};
use anylabel::bench::Suite;

use super::args::{Backend, BenchSuite, ExportFormat, FilterKeep, ImportFormat, Precision};

impl From<Backend> for Wanted {
    fn from(b: Backend) -> Wanted {
        match b {
            Backend::Auto => Wanted::Auto,
            Backend::Cpu => Wanted::Only(Kind::Cpu),
            Backend::Cuda => Wanted::Only(Kind::Cuda),
            Backend::Trt => Wanted::Only(Kind::Trt),
        }
    }
}

impl From<Precision> for anylabel::trt::Precision {
    fn from(p: Precision) -> Self {
        match p {
            Precision::Fp32 => Self::Fp32,
            Precision::Fp16 => Self::Fp16,
            Precision::Int8 => Self::Int8,
        }
    }
}

impl From<ImportFormat> for anylabel::import::ImportFormat {
    fn from(f: ImportFormat) -> Self {
        match f {
            ImportFormat::Yolo => Self::Yolo,
            ImportFormat::Coco => Self::Coco,
            ImportFormat::Voc => Self::Voc,
            ImportFormat::Labelme => Self::Labelme,
        }
    }
}

/// The exporter of a format; `None` for `html`, which is the report's gallery.
impl From<ExportFormat> for Option<anylabel::export::Format> {
    fn from(f: ExportFormat) -> Self {
        use anylabel::export::Format;
        Some(match f {
            ExportFormat::Html => return None,
            ExportFormat::Txt => Format::Txt,
            ExportFormat::Json => Format::Json,
            ExportFormat::Jsonl => Format::Jsonl,
            ExportFormat::Csv => Format::Csv,
            ExportFormat::Yolo => Format::Yolo,
            ExportFormat::Coco => Format::Coco,
            ExportFormat::Voc => Format::Voc,
            ExportFormat::Labelme => Format::Labelme,
        })
    }
}

impl From<FilterKeep> for anylabel::filter::Keep {
    fn from(k: FilterKeep) -> Self {
        match k {
            FilterKeep::All => Self::All,
            FilterKeep::Matching => Self::Matching,
        }
    }
}

/// The suites `bench SUITE` runs, in order.
impl From<BenchSuite> for Vec<Suite> {
    fn from(s: BenchSuite) -> Self {
        match s {
            BenchSuite::All => Suite::ALL.to_vec(),
            BenchSuite::Infer => vec![Suite::Infer],
            BenchSuite::Io => vec![Suite::Io],
            BenchSuite::Nms => vec![Suite::Nms],
            BenchSuite::Filter => vec![Suite::Filter],
            BenchSuite::Cache => vec![Suite::Cache],
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::ValueEnum;

    use super::*;

    /// The config file checks `infer.backend` with the library's list of names: it must
    /// be the flag's.
    #[test]
    fn the_backend_flag_takes_the_names_the_config_checks() {
        let flag: Vec<(String, Wanted)> = Backend::value_variants()
            .iter()
            .map(|b| {
                let name = b.to_possible_value().unwrap().get_name().to_string();
                (name, Wanted::from(*b))
            })
            .collect();
        let library: Vec<(String, Wanted)> = anylabel::values::BACKENDS
            .iter()
            .map(|w| (w.name().to_string(), *w))
            .collect();
        assert_eq!(flag, library);
    }

    #[test]
    fn each_cli_name_is_the_library_name() {
        for p in Precision::value_variants() {
            let name = p.to_possible_value().unwrap().get_name().to_string();
            assert_eq!(anylabel::trt::Precision::from(*p).name(), name);
        }
        for s in BenchSuite::value_variants() {
            let name = s.to_possible_value().unwrap().get_name().to_string();
            let suites = Vec::<Suite>::from(*s);
            assert!(name == "all" || suites == [suites[0]] && suites[0].name() == name);
        }
        for f in ExportFormat::value_variants() {
            let name = f.to_possible_value().unwrap().get_name().to_string();
            let format = Option::<anylabel::export::Format>::from(*f);
            assert_eq!(format.map_or("html", |f| f.name()), name);
        }
    }
}
