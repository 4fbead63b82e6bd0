//! Every fuzz target, briefly, on stable: the committed corpus
//! (`fuzz/corpus/<target>/`, what cargo-fuzz kept for its coverage, and
//! the inputs of bugs it found), then pseudo-random mutations of it. A
//! panic fails the test. Deterministic: the same inputs on every run.

use std::path::{Path, PathBuf};

use fuzz_targets::TARGETS;

/// Mutated inputs per target.
const MUTATIONS: usize = 4_000;

/// xorshift64*: enough to mutate bytes, deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        let n = u64::try_from(n.max(1)).unwrap_or(u64::MAX);
        usize::try_from(self.next() % n).unwrap_or(0)
    }
}

/// Bytes parsers care about.
const TOKENS: [&[u8]; 16] = [
    b"\"",
    b"{",
    b"}",
    b"[",
    b"]",
    b"\\",
    b"\\u0000",
    b"%",
    b"%zz",
    b"=",
    b"&",
    b";",
    b".",
    b"\xff",
    b"99999999999999999999",
    b"-",
];

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut data = seed.to_vec();
    for _ in 0..=rng.below(8) {
        let at = rng.below(data.len() + 1);
        match rng.below(6) {
            0 if !data.is_empty() => {
                let i = at.min(data.len() - 1);
                data[i] ^= 1 << rng.below(8);
            }
            1 => data.insert(at, rng.next().to_le_bytes()[0]),
            2 if at < data.len() => {
                let end = (at + 1 + rng.below(16)).min(data.len());
                data.drain(at..end);
            }
            3 if at < data.len() => {
                let end = (at + 1 + rng.below(64)).min(data.len());
                let copy = data[at..end].to_vec();
                data.splice(at..at, copy);
            }
            4 => {
                let token = TOKENS[rng.below(TOKENS.len())];
                data.splice(at..at, token.iter().copied());
            }
            _ => data.truncate(at),
        }
    }
    data
}

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus").join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .collect();
    files.sort();
    files.into_iter().map(|p| (p.clone(), std::fs::read(&p).expect("corpus file"))).collect()
}

#[test]
fn every_target_survives_its_corpus_and_mutations_of_it() {
    for (name, target) in TARGETS {
        let seeds = corpus(name);
        assert!(!seeds.is_empty(), "{name}: no corpus");
        for (path, data) in &seeds {
            // A panic names the file: `cargo fuzz run NAME PATH` reproduces it.
            eprintln!("{name}: {}", path.display());
            target(data);
        }
        let mut rng =
            Rng(0x9E37_79B9_7F4A_7C15 ^ u64::from(name.bytes().map(u32::from).sum::<u32>()));
        for _ in 0..MUTATIONS {
            let random;
            let seed: &[u8] = if rng.below(10) == 0 {
                random =
                    (0..rng.below(300)).map(|_| rng.next().to_le_bytes()[0]).collect::<Vec<u8>>();
                &random
            } else {
                &seeds[rng.below(seeds.len())].1
            };
            target(&mutate(&mut rng, seed));
        }
    }
}
