//! Criterion benchmarks on the real-kernel corpus vmlinux
//! (`$BTFKIT_CORPUS/vmlinux`, else `target/corpus/cloud-6.1.0-50/vmlinux`;
//! build it with `tests/corpus/build-corpus.sh`).
//!
//! Groups: `parse` (header + tiling walk), `index` (parse + id index),
//! `walk` (parse + index + decode every type's view and members), `dump`
//! (bpftool-format text into a counting sink), and `validate-*` (full
//! validation per profile, with reused scratch).

use std::hint::black_box;
use std::path::PathBuf;

use btfkit::dump::{CountingSink, dump_all};
use btfkit::validate::{KernelVersion, Profile, ValidateOptions, scratch_len, validate};
use btfkit::{Btf, TypeView};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn vmlinux() -> Vec<u8> {
    let dir = std::env::var_os("BTFKIT_CORPUS").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/corpus/cloud-6.1.0-50"),
        PathBuf::from,
    );
    let p = dir.join("vmlinux");
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}; run tests/corpus/build-corpus.sh", p.display()))
}

fn walk(btf: &Btf<'_>) -> u64 {
    let mut n = 0u64;
    for t in btf.types() {
        let t = t.expect("corpus parses");
        n += match t.view() {
            TypeView::Struct(c) | TypeView::Union(c) => c.members().map(|m| u64::from(m.ty.0)).sum(),
            TypeView::FuncProto(p) => p.params().map(|p| u64::from(p.ty.0)).sum(),
            TypeView::Enum(e) | TypeView::Enum64(e) => e.values().map(|v| v.raw).sum(),
            TypeView::Datasec(d) => d.entries().map(|e| u64::from(e.size)).sum(),
            _ => u64::from(t.size_or_type()),
        };
    }
    n
}

fn bench(c: &mut Criterion) {
    let data = vmlinux();
    let mut g = c.benchmark_group("vmlinux");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.bench_function("parse", |b| b.iter(|| Btf::parse(black_box(&data)).unwrap().own_type_count()));
    let n = Btf::parse(&data).unwrap().index_len();
    let mut slots = vec![0u32; n];
    g.bench_function("parse+index", |b| {
        b.iter(|| {
            let btf = Btf::parse(black_box(&data)).unwrap();
            let ix = btf.build_index(&mut slots).unwrap();
            btf.with_index(ix).unwrap().type_count()
        })
    });
    g.bench_function("parse+index+walk", |b| {
        b.iter(|| {
            let btf = Btf::parse(black_box(&data)).unwrap();
            let ix = btf.build_index(&mut slots).unwrap();
            let btf = btf.with_index(ix).unwrap();
            walk(&btf)
        })
    });
    let btf = Btf::parse(&data).unwrap();
    let ix = btf.build_index_vec().unwrap();
    let btf = btf.with_index(btfkit::IdIndex::from_built(&btf, &ix)).unwrap();
    g.bench_function("dump", |b| {
        b.iter(|| {
            let mut s = CountingSink::default();
            dump_all(&btf, &mut s).unwrap();
            s.0
        })
    });
    for (name, profile) in [
        ("validate-userload", Profile::UserLoad),
        ("validate-strict", Profile::Strict),
        ("validate-vmlinux", Profile::Vmlinux),
    ] {
        // 6.18 rules accept both the corpus (6.1) and the running kernel's BTF.
        let opts = ValidateOptions::new(profile, KernelVersion::new(6, 18));
        let mut scratch = vec![0u32; scratch_len(&data, None, &opts)];
        g.bench_function(name, |b| b.iter(|| validate(black_box(&data), None, &opts, &mut scratch).unwrap()));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
