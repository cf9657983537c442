//! `qdp buffer inspect DIR` and `qdp buffer verify DIR [--repair]`.

use clap::Subcommand;
use qdp_core::buffer::{inspect, verify};
use std::path::PathBuf;

/// Buffer subcommands.
#[derive(Subcommand)]
pub enum BufferCommand {
    /// Segments, consumers' cursors, pending rows and bytes, oldest age.
    Inspect {
        /// The buffer directory (default location: <data_dir>/buffers/<component id>).
        dir: PathBuf,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Check every record's checksum; report the first bad one.
    Verify {
        /// The buffer directory.
        dir: PathBuf,
        /// Truncate a torn tail left by a crash (other damage is never cut).
        #[arg(long)]
        repair: bool,
    },
}

/// Runs a buffer subcommand.
pub fn main(cmd: BufferCommand) -> Result<(), String> {
    match cmd {
        BufferCommand::Inspect { dir, json } => {
            let i = inspect(&dir).map_err(|e| format!("error: {e}"))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&i).unwrap_or_default());
                return Ok(());
            }
            println!("buffer {}: next record {}", dir.display(), i.next_index);
            println!(
                "{:<28} {:>20} {:>9} {:>12} {:>12}",
                "segment", "first", "records", "rows", "bytes"
            );
            for s in &i.segments {
                let name = s
                    .path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                println!(
                    "{name:<28} {:>20} {:>9} {:>12} {:>12}",
                    s.first, s.records, s.rows, s.bytes
                );
            }
            println!(
                "{:<28} {:>20} {:>9} {:>12} {:>12} {:>10}",
                "consumer", "next", "pending", "rows", "bytes", "oldest_s"
            );
            for c in &i.cursors {
                let age = c
                    .oldest_age_s
                    .map_or("-".to_string(), |a| format!("{a:.1}"));
                println!(
                    "{:<28} {:>20} {:>9} {:>12} {:>12} {age:>10}",
                    c.name, c.next, c.pending_records, c.pending_rows, c.pending_bytes
                );
            }
            Ok(())
        }
        BufferCommand::Verify { dir, repair } => {
            let r = verify(&dir, repair).map_err(|e| format!("error: {e}"))?;
            match r.problem {
                None => {
                    println!(
                        "ok: {} records in {} segments, every checksum matches",
                        r.records, r.segments
                    );
                    Ok(())
                }
                Some((seg, p)) if p.torn && r.repaired => {
                    println!(
                        "repaired: truncated a torn tail of {} at byte {} ({}); {} records before it are intact",
                        seg.display(),
                        p.offset,
                        p.reason,
                        r.records
                    );
                    Ok(())
                }
                Some((seg, p)) => {
                    let what = if p.torn { "torn tail" } else { "bad record" };
                    let fix = if p.torn {
                        "a crash left it; run again with --repair to truncate it (those records were never acknowledged)"
                    } else {
                        "the data is damaged; the records from here on cannot be trusted, and qdp refuses to read past it"
                    };
                    Err(format!(
                        "{what} in {} at byte {}: {} ({} good records before it)\n{fix}",
                        seg.display(),
                        p.offset,
                        p.reason,
                        r.records
                    ))
                }
            }
        }
    }
}
