//! The one mixer for randomness: bodies pass raw entropy in (the core never
//! reads the OS), and every value drawn from it goes through splitmix64, so
//! nearby inputs still give unrelated outputs.

/// Mixes `x` into a well-spread 64-bit value (splitmix64's finaliser).
pub fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A stream of values drawn from one piece of entropy.
#[derive(Debug, Clone)]
pub struct Draws {
    entropy: u64,
    drawn: u64,
}

impl Draws {
    /// Values drawn from `entropy`, each one different.
    pub fn new(entropy: u64) -> Self {
        Draws { entropy, drawn: 0 }
    }

    /// The next value.
    pub fn next_value(&mut self) -> u64 {
        self.drawn += 1;
        mix(self.entropy ^ self.drawn.wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_differ_and_repeat_for_the_same_entropy() {
        let mut a = Draws::new(7);
        let mut b = Draws::new(7);
        let first = a.next_value();
        assert_ne!(first, a.next_value());
        assert_eq!(first, b.next_value());
        assert_ne!(Draws::new(8).next_value(), first);
    }
}
