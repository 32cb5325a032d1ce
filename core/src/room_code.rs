//! Room codes like `abc-defg-hij`: easy to read aloud and type, hard to guess
//! (26^10 ≈ 1.4 × 10^14 codes).

use rand::Rng;

/// A new random room code.
pub fn generate() -> String {
    let mut rng = rand::rng();
    let mut part = |n: usize| -> String {
        (0..n)
            .map(|_| char::from(b'a' + rng.random_range(0..26u8)))
            .collect()
    };
    format!("{}-{}-{}", part(3), part(4), part(3))
}

/// Whether `code` is a usable room code: 1–64 characters of lowercase letters, digits and
/// `-`/`_`, so it is safe in URLs, Redis keys and logs.
pub fn is_valid(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 64
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_codes_are_valid_and_meet_shaped() {
        for _ in 0..100 {
            let c = generate();
            assert!(is_valid(&c), "{c}");
            let parts: Vec<usize> = c.split('-').map(str::len).collect();
            assert_eq!(parts, vec![3, 4, 3]);
        }
        assert_ne!(generate(), generate());
    }

    #[test]
    fn rejects_unsafe_codes() {
        for bad in ["", "ABC", "a b", "a{b}", "a/b", &"x".repeat(65)] {
            assert!(!is_valid(bad), "{bad:?}");
        }
    }
}
