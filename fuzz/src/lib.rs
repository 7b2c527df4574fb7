//! Fuzz targets for btfkit, as a library so that `cargo test` runs each
//! target's smoke test over the committed seeds (`seeds/<target>/`).
//!
//! Each module exports `run(&[u8])`; `fuzz_targets/<name>.rs` is a thin
//! libFuzzer wrapper, built only under `cargo fuzz` (`cfg(fuzzing)`).

pub mod merge;
pub mod parse;
pub mod validate;

/// Deterministic xorshift mutations of the seeds, for smoke tests.
#[cfg(test)]
pub(crate) fn smoke(target: &str, run: fn(&[u8]), mutations_per_seed: usize) -> usize {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds").join(target);
    let mut seeds: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    seeds.sort();
    assert!(!seeds.is_empty(), "no seeds in {}", dir.display());
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut runs = 0;
    for path in &seeds {
        let seed = std::fs::read(path).unwrap();
        run(&seed);
        runs += 1;
        for _ in 0..mutations_per_seed {
            let mut m = seed.clone();
            match next() % 4 {
                0 if !m.is_empty() => {
                    let at = (next() as usize) % m.len();
                    m[at] = next() as u8;
                }
                1 => m.truncate((next() as usize) % (seed.len() + 1)),
                2 if m.len() >= 4 => {
                    // overwrite a 32-bit word: ids, offsets, sizes, info
                    let at = (next() as usize) % (m.len() - 3);
                    m[at..at + 4].copy_from_slice(&(next() as u32).to_le_bytes());
                }
                _ => {
                    let at = (next() as usize) % (m.len() + 1);
                    m.insert(at, next() as u8);
                }
            }
            run(&m);
            runs += 1;
        }
    }
    runs
}
