//! argon2id password hashes (PHC strings, so parameters can change without a migration).

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash};

use crate::error::{Error, Result};

pub fn hash(password: &str) -> Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| Error::Internal(format!("password hashing failed: {e}")))
}

pub fn verify(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    #[test]
    fn verifies_only_the_right_password() {
        let phc = super::hash("s3cret-pass").expect("hash");
        assert!(phc.starts_with("$argon2id$"));
        assert!(super::verify("s3cret-pass", &phc));
        assert!(!super::verify("s3cret-pasS", &phc));
        assert!(!super::verify("s3cret-pass", "not a hash"));
    }
}
