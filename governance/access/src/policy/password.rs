//! Passwords resolved from `{ env = .. }` or `{ file = .. }`; a password
//! written in the policy itself is refused.

use super::model::PasswordSpec;
use super::secret::Secret;
use super::validate::Checker;
use crate::names;
use qdp_core::config::interpolate;

/// Resolves one user's password reference; refuses a password in the file.
pub(super) fn password(
    c: &mut Checker,
    user: &str,
    spec: Option<&PasswordSpec>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Option<Secret> {
    let var = format!("QDP_PASSWORD_{}", names::part(user).to_uppercase());
    let fix_ref = format!(
        "write `password = {{ env = \"{var}\" }}` or `password = {{ file = \"/run/secrets/{user}\" }}`"
    );
    let path = ["users", user, "password"];
    match spec {
        None => c.error(
            &path,
            format!("user `{user}` has no password reference"),
            fix_ref,
        ),
        Some(PasswordSpec::Plain(_)) => c.error(
            &path,
            format!(
                "user `{user}` has a plain-text password: passwords never go in the policy file"
            ),
            fix_ref,
        ),
        Some(PasswordSpec::Ref(r)) => match (&r.env, &r.file) {
            (Some(name), None) => match env(name).filter(|v| !v.is_empty()) {
                Some(v) => return Some(Secret::new(v, format!("env {name}"))),
                None => c.error(
                    &["users", user, "password", "env"],
                    format!(
                        "the password of user `{user}` is read from `{name}`, which is not set"
                    ),
                    format!("export {name}=... before running, or use `{{ file = ... }}`"),
                ),
            },
            (None, Some(file)) => {
                let file = match interpolate(&file.display().to_string(), env) {
                    Ok(f) => std::path::PathBuf::from(f),
                    Err(e) => {
                        c.error(
                            &["users", user, "password", "file"],
                            format!("user `{user}`: {e}"),
                            "set the variable or give a default: `${NAME:-default}`",
                        );
                        return None;
                    }
                };
                match std::fs::read_to_string(&file) {
                    Ok(v) if !v.trim_end_matches(['\n', '\r']).is_empty() => {
                        return Some(Secret::new(
                            v.trim_end_matches(['\n', '\r']).to_string(),
                            format!("file {}", file.display()),
                        ));
                    }
                    Ok(_) => c.error(
                        &["users", user, "password", "file"],
                        format!(
                            "the password file of user `{user}` ({}) is empty",
                            file.display()
                        ),
                        "write the password into the file",
                    ),
                    Err(e) => c.error(
                        &["users", user, "password", "file"],
                        format!(
                            "cannot read the password file of user `{user}` ({}): {e}",
                            file.display()
                        ),
                        "create the file (e.g. a mounted secret) or fix the path",
                    ),
                }
            }
            _ => c.error(
                &path,
                format!("user `{user}`: give exactly one of `env` and `file`"),
                fix_ref,
            ),
        },
    }
    None
}
