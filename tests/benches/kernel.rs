//! Our `UserLoad` validation beside the running kernel's own
//! `bpf(BPF_BTF_LOAD)` of the same bytes (load, then close the fd), in one
//! criterion run, so that the ratio the validation issue budgets holds on a
//! noisy machine. Needs root (or CAP_BPF) and the corpus
//! (`tests/corpus/build-corpus.sh`); without bpf() the kernel bench is
//! skipped with a loud note.
//!
//! It lives here, not in core's benches, because a dev-dependency of core
//! on this crate would turn on core's `alloc` feature in core's own tests.

use std::hint::black_box;

use btfkit::validate::{KernelVersion, Profile, ValidateOptions, scratch_len, validate};
use btfkit_tests::kernel;
use criterion::{Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let dir = btfkit_tests::corpus().expect("the corpus: run tests/corpus/build-corpus.sh");
    let data = std::fs::read(dir.join("vmlinux")).unwrap();
    let mut g = c.benchmark_group("vmlinux-vs-kernel");
    let opts = ValidateOptions::new(Profile::UserLoad, KernelVersion::LATEST);
    let mut scratch = vec![0u32; scratch_len(&data, None, &opts)];
    g.bench_function("validate-userload", |b| {
        b.iter(|| validate(black_box(&data), None, &opts, &mut scratch).unwrap())
    });
    match kernel::btf_load(&data) {
        Ok(()) => {
            g.bench_function("kernel-btf-load", |b| b.iter(|| kernel::btf_load(black_box(&data)).unwrap()));
        }
        Err(e) => {
            let why = kernel::availability().err().unwrap_or_else(|| format!("errno {}", e.errno));
            eprintln!("\n!!! vmlinux-vs-kernel/kernel-btf-load SKIPPED: bpf(BPF_BTF_LOAD) failed: {why}");
            eprintln!("!!! (kernel {}); run as root to compare with the kernel.\n", kernel::release());
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
