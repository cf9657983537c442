//! Helpers shared by the tests that run the `qdp` binary.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub fn plugin_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_BIN_EXE_qdp"))
        .parent()
        .unwrap()
        .to_path_buf();
    assert!(
        dir.join("libqdp_market_sim.so").exists(),
        "plugins are missing from {}: run `cargo build --workspace` first (cargo xtask test does)",
        dir.display()
    );
    dir
}

pub fn qdp(cwd: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_qdp"));
    c.current_dir(cwd)
        .env("QDP_PLUGIN_PATH", plugin_dir())
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null());
    c
}

pub fn ok(out: Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "qdp failed: {}\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

pub fn files_with(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_with(&p, ext));
        } else if p.extension().is_some_and(|x| x == ext) {
            out.push(p);
        }
    }
    out
}

/// Every `seq` in the Parquet files under `dir`, read row by row with the
/// parquet crate's record reader (not the Arrow path the sink writes with).
pub fn parquet_seqs(dir: &Path) -> Vec<u64> {
    let mut seqs = Vec::new();
    for f in files_with(dir, "parquet") {
        let reader = SerializedFileReader::new(std::fs::File::open(&f).unwrap()).unwrap();
        let declared = reader.metadata().file_metadata().num_rows();
        let mut n = 0;
        for row in reader.get_row_iter(None).unwrap() {
            let row = row.unwrap();
            let seq = row
                .get_column_iter()
                .find(|(name, _)| name.as_str() == "seq")
                .map(|(_, v)| v.clone());
            match seq {
                Some(Field::ULong(v)) => seqs.push(v),
                Some(Field::Long(v)) => seqs.push(v as u64),
                other => panic!("{}: seq is {other:?}", f.display()),
            }
            n += 1;
        }
        assert_eq!(n, declared, "{}: row count in the footer", f.display());
    }
    seqs
}

/// Waits until at least `n` more committed files exist than `before`, or the child exits.
pub fn wait_for_files(child: &mut Child, out: &Path, before: usize, n: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let now = files_with(out, "parquet").len();
        if now >= before + n || child.try_wait().unwrap().is_some() {
            return now;
        }
        assert!(Instant::now() < deadline, "no progress: {now} files");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A child process that is killed if the test ends (or panics) before it exits.
pub struct Guard(Option<Child>);

impl Guard {
    /// Guards `child`.
    pub fn new(child: Child) -> Self {
        Self(Some(child))
    }

    /// Gives up the guard, for `wait_with_output`.
    pub fn take(mut self) -> Child {
        self.0.take().unwrap()
    }
}

impl std::ops::Deref for Guard {
    type Target = Child;
    fn deref(&self) -> &Child {
        self.0.as_ref().unwrap()
    }
}

impl std::ops::DerefMut for Guard {
    fn deref_mut(&mut self) -> &mut Child {
        self.0.as_mut().unwrap()
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(c) = self.0.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
