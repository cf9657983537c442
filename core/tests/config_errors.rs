//! Bad configuration is reported before anything runs, with file, line, key and fix.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use qdp_core::{Error, Pipeline};

async fn errors(text: &str) -> Vec<String> {
    match Pipeline::from_toml_str("bad.toml", text, common::registry()).await {
        Err(Error::Config(e)) => e.0.iter().map(|e| e.to_string()).collect(),
        Err(e) => panic!("expected config errors, got {e}"),
        Ok(_) => panic!("expected config errors, got a valid pipeline"),
    }
}

const GOOD_SOURCE: &str = "[sources.src]\ntype = \"test_count\"\ncount = 10\nbatch_rows = 5\n";

#[tokio::test]
async fn unknown_type_suggests_the_closest() {
    let e = errors("[sources.src]\ntype = \"test_cont\"\ncount = 1\n").await;
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].starts_with("bad.toml:2:1: `sources.src.type`: unknown component type `test_cont`"),
        "{}",
        e[0]
    );
    assert!(e[0].contains("did you mean `test_count`?"), "{}", e[0]);
}

#[tokio::test]
async fn unknown_keys_are_reported_together() {
    let text = format!(
        "{GOOD_SOURCE}[pipeline]\nnmae = \"p\"\n[sinks.out]\ntype = \"test_mem\"\ninputs = [\"src\"]\nname = \"x\"\n[sinks.out.batch]\nmax_row = 5\n"
    );
    let e = errors(&text).await;
    assert_eq!(e.len(), 2, "{e:?}");
    assert!(
        e[0].starts_with("bad.toml:6:1: `pipeline.nmae`: unknown key")
            && e[0].contains("did you mean `name`?"),
        "{e:?}"
    );
    assert!(
        e[1].starts_with("bad.toml:12:1: `sinks.out.batch.max_row`: unknown key")
            && e[1].contains("did you mean `max_rows`?"),
        "{e:?}"
    );
}

#[tokio::test]
async fn dangling_inputs_suggest_a_producer() {
    let text = format!(
        "{GOOD_SOURCE}[sinks.out]\ntype = \"test_mem\"\ninputs = [\"srcc\"]\nname = \"x\"\n"
    );
    let e = errors(&text).await;
    assert!(
        e.iter().any(|m| m
            .starts_with("bad.toml:7:11: `sinks.out.inputs`: input `srcc` does not exist")
            && m.contains("did you mean `src`?")),
        "{e:?}"
    );
}

#[tokio::test]
async fn options_are_checked_against_the_component_schema_without_echoing_values() {
    let text = "[sources.src]\ntype = \"test_count\"\ncount = \"s3cr3t-value\"\nbatch_rows = 5\ncolour = 1\n";
    let e = errors(text).await;
    assert!(
        e.iter()
            .any(|m| m.starts_with("bad.toml:3:1: `sources.src.count`")),
        "{e:?}"
    );
    assert!(
        e.iter()
            .any(|m| m
                .starts_with("bad.toml:5:1: `sources.src.colour`: unknown option of `test_count`")),
        "{e:?}"
    );
    assert!(
        e.iter().all(|m| !m.contains("s3cr3t-value")),
        "a value was echoed: {e:?}"
    );
}

#[tokio::test]
async fn cycles_are_refused() {
    let text = format!(
        "{GOOD_SOURCE}[transforms.a]\ntype = \"test_mem\"\ninputs = [\"b\"]\n[transforms.b]\ntype = \"test_mem\"\ninputs = [\"a\"]\n"
    );
    let e = errors(&text).await;
    assert!(
        e.iter()
            .any(|m| m.contains("inputs form a cycle: a -> b -> a")),
        "{e:?}"
    );
}

#[tokio::test]
async fn a_sink_in_the_wrong_section_and_a_wrong_category_are_refused() {
    let e = errors("[sources.src]\ntype = \"test_mem\"\nname = \"x\"\n").await;
    assert!(
        e[0].contains("`test_mem` is a sink, but it is declared under [sources]"),
        "{e:?}"
    );
}

#[tokio::test]
async fn missing_environment_variables_name_the_key() {
    let e = errors("[sources.src]\ntype = \"test_count\"\ncount = 1\nbatch_rows = 1\ntag = \"${QDP_TEST_SURELY_UNSET_VAR}\"\n").await;
    assert!(e[0].starts_with("bad.toml:5:7: `sources.src.tag`: environment variable `QDP_TEST_SURELY_UNSET_VAR` is not set"), "{e:?}");
}

#[tokio::test]
async fn syntax_errors_have_a_position() {
    let e = errors("[sources.src\ntype = 1\n").await;
    assert!(e[0].starts_with("bad.toml:1:"), "{e:?}");
}

#[tokio::test]
async fn bad_parallelism_is_refused_with_the_forms_that_work() {
    for (value, why) in [
        ("0", "must be between 1 and 256"),
        ("\"fast\"", "unknown value"),
        ("{ min = 4, max = 2 }", "needs 1 <= min <= max <= 256"),
        ("{ min = 1, mx = 2 }", "unknown key"),
    ] {
        let text = format!(
            "{GOOD_SOURCE}[sinks.out]\ntype = \"test_mem\"\ninputs = [\"src\"]\nname = \"x\"\nparallelism = {value}\n"
        );
        let e = errors(&text).await;
        assert!(
            e.iter()
                .any(|m| m.contains("`sinks.out.parallelism") && m.contains(why)),
            "{value}: {e:?}"
        );
    }
    let text = format!("{GOOD_SOURCE}parallelism = 2\n");
    let e = errors(&text).await;
    assert!(
        e.iter()
            .any(|m| m.contains("`sources.src.parallelism`") && m.contains("only sinks")),
        "{e:?}"
    );
}
