//! `--shard K/N` and `merge`: N processes label one folder between them, and the merge of
//! their outputs is the output of one run, byte for byte. Across machines too: a real
//! one-node Slurm cluster runs a job array.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anylabel::scan::{Item, ScanError};
use anylabel::shard::{Shard, select};
use common::{anylabel, anylabel_cached, fixtures, spawnable_cached};
use proptest::prelude::*;

const FAST: [&str; 4] = ["--model", "nudenet-320n", "--imgsz", "320"];

/// A single run over the fixtures, with no cache: what every merge must equal.
fn single_run() -> &'static [u8] {
    static OUT: OnceLock<Vec<u8>> = OnceLock::new();
    OUT.get_or_init(|| {
        let out = anylabel()
            .arg("infer")
            .arg(fixtures())
            .args(FAST)
            .assert()
            .success();
        let stdout = out.get_output().stdout.clone();
        assert_eq!(common::records(&stdout).len(), 50);
        stdout
    })
}

fn merge(dir: &Path, shards: &[PathBuf]) -> Vec<u8> {
    let merged = dir.join("merged.jsonl");
    anylabel()
        .arg("merge")
        .arg("-o")
        .arg(&merged)
        .args(shards)
        .assert()
        .success();
    std::fs::read(merged).unwrap()
}

fn paths(jsonl: &[u8]) -> Vec<String> {
    common::records(jsonl)
        .iter()
        .map(|r| r["path"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn four_concurrent_shards_on_one_cache_merge_into_a_single_run() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cache.db");
    let outputs: Vec<PathBuf> = (0..4)
        .map(|k| dir.path().join(format!("out-{k}.jsonl")))
        .collect();
    let children: Vec<Child> = outputs
        .iter()
        .enumerate()
        .map(|(k, out)| {
            spawnable_cached(&db)
                .arg("infer")
                .arg(fixtures())
                .args(FAST)
                .arg("--shard")
                .arg(format!("{k}/4"))
                .arg("-o")
                .arg(out)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Disjoint, covering, none empty.
    let mut all = BTreeSet::new();
    for out in &outputs {
        let names = paths(&std::fs::read(out).unwrap());
        assert!(!names.is_empty(), "{} is empty", out.display());
        for n in names {
            assert!(all.insert(n.clone()), "{n} is in two shards");
        }
    }
    assert_eq!(all.len(), 50);
    assert!(merge(dir.path(), &outputs) == single_run());

    // The shards' cache answers the whole folder.
    let again = anylabel_cached(&db)
        .arg("infer")
        .arg(fixtures())
        .args(FAST)
        .assert()
        .success();
    assert_eq!(common::cache_hits(&again.get_output().stderr), (50, 50));
    assert!(again.get_output().stdout == single_run());
}

#[test]
fn separate_caches_merge_into_one_that_answers_everything() {
    let dir = tempfile::tempdir().unwrap();
    let mut caches = Vec::new();
    let mut outputs = Vec::new();
    for k in 0..2 {
        let db = dir.path().join(format!("node-{k}.db"));
        let out = dir.path().join(format!("out-{k}.jsonl"));
        anylabel_cached(&db)
            .arg("infer")
            .arg(fixtures())
            .args(FAST)
            .args(["--shard", &format!("{k}/2"), "-o"])
            .arg(&out)
            .assert()
            .success();
        caches.push(db);
        outputs.push(out);
    }
    // Given in the other order, and the first twice: the order of the shards and
    // identical duplicates do not matter.
    let reversed = [outputs[1].clone(), outputs[0].clone(), outputs[1].clone()];
    assert!(merge(dir.path(), &reversed) == single_run());

    let merged = dir.path().join("merged.db");
    anylabel()
        .args(["merge", "--cache", "-o"])
        .arg(&merged)
        .args(&caches)
        .assert()
        .success()
        .stderr(predicates::str::contains("merged 2 caches"));
    let run = anylabel_cached(&merged)
        .arg("infer")
        .arg(fixtures())
        .args(FAST)
        .assert()
        .success();
    let err = String::from_utf8_lossy(&run.get_output().stderr).into_owned();
    assert_eq!(
        common::cache_hits(&run.get_output().stderr),
        (50, 50),
        "{err}"
    );
    assert!(err.contains("the model was not loaded"), "{err}");
    assert!(run.get_output().stdout == single_run());

    // Merging again adds nothing; a file that is no cache is refused.
    let again = anylabel()
        .args(["merge", "--cache", "-o"])
        .arg(&merged)
        .args(&caches)
        .assert()
        .success();
    let text = String::from_utf8_lossy(&again.get_output().stderr).into_owned();
    assert!(
        text.contains("added 0 files, 0 images, 0 params, 0 results, 0 models"),
        "{text}"
    );
    anylabel()
        .args(["merge", "--cache", "-o"])
        .arg(&merged)
        .arg(&outputs[0])
        .assert()
        .code(1);
    // A shard that is not there stops the merge before the target is made.
    let never = dir.path().join("never.db");
    anylabel()
        .args(["merge", "--cache", "-o"])
        .arg(&never)
        .arg(dir.path().join("missing.db"))
        .assert()
        .code(1)
        .stderr(predicates::str::contains("missing.db"));
    assert!(!never.exists());

    // One shard with an image twice: named as a duplicate, not as an order problem.
    let twice = dir.path().join("twice.jsonl");
    let first = String::from_utf8_lossy(single_run())
        .lines()
        .next()
        .unwrap()
        .to_string();
    std::fs::write(&twice, format!("{first}\n{first}\n")).unwrap();
    anylabel()
        .args(["merge"])
        .arg(&twice)
        .assert()
        .code(1)
        .stderr(predicates::str::contains("is there twice (also line 1)"));
}

fn scan_names(root: &Path, shard: Option<&str>) -> Vec<String> {
    let mut cmd = anylabel();
    cmd.arg("scan").arg(root);
    if let Some(s) = shard {
        cmd.args(["--shard", s]);
    }
    let out = cmd.assert().success();
    String::from_utf8(out.get_output().stdout.clone())
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn a_new_file_lands_in_one_shard_and_moves_no_other_and_preload_shards_alike() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("images");
    for i in 0..2000 {
        let p = root.join(format!("d{}/img_{i:05}.jpg", i % 7));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, b"").unwrap();
    }
    let n = 5;
    let before: Vec<Vec<String>> = (0..n)
        .map(|k| scan_names(&root, Some(&format!("{k}/{n}"))))
        .collect();
    let everything = scan_names(&root, None);
    assert_eq!(everything.len(), 2000);
    let mut union: Vec<String> = before.iter().flatten().cloned().collect();
    union.sort();
    let mut sorted = everything.clone();
    sorted.sort();
    assert_eq!(union, sorted, "the shards are not a partition of the scan");
    for shard in &before {
        // Each shard in scan order, and a fair share (400 ± a few standard deviations).
        let in_order: Vec<&String> = everything.iter().filter(|p| shard.contains(p)).collect();
        assert_eq!(in_order, shard.iter().collect::<Vec<_>>());
        assert!((300..=500).contains(&shard.len()), "{}", shard.len());
    }

    // preload takes the same shard: every empty file is reported as undecodable, and
    // exactly shard 2's are.
    let preload = anylabel_cached(&dir.path().join("cache.db"))
        .arg("preload")
        .arg(&root)
        .args(["--shard", &format!("2/{n}")])
        .assert()
        .code(3);
    let mut reported: Vec<String> = String::from_utf8_lossy(&preload.get_output().stdout)
        .lines()
        .map(|l| l.split('\t').next().unwrap().to_string())
        .collect();
    reported.sort();
    let mut expected = before[2].clone();
    expected.sort();
    assert_eq!(reported, expected);

    std::fs::write(root.join("d3/added.jpg"), b"").unwrap();
    let after: Vec<Vec<String>> = (0..n)
        .map(|k| scan_names(&root, Some(&format!("{k}/{n}"))))
        .collect();
    let mut grown = 0;
    for (b, a) in before.iter().zip(&after) {
        if a == b {
            continue;
        }
        grown += 1;
        let added: Vec<&String> = a.iter().filter(|p| !b.contains(p)).collect();
        assert_eq!(added.len(), 1);
        assert!(added[0].ends_with("d3/added.jpg"));
        assert_eq!(a.len(), b.len() + 1);
    }
    assert_eq!(grown, 1);
}

#[test]
fn a_shard_that_does_not_exist_is_a_usage_error() {
    for bad in ["4/4", "0/0", "1", "x/2", "-1/2"] {
        anylabel()
            .arg("scan")
            .arg(fixtures())
            .arg(format!("--shard={bad}"))
            .assert()
            .code(2)
            .stderr(predicates::str::contains("--shard"));
    }
    anylabel()
        .arg("infer")
        .arg(fixtures())
        .args(FAST)
        .args(["--shard", "3/3"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("K must be below N"));
    anylabel()
        .arg("scan")
        .arg(fixtures())
        .args(["--shard", "auto"])
        .env_remove("SLURM_ARRAY_TASK_ID")
        .env_remove("JOB_COMPLETION_INDEX")
        .assert()
        .code(2);
}

proptest! {
    // An integration test has no lib.rs beside it for proptest to find: say where
    // failures are kept.
    #![proptest_config(ProptestConfig {
        failure_persistence: Some(Box::new(proptest::test_runner::FileFailurePersistence::Direct(
            "proptest-regressions/shard.txt",
        ))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn shards_are_disjoint_and_cover_everything(
        names in proptest::collection::hash_set("[a-zA-Z0-9_.é /-]{1,30}", 0..300),
        count in 1u64..40,
    ) {
        let items: Vec<Result<Item, ScanError>> = names
            .iter()
            .map(|n| Ok(Item { path: n.into(), name: n.clone() }))
            .collect();
        let mut seen = std::collections::HashMap::new();
        for index in 0..count {
            let shard = Shard::new(index, count).unwrap();
            let kept: Vec<String> = select(items.clone().into_iter(), Some(shard))
                .map(|i| i.unwrap().name)
                .collect();
            // In the scan's order.
            let expected: Vec<String> = items
                .iter()
                .map(|i| i.as_ref().unwrap().name.clone())
                .filter(|n| shard.contains(n))
                .collect();
            prop_assert_eq!(&kept, &expected);
            for name in kept {
                prop_assert!(seen.insert(name.clone(), index).is_none(), "{} in two shards", name);
            }
        }
        prop_assert_eq!(seen.len(), names.len());
    }
}

/// A one-node Slurm cluster (munged, slurmctld, slurmd) in a temporary folder, stopped
/// when dropped, whatever happened.
struct Cluster {
    dir: tempfile::TempDir,
    conf: PathBuf,
    daemons: Vec<(&'static str, Child)>,
}

impl Cluster {
    fn start() -> Cluster {
        for program in ["munged", "slurmctld", "slurmd", "sbatch", "sinfo"] {
            if which(program).is_none() {
                panic!(
                    "{program} is not installed: this test runs a real Slurm cluster; install \
                     Debian's slurm-wlm and munge (`apt-get install -y slurm-wlm munge`; \
                     scripts/test.sh does it when it can)"
                );
            }
        }
        let dir = tempfile::Builder::new().prefix("slurm").tempdir().unwrap();
        let d = dir.path().to_path_buf();
        let mut cluster = Cluster {
            conf: d.join("slurm.conf"),
            dir,
            daemons: Vec::new(),
        };
        for sub in ["state", "spool"] {
            std::fs::create_dir(d.join(sub)).unwrap();
        }
        let mut key = [0u8; 1024];
        std::io::Read::read_exact(&mut std::fs::File::open("/dev/urandom").unwrap(), &mut key)
            .unwrap();
        std::fs::write(d.join("munge.key"), key).unwrap();
        set_mode(&d.join("munge.key"), 0o600);
        let socket = d.join("munge.sock");
        let munged = Command::new("munged")
            .arg("--foreground")
            .arg("--force")
            .arg(format!("--key-file={}", d.join("munge.key").display()))
            .arg(format!("--socket={}", socket.display()))
            .arg(format!("--pid-file={}", d.join("munged.pid").display()))
            .arg(format!("--log-file={}", d.join("munged.log").display()))
            .arg(format!("--seed-file={}", d.join("munged.seed").display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("munged starts");
        cluster.daemons.push(("munged", munged));
        cluster.wait_for("munged's socket", || socket.exists());

        // The node as slurmd sees it: its name, CPUs, sockets, cores, memory.
        let probe = Command::new("slurmd").arg("-C").output().unwrap();
        let node_line = String::from_utf8_lossy(&probe.stdout)
            .lines()
            .next()
            .unwrap_or_default()
            .to_string();
        let node = node_line
            .split_whitespace()
            .find_map(|f| f.strip_prefix("NodeName="))
            .unwrap_or_else(|| panic!("slurmd -C printed no NodeName: {node_line}"))
            .to_string();
        let [ctld_port, slurmd_port] = [free_port(), free_port()];
        let conf = format!(
            "ClusterName=anylabeltest
SlurmctldHost={node}
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser={user}
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={socket}
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
StateSaveLocation={d}/state
SlurmdSpoolDir={d}/spool
SlurmctldPidFile={d}/slurmctld.pid
SlurmdPidFile={d}/slurmd.pid
SlurmctldLogFile={d}/slurmctld.log
SlurmdLogFile={d}/slurmd.log
{node_line} NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes={node} Default=YES MaxTime=INFINITE State=UP
",
            user = whoami(),
            socket = socket.display(),
            d = d.display(),
        );
        std::fs::write(&cluster.conf, conf).unwrap();
        for (name, args) in [
            ("slurmctld", vec!["-D", "-i"]),
            ("slurmd", vec!["-D", "-N", node.as_str()]),
        ] {
            let child = Command::new(name)
                .args(args)
                .env("SLURM_CONF", &cluster.conf)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("{name} does not start: {e}"));
            cluster.daemons.push((name, child));
        }
        cluster.wait_for("the node to be idle", || {
            cluster
                .command("sinfo")
                .args(["-h", "-o", "%T"])
                .output()
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "idle")
        });
        cluster
    }

    /// A Slurm client command talking to this cluster.
    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.env("SLURM_CONF", &self.conf);
        cmd
    }

    fn wait_for(&self, what: &str, ready: impl Fn() -> bool) {
        let started = Instant::now();
        while !ready() {
            if started.elapsed() > Duration::from_secs(60) {
                panic!("waited a minute for {what}:\n{}", self.logs());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn logs(&self) -> String {
        let mut text = String::new();
        for log in ["munged.log", "slurmctld.log", "slurmd.log"] {
            let body = std::fs::read_to_string(self.dir.path().join(log)).unwrap_or_default();
            let tail: Vec<&str> = body.lines().rev().take(15).collect();
            text += &format!("--- {log}\n");
            for l in tail.into_iter().rev() {
                text += l;
                text.push('\n');
            }
        }
        text
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Jobs first (this cluster's only), then the daemons, the last started first.
        let _ = self
            .command("scancel")
            .arg(format!("--user={}", whoami()))
            .stderr(Stdio::null())
            .status();
        while let Some((_, mut child)) = self.daemons.pop() {
            unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
            let started = Instant::now();
            while child.try_wait().ok().flatten().is_none() {
                if started.elapsed() > Duration::from_secs(10) {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .chain(["/usr/sbin", "/sbin"])
        .map(|d| Path::new(d).join(program))
        .find(|p| p.is_file())
}

fn whoami() -> String {
    let out = Command::new("id").arg("-un").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn a_slurm_job_array_labels_the_fixtures_and_merges_into_a_single_run() {
    let expected = single_run();
    let started = Instant::now();
    let cluster = Cluster::start();
    eprintln!(
        "the cluster came up in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let work = cluster.dir.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let script = work.join("label.sbatch");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh
#SBATCH --array=0-3
#SBATCH --output=slurm-%a.out
exec '{bin}' --quiet infer '{images}' --model nudenet-320n --imgsz 320 \\
    --shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT -o out-$SLURM_ARRAY_TASK_ID.jsonl
",
            bin = assert_cmd::cargo::cargo_bin("anylabel").display(),
            images = fixtures().display(),
        ),
    )
    .unwrap();
    let submitted = Instant::now();
    let sbatch = cluster
        .command("sbatch")
        .arg("--wait")
        .arg(format!("--chdir={}", work.display()))
        .arg(&script)
        .env("ANYLABEL_HOME", common::home())
        .env("ANYLABEL_CACHE", cluster.dir.path().join("cache.db"))
        .env_remove("ORT_DYLIB_PATH")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let task_logs: String = (0..4)
        .map(|k| std::fs::read_to_string(work.join(format!("slurm-{k}.out"))).unwrap_or_default())
        .collect();
    assert!(
        sbatch.status.success(),
        "sbatch: {}{}\ntasks: {task_logs}\n{}",
        String::from_utf8_lossy(&sbatch.stdout),
        String::from_utf8_lossy(&sbatch.stderr),
        cluster.logs()
    );
    eprintln!(
        "the array ran in {:.1} s",
        submitted.elapsed().as_secs_f64()
    );
    let outputs: Vec<PathBuf> = (0..4)
        .map(|k| work.join(format!("out-{k}.jsonl")))
        .collect();
    for out in &outputs {
        assert!(
            out.is_file(),
            "{} is missing; tasks: {task_logs}",
            out.display()
        );
    }
    assert!(merge(&work, &outputs) == expected);
}
