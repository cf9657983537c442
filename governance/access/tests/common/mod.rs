//! A throwaway warehouse database and role prefix per test, dropped on
//! drop (also when the test fails), and helpers to act as a policy's users.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use qdp_access::Policy;
use std::collections::HashMap;
use std::path::Path;
use tokio_postgres::{Client, NoTls};

/// The local server; trust auth for `postgres`.
pub const SERVER: &str = "host=127.0.0.1 port=5432 user=postgres";

/// A unique database `qdp_access_<n>` and role prefix `qdp_t<n>_`.
pub struct Scratch {
    pub db: String,
    pub prefix: String,
}

impl Scratch {
    /// Creates the database, or returns `None` (panics in CI) when Postgres
    /// is not reachable.
    pub async fn new() -> Option<Self> {
        let admin = match tokio_postgres::connect(&format!("{SERVER} dbname=postgres"), NoTls).await
        {
            Ok((c, conn)) => {
                tokio::spawn(conn);
                c
            }
            Err(e) => {
                assert!(
                    !qdp_test_services::required(),
                    "Postgres is not reachable: {e}"
                );
                eprintln!("SKIPPED: Postgres is not reachable at 127.0.0.1:5432: {e}");
                return None;
            }
        };
        let n: u32 = rand::random();
        let s = Self {
            db: format!("qdp_access_{n:08x}"),
            prefix: format!("qdp_t{n:08x}_"),
        };
        admin
            .batch_execute(&format!("CREATE DATABASE {}", s.db))
            .await
            .unwrap();
        Some(s)
    }

    /// The admin URL of the scratch database.
    pub fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:5432/{}", self.db)
    }

    /// Connects as `postgres` to the scratch database.
    pub async fn admin(&self) -> Client {
        connect(&format!("{SERVER} dbname={}", self.db))
            .await
            .unwrap()
    }

    /// Connects as a policy user with its password.
    pub async fn login(&self, user: &str, password: &str) -> Client {
        let login = format!("{}{}", self.prefix, user.replace('-', "_"));
        connect(&format!(
            "host=127.0.0.1 port=5432 user={login} password={password} dbname={}",
            self.db
        ))
        .await
        .unwrap_or_else(|e| panic!("{login} cannot log in: {e}"))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let (db, prefix) = (self.db.clone(), self.prefix.clone());
        // A fresh runtime on its own thread: drop may run inside a test's runtime.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let Ok(c) = connect(&format!("{SERVER} dbname=postgres")).await else {
                    return;
                };
                let _ = c
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
                    .await;
                let roles = c
                    .query(
                        "SELECT rolname::text FROM pg_roles WHERE starts_with(rolname::text, $1)",
                        &[&prefix],
                    )
                    .await
                    .unwrap_or_default();
                for r in roles {
                    let name: String = r.get(0);
                    let _ = c.batch_execute(&format!("DROP ROLE \"{name}\"")).await;
                }
            });
        })
        .join();
    }
}

/// Connects and drives the connection.
pub async fn connect(params: &str) -> Result<Client, tokio_postgres::Error> {
    let (c, conn) = tokio_postgres::connect(params, NoTls).await?;
    tokio::spawn(conn);
    Ok(c)
}

/// Parses a policy with `env` standing in for the process environment.
pub fn policy(text: &str, env: &HashMap<String, String>) -> Policy {
    Policy::parse(Path::new("access.toml"), text, &|k| env.get(k).cloned())
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Runs `sql`; panics with the error if it fails.
pub async fn ok(c: &Client, who: &str, sql: &str) {
    if let Err(e) = c.batch_execute(sql).await {
        panic!("{who} should be allowed `{sql}`, got: {}", detail(&e));
    }
}

/// Runs `sql` and asserts it is refused for lack of privilege (42501).
pub async fn denied(c: &Client, who: &str, sql: &str) {
    match c.batch_execute(sql).await {
        Ok(()) => panic!("{who} should be refused `{sql}`, but it ran"),
        Err(e) => {
            let code = e.as_db_error().map(|d| d.code().code().to_string());
            assert_eq!(
                code.as_deref(),
                Some("42501"),
                "{who} `{sql}`: {}",
                detail(&e)
            );
        }
    }
}

/// One text column of every row of `sql`.
pub async fn column(c: &Client, sql: &str) -> Vec<String> {
    c.query(sql, &[])
        .await
        .unwrap_or_else(|e| panic!("`{sql}`: {}", detail(&e)))
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// The server's message for an error.
pub fn detail(e: &tokio_postgres::Error) -> String {
    e.as_db_error().map_or_else(
        || e.to_string(),
        |d| format!("{} ({})", d.message(), d.code().code()),
    )
}
