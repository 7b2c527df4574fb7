//! Criterion benchmarks on the real-kernel corpus vmlinux
//! (`$BTFKIT_CORPUS/vmlinux`, else `target/corpus/cloud-6.1.0-50/vmlinux`;
//! build it with `tests/corpus/build-corpus.sh`).
//!
//! Groups: `parse` (header + tiling walk), `index` (parse + id index),
//! `walk` (parse + index + decode every type's view and members), `dump`
//! (bpftool-format text into a counting sink), `validate-*` (full
//! validation per profile, with reused scratch), and `kernel-btf-load`: the
//! running kernel's own `bpf(BPF_BTF_LOAD)` of the same bytes (load, then
//! close the fd), so that ours and the kernel's time come from one run. It
//! needs root (or CAP_BPF); without it a loud note is printed and that
//! bench is skipped.

use std::hint::black_box;
use std::path::PathBuf;

use btfkit::dump::{CountingSink, dump_all};
use btfkit::validate::{KernelVersion, Profile, ValidateOptions, scratch_len, validate};
use btfkit::{Btf, TypeView};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn corpus_dir() -> PathBuf {
    std::env::var_os("BTFKIT_CORPUS").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/corpus/cloud-6.1.0-50"),
        PathBuf::from,
    )
}

fn vmlinux() -> Vec<u8> {
    let p = corpus_dir().join("vmlinux");
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
    // The kernel's verdict and time on the same bytes. `btf_load` is one
    // bpf(BPF_BTF_LOAD = 18) syscall and the close of the new fd on success.
    match btfkit_tests::kernel::btf_load(&data) {
        Ok(()) => {
            g.bench_function("kernel-btf-load", |b| {
                b.iter(|| btfkit_tests::kernel::btf_load(black_box(&data)).unwrap())
            });
        }
        Err(e) => {
            let why = btfkit_tests::kernel::availability().err().unwrap_or_else(|| format!("errno {}", e.errno));
            eprintln!();
            eprintln!("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!");
            eprintln!("!!! vmlinux/kernel-btf-load SKIPPED: bpf(BPF_BTF_LOAD) failed: {why}");
            eprintln!("!!! (kernel {}); run as root to compare with the kernel.", btfkit_tests::kernel::release());
            eprintln!("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!");
            eprintln!();
        }
    }
    g.finish();
}

/// The whole cloud set: name indexes for vmlinux and every module, and
/// lookups through the composite.
fn bench_names(c: &mut Criterion) {
    use btfkit::composite::{Composite, Layer, Order};
    use btfkit::names::NameIndex;
    let dir = corpus_dir();
    let base_data = vmlinux();
    let mut mods: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.is_file() && !p.file_name().unwrap().to_str().unwrap().starts_with('.') && !p.ends_with("vmlinux")
        })
        .map(|p| (p.file_name().unwrap().to_str().unwrap().to_owned(), std::fs::read(&p).unwrap()))
        .collect();
    mods.sort();
    let base = Btf::parse(&base_data).unwrap();
    let bix = base.build_index_vec().unwrap();
    let base = base.with_index(btfkit::IdIndex::from_built(&base, &bix)).unwrap();
    let parsed: Vec<Btf> = mods.iter().map(|(_, d)| Btf::parse_split(d, &base).unwrap()).collect();
    let ixs: Vec<Vec<u32>> = parsed.iter().map(|b| b.build_index_vec().unwrap()).collect();
    let indexed: Vec<Btf> =
        parsed.iter().zip(&ixs).map(|(b, ix)| b.with_index(btfkit::IdIndex::from_built(b, ix)).unwrap()).collect();
    let lens: Vec<usize> = std::iter::once(&base).chain(&indexed).map(|b| b.name_index_len().unwrap()).collect();
    let mut storage: Vec<Vec<u64>> = lens.iter().map(|&n| vec![0u64; n]).collect();
    let mut g = c.benchmark_group("cloud-set");
    g.bench_function("name-index-all-layers", |b| {
        b.iter(|| {
            let mut n = 0;
            for (btf, st) in std::iter::once(&base).chain(&indexed).zip(storage.iter_mut()) {
                n += btf.build_name_index(st).unwrap().len();
            }
            n
        })
    });
    let names: Vec<Vec<u64>> =
        std::iter::once(&base).chain(&indexed).map(|b| b.build_name_index_vec().unwrap()).collect();
    let layers: Vec<Layer> = std::iter::once(&base)
        .chain(&indexed)
        .zip(&names)
        .map(|(b, n)| Layer::new(*b, NameIndex::from_built(n)))
        .collect();
    let all = Composite::new(&layers).unwrap();
    let btrfs = 1 + mods.iter().position(|(n, _)| n == "btrfs").unwrap() as u16;
    g.bench_function("lookup-base-first-task_struct", |b| {
        b.iter(|| all.find(black_box(b"task_struct"), Some(btfkit::Kind::Struct), Order::BaseFirst).next())
    });
    g.bench_function("lookup-own-layer-btrfs_inode", |b| {
        b.iter(|| all.find(black_box(b"btrfs_inode"), Some(btfkit::Kind::Struct), Order::Own(btrfs)).next())
    });
    g.bench_function("type-exists-all-layers-btrfs_inode", |b| {
        b.iter(|| all.type_exists(btfkit::Kind::Struct, black_box(b"btrfs_inode")))
    });
    g.finish();
}

criterion_group!(benches, bench, bench_names);
criterion_main!(benches);
