//! Passwords as SCRAM-SHA-256 verifiers computed here, so the plaintext
//! never reaches the server (or its statement log); a stored verifier is
//! checked against the policy's password instead of being reset each apply.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// A fresh verifier (random salt) for `ALTER ROLE .. PASSWORD`.
pub fn verifier(password: &str) -> String {
    postgres_protocol::password::scram_sha_256(password.as_bytes())
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail here.
    let Ok(mut m) = HmacSha256::new_from_slice(key) else {
        return Vec::new();
    };
    m.update(data);
    m.finalize().into_bytes().to_vec()
}

/// PBKDF2-HMAC-SHA-256 with one output block, as SCRAM defines `Hi()`.
fn hi(password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
    let mut u = hmac(password, &[salt, &1u32.to_be_bytes()].concat());
    let mut out = u.clone();
    for _ in 1..iterations {
        u = hmac(password, &u);
        out.iter_mut().zip(&u).for_each(|(o, x)| *o ^= x);
    }
    out
}

/// Whether `stored` (`SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>`,
/// from `pg_authid.rolpassword`) was made from `password`. Anything else
/// (no password, md5, a malformed value) is "no", so apply sets it anew.
pub fn matches(stored: &str, password: &str) -> bool {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let Some(rest) = stored.strip_prefix("SCRAM-SHA-256$") else {
        return false;
    };
    let Some((params, keys)) = rest.split_once('$') else {
        return false;
    };
    let (Some((iter, salt)), Some((stored_key, server_key))) =
        (params.split_once(':'), keys.split_once(':'))
    else {
        return false;
    };
    let (Ok(iter), Ok(salt), Ok(stored_key), Ok(server_key)) = (
        iter.parse::<u32>(),
        b64.decode(salt),
        b64.decode(stored_key),
        b64.decode(server_key),
    ) else {
        return false;
    };
    if iter == 0 || iter > 10_000_000 {
        return false;
    }
    let salted = hi(password.as_bytes(), &salt, iter);
    let client_key = hmac(&salted, b"Client Key");
    Sha256::digest(&client_key).as_slice() == stored_key.as_slice()
        && hmac(&salted, b"Server Key") == server_key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifier_round_trips_and_rejects_other_passwords() {
        let v = verifier("correct horse");
        assert!(v.starts_with("SCRAM-SHA-256$4096:"));
        assert!(!v.contains("correct horse"));
        assert!(matches(&v, "correct horse"));
        assert!(!matches(&v, "correct horsE"));
        assert!(!matches("md5abcdef", "correct horse"));
        assert!(!matches("", "x"));
    }
}
