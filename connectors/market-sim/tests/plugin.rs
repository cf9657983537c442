//! The built plugin library, loaded through the host's dynamic loader:
//! determinism, resume from a checkpoint, contiguous sequence numbers,
//! option and checkpoint errors, and panic containment.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use qdp_sdk::arrow::array::{AsArray, RecordBatch};
use qdp_sdk::arrow::datatypes::{Float64Type, Int64Type, UInt64Type};
use qdp_sdk::ffi::host::{ForeignInstance, Kind, PluginLibrary, Polled};
use qdp_sdk::{Checkpoint, Context, ErrorDomain};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

fn library() -> Arc<PluginLibrary> {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|d| d.parent()).unwrap();
    let path = dir.join("libqdp_market_sim.so");
    assert!(
        path.exists(),
        "{} is missing: cargo builds it with `cargo build -p qdp-market-sim`",
        path.display()
    );
    PluginLibrary::open(&path).unwrap()
}

fn options() -> serde_json::Value {
    json!({ "seed": 11, "rate": 0, "batch_size": 500, "max_ticks": 5_000, "start_time": "2026-11-25T14:30:00Z", "invalid_ratio": 0.01 })
}

fn instance(opts: &serde_json::Value) -> ForeignInstance {
    library()
        .instantiate(Kind::Source, opts, &Context::default())
        .unwrap()
}

fn drain(inst: &mut ForeignInstance) -> Vec<(RecordBatch, Checkpoint)> {
    let mut out = Vec::new();
    loop {
        match inst.poll(Duration::from_secs(10)).unwrap() {
            Polled::Batch(b) => out.push((b.data, b.checkpoint)),
            Polled::Pending => {}
            Polled::End => return out,
        }
    }
}

#[test]
fn descriptor_and_declared_schema_match_the_batches() {
    let lib = library();
    assert_eq!(lib.info().name, "market_sim");
    assert_eq!(lib.info().kind, Kind::Source);
    let mut a = instance(&options());
    let decl = a.outputs(&[]).unwrap();
    a.start(None).unwrap();
    let batches = drain(&mut a);
    assert_eq!(batches.len(), 10);
    for (b, _) in &batches {
        assert_eq!(
            b.schema().as_ref(),
            decl[0].schema.as_ref().unwrap().as_ref()
        );
    }
    assert!(
        matches!(a.poll(Duration::from_secs(1)).unwrap(), Polled::End),
        "End repeats"
    );
    a.shutdown().unwrap();
}

#[test]
fn ticks_are_realistic_and_sequence_numbers_contiguous() {
    let mut a = instance(&options());
    a.start(None).unwrap();
    let batches = drain(&mut a);
    let mut next = 0;
    let mut invalid = 0;
    for (b, _) in &batches {
        for s in b
            .column_by_name("seq")
            .unwrap()
            .as_primitive::<UInt64Type>()
            .values()
        {
            assert_eq!(*s, next);
            next += 1;
        }
        let roots = b.column_by_name("root").unwrap().as_string::<i32>();
        let prices = b
            .column_by_name("price")
            .unwrap()
            .as_primitive::<Float64Type>();
        let sizes = b
            .column_by_name("size")
            .unwrap()
            .as_primitive::<Int64Type>();
        for i in 0..b.num_rows() {
            let tick = match roots.value(i) {
                "CL" | "BZ" => 0.01,
                "NG" => 0.001,
                "HO" | "RB" => 0.0001,
                "ES" => 0.25,
                r => panic!("root {r}"),
            };
            let p = prices.value(i);
            assert!(p > 0.0);
            assert!(
                ((p / tick) - (p / tick).round()).abs() < 1e-6,
                "{p} is not a multiple of {tick}"
            );
            if sizes.value(i) < 1 {
                invalid += 1;
            }
        }
        let ts = b
            .column_by_name("ts_event_ns")
            .unwrap()
            .as_primitive::<Int64Type>();
        assert!(ts.values().windows(2).all(|w| w[0] <= w[1]));
        assert!(
            b.column_by_name("symbol")
                .unwrap()
                .as_string::<i32>()
                .iter()
                .flatten()
                .any(|s| s.ends_with("Z6"))
        );
    }
    assert_eq!(next, 5_000);
    assert!(
        invalid > 0 && invalid < 50,
        "about a third of 1% are negative sizes, got {invalid}"
    );
}

#[test]
fn resuming_from_a_checkpoint_replays_exactly_the_same_batches() {
    let mut a = instance(&options());
    a.start(None).unwrap();
    let first = drain(&mut a);
    let mut b = instance(&options());
    b.start(Some(&first[3].1)).unwrap();
    let resumed = drain(&mut b);
    assert_eq!(resumed.len(), first.len() - 4);
    for ((x, cx), (y, cy)) in first[4..].iter().zip(&resumed) {
        assert_eq!(x, y);
        assert_eq!(cx, cy);
    }
    let mut c = instance(&options());
    c.start(None).unwrap();
    assert_eq!(
        drain(&mut c)[0].0,
        first[0].0,
        "the same seed gives the same ticks"
    );
}

#[test]
fn bad_options_and_checkpoints_are_config_errors() {
    let lib = library();
    for bad in [
        json!({ "batch_size": 0 }),
        json!({ "rate": -1 }),
        json!({ "symbols": ["XX"] }),
        json!({ "colour": 1 }),
    ] {
        let e = lib
            .instantiate(Kind::Source, &bad, &Context::default())
            .unwrap_err();
        assert_eq!(e.domain, ErrorDomain::Config, "{bad}: {e}");
    }
    let mut a = instance(&options());
    let e = a.start(Some(&Checkpoint(vec![1, 2, 3]))).unwrap_err();
    assert_eq!(e.domain, ErrorDomain::Config);
    assert!(e.message.contains("checkpoint"), "{e}");
    let e = lib
        .instantiate(Kind::Sink, &options(), &Context::default())
        .unwrap_err();
    assert!(
        e.message.contains("is a source, but it is used as a sink"),
        "{e}"
    );
}

#[test]
fn a_panic_inside_the_plugin_is_contained() {
    let e = library().probe_panic().unwrap();
    assert_eq!(e.domain, ErrorDomain::Internal);
    assert!(e.message.contains("plugin panicked"), "{e}");
}
