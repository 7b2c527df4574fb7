//! `btfkit dump` against `bpftool btf dump` on the real-kernel corpus:
//! vmlinux and every module (split over vmlinux), byte for byte.

use std::path::PathBuf;
use std::sync::Mutex;

use btfkit_tests::{bpftool, bpftool_dump, corpus, corpus_modules, first_diff, our_dump};

#[test]
fn corpus_dump_equals_bpftool_for_vmlinux_and_every_module() {
    let (Some(dir), Some(bpftool)) = (corpus(), bpftool()) else { return };
    let vmlinux = dir.join("vmlinux");
    let base = std::fs::read(&vmlinux).unwrap();
    let ours = our_dump(&base, None).unwrap();
    let theirs = bpftool_dump(&bpftool, &vmlinux, None);
    assert!(ours == theirs, "vmlinux differs from bpftool at {}", first_diff(&ours, &theirs));

    let modules = corpus_modules(&dir);
    assert!(modules.len() > 1000, "expected the cloud corpus' ~1121 modules, found {}", modules.len());
    let queue = Mutex::new(modules.clone());
    let failures: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get()).min(8);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let Some(m): Option<PathBuf> = queue.lock().unwrap().pop() else { break };
                    let data = std::fs::read(&m).unwrap();
                    let theirs = bpftool_dump(&bpftool, &m, Some(&vmlinux));
                    let msg = match our_dump(&data, Some(&base)) {
                        Ok(ours) if ours == theirs => continue,
                        Ok(ours) => format!("{}: {}", m.display(), first_diff(&ours, &theirs)),
                        Err(e) => format!("{}: {e}", m.display()),
                    };
                    failures.lock().unwrap().push(msg);
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(failures.is_empty(), "{} of {} modules differ:\n{}", failures.len(), modules.len(), failures.join("\n"));
    eprintln!("golden: vmlinux and {} modules identical to bpftool", modules.len());
}
