//! What a new password must be, and passwords made for people.
//!
//! One policy for every place a password is set: the admin command
//! (`user-admin`) and the admin console (the Worker). It follows NIST SP
//! 800-63B section 3.1.1.2: at least 8 characters, every character
//! allowed (spaces and Unicode included), no composition rules, and not a
//! context-specific word (here: the username itself). The upper bound is
//! in bytes because the login body is capped at 4 KiB.
//!
//! [`generate`] turns 16 random bytes into a password to hand out once:
//! 20 characters from a 32-symbol alphabet without look-alikes (no `0 o 1
//! l`), grouped by four, so 100 bits of entropy that survive being read
//! aloud or typed from a screen.

use zeroize::Zeroizing;

/// The shortest password accepted, in characters.
pub const MIN_LEN: usize = 8;

/// The longest password accepted, in bytes (UTF-8).
pub const MAX_LEN: usize = 1024;

/// The random bytes [`generate`] takes.
pub const GENERATED_ENTROPY_BYTES: usize = 16;

/// Why a password cannot be set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// Fewer than [`MIN_LEN`] characters.
    #[error("the password must be at least {MIN_LEN} characters")]
    TooShort,
    /// More than [`MAX_LEN`] bytes.
    #[error("the password must be at most {MAX_LEN} bytes")]
    TooLong,
    /// The username, give or take case and surrounding spaces.
    #[error("the password must not be the username")]
    SameAsUsername,
}

/// Checks a new password for `username` against the policy (an empty
/// `username`: no account yet, that rule is skipped).
///
/// # Errors
/// The first [`PolicyError`] it breaks.
pub fn check(password: &str, username: &str) -> Result<(), PolicyError> {
    if password.len() > MAX_LEN {
        return Err(PolicyError::TooLong);
    }
    if password.chars().count() < MIN_LEN {
        return Err(PolicyError::TooShort);
    }
    let username = username.trim();
    if !username.is_empty() && password.trim().eq_ignore_ascii_case(username) {
        return Err(PolicyError::SameAsUsername);
    }
    Ok(())
}

/// 32 symbols: 2-9 and a-z without `l o`.
const ALPHABET: &[u8; 32] = b"23456789abcdefghijkmnpqrstuvwxyz";

/// A password made of `random` (from a CSPRNG): `xxxx-xxxx-xxxx-xxxx-xxxx`.
/// Each symbol is 5 bits of `random`, so every symbol is equally likely.
pub fn generate(random: &[u8; GENERATED_ENTROPY_BYTES]) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(24));
    let (mut bits, mut held) = (0_u32, 0_u32);
    let mut symbols = 0;
    for &byte in random {
        bits = (bits << 8) | u32::from(byte);
        held += 8;
        while held >= 5 && symbols < 20 {
            held -= 5;
            let index = (bits >> held) & 0x1f;
            if symbols > 0 && symbols % 4 == 0 {
                out.push('-');
            }
            out.push(char::from(ALPHABET[index as usize]));
            symbols += 1;
        }
        bits &= (1 << held) - 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_names_each_rule() {
        assert_eq!(check("seven77", "alice"), Err(PolicyError::TooShort));
        assert_eq!(check("eight888", "alice"), Ok(()));
        // Characters, not bytes: eight Greek letters are sixteen bytes.
        assert_eq!(check("αβγδεζηθ", "alice"), Ok(()));
        assert_eq!(check("αβγδεζη", "alice"), Err(PolicyError::TooShort));
        assert_eq!(check(&"x".repeat(MAX_LEN), "alice"), Ok(()));
        assert_eq!(check(&"x".repeat(MAX_LEN + 1), "alice"), Err(PolicyError::TooLong));
        assert_eq!(check("Alice.Smith", " alice.smith "), Err(PolicyError::SameAsUsername));
        assert_eq!(check("alice.smith!", "alice.smith"), Ok(()));
        assert_eq!(check("        ", ""), Ok(()), "no username, no such rule");
    }

    #[test]
    fn generated_passwords_use_every_bit_once() {
        assert_eq!(generate(&[0; 16]).as_str(), "2222-2222-2222-2222-2222");
        assert_eq!(generate(&[0xff; 16]).as_str(), "zzzz-zzzz-zzzz-zzzz-zzzz");
        // 0b00001_00010_00011_... : symbols 1, 2, 3 of the alphabet.
        let mut random = [0_u8; 16];
        random[0] = 0b0000_1000;
        random[1] = 0b1000_0110;
        assert_eq!(&generate(&random)[..4], "3452");
        // The last 28 bits are not used: 20 symbols take 100.
        let mut tail = [0_u8; 16];
        tail[15] = 0xff;
        assert_eq!(generate(&tail).as_str(), "2222-2222-2222-2222-2222");
    }

    #[test]
    fn generated_passwords_pass_the_policy_and_avoid_look_alikes() {
        let password = generate(&[0x5a; 16]);
        assert_eq!(password.len(), 24);
        assert_eq!(check(&password, "alice"), Ok(()));
        assert!(!password.contains(['0', '1', 'l', 'o']), "{}", password.as_str());
        assert_eq!(ALPHABET.len(), 32);
        let mut sorted = ALPHABET.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 32, "no symbol twice");
    }
}
