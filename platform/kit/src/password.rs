//! argon2id password hashes (PHC strings, so parameters can change without a migration),
//! computed in memory that is kept and reused ([`CheckMemory`]).

use std::sync::{Mutex, PoisonError};

use argon2::Argon2;
use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};

use crate::error::{Error, Result};

/// Memory one check takes (argon2's default `m_cost`, 19 MiB): the unit of the sign-in
/// memory budget (`[auth.login] hash_memory_mib`, see [`crate::login`]).
pub const CHECK_MEMORY_MIB: u32 = argon2::Params::DEFAULT_M_COST / 1024;

/// A new argon2id PHC string for `password` (a random salt, the default parameters).
/// Hashing is rare (seed users at start-up, `citygrid user add`): it runs one at a time in
/// one kept buffer, so start-up does not leave a freed 19 MiB block per seed user behind.
pub fn hash(password: &str) -> Result<String> {
    static MEMORY: Mutex<CheckMemory> = Mutex::new(CheckMemory(Vec::new()));
    let mut memory = MEMORY.lock().unwrap_or_else(PoisonError::into_inner);
    hash_in(&mut memory, password)
}

fn hash_in(memory: &mut CheckMemory, password: &str) -> Result<String> {
    let failed =
        |e: &dyn std::fmt::Display| Error::Internal(format!("password hashing failed: {e}"));
    let argon2 = Argon2::default();
    let params = argon2.params().clone();
    let salt = Salt::generate();
    memory.fit(params.block_count());
    let mut out = [0u8; argon2::Params::DEFAULT_OUTPUT_LEN];
    let salt_bytes = salt.as_ref();
    argon2
        .hash_password_into_with_memory(password.as_bytes(), salt_bytes, &mut out, &mut memory.0)
        .map_err(|e| failed(&e))?;
    let phc = PasswordHash {
        algorithm: argon2::ARGON2ID_IDENT,
        version: Some(argon2::Version::default().into()),
        params: ParamsString::try_from(&params).map_err(|e| failed(&e))?,
        salt: Some(salt),
        hash: Some(Output::new(&out).map_err(|e| failed(&e))?),
    };
    Ok(phc.to_string())
}

pub fn verify(password: &str, phc: &str) -> bool {
    verify_in(&mut CheckMemory::default(), password, phc)
}

/// argon2's working memory for password checks, kept from one check to the next so that a
/// check allocates nothing: the memory of the checks running at once is what their buffers
/// hold, whatever the allocator does. (glibc keeps the freed 19 MiB blocks of short-lived
/// threads around; allocating them per check let a sign-in flood grow a district past a
/// GiB.)
#[derive(Debug, Default)]
pub struct CheckMemory(Vec<argon2::Block>);

impl CheckMemory {
    fn fit(&mut self, blocks: usize) {
        if self.0.len() < blocks {
            self.0.resize(blocks, argon2::Block::new());
        }
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.0.len() * argon2::Block::SIZE
    }
}

/// Whether `password` matches the PHC string `phc`, computed in `memory` (grown to the
/// hash's `m_cost` the first time). False for a string that is not an argon2 hash.
pub fn verify_in(memory: &mut CheckMemory, password: &str, phc: &str) -> bool {
    matches(memory, password, phc).unwrap_or(false)
}

fn matches(memory: &mut CheckMemory, password: &str, phc: &str) -> Option<bool> {
    let parsed = PasswordHash::new(phc).ok()?;
    let (salt, expected) = (parsed.salt.as_ref()?, parsed.hash.as_ref()?);
    let algorithm = argon2::Algorithm::try_from(parsed.algorithm.as_str()).ok()?;
    let version = parsed
        .version
        .map(argon2::Version::try_from)
        .transpose()
        .ok()?
        .unwrap_or_default();
    let params = argon2::Params::try_from(&parsed).ok()?;
    memory.fit(params.block_count());
    let mut out = vec![0u8; expected.len()];
    let argon2 = Argon2::new(algorithm, version, params);
    let salt = salt.as_ref();
    argon2
        .hash_password_into_with_memory(password.as_bytes(), salt, &mut out, &mut memory.0)
        .ok()?;
    // `Output`'s equality is constant-time.
    Some(Output::new(&out).ok()? == *expected)
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

    #[test]
    fn hashes_are_the_argon2_crates_own() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let ours = super::hash("s3cret-pass").expect("hash");
        let parsed = argon2::PasswordHash::new(&ours).expect("PHC");
        assert!(
            argon2::Argon2::default()
                .verify_password(b"s3cret-pass", &parsed)
                .is_ok()
        );
        assert!(
            argon2::Argon2::default()
                .verify_password(b"other", &parsed)
                .is_err()
        );
        let theirs = argon2::Argon2::default()
            .hash_password(b"s3cret-pass")
            .expect("hash")
            .to_string();
        assert!(super::verify("s3cret-pass", &theirs));
        assert_eq!(
            ours.split('$').nth(3),
            theirs.split('$').nth(3),
            "same parameters"
        );
        assert_ne!(
            ours,
            super::hash("s3cret-pass").expect("hash"),
            "a fresh salt"
        );
    }

    #[test]
    fn checks_reuse_one_buffer_of_the_hash_memory() {
        let phc = super::hash("s3cret-pass").expect("hash");
        let mut memory = super::CheckMemory::default();
        for (password, expected) in [
            ("s3cret-pass", true),
            ("wrong", false),
            ("s3cret-pass", true),
        ] {
            assert_eq!(
                super::verify_in(&mut memory, password, &phc),
                expected,
                "{password}"
            );
            assert_eq!(
                memory.bytes(),
                super::CHECK_MEMORY_MIB as usize * 1024 * 1024
            );
        }
        // Another algorithm's string, a truncated one: false, not a panic.
        assert!(!super::verify_in(
            &mut memory,
            "x",
            "$scrypt$ln=16,r=8,p=1$c2FsdA$aGFzaA"
        ));
        assert!(!super::verify_in(&mut memory, "x", &phc[..phc.len() - 10]));
    }
}
