//! `btfkit::json` against `bpftool -j btf dump file`: the fixtures (every
//! kind, both byte orders, split), vmlinux and every module of the corpus,
//! byte for byte.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use btfkit::{Btf, IdIndex};
use btfkit_tests::{bpftool, corpus, corpus_modules, workspace};

fn bpftool_json(bpftool: &Path, file: &Path, base: Option<&Path>) -> Vec<u8> {
    let mut cmd = Command::new(bpftool);
    cmd.args(["-j", "btf", "dump", "file"]).arg(file);
    if let Some(b) = base {
        cmd.arg("-B").arg(b);
    }
    let out = cmd.output().expect("bpftool runs");
    assert!(out.status.success(), "bpftool -j failed on {}", file.display());
    out.stdout
}

fn our_json(data: &[u8], base: Option<&[u8]>) -> Vec<u8> {
    let base = base.map(|b| Btf::parse(b).unwrap());
    let bix = base.as_ref().map(|b| b.build_index_vec().unwrap());
    let base = match (base, &bix) {
        (Some(b), Some(ix)) => Some(b.with_index(IdIndex::from_built(&b, ix)).unwrap()),
        _ => None,
    };
    let btf = Btf::parse_with(data, base.as_ref(), btfkit::ParseOptions::default()).unwrap();
    let ix = btf.build_index_vec().unwrap();
    let btf = btf.with_index(IdIndex::from_built(&btf, &ix)).unwrap();
    let mut out = Vec::new();
    btfkit::json::dump_all(&btf, &mut out).unwrap();
    out
}

fn first_diff(a: &[u8], b: &[u8]) -> String {
    let i = a.iter().zip(b).position(|(x, y)| x != y).unwrap_or(a.len().min(b.len()));
    let ctx = |v: &[u8]| String::from_utf8_lossy(&v[i.saturating_sub(80)..(i + 80).min(v.len())]).into_owned();
    format!("at byte {i}:\n  ours:    {}\n  bpftool: {}", ctx(a), ctx(b))
}

#[test]
fn json_equals_bpftool_on_fixtures_vmlinux_and_every_module() {
    let Some(bpftool) = bpftool() else { return };
    let fx = workspace().join("tests/fixtures");
    for f in ["standalone", "bpfel", "bpfeb", "split_base"] {
        let p = fx.join(format!("{f}.btf"));
        let (ours, theirs) = (our_json(&std::fs::read(&p).unwrap(), None), bpftool_json(&bpftool, &p, None));
        assert!(ours == theirs, "{f}: {}", first_diff(&ours, &theirs));
    }
    let (sp, sb) = (fx.join("split.btf"), fx.join("split_base.btf"));
    let ours = our_json(&std::fs::read(&sp).unwrap(), Some(&std::fs::read(&sb).unwrap()));
    let theirs = bpftool_json(&bpftool, &sp, Some(&sb));
    assert!(ours == theirs, "split: {}", first_diff(&ours, &theirs));

    let Some(dir) = corpus() else { return };
    let vmlinux = dir.join("vmlinux");
    let base = std::fs::read(&vmlinux).unwrap();
    let (ours, theirs) = (our_json(&base, None), bpftool_json(&bpftool, &vmlinux, None));
    assert!(ours == theirs, "vmlinux: {}", first_diff(&ours, &theirs));
    let queue = Mutex::new(corpus_modules(&dir));
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..std::thread::available_parallelism().map_or(2, |n| n.get()).min(8) {
            s.spawn(|| {
                loop {
                    let Some(m): Option<PathBuf> = queue.lock().unwrap().pop() else { break };
                    let ours = our_json(&std::fs::read(&m).unwrap(), Some(&base));
                    let theirs = bpftool_json(&bpftool, &m, Some(&vmlinux));
                    if ours != theirs {
                        failures.lock().unwrap().push(format!("{}: {}", m.display(), first_diff(&ours, &theirs)));
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(failures.is_empty(), "{} modules differ:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn json_escapes_names_as_bpftool_does() {
    // Names with every byte bpftool's JSON writer treats specially, and an
    // unsigned and a signed extreme enum value; checked against bpftool
    // itself on this very blob.
    let Some(bpftool) = bpftool() else { return };
    let mut b =
        btfkit::write::VecBuilder::new_vec(btfkit::write::BuilderOptions::standalone(btfkit::Endian::Little)).unwrap();
    let int = b.add_int(&b"a\\b\"c'd\te\nf\rg\x0ch\x08i\x01j\xffk"[..], 4, 0, 0, 32).unwrap();
    b.add_enum("u", 4, false).unwrap();
    b.add_enum_value("MAX", 0xffff_ffff).unwrap();
    b.add_enum("s", 4, true).unwrap();
    b.add_enum_value("MIN", -0x8000_0000).unwrap();
    b.add_typedef("t", int).unwrap();
    let blob = b.to_vec().unwrap();
    let p = std::env::temp_dir().join(format!("btfkit-json-{}.btf", std::process::id()));
    std::fs::write(&p, &blob).unwrap();
    let theirs = bpftool_json(&bpftool, &p, None);
    let ours = our_json(&blob, None);
    assert!(ours == theirs, "{}", first_diff(&ours, &theirs));
    let _ = std::fs::remove_file(&p);
}
