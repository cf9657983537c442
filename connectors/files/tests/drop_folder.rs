//! The files source on real files in a temp drop folder: CSV and XLSX into
//! bronze with metadata, raw objects, loading once, settling, rejects, and
//! the move to the archive only on acknowledgement.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use qdp_sdk::Source;
use qdp_sdk::raw;
use serde_json::json;
use std::time::Duration;

const CLIENTS: &[u8] =
    b"Client ID,Name,Country,Since\n1,\"Acme, Inc.\",NO,2019-03-01\n2,Borealis,,2021-11-15\n";

#[tokio::test]
async fn csv_and_xlsx_become_bronze_rows_and_raw_objects() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path();
    drop_file(&folder.join("clients_2026-05.csv"), CLIENTS);
    let xlsx = suppliers_xlsx();
    drop_file(&folder.join("suppliers_may.xlsx"), &xlsx);
    drop_file(&folder.join("notes.txt"), b"not a dataset");

    let mut s = source(json!({
        "folder": folder,
        "datasets": { "clients": "clients*.csv", "suppliers": "suppliers_*.xlsx" },
    }));
    let ports: Vec<(Option<String>, String)> = s
        .outputs()
        .into_iter()
        .map(|d| (d.port, d.category))
        .collect();
    assert!(ports.contains(&(Some("raw_object".into()), "raw_object".into())));
    assert!(ports.contains(&(Some("bronze_clients".into()), "bronze_clients".into())));
    assert!(ports.contains(&(
        Some("unqualified".into()),
        "bronze_suppliers_unqualified".into()
    )));

    let batches = pass(&mut s, None).await;
    let cats: Vec<&str> = batches.iter().map(|b| b.category.as_str()).collect();
    assert_eq!(
        cats,
        [
            "raw_object",
            "bronze_clients",
            "raw_object",
            "bronze_suppliers"
        ]
    );
    assert!(batches.iter().all(|b| b.source_system == "files"));

    // Raw objects: the bytes as dropped, named by file.
    let raw_clients = raw::from_batch(&batches[0].data).unwrap();
    assert_eq!(raw_clients[0].content, CLIENTS);
    assert_eq!(raw_clients[0].object_name, "clients_2026-05.csv");
    assert_eq!(raw_clients[0].extension, "csv");
    assert_eq!(raw::from_batch(&batches[2].data).unwrap()[0].content, xlsx);

    // Bronze: metadata first, then the header as lower_snake text columns.
    let c = &batches[1].data;
    assert_eq!(
        names(c),
        [
            "_row_id",
            "_source_object",
            "_source_sha256",
            "_row_number",
            "client_id",
            "name",
            "country",
            "since"
        ]
    );
    let sha = raw::sha256_hex(CLIENTS);
    assert_eq!(
        column(c, "_row_id"),
        [Some(format!("{sha}:2")), Some(format!("{sha}:3"))]
    );
    assert_eq!(
        column(c, "_source_object")[0].as_deref(),
        Some("clients_2026-05.csv")
    );
    assert_eq!(
        column(c, "_source_sha256")[1].as_deref(),
        Some(sha.as_str())
    );
    assert_eq!(
        column(c, "_row_number"),
        [Some("2".into()), Some("3".into())]
    );
    assert_eq!(
        column(c, "name"),
        [Some("Acme, Inc.".into()), Some("Borealis".into())]
    );
    assert_eq!(column(c, "country"), [Some("NO".into()), None]);
    for f in c.schema().fields() {
        assert_eq!(f.is_nullable(), !f.name().starts_with('_'), "{}", f.name());
    }

    let x = &batches[3].data;
    assert_eq!(
        names(x)[4..],
        [
            "supplier",
            "contract_start",
            "credit_limit_usd",
            "rating",
            "active"
        ]
    );
    assert_eq!(
        column(x, "supplier"),
        [Some("Nordic Steel".into()), Some("Gulf Tankers".into())]
    );
    assert_eq!(
        column(x, "contract_start"),
        [Some("2024-01-15".into()), Some("2025-07-01".into())]
    );
    assert_eq!(
        column(x, "credit_limit_usd"),
        [Some("250000".into()), Some("1250000.5".into())]
    );
    assert_eq!(column(x, "rating"), [Some("0.3".into()), None]);
    assert_eq!(
        column(x, "active"),
        [Some("true".into()), Some("false".into())]
    );
    assert_eq!(
        column(x, "_row_number"),
        [Some("2".into()), Some("3".into())]
    );

    // Nothing moves before the sinks acknowledge.
    assert_eq!(
        top_files(folder),
        ["clients_2026-05.csv", "notes.txt", "suppliers_may.xlsx"]
    );
    s.ack(batches[1].checkpoint.clone()).await.unwrap();
    assert_eq!(top_files(folder), ["notes.txt", "suppliers_may.xlsx"]);
    s.ack(batches[3].checkpoint.clone()).await.unwrap();
    assert_eq!(top_files(folder), ["notes.txt"]);
    assert_eq!(
        top_files(&archive_today(&folder.join("archive"))),
        ["clients_2026-05.csv", "suppliers_may.xlsx"]
    );
}

/// Two suppliers: a date, a whole and a fractional number, a float-noisy
/// fraction, an empty cell and booleans, under a header with spaces.
fn suppliers_xlsx() -> Vec<u8> {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    for (c, h) in [
        "Supplier",
        "Contract start",
        "Credit limit (USD)",
        "Rating",
        "Active",
    ]
    .iter()
    .enumerate()
    {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    ws.write_string(1, 0, "Nordic Steel").unwrap();
    ws.write_datetime_with_format(1, 1, ExcelDateTime::from_ymd(2024, 1, 15).unwrap(), &date)
        .unwrap();
    ws.write_number(1, 2, 250_000.0).unwrap();
    ws.write_number(1, 3, 0.1 + 0.2).unwrap();
    ws.write_boolean(1, 4, true).unwrap();
    ws.write_string(2, 0, "Gulf Tankers").unwrap();
    ws.write_datetime_with_format(2, 1, ExcelDateTime::from_ymd(2025, 7, 1).unwrap(), &date)
        .unwrap();
    ws.write_number(2, 2, 1_250_000.5).unwrap();
    ws.write_boolean(2, 4, false).unwrap();
    wb.save_to_buffer().unwrap()
}

#[tokio::test]
async fn a_file_is_loaded_once_and_a_known_one_only_archived() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path();
    drop_file(&folder.join("clients_a.csv"), CLIENTS);
    let opts = json!({ "folder": folder, "datasets": { "clients": "clients*.csv" } });
    let mut s = source(opts.clone());
    let first = pass(&mut s, None).await;
    assert_eq!(first.len(), 2);
    let ck = first[1].checkpoint.clone();

    // The runtime stored the checkpoint but the process died before ack:
    // the next pass knows the hash, emits nothing and archives the file.
    let mut s = source(opts.clone());
    assert!(pass(&mut s, Some(ck.clone())).await.is_empty());
    assert!(top_files(folder).is_empty());

    // The same content dropped again under the same name: archived beside
    // the first copy, not loaded.
    drop_file(&folder.join("clients_a.csv"), CLIENTS);
    assert!(pass(&mut s, Some(ck.clone())).await.is_empty());
    let archived = top_files(&archive_today(&folder.join("archive")));
    assert_eq!(archived.len(), 2, "{archived:?}");
    assert!(archived.contains(&"clients_a.csv".to_string()));

    // New content is loaded.
    drop_file(&folder.join("clients_a.csv"), b"Client ID\n3\n");
    let next = pass(&mut s, Some(ck)).await;
    assert_eq!(next.len(), 2);
    assert_eq!(column(&next[1].data, "client_id"), [Some("3".into())]);
}

#[tokio::test]
async fn a_file_still_being_written_waits_for_the_next_pass() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path();
    let path = folder.join("clients_new.csv");
    std::fs::write(&path, CLIENTS).unwrap();
    age(&path, Duration::from_secs(1));
    let mut s = source(
        json!({ "folder": folder, "datasets": { "clients": "clients*.csv" }, "settle": "30s" }),
    );
    assert!(pass(&mut s, None).await.is_empty());
    assert_eq!(top_files(folder), ["clients_new.csv"]);
    age(&path, Duration::from_secs(31));
    assert_eq!(pass(&mut s, None).await.len(), 2);
}

#[tokio::test]
async fn unreadable_files_go_to_unqualified_whole_and_then_to_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path();
    drop_file(
        &folder.join("clients_ragged.csv"),
        b"id,name\n1,Acme\n2,Borealis,extra\n3,Cirrus\n",
    );
    drop_file(&folder.join("clients_latin1.csv"), b"id,name\n1,Jos\xe9\n");
    let mut s = source(json!({ "folder": folder, "datasets": { "clients": "clients_*.csv" } }));
    let batches = pass(&mut s, None).await;
    let cats: Vec<&str> = batches.iter().map(|b| b.category.as_str()).collect();
    assert_eq!(
        cats,
        [
            "raw_object",
            "bronze_clients_unqualified",
            "raw_object",
            "bronze_clients_unqualified"
        ]
    );
    let latin = &batches[1].data;
    assert_eq!(
        column(latin, "_row_number"),
        [Some("1".into()), Some("2".into())]
    );
    let reasons = column(latin, "unqualified_reason");
    let r = reasons[1].as_deref().unwrap();
    assert!(
        r.starts_with("clients_latin1.csv: not valid UTF-8 (line 2"),
        "{r}"
    );
    assert!(r.contains("cp1252"), "{r}");

    let ragged = &batches[3].data;
    assert_eq!(
        column(ragged, "_row_number"),
        [Some("2".into()), Some("3".into()), Some("4".into())]
    );
    assert_eq!(
        column(ragged, "record")[1].as_deref(),
        Some("2,Borealis,extra")
    );
    let reasons = column(ragged, "unqualified_reason");
    assert_eq!(
        reasons[1].as_deref(),
        Some("clients_ragged.csv: row 3: 3 fields, the header (row 1) has 2")
    );
    assert!(
        reasons[0]
            .as_deref()
            .unwrap()
            .contains("rejected with its file"),
        "{reasons:?}"
    );
    assert_eq!(column(ragged, "dataset")[0].as_deref(), Some("clients"));

    s.ack(batches[3].checkpoint.clone()).await.unwrap();
    assert!(top_files(folder).is_empty());
    assert_eq!(
        top_files(&folder.join("rejected")),
        ["clients_latin1.csv", "clients_ragged.csv"]
    );
}

#[tokio::test]
async fn cp1252_and_semicolons_when_configured() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path();
    drop_file(
        &folder.join("employees.csv"),
        b"Nom;Pr\xe9nom\r\nM\xfcller;Jos\xe9\r\n",
    );
    let mut s = source(json!({
        "folder": folder,
        "datasets": { "employees": "employees.csv" },
        "delimiter": ";",
        "encoding": "cp1252",
    }));
    let b = pass(&mut s, None).await;
    assert_eq!(b[1].category, "bronze_employees");
    assert_eq!(column(&b[1].data, "nom"), [Some("Müller".into())]);
    assert_eq!(column(&b[1].data, "prenom"), [Some("José".into())]);
}

#[tokio::test]
async fn a_pass_resumes_inside_a_file_after_its_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path();
    drop_file(&folder.join("clients.csv"), b"id\n1\n2\n3\n4\n5\n");
    let opts =
        json!({ "folder": folder, "datasets": { "clients": "clients.csv" }, "batch_rows": 2 });
    let mut s = source(opts.clone());
    let all = pass(&mut s, None).await;
    let sizes: Vec<usize> = all.iter().map(|b| b.data.num_rows()).collect();
    assert_eq!(sizes, [1, 2, 2, 1]);
    let mut again = source(opts);
    let rest = pass(&mut again, Some(all[2].checkpoint.clone())).await;
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].data, all[3].data);
    assert_eq!(rest[0].checkpoint, all[3].checkpoint);
}

#[tokio::test]
async fn the_real_rig_count_csv_loads_row_for_row() {
    let real = qdp_test_services::real_data("rigcount/DERIVED_us_oil_gas_split_from_xlsb.csv");
    let bytes = std::fs::read(real).unwrap();
    let dir = tempfile::tempdir().unwrap();
    drop_file(
        &dir.path().join("DERIVED_us_oil_gas_split_from_xlsb.csv"),
        &bytes,
    );
    let mut s =
        source(json!({ "folder": dir.path(), "datasets": { "rig_count": "DERIVED_*.csv" } }));
    let b = pass(&mut s, None).await;
    assert_eq!(b[0].category, "raw_object");
    assert_eq!(raw::from_batch(&b[0].data).unwrap()[0].content, bytes);
    assert_eq!(b[1].category, "bronze_rig_count");
    let rows = &b[1].data;
    assert_eq!(rows.num_rows(), 1739);
    assert_eq!(
        names(rows)[4..],
        [
            "date_excel_serial",
            "date",
            "oil",
            "gas",
            "misc",
            "total",
            "pct_oil",
            "pct_gas"
        ]
    );
    assert_eq!(column(rows, "date")[0].as_deref(), Some("1987-07-17"));
    assert_eq!(
        column(rows, "pct_oil")[0].as_deref(),
        Some("0.606290672451193")
    );
    assert_eq!(column(rows, "_row_number")[1738].as_deref(), Some("1740"));
    let ids = column(rows, "_row_id");
    let unique: std::collections::HashSet<_> = ids.iter().collect();
    assert_eq!(unique.len(), 1739);
}

/// The real Baker Hughes workbook (binary .xlsb, title rows above the
/// header, dates as Excel serials) read through its "US Oil & Gas Split"
/// sheet gives, row for row, what the published derived CSV holds.
#[tokio::test]
async fn the_real_rig_count_workbook_matches_its_derived_csv() {
    let real = qdp_test_services::real_data("rigcount");
    let xlsb =
        std::fs::read(real.join("bakerhughes_NA_rotary_rig_count_asof_2020-11-06.xlsb")).unwrap();
    let csv = std::fs::read(real.join("DERIVED_us_oil_gas_split_from_xlsb.csv")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    drop_file(&dir.path().join("rig_count_2020-11-06.xlsb"), &xlsb);
    drop_file(&dir.path().join("rig_count_derived.csv"), &csv);
    let mut s = source(json!({
        "folder": dir.path(),
        "datasets": {
            "rigs": { "pattern": "rig_count_*.xlsb", "sheet": "US Oil & Gas Split", "header_row": 7 },
            "rigs_csv": "rig_count_*.csv",
        },
    }));
    let b = pass(&mut s, None).await;
    let cats: Vec<&str> = b.iter().map(|x| x.category.as_str()).collect();
    assert_eq!(
        cats,
        ["raw_object", "bronze_rigs", "raw_object", "bronze_rigs_csv"]
    );
    let (from_xlsb, from_csv) = (&b[1].data, &b[3].data);
    assert_eq!(
        names(from_xlsb)[4..],
        ["date", "oil", "gas", "misc", "total", "pct_oil", "pct_gas"]
    );
    assert_eq!(from_xlsb.num_rows(), 1739);
    assert_eq!(column(from_xlsb, "_row_number")[0].as_deref(), Some("8"));
    // Dates and counts as text, exactly. The derived CSV prints fractions
    // as Python's shortest repr (up to 17 digits); the workbook is read as
    // Excel shows it (15 significant digits): the same doubles within that.
    for c in ["date", "oil", "gas", "misc", "total"] {
        assert!(
            column(from_xlsb, c) == column(from_csv, c),
            "column {c} differs"
        );
    }
    for c in ["pct_oil", "pct_gas"] {
        for (i, (x, y)) in column(from_xlsb, c)
            .iter()
            .zip(column(from_csv, c))
            .enumerate()
        {
            let x: f64 = x.as_deref().unwrap().parse().unwrap();
            let y: f64 = y.as_deref().unwrap().parse().unwrap();
            assert!((x - y).abs() <= 1e-14 * y.abs(), "{c} row {i}: {x} vs {y}");
        }
    }
    assert_eq!(
        column(from_xlsb, "pct_oil")[0].as_deref(),
        Some("0.606290672451193")
    );
}

#[tokio::test]
async fn a_file_replaced_after_it_was_read_is_not_archived_on_ack() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path();
    let path = folder.join("clients.csv");
    drop_file(&path, CLIENTS);
    let opts = json!({ "folder": folder, "datasets": { "clients": "clients.csv" } });
    let mut s = source(opts);
    let b = pass(&mut s, None).await;
    // Someone drops a corrected file under the same name before the ack.
    drop_file(&path, b"Client ID\n9\n");
    s.ack(b[1].checkpoint.clone()).await.unwrap();
    assert_eq!(top_files(folder), ["clients.csv"]);
    assert!(!folder.join("archive").exists());
    // The next pass loads the new content.
    let next = pass(&mut s, Some(b[1].checkpoint.clone())).await;
    assert_eq!(column(&next[1].data, "client_id"), [Some("9".into())]);
}
