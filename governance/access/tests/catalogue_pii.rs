//! `postgres.pipelines`: the PII columns come from the pipelines' catalogue,
//! and a pattern matching no file is refused before anything runs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use qdp_access::Policy;
use qdp_access::postgres::CataloguePii;
use std::collections::BTreeSet;
use std::path::Path;

const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples");

fn set(cols: &[&str]) -> BTreeSet<String> {
    cols.iter().map(|c| c.to_string()).collect()
}

#[test]
fn the_example_pipelines_flag_client_contacts_outside_category_tables() {
    let dir = Path::new(EXAMPLES).join("pipelines");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let pii = CataloguePii::from_pipelines(&files).unwrap();
    let contacts = set(&["contact_email", "contact_name"]);
    for table in [
        "bronze.clients",
        "silver.bronze_clients_unqualified",
        "silver.client_accounts",
    ] {
        assert_eq!(
            pii.columns.get(table),
            Some(&contacts),
            "{table} in {:#?}",
            pii.columns
        );
    }
    assert!(
        pii.columns
            .get("gold.client_contact")
            .is_some_and(|c| c.contains("contact_email")),
        "{:#?}",
        pii.columns
    );
    assert!(!pii.columns.contains_key("gold.dim_client"));
    assert!(
        !pii.columns
            .keys()
            .any(|t| t.contains("numeric_economic_data")),
        "market data holds no personal data: {:#?}",
        pii.columns
    );
    // Bronze and silver hold PII tables; gold only security_invoker views.
    assert_eq!(pii.table_schemas, set(&["bronze", "silver"]));
}

#[test]
fn no_pipelines_means_no_catalogue_pii() {
    assert_eq!(
        CataloguePii::from_pipelines(&[]).unwrap(),
        CataloguePii::default()
    );
}

fn parse_at(path: &Path, text: &str) -> Result<Policy, String> {
    Policy::parse(path, text, &|_| None).map_err(|e| e.to_string())
}

#[test]
fn pipeline_patterns_resolve_relative_to_the_policy_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("pipelines")).unwrap();
    for f in ["b.toml", "a.toml", "notes.txt"] {
        std::fs::write(dir.path().join("pipelines").join(f), "").unwrap();
    }
    let text = "[postgres]\nurl = \"postgres://x@h/db\"\npipelines = [\"pipelines/*.toml\", \"pipelines/a.toml\"]\n";
    let p = parse_at(&dir.path().join("access.toml"), text).unwrap();
    let files = &p.spec.postgres.unwrap().pipeline_files;
    let names: Vec<_> = files
        .iter()
        .map(|f| f.strip_prefix(dir.path()).unwrap().display().to_string())
        .collect();
    assert_eq!(names, ["pipelines/a.toml", "pipelines/b.toml"]);
}

#[test]
fn a_pipeline_pattern_matching_nothing_is_an_error_with_a_fix() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("access.toml");
    let text = "[postgres]\nurl = \"postgres://x@h/db\"\npipelines = [\"pipelnes/*.toml\", \"a/*/b.toml\"]\n";
    let e = parse_at(&policy, text).unwrap_err();
    assert!(e.contains("access.toml:3:"), "{e}");
    assert!(
        e.contains("postgres.pipelines") && e.contains("`pipelnes/*.toml` matches no file"),
        "{e}"
    );
    assert!(e.contains("relative to the policy file's folder"), "{e}");
    assert!(e.contains("only the file name may hold `*`"), "{e}");
}
