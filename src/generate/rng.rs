//! The only source of randomness in generate.
//!
//! Algorithm: ChaCha8 (rand_chacha 0.3, stable across platforms and versions). Each table (and
//! each purpose within a table) gets a key derived as SHA-256("dentsynth/v1" | seed | table |
//! purpose); each entity (row, parent, ...) reads the ChaCha stream numbered by its id. So a value
//! depends only on (seed, table, purpose, entity id), never on thread scheduling or `--jobs`.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};

/// Key material for one (seed, table, purpose).
#[derive(Debug, Clone, Copy)]
pub struct StreamKey([u8; 32]);

impl StreamKey {
    pub fn new(seed: u64, table: &str, purpose: &str) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(b"dentsynth/v1\0");
        hasher.update(seed.to_le_bytes());
        hasher.update(table.as_bytes());
        hasher.update([0]);
        hasher.update(purpose.as_bytes());
        Self(hasher.finalize().into())
    }

    /// The random stream of one entity.
    pub fn stream(&self, entity: u64) -> ChaCha8Rng {
        let mut rng = ChaCha8Rng::from_seed(self.0);
        rng.set_stream(entity);
        rng
    }
}

#[cfg(test)]
mod tests {
    use rand::Rng;

    use super::*;

    const PINNED: u32 = 3244758583;

    #[test]
    fn streams_are_reproducible_and_independent() {
        let key = StreamKey::new(42, "patient", "rows");
        let a: u64 = key.stream(7).gen();
        let b: u64 = key.stream(7).gen();
        let c: u64 = key.stream(8).gen();
        let d: u64 = StreamKey::new(43, "patient", "rows").stream(7).gen();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
        // Pinned: a change of algorithm or key derivation must be deliberate (it changes every demo).
        assert_eq!(StreamKey::new(1, "t", "p").stream(0).gen::<u32>(), PINNED);
    }
}
