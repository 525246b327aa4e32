//! Deterministic mutations of real inputs, for the "never panics, and what
//! parses is consistent" tests every text parser here has. Test-only.

/// xorshift64: tiny, seedable, the same sequence on every machine.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// `count` mutated copies of `original`: one to four edits each, among
/// replacing a byte with one of `alphabet`, truncating, deleting a byte,
/// and splicing in a piece of the original (which makes lines repeat,
/// merge and split the way a torn read or a bad capture would).
pub(crate) fn mutations<'a>(
    original: &'a [u8],
    alphabet: &'a [u8],
    count: usize,
) -> impl Iterator<Item = Vec<u8>> + 'a {
    let mut rng = Rng::new(0x9e37_79b9_7f4a_7c15);
    (0..count).map(move |_| {
        let mut bytes = original.to_vec();
        for _ in 0..rng.below(4) + 1 {
            if bytes.is_empty() {
                break;
            }
            let at = rng.below(bytes.len());
            match rng.below(4) {
                0 => bytes[at] = alphabet[rng.below(alphabet.len())],
                1 => bytes.truncate(at),
                2 => {
                    bytes.remove(at);
                }
                _ => {
                    let from = rng.below(original.len());
                    let len = rng.below(40);
                    let piece = &original[from..(from + len).min(original.len())];
                    bytes.splice(at..at, piece.iter().copied());
                }
            }
        }
        bytes
    })
}
