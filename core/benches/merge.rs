//! Criterion benchmarks of merging the real-kernel cloud set: vmlinux and
//! its 1121 modules (`$BTFKIT_CORPUS`, else `target/corpus/cloud-6.1.0-50`;
//! build it with `tests/corpus/build-corpus.sh`).
//!
//! Groups: `merge/plan` (reference checks and string interning),
//! `merge/flat` and `merge/split` (plan + write into a reused buffer), and
//! `merge/write-round-trip-vmlinux` (every vmlinux record through the
//! builder). Files are read once, outside the timings; the whole-process
//! figure, reads included, is `tests/bench/whole-process.sh`.

use std::hint::black_box;
use std::path::PathBuf;

use btfkit::Btf;
use btfkit::merge::{Form, Merge, MergeOptions};
use btfkit::write::{Builder, BuilderOptions, HashIndex, StrTable};
use criterion::{Criterion, criterion_group, criterion_main};

fn corpus_dir() -> PathBuf {
    std::env::var_os("BTFKIT_CORPUS").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/corpus/cloud-6.1.0-50"),
        PathBuf::from,
    )
}

fn bench(c: &mut Criterion) {
    let dir = corpus_dir();
    let base_data = std::fs::read(dir.join("vmlinux")).expect("corpus: run tests/corpus/build-corpus.sh");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.is_file() && !p.ends_with("vmlinux") && !p.file_name().unwrap().to_str().unwrap().starts_with('.')
        })
        .collect();
    paths.sort();
    let datas: Vec<Vec<u8>> = paths.iter().map(|p| std::fs::read(p).unwrap()).collect();
    let base = Btf::parse(&base_data).unwrap();
    let modules: Vec<Btf> = datas.iter().map(|d| Btf::parse_split(d, &base).unwrap()).collect();

    let mut g = c.benchmark_group("merge");
    g.sample_size(20);
    for (name, form) in [("flat", Form::Flat), ("split", Form::Split)] {
        let opts = MergeOptions { form, ..MergeOptions::default() };
        let need = Merge::scratch_len(&base, &modules, &opts).unwrap();
        let (mut words, mut slots) = (vec![0u32; need.words], vec![0u64; need.slots]);
        let len = Merge::plan(&base, &modules, &opts, &mut words, &mut slots).unwrap().len();
        let mut out = vec![0u8; len];
        if form == Form::Flat {
            g.bench_function("plan", |b| {
                b.iter(|| {
                    Merge::plan(&base, black_box(&modules), &opts, &mut words, &mut slots).map(|m| m.len()).unwrap_or(0)
                })
            });
        }
        g.bench_function(name, |b| {
            b.iter(|| {
                let m = Merge::plan(&base, black_box(&modules), &opts, &mut words, &mut slots).unwrap();
                m.write(&mut out).unwrap()
            })
        });
    }
    g.bench_function("write-round-trip-vmlinux", |b| {
        b.iter(|| {
            let strings =
                StrTable::from_section(Vec::new(), HashIndex::default(), base.own_strings(), base.start_str_off())
                    .unwrap();
            let mut w = Builder::new(BuilderOptions::standalone(base.endian()), Vec::new(), strings).unwrap();
            for t in base.types() {
                w.add_type(&t.unwrap()).unwrap();
            }
            w.len()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
