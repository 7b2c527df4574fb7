//! Small committed fixtures made from our own C sources (tests/fixtures):
//! our dump must equal the committed bpftool output, and, where bpftool is
//! installed, that committed output must still be what bpftool prints.

use std::path::{Path, PathBuf};

use btfkit::{Btf, Endian, Kind};
use btfkit_tests::{bpftool, bpftool_dump, first_diff, our_dump, workspace};

fn fixtures() -> PathBuf {
    workspace().join("tests/fixtures")
}

fn read(name: &str) -> Vec<u8> {
    let p = fixtures().join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// (fixture, base) pairs that have a committed `<name>.bpftool.txt`.
fn cases() -> Vec<(String, Option<String>)> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(fixtures()).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_str().unwrap().to_owned();
        if let Some(stem) = name.strip_suffix(".btf")
            && Path::new(&fixtures().join(format!("{stem}.bpftool.txt"))).exists()
        {
            let base = (stem == "split").then(|| "split_base.btf".to_owned());
            v.push((name, base));
        }
    }
    v.sort();
    assert!(v.len() >= 4, "expected at least 4 fixtures with bpftool goldens, found {v:?}");
    v
}

#[test]
fn fixture_dumps_equal_committed_bpftool_output() {
    for (name, base) in cases() {
        let stem = name.strip_suffix(".btf").unwrap();
        let golden = read(&format!("{stem}.bpftool.txt"));
        let base_bytes = base.as_deref().map(read);
        let ours = our_dump(&read(&name), base_bytes.as_deref()).unwrap();
        assert!(ours == golden, "{name}: {}", first_diff(&ours, &golden));
    }
}

#[test]
fn committed_goldens_are_still_bpftools_output() {
    let Some(bpftool) = bpftool() else { return };
    for (name, base) in cases() {
        let stem = name.strip_suffix(".btf").unwrap();
        let golden = read(&format!("{stem}.bpftool.txt"));
        let theirs = bpftool_dump(&bpftool, &fixtures().join(&name), base.map(|b| fixtures().join(b)).as_deref());
        assert!(theirs == golden, "{name}: golden is stale: {}", first_diff(&golden, &theirs));
    }
}

#[test]
fn fixtures_cover_every_kind_and_both_byte_orders() {
    let mut seen = [false; 20];
    let mut orders = Vec::new();
    for (name, base) in cases() {
        let base_bytes = base.as_deref().map(read);
        let base_btf = base_bytes.as_deref().map(|b| Btf::parse(b).unwrap());
        let data = read(&name);
        let btf = Btf::parse_with(&data, base_btf.as_ref(), btfkit::ParseOptions::default()).unwrap();
        orders.push(btf.endian());
        for t in btf.types() {
            seen[t.unwrap().kind_raw() as usize] = true;
        }
    }
    for k in Kind::ALL {
        assert!(seen[*k as usize], "no fixture has a {k}");
    }
    assert!(orders.contains(&Endian::Big) && orders.contains(&Endian::Little));
}
