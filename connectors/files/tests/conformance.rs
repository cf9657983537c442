//! The SDK conformance kit against the built `files` library.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::drop_file;
use qdp_sdk::conformance;
use serde_json::json;

#[test]
fn the_files_source_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("drop");
    std::fs::create_dir(&folder).unwrap();
    drop_file(
        &folder.join("clients_1.csv"),
        b"id,name\n1,Acme\n2,Borealis\n",
    );
    drop_file(&folder.join("clients_2.csv"), b"id,name\n3,Cirrus\n");
    drop_file(
        &folder.join("clients_3.csv"),
        b"id,name\n4,Delta\n5,Echo,extra\n",
    );
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    conformance::source(
        conformance::built_library("qdp_files").unwrap(),
        json!({ "folder": folder, "datasets": { "clients": "clients_*.csv" } }),
    )
    .bad_options(json!({ "folder": folder, "datasets": {} }))
    .bad_options(json!({ "folder": folder, "datasets": { "Clients": "c*.csv" } }))
    .bad_options(json!({ "folder": folder, "datasets": { "c": "c*.csv" }, "settle": "soon" }))
    .bad_options(json!({ "folder": folder, "datasets": { "c": "c*.csv" }, "delimiter": ";;" }))
    .bad_options(json!({ "folder": folder, "datasets": { "c": "c*.csv" }, "encoding": "latin9" }))
    .bad_options(json!({ "folder": folder, "datasets": { "c": "c*.csv" }, "header_row": 0 }))
    .bad_options(
        json!({ "folder": folder, "datasets": { "c": { "pattern": "c*.csv", "header_row": 0 } } }),
    )
    .bad_options(
        json!({ "folder": folder, "datasets": { "c": { "pattern": "c*.csv", "colour": "red" } } }),
    )
    .empty_options(json!({ "folder": empty, "datasets": { "clients": "clients_*.csv" } }))
    .run()
    .assert_passed();
}
