//! Row fingerprints for telling carved rows that repeat a live row.

use rowcodec::sqlite::Value;

/// Hashes keys that already hold a [`fingerprint`]: no need for SipHash.
#[derive(Default, Clone, Copy)]
pub(super) struct FingerprintHasher(u64);

impl std::hash::BuildHasher for FingerprintHasher {
    type Hasher = Self;
    fn build_hasher(&self) -> Self {
        Self(0)
    }
}

impl std::hash::Hasher for FingerprintHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = self.0.rotate_left(29) ^ n;
    }
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}

/// A 64-bit fingerprint of a row's values (type tags, lengths and bytes,
/// mixed by folded 128-bit multiplication), for telling carved rows that
/// repeat a live row.
pub fn fingerprint(values: &[Value<'_>]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    fn mix(h: u64, w: u64) -> u64 {
        let m = u128::from(h ^ w).wrapping_mul(u128::from(K ^ 0x2d35_8dcc_aa6c_78a5));
        let [lo, hi] = [m, m >> 64].map(|x| u64::try_from(x & u128::from(u64::MAX)).unwrap_or(0));
        lo ^ hi
    }
    let mut h = mix(K, values.len() as u64);
    for v in values {
        h = match v {
            Value::Null => mix(h, 1),
            Value::Int(i) => mix(mix(h, 2), *i as u64),
            Value::Real(r) => mix(mix(h, 3), r.to_bits()),
            Value::Text(b) | Value::Blob(b) => {
                let tag = if matches!(v, Value::Text(_)) { 4 } else { 5 };
                let mut h = mix(mix(h, tag), b.len() as u64);
                let mut chunks = b.chunks_exact(8);
                for c in &mut chunks {
                    let mut w = [0u8; 8];
                    w.copy_from_slice(c);
                    h = mix(h, u64::from_le_bytes(w));
                }
                let mut w = [0u8; 8];
                for (d, s) in w.iter_mut().zip(chunks.remainder()) {
                    *d = *s;
                }
                mix(h, u64::from_le_bytes(w))
            }
        };
    }
    h
}
