//! Throwaway databases on the machine's real Postgres and MariaDB, and a
//! driver that runs the `sql` source through passes as the runtime does.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use mysql_async::prelude::Queryable;
use qdp_sdk::arrow::array::{Array, AsArray};
use qdp_sdk::{Checkpoint, Context, Source, SourceBatch};
use qdp_sql::Sql;
use std::collections::BTreeMap;

/// Which server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    Postgres,
    MariaDb,
}

const PG_ADMIN: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const MY_ADMIN: &str = "mysql://root@127.0.0.1:3306/mysql";

/// A database created for one test and dropped when the test ends.
pub struct TestDb {
    pub server: Server,
    pub name: String,
    pub url: String,
}

impl TestDb {
    /// Creates a database with a random name, or `None` (after printing why)
    /// when the server is not running and `QDP_REQUIRE_SERVICES` is not set.
    pub async fn create(server: Server) -> Option<Self> {
        let name = format!("qdp_sql_{:016x}", rand::random::<u64>());
        let made = match server {
            Server::Postgres => pg_exec(PG_ADMIN, &format!("CREATE DATABASE {name}")).await,
            Server::MariaDb => my_exec(MY_ADMIN, &format!("CREATE DATABASE {name}")).await,
        };
        if let Err(e) = made {
            let msg = format!("{server:?} at 127.0.0.1 is not available: {e}");
            if qdp_test_services::required() {
                panic!("{msg} (QDP_REQUIRE_SERVICES=1)");
            }
            eprintln!("SKIPPED: {msg}");
            return None;
        }
        let url = match server {
            Server::Postgres => format!("postgres://postgres@127.0.0.1:5432/{name}"),
            Server::MariaDb => format!("mysql://root@127.0.0.1:3306/{name}"),
        };
        Some(Self { server, name, url })
    }

    /// Runs statements in the test database.
    pub async fn exec(&self, sql: &str) {
        let r = match self.server {
            Server::Postgres => pg_exec(&self.url, sql).await,
            Server::MariaDb => my_exec(&self.url, sql).await,
        };
        r.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// A timestamp literal in UTC.
    pub fn ts(&self, t: &str) -> String {
        match self.server {
            Server::Postgres => format!("'{t}+00'"),
            Server::MariaDb => format!("'{t}'"),
        }
    }

    /// A bytes literal from hex.
    pub fn bytes(&self, hex: &str) -> String {
        match self.server {
            Server::Postgres => format!("'\\x{hex}'::bytea"),
            Server::MariaDb => format!("X'{hex}'"),
        }
    }

    /// The schema unqualified table names resolve to.
    pub fn schema(&self) -> &str {
        match self.server {
            Server::Postgres => "public",
            Server::MariaDb => &self.name,
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let (server, name) = (self.server, self.name.clone());
        // Drop runs inside the test's runtime: drop the database from a
        // thread of its own so this works even while unwinding.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let r = match server {
                    Server::Postgres => {
                        pg_exec(
                            PG_ADMIN,
                            &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                        )
                        .await
                    }
                    Server::MariaDb => {
                        my_exec(MY_ADMIN, &format!("DROP DATABASE IF EXISTS {name}")).await
                    }
                };
                if let Err(e) = r {
                    eprintln!("could not drop test database {name}: {e}");
                }
            });
        })
        .join();
    }
}

async fn pg_exec(url: &str, sql: &str) -> Result<(), String> {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .map_err(|e| e.to_string())?;
    let h = tokio::spawn(conn);
    let r = client.batch_execute(sql).await.map_err(|e| e.to_string());
    drop(client);
    let _ = h.await;
    r
}

async fn my_exec(url: &str, sql: &str) -> Result<(), String> {
    let opts = mysql_async::Opts::from_url(url).map_err(|e| e.to_string())?;
    let mut conn = mysql_async::Conn::new(opts)
        .await
        .map_err(|e| e.to_string())?;
    let r = conn.query_drop(sql).await.map_err(|e| e.to_string());
    let _ = conn.disconnect().await;
    r
}

/// One pass as the runtime runs it: a new instance, `start(checkpoint)`,
/// `next_batch` until `None`. Returns the batches; the checkpoint to store
/// is the last batch's (or the one given when nothing was emitted).
pub async fn pass(
    options: serde_json::Value,
    checkpoint: Option<&Checkpoint>,
) -> Result<Vec<SourceBatch>, qdp_sdk::PluginError> {
    let opts = serde_json::from_value(options).expect("options");
    let mut src = Sql::new(opts, &Context::default())?;
    src.start(checkpoint.cloned()).await?;
    let mut out = Vec::new();
    while let Some(b) = src.next_batch().await? {
        out.push(b);
    }
    src.shutdown().await?;
    Ok(out)
}

/// The checkpoint after `batches`, or `before` when there are none.
pub fn after(batches: &[SourceBatch], before: Option<&Checkpoint>) -> Option<Checkpoint> {
    batches
        .last()
        .map(|b| b.checkpoint.clone())
        .or_else(|| before.cloned())
}

/// Rows of `category` as maps of column → text, in emitted order.
pub fn rows(batches: &[SourceBatch], category: &str) -> Vec<BTreeMap<String, Option<String>>> {
    let mut out = Vec::new();
    for b in batches.iter().filter(|b| b.category == category) {
        let schema = b.data.schema();
        for r in 0..b.data.num_rows() {
            let mut m = BTreeMap::new();
            for (i, f) in schema.fields().iter().enumerate() {
                let col = b.data.column(i).as_string::<i32>();
                let v = (!col.is_null(r)).then(|| col.value(r).to_string());
                m.insert(f.name().clone(), v);
            }
            out.push(m);
        }
    }
    out
}

/// The value of `col` in `row`.
pub fn get<'a>(row: &'a BTreeMap<String, Option<String>>, col: &str) -> Option<&'a str> {
    row.get(col).and_then(|v| v.as_deref())
}
