//! The ClickHouse target: one users file, written atomically when it
//! differs, and a login check for every user it declares.

mod render;

pub use render::{ChUser, READONLY, WRITER, file, users};

use crate::change::{Change, Kind, Statement};
use crate::error::Error;
use crate::policy::{ClickHouseTarget, Policy};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The file the policy owns in `users_dir`.
pub const FILE: &str = "qdp-access.xml";

/// Where the users file goes.
pub fn path(ch: &ClickHouseTarget) -> PathBuf {
    ch.users_dir.join(FILE)
}

/// The change to the users file, if it differs from the policy's.
pub fn plan(policy: &Policy, ch: &ClickHouseTarget) -> Result<Vec<Change>, Error> {
    let users = users(policy);
    let want = file(&users, ch, false);
    let p = path(ch);
    let have = match std::fs::read_to_string(&p) {
        Ok(s) => Some(s),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::clickhouse(&format!("read {}", p.display()), e)),
    };
    if have.as_deref() == Some(want.as_str()) {
        return Ok(Vec::new());
    }
    let what = match &have {
        None => format!("users file {} (does not exist)", p.display()),
        Some(text) => {
            let differ: Vec<&str> = users
                .iter()
                .filter(|u| !text.contains(&render::user_xml(u, &ch.networks, false)))
                .map(|u| u.login.as_str())
                .collect();
            format!(
                "users file {} differs from the policy (edited by hand?); users that differ: {}",
                p.display(),
                if differ.is_empty() {
                    "none (profiles or extra users)".into()
                } else {
                    differ.join(", ")
                }
            )
        }
    };
    Ok(vec![Change {
        target: "clickhouse",
        kind: if have.is_none() {
            Kind::Missing
        } else {
            Kind::Changed
        },
        what,
        statements: vec![Statement {
            phase: 0,
            sql: want,
            shown: format!("write {}:\n{}", p.display(), file(&users, ch, true)),
        }],
    }])
}

/// Writes the file atomically (temp file + rename in the same directory)
/// and waits until the server accepts every user's login.
pub async fn apply(
    policy: &Policy,
    ch: &ClickHouseTarget,
    changes: &[Change],
) -> Result<(), Error> {
    let Some(text) = changes
        .iter()
        .flat_map(|c| &c.statements)
        .map(|s| &s.sql)
        .next()
    else {
        return Ok(());
    };
    let p = path(ch);
    let tmp = ch.users_dir.join(format!(".{FILE}.tmp"));
    let ctx = format!("write {}", p.display());
    std::fs::write(&tmp, text).map_err(|e| Error::clickhouse(&ctx, e))?;
    restrict(&tmp, ch);
    std::fs::rename(&tmp, &p).map_err(|e| Error::clickhouse(&ctx, e))?;
    wait_for_logins(ch, &users(policy), Duration::from_secs(60)).await
}

/// The file holds password hashes: readable by owner and group only, with
/// the directory's group (the server's).
fn restrict(file: &std::path::Path, ch: &ClickHouseTarget) {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let _ = std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o640));
    if let Ok(meta) = std::fs::metadata(&ch.users_dir) {
        let _ = std::os::unix::fs::chown(file, None, Some(meta.gid()));
    }
}

/// Polls until every user logs in (the server reloads users files on its
/// own, within seconds) or the deadline passes.
pub async fn wait_for_logins(
    ch: &ClickHouseTarget,
    users: &[ChUser],
    within: Duration,
) -> Result<(), Error> {
    let deadline = Instant::now() + within;
    loop {
        let failing = logins(ch, users).await;
        if failing.is_empty() {
            return Ok(());
        }
        if Instant::now() > deadline {
            let names: Vec<String> = failing.iter().map(|(u, e)| format!("{u}: {e}")).collect();
            return Err(Error::clickhouse(
                "wait for the users file to load",
                names.join("; "),
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The users that cannot log in, with the server's answer.
pub async fn logins(ch: &ClickHouseTarget, users: &[ChUser]) -> Vec<(String, String)> {
    let client = reqwest::Client::new();
    let mut out = Vec::new();
    for u in users {
        if let Err(e) = query(&client, &ch.url, &u.login, u.password.expose(), "SELECT 1").await {
            out.push((u.login.clone(), e));
        }
    }
    out
}

/// Runs `sql` as `user` over HTTP; the body on success, the error otherwise.
pub async fn query(
    client: &reqwest::Client,
    url: &str,
    user: &str,
    password: &str,
    sql: &str,
) -> Result<String, String> {
    let resp = client
        .post(url)
        .header("X-ClickHouse-User", user)
        .header("X-ClickHouse-Key", password)
        .body(sql.to_string())
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = resp.status();
    let body = resp.text().await.map_err(|e| e.to_string())?;
    if status.is_success() {
        Ok(body)
    } else {
        Err(format!("HTTP {status}: {}", body.trim()))
    }
}

/// Drift only `diff` reports: declared users that cannot log in.
pub async fn login_drift(policy: &Policy, ch: &ClickHouseTarget) -> Vec<Change> {
    logins(ch, &users(policy))
        .await
        .into_iter()
        .map(|(u, e)| Change {
            target: "clickhouse",
            kind: Kind::Changed,
            what: format!(
                "user {u} cannot log in ({})",
                e.lines().next().unwrap_or_default()
            ),
            statements: Vec::new(),
        })
        .collect()
}
