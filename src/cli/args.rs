//! The command line, as clap parses it: declarative, and the binary's alone. Nothing past
//! the command layer ([`super::commands`]) sees these types: they are turned into the
//! library's plain options there (the enums through the `From` conversions of
//! [`super::convert`]).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use anylabel::exit_codes;
use anylabel::shard::Shard;
use anylabel::values::{parse_imgsz, parse_pct, parse_square_imgsz, parse_unit};

const ABOUT: &str = "Auto-label folders of images with ONNX detection models, on a CPU or a GPU.";

const LONG_ABOUT: &str = "\
Auto-label folders of images with ONNX detection models (YOLOv5, YOLOv8/11, YOLOv10/26),
on a CPU or a GPU, and write one JSON record per image.

  anylabel infer ./images --model nudenet-320n -o results.jsonl
  anylabel scan ./images | wc -l

ONNX Runtime is found on the machine or installed from PyPI on first use, and catalogue
models are fetched once, into ~/.anylabeling (ANYLABEL_HOME moves it).";

#[derive(Debug, Parser)]
#[command(name = "anylabel", version, about = ABOUT, long_about = LONG_ABOUT, after_help = exit_codes::HELP)]
pub struct Cli {
    /// Print only errors on stderr (no notes, no progress bar).
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Print more about what happens; twice for debugging detail. RUST_LOG overrides it.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Never download anything (ONNX Runtime, catalogue models); fail and say what to do.
    #[arg(long, global = true, env = "ANYLABEL_OFFLINE", value_parser = clap::builder::BoolishValueParser::new())]
    pub offline: bool,

    #[command(subcommand)]
    pub command: Command,
}

// Parsed once per process: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the images a run would label: recursive, sorted, common image extensions in any case.
    Scan(ScanArgs),
    /// Read, hash and decode every image ahead of a run, listing the ones that will not decode.
    #[command(after_help = PRELOAD_AFTER_HELP)]
    Preload(PreloadArgs),
    /// Label images with a detection model and write one JSON record per image.
    #[command(after_help = INFER_AFTER_HELP)]
    Infer(InferArgs),
    /// Run non-maximum suppression on a CSV of boxes, or again on a results file at another IoU.
    #[command(after_help = NMS_AFTER_HELP)]
    Nms(NmsArgs),
    /// Select records by class, confidence, count and box area (flags, rule files, presets).
    #[command(after_help = FILTER_AFTER_HELP)]
    Filter(FilterArgs),
    /// Write records as YOLO, COCO, Pascal VOC, LabelMe, CSV, JSON, a list of images or an HTML gallery.
    #[command(after_help = EXPORT_AFTER_HELP)]
    Export(ExportArgs),
    /// Turn a YOLO, COCO, Pascal VOC or LabelMe dataset into result records.
    #[command(after_help = IMPORT_AFTER_HELP)]
    Import(ImportArgs),
    /// Measure inference, I/O, NMS, filter and cache speed on this machine; compare with a baseline.
    #[command(after_help = BENCH_AFTER_HELP)]
    Bench(BenchArgs),
    /// Find ONNX Runtime, or install the official build (CPU or GPU) from PyPI.
    #[command(subcommand)]
    Runtime(RuntimeCommand),
    /// Check this machine: ONNX Runtime and its providers, GPUs and driver, CUDA, cuDNN and TensorRT libraries, the cache.
    #[command(after_help = DOCTOR_AFTER_HELP)]
    Doctor(DoctorArgs),
    /// The built-in model catalogue: list, fetch, path.
    #[command(subcommand)]
    Models(ModelsCommand),
    /// The result cache (~/.anylabeling/cache.db): stats, verify, prune, clear.
    #[command(subcommand, after_help = CACHE_AFTER_HELP)]
    Cache(CacheCommand),
    /// Join the outputs (or the result caches) of `--shard K/N` runs into one.
    #[command(after_help = MERGE_AFTER_HELP)]
    Merge(MergeArgs),
    /// Defaults for settings in ~/.anylabeling/config.toml: get, set, unset, list, path.
    #[command(subcommand, after_help = anylabel::config::help_table())]
    Config(ConfigCommand),
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print a setting's effective value (without flags); where it comes from goes to stderr.
    Get {
        #[arg(value_name = "KEY", value_parser = clap::builder::PossibleValuesParser::new(anylabel::config::KEYS))]
        key: String,
        /// Print `ORIGIN<TAB>VALUE` on stdout (origin: env VAR, file PATH:LINE, or built-in).
        #[arg(long)]
        show_origin: bool,
    },
    /// Check VALUE as the flag would and write it to the config file.
    Set {
        #[arg(value_name = "KEY", value_parser = clap::builder::PossibleValuesParser::new(anylabel::config::KEYS))]
        key: String,
        #[arg(value_name = "VALUE", allow_hyphen_values = true)]
        value: String,
    },
    /// Remove a setting from the config file.
    Unset {
        #[arg(value_name = "KEY", value_parser = clap::builder::PossibleValuesParser::new(anylabel::config::KEYS))]
        key: String,
    },
    /// Print every setting with its effective value and where it comes from.
    List,
    /// Print the config file's path.
    Path,
}

const SHARD_HELP: &str = "Take only shard K of N (K from 0): the images whose path hashes to K. N runs with K = 0..N-1 \
     share the images out, disjoint and stable. `auto` reads K and N from a Slurm job array \
     (SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT) or a Kubernetes Indexed Job (JOB_COMPLETION_INDEX, \
     and ANYLABEL_SHARDS for N)";

const MERGE_AFTER_HELP: &str = "\
Results: the shards' records are written in the order a run over the whole folder writes
them (the walk's: file names sorted within each folder, folders depth-first), byte for
byte, so the merge equals a single run's output. A path found in two shards is written
once when its records are identical, and is an error when they differ. --root DIR takes
the order from a new walk of DIR instead (needed where the runs did not label one folder).

Caches (--cache): every row of the shard caches that the target does not have is copied
into it, one transaction per shard; the target is the cache in use (ANYLABEL_CACHE, else
~/.anylabeling/cache.db) unless -o names one.

Examples:
  for k in 0 1 2 3; do anylabel infer ./images -m nudenet-320n --shard $k/4 -o out-$k.jsonl & done
  wait
  anylabel merge -o results.jsonl out-*.jsonl
  anylabel merge --cache -o merged.db node-*/cache.db
  anylabel merge --cache node-*/cache.db                      # into the cache in use";

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The shards' outputs (results JSONL), or with --cache their cache files.
    #[arg(required = true, value_name = "SHARD")]
    pub shards: Vec<PathBuf>,

    /// Where to write: a results file (atomically; default stdout) or with --cache a cache file.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Merge result caches (SQLite files) rather than results.
    #[arg(long)]
    pub cache: bool,

    /// Order the records as a new walk of this folder meets their paths.
    #[arg(long, value_name = "DIR", conflicts_with = "cache")]
    pub root: Option<PathBuf>,
}

const PRELOAD_AFTER_HELP: &str = "\
Hashes and sizes go into the result cache's index, so the next `infer` on the same files
skips hashing, knows the files that will not decode, and reads from the page cache.
Files that will not decode are printed on stdout, one `PATH<TAB>REASON` a line; the exit
code is then 3. With --model, it also says how many of the images the cache already
holds results for with that model (at the given --imgsz, --iou and --agnostic).";

const CACHE_AFTER_HELP: &str = "\
The cache keeps, per image content and per model and parameters, the detections down to a
confidence of 0.01, so `infer` with any --conf at or above it, any --max-det and any
--classes is answered from it. ANYLABEL_CACHE moves it (or turns it off: ANYLABEL_CACHE=off);
a size limit in ~/.anylabeling/config.toml ([cache] max_size = \"5GB\") or
ANYLABEL_CACHE_MAX_SIZE evicts the least recently used results after each run.";

const NMS_AFTER_HELP: &str = "\
Greedy NMS as the textbook (and torchvision, OpenCV) does it: boxes in descending score
order, ties to the lower row; a box is dropped when its IoU with an already kept box of the
same class (any class with --agnostic) is above --iou; stops after --max-det kept boxes.

CSV input: a header naming x1,y1,x2,y2,score,class_id (any order, other columns ignored).
Output: the kept rows' 0-based indices, highest score first, one a line (or a JSON array
with --format json). A NaN, a box with x2 < x1 or y2 < y1, or a missing column is an
error naming the row by the same 0-based index, and its line in the file.

Results input (JSONL records from `anylabel infer`): NMS runs again on each record's
detections (for example at a lower --iou); the records are written back with the kept
detections.

Examples:
  anylabel nms boxes.csv --iou 0.5
  anylabel nms results.jsonl --iou 0.3 --agnostic > merged.jsonl";

const EXPORT_AFTER_HELP: &str = "\
Formats:
  txt      one image path a line (joined to --root unless it is .)
  json     a JSON array of records;  jsonl: one record a line
  csv      one row per detection: path,width,height,class_id,label,score,x1,y1,x2,y2;
           an image without detections gets one row with the detection fields empty
  yolo     OUT/labels/<path>.txt (class cx cy w h, normalised; an empty file for an image
           without detections), OUT/classes.txt, OUT/images.txt (the images exported) and
           OUT/data.yaml training on it; each label where Ultralytics looks for it: OUT
           above the images' images/ folder lists them as they are, any other OUT lists
           links OUT/images/<path> to them
  coco     one JSON file: images, annotations (bbox [x, y, w, h], score), categories
           (id = class id + 1)
  voc      OUT/Annotations/<path>.xml (Pascal VOC), OUT/classes.txt,
           OUT/ImageSets/Main/default.txt and OUT/labelmap.txt (for datumaro and CVAT)
  labelme  OUT/<name>.json, flat, where AnyLabeling / X-AnyLabeling look for it (OUT as
           their output folder), imagePath pointing at the image; --beside-images writes
           each beside its image instead
  html     OUT/index.html (and page-2.html... past 1,000 images) with thumbnails in
           OUT/thumbs/, boxes drawn, per-class counts and a filter box; opens from disk

Records' paths are relative to --root. Records with an error are skipped (a warning
names each) except in json and jsonl. A path that is absolute outside --root, or climbs
out with .., is refused for yolo, voc and labelme: nothing is written outside OUT; the
export goes on and exits with code 3, as it does when two images of one name (x.jpg,
x.png) would share a label file: the later is refused. Every file is written atomically.

Examples:
  anylabel infer ./images --model nudenet-320n -o results.jsonl
  anylabel export results.jsonl --format coco -o coco.json --root ./images
  anylabel export results.jsonl --format yolo -o dataset --root ./images
  anylabel export results.jsonl --format labelme --beside-images --root ./images
  anylabel export results.jsonl --format html -o report --root ./images
  anylabel import --format voc ./VOC2012 | anylabel export - --format coco -o coco.json";

const IMPORT_AFTER_HELP: &str = "\
PATH is the dataset: for yolo, a folder with labels/ (or the labels folder itself), with
the images in --images, else where data.yaml's path/train points, else images/ beside
labels/; the image sizes are read from their headers, and the class names from data.yaml
or classes.txt. For coco, the JSON file. For voc, a folder with Annotations/ (or the
folder of XML files); for labelme, the folder of JSON files. For voc and labelme, class ids
follow --classes or a classes.txt in PATH, else the order names first appear.

Records are written one a line to stdout or -o, with model import:<format> and score 1.0
where the format has none.

Examples:
  anylabel import --format yolo ./dataset -o records.jsonl
  anylabel import --format coco instances_val2017.json | anylabel export - --format voc -o voc";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// One image path a line.
    Txt,
    /// A JSON array of records.
    Json,
    /// One record a line.
    Jsonl,
    /// One row per detection.
    Csv,
    /// Ultralytics YOLO labels, classes.txt and data.yaml.
    Yolo,
    /// One COCO detection JSON file.
    Coco,
    /// Pascal VOC XML files.
    Voc,
    /// LabelMe JSON files as AnyLabeling / X-AnyLabeling open them.
    Labelme,
    /// An HTML gallery: thumbnails with their boxes, per-class counts and a filter box.
    Html,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Result records (JSONL, as `infer` writes them), or - for stdin.
    #[arg(value_name = "RESULTS.jsonl|-")]
    pub input: PathBuf,

    /// The output format.
    #[arg(short, long, value_enum)]
    pub format: ExportFormat,

    /// The output: a file (- for stdout) for txt, json, jsonl, csv and coco; a folder for
    /// yolo, voc and labelme.
    #[arg(
        short,
        long,
        value_name = "OUT",
        required_unless_present = "beside_images"
    )]
    pub output: Option<PathBuf>,

    /// The folder the records' paths are relative to: the folder that was scanned.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub root: PathBuf,

    /// labelme: write each JSON file beside its image (under --root) instead of into OUT.
    #[arg(long)]
    pub beside_images: bool,

    /// labelme: replace label files that another tool saved (a review in AnyLabeling or
    /// X-AnyLabeling, say). By default they are kept as they are, and counted.
    #[arg(long)]
    pub overwrite: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImportFormat {
    /// Ultralytics YOLO labels.
    Yolo,
    /// A COCO detection JSON file.
    Coco,
    /// Pascal VOC XML files.
    Voc,
    /// LabelMe / AnyLabeling / X-AnyLabeling JSON files.
    Labelme,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The dataset's format.
    #[arg(short, long, value_enum)]
    pub format: ImportFormat,

    /// The dataset: a folder, or the JSON file for coco.
    #[arg(value_name = "PATH")]
    pub path: PathBuf,

    /// yolo: the images' folder (default: data.yaml's train/val/test). labelme: the folder
    /// the records' paths are relative to (an export's --root), each found from imagePath.
    #[arg(long, value_name = "DIR")]
    pub images: Option<PathBuf>,

    /// voc, labelme: a class list, one name a line; line N is class N.
    #[arg(long, value_name = "FILE")]
    pub classes: Option<PathBuf>,

    /// Write the records to this file (atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

const BENCH_AFTER_HELP: &str = "\
Suites: nms (our NMS at 1k/10k/100k boxes), filter (records/s by thread count), io (a walk
of a generated tree, decoding the images by format, cached and uncached reads), infer
(latency, throughput by batch size, time per stage; needs --model), cache (a run from an
empty cache, then again), all. Without --json, a table goes to stdout.

--baseline FILE compares with the JSON of an earlier run: each figure more than PCT worse
(--fail-on-regression PCT, default 10) is listed; with --fail-on-regression the command
then exits with 4. Compare only runs on the same machine.

  anylabel bench all --json base.json
  anylabel bench all --baseline base.json --fail-on-regression 10 --report out/";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BenchSuite {
    Infer,
    Io,
    Nms,
    Filter,
    Cache,
    All,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// What to measure.
    #[arg(value_enum)]
    pub suite: BenchSuite,

    /// Write the report as JSON to FILE (`-`: stdout, and the table goes to stderr).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,

    /// Write report.json, report.md and report.html (with charts) into DIR.
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,

    /// Compare with the JSON report of an earlier run; figures more than PCT worse are listed.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,

    /// With --baseline: the percentage a figure may get worse (default 10); exit with 4 when
    /// one got worse by more, and with 1 when the baseline has none of the figures.
    #[arg(long, value_name = "PCT", requires = "baseline", value_parser = parse_pct)]
    pub fail_on_regression: Option<f64>,

    /// Take the figures from a JSON report written earlier instead of measuring (to compare
    /// saved reports, or to render one with --report).
    #[arg(long, value_name = "FILE")]
    pub from: Option<PathBuf>,

    /// Fewer repeats and smaller inputs: seconds instead of minutes, noisier figures.
    #[arg(long)]
    pub quick: bool,

    /// For infer and cache: a model file, config or catalogue name.
    #[arg(long, value_name = "MODEL", default_value = "nudenet-320n")]
    pub model: String,

    /// For io, infer and cache: the images to measure on.
    #[arg(long, value_name = "DIR", default_value = "fixtures/images")]
    pub images: PathBuf,

    /// For infer and cache: the model's input size (square), when it is not fixed.
    #[arg(long, value_name = "N", value_parser = parse_square_imgsz)]
    pub imgsz: Option<u32>,

    /// For infer: the batch sizes to measure throughput at (default 1,2,4, and 8,16 without --quick).
    #[arg(long, value_name = "N", value_delimiter = ',', value_parser = clap::value_parser!(u32).range(1..))]
    pub batch: Vec<u32>,

    /// For infer and cache: as `infer --threads` (ONNX Runtime's intra-op threads; 0: its
    /// choice, one per physical core).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub threads: usize,

    /// For infer and cache: as `infer --workers` (decode threads; 0: one per CPU).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub workers: usize,

    #[command(flatten)]
    pub backend: BackendArgs,
}

#[derive(Debug, Args)]
pub struct NmsArgs {
    /// A CSV of boxes, a results JSONL file, or - for stdin.
    #[arg(value_name = "BOXES.csv|RESULTS.jsonl|-")]
    pub input: PathBuf,

    /// Drop a box whose IoU with a kept box is above this.
    #[arg(long, value_name = "F", default_value_t = 0.45, value_parser = parse_unit)]
    pub iou: f32,

    /// Drop boxes with a score at or below this first.
    #[arg(long, value_name = "F", value_parser = parse_unit)]
    pub conf: Option<f32>,

    /// Keep at most this many boxes (per record for results). Default: no limit.
    #[arg(long, value_name = "N")]
    pub max_det: Option<usize>,

    /// Let boxes of different classes suppress each other.
    #[arg(long)]
    pub agnostic: bool,

    /// How to print the kept rows of a CSV.
    #[arg(long, value_enum, default_value_t = NmsFormat::Lines)]
    pub format: NmsFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NmsFormat {
    /// One index a line.
    Lines,
    /// A JSON array of indices.
    Json,
}

const FILTER_AFTER_HELP: &str = "\
How the flags combine: the conditions on single detections (--min-conf, --max-conf,
--min-area, --max-area, and --class) select detections; the count (--min-count,
--max-count, --count; default: at least 1) applies to the selected ones. So
`--class person --min-count 2 --min-conf 0.5` keeps the images with at least 2 person
detections that each score 0.5 or more. --all-classes counts each listed class on its own
(every one of them must pass the count); --no-class adds \"and no selected detection of
these classes\". Bounds are inclusive. Areas are a fraction of the image (0.1), a
percentage (10%) or pixels (5000px). Classes are names (the records' labels) or ids.

Rule files (--rules FILE, --preset NAME) hold the same as JSON, with AND, OR and NOT:
  {\"and\": [{\"class\": {\"any\": [\"person\"]}},
           {\"not\": {\"count\": {\"class\": \"car\", \"at_least\": 3}}}]}
Flags, --rules and --preset given together must all match. An error in a rule file names
its line and column. Presets live in ~/.anylabeling/presets/NAME.json (ANYLABEL_HOME
moves it). See docs/filter.md for the rule language.

--keep matching keeps in each record only the detections that made it match. --stats
prints a summary on stdout instead of the records (which then go only to -o FILE).
A line that is not a record is reported with its line number and skipped; the exit code
is then 3.

Examples:
  anylabel filter results.jsonl --class person --min-count 2 --min-conf 0.5
  anylabel filter results.jsonl --no-class FACE_MALE --max-area 0.1 --paths
  anylabel filter results.jsonl --rules crowd.json --keep matching -o crowd.jsonl
  anylabel filter --class car --count 1 --save-preset one-car
  anylabel filter results.jsonl --preset one-car --stats
  anylabel filter ./images --model nudenet-320n --class FACE_FEMALE   # infer (cached), then filter";

const RULE_FLAGS: &str = "Rule";
const FILTER_INFER: &str = "Labelling first (a folder and --model)";

#[derive(Debug, Args)]
pub struct FilterArgs {
    /// Results files (JSONL, as `infer` writes them) or - for stdin; with --model, folders
    /// or images to label first (through the result cache).
    #[arg(value_name = "RESULTS.jsonl|-|DIR", required_unless_present_any = ["save_preset", "list_presets"])]
    pub inputs: Vec<PathBuf>,

    /// Detections of any of these classes (names or ids, comma-separated).
    #[arg(long, value_name = "C,...", value_delimiter = ',', conflicts_with = "all_classes", help_heading = RULE_FLAGS)]
    pub class: Vec<String>,

    /// Detections of each of these classes: the count applies to every class on its own.
    #[arg(long, value_name = "C,...", value_delimiter = ',', help_heading = RULE_FLAGS)]
    pub all_classes: Vec<String>,

    /// No selected detection of these classes.
    #[arg(long, value_name = "C,...", value_delimiter = ',', help_heading = RULE_FLAGS)]
    pub no_class: Vec<String>,

    /// Select detections scoring at least this.
    #[arg(long, value_name = "F", value_parser = parse_unit, help_heading = RULE_FLAGS)]
    pub min_conf: Option<f32>,

    /// Select detections scoring at most this.
    #[arg(long, value_name = "F", value_parser = parse_unit, help_heading = RULE_FLAGS)]
    pub max_conf: Option<f32>,

    /// At least N selected detections (default 1).
    #[arg(long, value_name = "N", help_heading = RULE_FLAGS)]
    pub min_count: Option<u32>,

    /// At most N selected detections (from 0 when --min-count is not given).
    #[arg(long, value_name = "N", help_heading = RULE_FLAGS)]
    pub max_count: Option<u32>,

    /// Exactly N selected detections.
    #[arg(long, value_name = "N", conflicts_with_all = ["min_count", "max_count"], help_heading = RULE_FLAGS)]
    pub count: Option<u32>,

    /// Select boxes of at least this area: a fraction of the image (0.01), 1%, or 500px.
    #[arg(long, value_name = "A", value_parser = anylabel::filter::Area::parse, help_heading = RULE_FLAGS)]
    pub min_area: Option<anylabel::filter::Area>,

    /// Select boxes of at most this area: a fraction of the image (0.1), 10%, or 5000px.
    #[arg(long, value_name = "A", value_parser = anylabel::filter::Area::parse, help_heading = RULE_FLAGS)]
    pub max_area: Option<anylabel::filter::Area>,

    /// A rule file (JSON; see docs/filter.md).
    #[arg(long, value_name = "FILE", help_heading = RULE_FLAGS)]
    pub rules: Option<PathBuf>,

    /// A saved rule: ~/.anylabeling/presets/NAME.json.
    #[arg(long, value_name = "NAME", help_heading = RULE_FLAGS)]
    pub preset: Option<String>,

    /// Save the rule the flags, --rules and --preset describe as preset NAME.
    #[arg(long, value_name = "NAME", help_heading = RULE_FLAGS)]
    pub save_preset: Option<String>,

    /// List the saved presets and their rules, and exit.
    // Not `exclusive`: clap counts a global flag set from the environment (ANYLABEL_OFFLINE)
    // as given, which made `--list-presets` a usage error wherever that variable is set.
    #[arg(long, conflicts_with_all = [
        "inputs", "class", "all_classes", "no_class", "min_conf", "max_conf", "min_count",
        "max_count", "count", "min_area", "max_area", "rules", "preset", "save_preset", "paths",
        "stats", "output", "model",
    ])]
    pub list_presets: bool,

    /// What a matching record keeps: all its detections, or those that made it match.
    #[arg(long, value_enum, default_value_t = FilterKeep::All)]
    pub keep: FilterKeep,

    /// Print only the paths of the matching images.
    #[arg(long)]
    pub paths: bool,

    /// Print images read and matched, and detections per class in the matched set, on
    /// stdout (records then go only to -o).
    #[arg(long)]
    pub stats: bool,

    /// Write to this file (atomically, when the run ends) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Threads that parse records (0: one per CPU).
    #[arg(short, long, value_name = "N", default_value_t = 0)]
    pub jobs: usize,

    /// Label the inputs with this model first (as `infer`, through the result cache).
    #[arg(short, long, value_name = "MODEL", help_heading = FILTER_INFER)]
    pub model: Option<String>,

    /// As `infer --imgsz`.
    #[arg(long, value_name = "N|H,W", value_parser = parse_imgsz, requires = "model", help_heading = FILTER_INFER)]
    pub imgsz: Option<[u32; 2]>,

    /// As `infer --conf`: the detections labelling keeps (--min-conf then selects among them).
    #[arg(long, value_name = "F", value_parser = parse_unit, requires = "model", help_heading = FILTER_INFER)]
    pub conf: Option<f32>,

    /// As `infer --iou`.
    #[arg(long, value_name = "F", value_parser = parse_unit, requires = "model", help_heading = FILTER_INFER)]
    pub iou: Option<f32>,

    /// As `infer --max-det`.
    #[arg(long, value_name = "N", default_value_t = 300, value_parser = clap::value_parser!(u32).range(1..), help_heading = FILTER_INFER)]
    pub max_det: u32,

    /// As `infer --classes`.
    #[arg(long, value_name = "C,...", value_delimiter = ',', requires = "model", help_heading = FILTER_INFER)]
    pub classes: Option<Vec<String>>,

    /// As `infer --agnostic`.
    #[arg(long, requires = "model", help_heading = FILTER_INFER)]
    pub agnostic: bool,

    /// As `infer --batch`.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1024), help_heading = FILTER_INFER)]
    pub batch: u32,

    /// As `infer --workers`.
    #[arg(long, value_name = "N", default_value_t = 0, help_heading = FILTER_INFER)]
    pub workers: usize,

    /// As `infer --no-cache`.
    #[arg(long, requires = "model", help_heading = FILTER_INFER)]
    pub no_cache: bool,

    #[command(flatten, next_help_heading = FILTER_INFER)]
    pub backend: BackendArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FilterKeep {
    /// The whole record.
    All,
    /// Only the detections that made it match.
    Matching,
}

#[derive(Debug, Args)]
pub struct PreloadArgs {
    /// Folders to walk, image files, or - for a list of paths on stdin (one a line, or
    /// NUL-separated).
    #[arg(required_unless_present = "from_file", value_name = "DIR|FILE|-")]
    pub inputs: Vec<PathBuf>,

    #[command(flatten)]
    pub walk: WalkArgs,

    /// Also report how many images already have results for this model in the cache.
    #[arg(short, long, value_name = "MODEL")]
    pub model: Option<String>,

    #[arg(long, value_name = "K/N|auto", help = SHARD_HELP)]
    pub shard: Option<Shard>,

    /// With --model: the input size the results would be at.
    #[arg(long, value_name = "N|H,W", value_parser = parse_imgsz)]
    pub imgsz: Option<[u32; 2]>,

    /// With --model: the NMS IoU the results would be at.
    #[arg(long, value_name = "F", value_parser = parse_unit)]
    pub iou: Option<f32>,

    /// With --model: results of class-agnostic NMS.
    #[arg(long)]
    pub agnostic: bool,

    /// Threads that read and decode (0: one per CPU).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub workers: usize,

    /// Images with more pixels than this count as undecodable, as in `infer`.
    #[arg(long, value_name = "N", default_value_t = anylabel::decode::DEFAULT_MAX_PIXELS)]
    pub max_pixels: u64,
}

#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// Where the cache is, its size, what it holds, and its hit rate since it was created.
    Stats,
    /// Check the cache's integrity (SQLite's integrity_check, and every stored result).
    Verify,
    /// Evict the least recently used results until the cache is at most SIZE (e.g. 500MB, 2GB).
    Prune {
        #[arg(long, value_name = "SIZE", value_parser = anylabel::cache::parse_size)]
        max_size: u64,
    },
    /// Delete everything in the cache.
    Clear,
    /// Print the cache file's path.
    Path,
}

/// How inputs are found; shared by `scan`, `preload` and `infer`.
#[derive(Debug, Default, Args)]
pub struct WalkArgs {
    /// Also read the paths listed in this file (one a line, or NUL-separated).
    #[arg(long, value_name = "LIST")]
    pub from_file: Vec<PathBuf>,

    /// Descend at most N folders below each folder given (1: its own files only).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_depth: Option<u32>,

    /// Leave out files and folders matching this glob (against the path below the folder
    /// given, and against the name alone), e.g. '*_thumb.jpg' or 'cache'. Repeatable.
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,

    /// Pick up only files with these extensions (any case), instead of the common image
    /// ones: --ext jpg,png.
    #[arg(long, value_name = "EXT", value_delimiter = ',')]
    pub ext: Vec<String>,

    /// Follow links to folders (a link that leads back to a folder above is reported,
    /// not followed).
    #[arg(short = 'L', long)]
    pub follow_links: bool,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Folders to walk, image files, or - for a list of paths on stdin (one a line, or
    /// NUL-separated).
    #[arg(required_unless_present = "from_file", value_name = "DIR|FILE|-")]
    pub inputs: Vec<PathBuf>,

    #[command(flatten)]
    pub walk: WalkArgs,

    /// Separate paths with NUL instead of newline (for `xargs -0`; names may hold newlines).
    #[arg(short = '0', long = "print0")]
    pub print0: bool,

    #[arg(long, value_name = "K/N|auto", help = SHARD_HELP)]
    pub shard: Option<Shard>,
}

const INFER_AFTER_HELP: &str = "\
Each record is one JSON line: {\"path\", \"width\", \"height\", \"model\", \"detections\":
[{\"class_id\", \"label\", \"score\", \"bbox\": [x1, y1, x2, y2]}], \"error\"}, with boxes in pixels
of the original image. An image that cannot be read gets a record with \"error\" set and a
warning on stderr; the run goes on and exits with code 3.

Models: a .onnx file, an AnyLabeling / X-AnyLabeling model config (.yaml), or a catalogue
name (`anylabel models list`). A config's thresholds, size and classes are the defaults
that flags override.

Examples:
  anylabel infer ./images --model nudenet-320n -o results.jsonl
  anylabel infer ./scans --model yolov8n-doclaynet --classes Table,Picture --conf 0.4
  find . -name '*.jpg' | anylabel infer - --model my_model.yaml
  anylabel infer ./images --model nudenet-320n --shard 2/4 -o out-2.jsonl   # then `anylabel merge`

Backends: --backend auto (the default) tries TensorRT, then CUDA, then the CPU;
--backend cuda|trt is an error, not a fall-back, where it cannot start, and the error
says why (`anylabel doctor` checks a machine). TensorRT builds an engine for the model,
GPU, precision and batch the first time (minutes) and keeps it in ~/.anylabeling/trt/.
  anylabel infer ./images --model yolov8n.onnx --backend trt --precision fp16 --batch 8
  anylabel infer ./images --model yolov8n.onnx --backend cuda --device 1

Defaults for --model, --conf, --iou, --imgsz, --batch, --workers, --threads, --backend and
--device come from ANYLABEL_MODEL, ANYLABEL_CONF... and ~/.anylabeling/config.toml: see
`anylabel config --help`.";

#[derive(Debug, Args)]
pub struct InferArgs {
    /// Folders to walk, image files, or - for a list of paths on stdin (one a line, or
    /// NUL-separated).
    #[arg(required_unless_present = "from_file", value_name = "DIR|FILE|-")]
    pub inputs: Vec<PathBuf>,

    #[command(flatten)]
    pub walk: WalkArgs,

    /// The model: a .onnx file, a model config .yaml, or a catalogue name.
    #[arg(short, long, value_name = "MODEL")]
    pub model: String,

    /// Input size: N for N×N, or H,W. Default: the model's fixed size, else the config's, else 640.
    #[arg(long, value_name = "N|H,W", value_parser = parse_imgsz)]
    pub imgsz: Option<[u32; 2]>,

    /// Keep detections with a score above this. Default: the config's, else 0.25.
    #[arg(long, value_name = "F", value_parser = parse_unit)]
    pub conf: Option<f32>,

    /// IoU above which NMS drops the lower-scoring box. Default: the config's, else 0.45.
    #[arg(long, value_name = "F", value_parser = parse_unit)]
    pub iou: Option<f32>,

    /// At most this many detections per image.
    #[arg(long, value_name = "N", default_value_t = 300, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_det: u32,

    /// Keep only these classes: names or ids, comma-separated. Default: the config's filter_classes.
    #[arg(long, value_name = "C,...", value_delimiter = ',')]
    pub classes: Option<Vec<String>>,

    /// Let boxes of different classes suppress each other in NMS.
    #[arg(long)]
    pub agnostic: bool,

    /// Images per inference call, where the model's batch size is not fixed.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub batch: u32,

    /// Inference threads (0: one per physical core, ONNX Runtime's choice).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub threads: usize,

    /// Decode threads (0: one per CPU).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub workers: usize,

    /// Images decoded ahead of inference (default: two batches, and at least two per decode thread).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub prefetch: Option<u32>,

    /// Refuse images with more pixels than this, before decoding them (decompression bombs).
    #[arg(long, value_name = "N", default_value_t = anylabel::decode::DEFAULT_MAX_PIXELS)]
    pub max_pixels: u64,

    /// Decode every JPEG at full size. By default a JPEG at least three times the size it is
    /// letterboxed to (1920 pixels wide for a 640 model) is decoded at 1/2, 1/4 or 1/8 of
    /// its size by libjpeg-turbo's scaled IDCT, keeping it at least 1.5 times that size: a
    /// 12-megapixel photo decodes 2-3× faster. With this flag the pixels are exactly
    /// OpenCV's imdecode + resize, as they always are for smaller images.
    #[arg(long)]
    pub exact_decode: bool,

    #[command(flatten)]
    pub backend: BackendArgs,

    /// Write the records to this file (atomically, when the run ends) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    #[arg(long, value_name = "K/N|auto", help = SHARD_HELP)]
    pub shard: Option<Shard>,

    /// Neither read nor write the result cache (~/.anylabeling/cache.db, or ANYLABEL_CACHE;
    /// ANYLABEL_CACHE=off is the same as this flag).
    #[arg(long)]
    pub no_cache: bool,

    /// Also write the run's summary as one JSON object to PATH (- for stdout, when the
    /// records go to a file with -o): images, failed, detections, cache hits, seconds per
    /// stage, the exit code.
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    /// The fastest that starts: TensorRT, then CUDA, then the CPU (why each was skipped is
    /// logged; a warning where the machine has an NVIDIA driver).
    Auto,
    /// ONNX Runtime's CPU provider.
    Cpu,
    /// ONNX Runtime's CUDA provider (installs the onnxruntime-gpu build when needed).
    Cuda,
    /// ONNX Runtime's TensorRT provider (TensorRT 10; engines kept in ~/.anylabeling/trt/).
    Trt,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Precision {
    /// 32-bit floats, as on the CPU.
    Fp32,
    /// Half precision: about twice as fast on recent GPUs; scores move slightly.
    Fp16,
    /// 8-bit integers, with the ranges measured on --calib's images (FP16 where a layer
    /// has no INT8 kernel): faster again; scores move more.
    Int8,
}

/// Where the model runs; shared by `infer`, `filter --model` and `bench infer`.
#[derive(Debug, Clone, Args)]
pub struct BackendArgs {
    /// Where the model runs. An explicit backend that cannot start is an error that says
    /// why and what to install (`anylabel doctor` checks the machine); it never falls back
    /// to the CPU.
    #[arg(long, value_enum, default_value_t = Backend::Auto)]
    pub backend: Backend,

    /// The GPU to run on, by index as `nvidia-smi` lists them (after CUDA_VISIBLE_DEVICES).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub device: u32,

    /// TensorRT's precision (--backend trt, or auto when it picks TensorRT).
    #[arg(long, value_enum, default_value_t = Precision::Fp32)]
    pub precision: Precision,

    /// With --precision int8: a folder of images like those to label (a few hundred; at
    /// most 1000 are used) to measure the ranges TensorRT quantizes to. The table is made
    /// on the CPU, once per model, size and image set, and kept under
    /// ~/.anylabeling/trt/calib/.
    #[arg(long, value_name = "DIR")]
    pub calib: Option<std::path::PathBuf>,

    /// Where images are letterboxed. gpu: on the GPU the model runs on, by our CUDA kernel
    /// (bit-identical to the CPU's), straight into the tensor the model reads through ONNX
    /// Runtime's I/O binding, while the model runs the batch before; the decode threads
    /// only decode. auto: gpu when the model runs on a GPU and the kernel starts there, else
    /// the CPU (with a warning when the kernel cannot start); cpu: the decode threads.
    #[arg(long, value_enum, default_value_t = PreprocessAt::Auto)]
    pub preprocess: PreprocessAt,

    /// Where JPEGs are decoded. cpu: libjpeg-turbo on the decode threads, the pixels
    /// OpenCV's imdecode gives. gpu: NVIDIA's nvJPEG on the GPU the model runs on (the
    /// Huffman decoding stays on the decode threads, the rest runs on the GPU, and the
    /// pixels never cross the bus); it needs the GPU letterbox and libnvjpeg.so.13 (`pip
    /// install "nvidia-nvjpeg==13.*"` or the CUDA toolkit). Its pixels differ from
    /// libjpeg-turbo's by a few grey levels, so its results are cached apart. JPEGs it does
    /// not take as they are (grayscale, CMYK, turned by EXIF, large ones decoded reduced)
    /// and other formats are decoded on the CPU.
    #[arg(long, value_enum, default_value_t = DecodeAt::Cpu)]
    pub decode: DecodeAt,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DecodeAt {
    /// libjpeg-turbo on the decode threads.
    Cpu,
    /// nvJPEG on the GPU, where it takes the JPEG as it is.
    Gpu,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PreprocessAt {
    /// The GPU where the model runs on one and our kernel starts there; the CPU otherwise.
    Auto,
    /// The decode threads, into host memory.
    Cpu,
    /// The GPU the model runs on; an error where the kernel cannot start there.
    Gpu,
}

const DOCTOR_AFTER_HELP: &str = "\
Checks, without running a model: the ONNX Runtime library anylabel would use (path,
version, the providers it was built with), the NVIDIA driver and GPUs, each library the
CUDA and TensorRT providers link against (where it was found, or the command that
installs it), and the result cache. Nothing is downloaded.

Exit codes: 0 when the CPU backend works (GPU problems are reported, not failed on);
1 when ONNX Runtime cannot be found or loaded; 5 with --require-gpu when the CUDA
backend (or TensorRT, with --require-gpu trt) cannot start.

Examples:
  anylabel doctor
  anylabel doctor --json | jq .backends
  anylabel doctor --require-gpu trt && anylabel infer ./images -m yolov8n.onnx --backend trt";

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Print the report as one JSON object on stdout.
    #[arg(long)]
    pub json: bool,

    /// Exit with 5 unless this GPU backend can start (cuda, or trt).
    #[arg(long, value_name = "BACKEND", num_args = 0..=1, default_missing_value = "cuda", value_parser = ["cuda", "trt"])]
    pub require_gpu: Option<String>,

    /// The GPU to check, as infer --device.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub device: u32,
}

#[derive(Debug, Subcommand)]
pub enum RuntimeCommand {
    /// Install the official ONNX Runtime build from PyPI into ~/.anylabeling/runtime/ (sha256-checked).
    Install {
        /// The GPU build (onnxruntime-gpu, 256 MB): the CUDA and TensorRT providers.
        #[arg(long)]
        gpu: bool,
    },
    /// Print the ONNX Runtime library anylabel uses (installing it first unless --offline).
    Path,
}

#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// List the catalogue, with each model's licence and whether it is fetched.
    List,
    /// Fetch catalogue models (sha256-checked) so that later runs work offline.
    Fetch {
        #[arg(required = true, value_name = "NAME")]
        names: Vec<String>,
    },
    /// Print where a catalogue model is (fetching it first unless --offline).
    Path {
        #[arg(value_name = "NAME")]
        name: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_cli_is_well_formed() {
        Cli::command().debug_assert();
    }
}
