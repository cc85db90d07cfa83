//! Secrets: tokens, confirmation codes, password hashing and their stored forms.
//!
//! Randomness comes from the [`crate::ports::IdGen`] port (a CSPRNG in production). High-entropy
//! secrets (webhook and application tokens, invitation tokens, application passwords, recovery
//! codes) are stored as SHA-256: a fast hash is right when guessing is hopeless. Passwords, which
//! people choose, go through [`PasswordHasher`] (argon2id).

use std::fmt;

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use sha2::{Digest, Sha256};

use crate::ports::IdGen;

/// How many characters a token has (decisions.md "Credentials": 32 of `[a-z0-9]`, ~165 bits).
pub const TOKEN_LEN: usize = 32;

/// The characters a token is made of.
const TOKEN_ALPHABET: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// The SHA-256 of a secret: the only form in which a token, code or application password is kept.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SecretHash(pub [u8; 32]);

impl SecretHash {
    /// Hashes a secret.
    pub fn of(secret: &str) -> SecretHash {
        SecretHash(Sha256::digest(secret.as_bytes()).into())
    }

    /// Hashes a secret bound to a context (a code's record ID, say), so the same short code in
    /// two records never has the same hash.
    pub fn keyed(context: &[u8], secret: &str) -> SecretHash {
        let mut h = Sha256::new();
        h.update((context.len() as u64).to_be_bytes());
        h.update(context);
        h.update(secret.as_bytes());
        SecretHash(h.finalize().into())
    }

    /// Lower-case hex.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Parses [`SecretHash::to_hex`].
    pub fn from_hex(s: &str) -> Option<SecretHash> {
        if s.len() != 64 || !s.is_ascii() {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(SecretHash(out))
    }
}

impl fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Short on purpose: a hash in a log line is noise.
        write!(f, "SecretHash({}…)", &self.to_hex()[..8])
    }
}

/// A new token: [`TOKEN_LEN`] characters of `[a-z0-9]`, drawn without bias from `ids`.
pub fn new_token(ids: &dyn IdGen) -> String {
    let mut out = String::with_capacity(TOKEN_LEN);
    let mut buf = [0u8; 64];
    while out.len() < TOKEN_LEN {
        ids.fill(&mut buf);
        // 252 = 7 × 36: bytes at or above it would favour the first letters.
        for &b in buf.iter().filter(|&&b| b < 252) {
            if out.len() == TOKEN_LEN {
                break;
            }
            out.push(char::from(TOKEN_ALPHABET[usize::from(b % 36)]));
        }
    }
    out
}

/// Whether `s` looks like a token (so that garbage is refused before any lookup).
pub fn is_token_shaped(s: &str) -> bool {
    s.len() == TOKEN_LEN && s.bytes().all(|b| TOKEN_ALPHABET.contains(&b))
}

/// A new 6-digit confirmation code, `000000`–`999999`, uniformly drawn.
pub fn new_code(ids: &dyn IdGen) -> String {
    loop {
        let mut buf = [0u8; 4];
        ids.fill(&mut buf);
        let n = u32::from_be_bytes(buf);
        // Reject the top sliver so every code is equally likely.
        if n < 4_294_000_000 {
            return format!("{:06}", n % 1_000_000);
        }
    }
}

/// Turns passwords into stored hashes and checks them.
pub trait PasswordHasher: Send + Sync {
    /// Hashes `password` with `salt` into a self-describing string (PHC format).
    fn hash(&self, password: &str, salt: &[u8; 16]) -> String;
    /// Whether `password` matches `stored`. Any stored hash this hasher can read is checked
    /// with the parameters it carries, so raising the cost never locks anybody out.
    fn verify(&self, password: &str, stored: &str) -> bool;
}

/// argon2id with explicit costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2id {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes over the memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Argon2id {
    /// The production setting: 19 MiB, 2 passes, 1 lane (OWASP's argon2id minimum).
    pub const PRODUCTION: Argon2id = Argon2id { memory_kib: 19 * 1024, iterations: 2, parallelism: 1 };

    /// The cheapest setting argon2 allows: for tests only.
    pub const FAST_INSECURE: Argon2id = Argon2id { memory_kib: 8, iterations: 1, parallelism: 1 };

    fn argon2(&self) -> Option<Argon2<'static>> {
        let params = Params::new(self.memory_kib, self.iterations, self.parallelism, None).ok()?;
        Some(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }
}

impl Default for Argon2id {
    fn default() -> Self {
        Argon2id::PRODUCTION
    }
}

impl PasswordHasher for Argon2id {
    fn hash(&self, password: &str, salt: &[u8; 16]) -> String {
        let hashed = SaltString::encode_b64(salt)
            .ok()
            .zip(self.argon2())
            .and_then(|(salt, a)| a.hash_password(password.as_bytes(), &salt).ok().map(|h| h.to_string()));
        // Both steps only fail on parameters outside argon2's limits, which the constants avoid;
        // an empty hash matches no password, so the failure cannot let anyone in.
        hashed.unwrap_or_default()
    }

    fn verify(&self, password: &str, stored: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(stored) else {
            return false;
        };
        if parsed.algorithm.as_str() != "argon2id" {
            return false;
        }
        Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok()
    }
}

/// Compares two byte strings in time independent of where they differ.
pub fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::RandomIds;

    #[test]
    fn tokens_have_the_documented_shape_and_differ() {
        let ids = RandomIds;
        let a = new_token(&ids);
        let b = new_token(&ids);
        assert!(is_token_shaped(&a) && is_token_shaped(&b), "{a} {b}");
        assert_ne!(a, b);
        assert!(!is_token_shaped("ABC"));
        assert!(!is_token_shaped(&a.to_uppercase()));
    }

    #[test]
    fn codes_are_six_digits() {
        let ids = RandomIds;
        for _ in 0..200 {
            let c = new_code(&ids);
            assert_eq!(c.len(), 6);
            assert!(c.bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn hashes_round_trip_through_hex() {
        let h = SecretHash::of("abc");
        // SHA-256("abc"), FIPS 180-2 appendix B.1.
        assert_eq!(h.to_hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(SecretHash::from_hex(&h.to_hex()), Some(h));
        assert_eq!(SecretHash::from_hex("zz"), None);
        assert_ne!(SecretHash::keyed(b"a", "123456"), SecretHash::keyed(b"b", "123456"));
    }

    #[test]
    fn argon2id_at_test_cost() {
        let h = Argon2id::FAST_INSECURE;
        let stored = h.hash("correct horse", &[7; 16]);
        assert!(stored.starts_with("$argon2id$v=19$m=8,t=1,p=1$"), "{stored}");
        assert!(h.verify("correct horse", &stored));
        assert!(!h.verify("correct horsf", &stored));
        assert!(!h.verify("correct horse", ""));
        assert!(!h.verify("correct horse", "$argon2i$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$xxxx"));
    }

    #[test]
    fn argon2id_at_production_cost() {
        let h = Argon2id::PRODUCTION;
        let stored = h.hash("s3cret pass", &[1; 16]);
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{stored}");
        assert!(h.verify("s3cret pass", &stored));
        assert!(!h.verify("s3cret pasS", &stored));
        // A hash made at another cost still verifies: the parameters travel with it.
        assert!(Argon2id::FAST_INSECURE.verify("s3cret pass", &stored));
    }

    #[test]
    fn constant_time_compare() {
        assert!(same_bytes(b"abc", b"abc"));
        assert!(!same_bytes(b"abc", b"abd"));
        assert!(!same_bytes(b"abc", b"ab"));
    }
}
