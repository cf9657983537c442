//! `qdp demo-macro`: the batch lane on this machine. The bundled real EIA and
//! CFTC files (`examples/data/`) are served on loopback as the publishers
//! serve them, and `examples/pipelines/macro-warehouse.toml` runs one pass
//! (`qdp run --once`) into a fresh `qdp_demo_warehouse` database on the local
//! Postgres and a lake folder under `.qdp/`; then the warehouse is queried
//! the way an analyst would. Without a reachable Postgres it says so and
//! does nothing.

use axum::Router;
use axum::extract::{Path as UrlPath, RawQuery};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Runs the demo; `admin_url` is a Postgres the demo may create database
/// `database` on (`qdp_demo_warehouse` unless told otherwise).
pub async fn run(admin_url: &str, database: &str) -> Result<(), String> {
    let examples = examples_dir()?;
    let admin = match connect(admin_url).await {
        Ok(c) => c,
        Err(e) => {
            println!(
                "demo-macro skipped: no Postgres at {} ({e})",
                redact(admin_url)
            );
            return Ok(());
        }
    };
    recreate_database(&admin, database).await?;
    let warehouse = with_database(admin_url, database);

    let base = serve(examples.join("data")).await?;
    let work = std::env::current_dir()
        .map_err(|e| e.to_string())?
        .join(".qdp/macro-demo");
    let _ = std::fs::remove_dir_all(&work);
    let drop_dir = work.join("drop");
    std::fs::create_dir_all(&drop_dir).map_err(|e| e.to_string())?;
    let dropped = drop_dir.join("clients_2026-06.csv");
    std::fs::copy(examples.join("data/drop/clients_2026-06.csv"), &dropped)
        .map_err(|e| format!("drop folder: {e}"))?;
    // The drop folder reads files whose size has settled; this one has.
    std::fs::File::options()
        .write(true)
        .open(&dropped)
        .and_then(|f| f.set_modified(SystemTime::now() - Duration::from_secs(60)))
        .map_err(|e| format!("drop folder: {e}"))?;

    let pipeline = examples.join("pipelines/macro-warehouse.toml");
    println!(
        "publishers stood in for at {base}; warehouse {}; lake {}",
        redact(&warehouse),
        work.join("lake").display()
    );
    println!("$ qdp run --once {}", pipeline.display());
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut cmd = std::process::Command::new(exe);
    cmd.args(["run", "--once"])
        .arg(&pipeline)
        .env("EIA_API_URL", format!("{base}/v2"))
        .env("EIA_API_KEY", "demo-key")
        .env("EIA_WPSR_URL", &base)
        .env("CFTC_URL", &base)
        .env("QDP_WAREHOUSE_URL", &warehouse)
        .env("QDP_DATA_DIR", work.join("state"))
        .env("QDP_DROP_DIR", &drop_dir)
        .env(
            "QDP_LAKE_URL",
            format!("file://{}", work.join("lake").display()),
        )
        .env("QDP_GOLD_SQL", examples.join("warehouse"));
    let status = tokio::task::spawn_blocking(move || cmd.status())
        .await
        .map_err(|e| format!("qdp run: {e}"))?
        .map_err(|e| format!("qdp run: {e}"))?;
    if !status.success() {
        return Err(format!("qdp run --once failed: {status}"));
    }
    report(&warehouse, &work).await
}

/// What landed, queried as an analyst would.
async fn report(warehouse: &str, work: &Path) -> Result<(), String> {
    let c = connect(warehouse).await?;
    let q = |sql: &'static str| {
        let c = &c;
        async move {
            println!("\n{sql}");
            let rows = c
                .simple_query(sql)
                .await
                .map_err(|e| format!("{sql}: {}", pg_error(&e)))?;
            for m in rows {
                if let tokio_postgres::SimpleQueryMessage::Row(r) = m {
                    let cells: Vec<&str> = (0..r.len()).map(|i| r.get(i).unwrap_or("∅")).collect();
                    println!("  {}", cells.join(" | "));
                }
            }
            Ok::<(), String>(())
        }
    };
    q("select source_system_name, release_code, count(*) from silver.numeric_economic_data group by 1, 2 order by 1, 2").await?;
    q("select week_ending, commercial_crude_stocks_kbbl, commercial_crude_stocks_change_kbbl, cushing_crude_stocks_kbbl, refinery_utilisation_pct from gold.us_crude_balance_weekly order by week_ending desc limit 3").await?;
    q("select release_field, reference_period, release_field_value, release_field_value_unit from silver.numeric_economic_data where release_field = '067651.open_interest_all' order by reference_period desc limit 3").await?;
    q("select client_code, client_name, country_code, service_team, credit_limit, credit_limit_unit from gold.dim_client order by client_code").await?;
    q("select source, period, status, polls, rows from ops.release_sla order by source, period")
        .await?;
    println!(
        "  (the bundled samples end with the week of 2026-06-05 and the COT report of 2025-03-11, so today's\n   releases are not in them: the scheduler records them as late, the alarm an operator would get)"
    );
    let objects = files_under(&work.join("lake")).len();
    println!(
        "\nlake: {objects} objects under {}",
        work.join("lake").display()
    );
    println!(
        "\nexplore: psql {} -c 'select * from gold.us_crude_balance_weekly order by week_ending desc limit 10'",
        redact(warehouse)
    );
    Ok(())
}

/// Every file under `dir`, at any depth (none when it is missing).
pub(crate) fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Serves `data` the way the publishers do: the API route for WCESTUS1 (an
/// empty page for any other series: the bundle holds only that one), the
/// WPSR table, and the CFTC yearly file for any year asked.
async fn serve(data: PathBuf) -> Result<String, String> {
    let read = |p: &str| std::fs::read(data.join(p)).map_err(|e| format!("examples/data/{p}: {e}"));
    let api = read("eia/v2_route_petroleum-stoc-wstk_WCESTUS1_weekly.json")?;
    let table = read("eia/table1_week_ending_2026-06-05.csv")?;
    let cot = read("cftc/deacot2025.zip")?;
    let app = Router::new()
        .route(
            "/v2/{*route}",
            get(move |UrlPath(route): UrlPath<String>, RawQuery(q): RawQuery| {
                let api = api.clone();
                async move {
                    let q = q.unwrap_or_default();
                    let first_page = !q.contains("offset=") || q.contains("offset=0");
                    let body = if route.starts_with("petroleum/stoc/wstk") && q.contains("WCESTUS1") && first_page {
                        api
                    } else {
                        br#"{"response":{"total":"0","dateFormat":"YYYY-MM-DD","frequency":"weekly","data":[]},"request":{},"apiVersion":"2.1.7"}"#.to_vec()
                    };
                    ([(header::CONTENT_TYPE, "application/json")], body)
                }
            }),
        )
        .route(
            "/wpsr/table1.csv",
            get(move || {
                let t = table.clone();
                async move { ([(header::CONTENT_TYPE, "text/csv")], t) }
            }),
        )
        .route(
            "/files/dea/history/{name}",
            get(move |UrlPath(name): UrlPath<String>| {
                let z = cot.clone();
                async move {
                    if name.starts_with("deacot") && name.ends_with(".zip") {
                        ([(header::CONTENT_TYPE, "application/zip")], z).into_response()
                    } else {
                        StatusCode::NOT_FOUND.into_response()
                    }
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("demo server: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(format!("http://{addr}"))
}

pub(crate) async fn connect(url: &str) -> Result<tokio_postgres::Client, String> {
    let (client, conn) = tokio::time::timeout(
        Duration::from_secs(5),
        tokio_postgres::connect(url, tokio_postgres::NoTls),
    )
    .await
    .map_err(|_| "connection timed out".to_string())?
    .map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(client)
}

/// Drops database `db` (closing its connections) and creates it empty.
pub(crate) async fn recreate_database(
    admin: &tokio_postgres::Client,
    db: &str,
) -> Result<(), String> {
    for sql in [
        format!("drop database if exists {db} with (force)"),
        format!("create database {db}"),
    ] {
        admin
            .batch_execute(&sql)
            .await
            .map_err(|e| format!("{sql}: {}", pg_error(&e)))?;
    }
    Ok(())
}

/// The server's message, not just "db error".
pub(crate) fn pg_error(e: &tokio_postgres::Error) -> String {
    e.as_db_error()
        .map_or_else(|| e.to_string(), |d| d.message().to_string())
}

/// `url` with its database replaced by `db`.
pub(crate) fn with_database(url: &str, db: &str) -> String {
    let (head, query) = match url.split_once('?') {
        Some((h, q)) => (h, format!("?{q}")),
        None => (url, String::new()),
    };
    let rest = head.split_once("://").map_or(head, |(_, r)| r);
    let base = match rest.rfind('/') {
        Some(i) => &head[..head.len() - (rest.len() - i)],
        None => head,
    };
    format!("{base}/{db}{query}")
}

/// `url` without a password.
pub(crate) fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// `examples/` of this checkout: next to the working directory, or where the
/// CLI was built from.
pub(crate) fn examples_dir() -> Result<PathBuf, String> {
    let here = PathBuf::from("examples");
    if here.join("pipelines/macro-warehouse.toml").exists() {
        return std::fs::canonicalize(&here).map_err(|e| e.to_string());
    }
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    std::fs::canonicalize(&built)
        .map_err(|e| format!("examples/ not found ({e}); run from the checkout"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_swapped_and_password_hidden() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "w"),
            "postgres://postgres@127.0.0.1:5432/w"
        );
        assert_eq!(
            with_database("postgres://u:p@h/db?sslmode=disable", "w"),
            "postgres://u:p@h/w?sslmode=disable"
        );
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
    }
}
