//! The writer and the merge on the real-kernel corpus:
//! - every blob (vmlinux, all 1121 modules, the fixtures) written again
//!   through the builder is byte-identical;
//! - vmlinux + all 1121 modules merged flat is valid for the running
//!   kernel's `UserLoad` rules, under 16 MiB, **loaded by the kernel**, and
//!   bpftool's dump of it is the inputs' dumps with ids renumbered by the
//!   merge's id map; the split form likewise over vmlinux;
//! - the seed's scenario (`struct btrfs_inode`, defined only in btrfs)
//!   through the library and the CLI.

use std::path::{Path, PathBuf};

use btfkit::merge::{Form, Merge, MergeOptions};
use btfkit::validate::{KernelVersion, Profile, ValidateOptions, validate_vec};
use btfkit::write::{Builder, BuilderOptions, HashIndex, StrTable};
use btfkit::{Btf, Kind, TypeId};
use btfkit_tests::{bpftool, corpus, corpus_modules, first_diff, kernel, our_dump, unavailable, workspace};

/// `data` (split over `base`) through the builder: its strings as they
/// are, every record with `add_type`.
fn rewrite(data: &[u8], base: Option<&Btf<'_>>) -> Vec<u8> {
    let btf = match base {
        Some(b) => Btf::parse_split(data, b).unwrap(),
        None => Btf::parse(data).unwrap(),
    };
    let strings =
        StrTable::from_section(Vec::new(), HashIndex::default(), btf.own_strings(), btf.start_str_off()).unwrap();
    let mut opts = match base {
        Some(b) => BuilderOptions::split_of(b),
        None => BuilderOptions::standalone(btf.endian()),
    };
    opts.header_len = btf.header().hdr_len;
    let mut b = Builder::new(opts, Vec::new(), strings).unwrap();
    for ty in btf.types() {
        b.add_type(&ty.unwrap()).unwrap();
    }
    let mut out = vec![0u8; b.len()];
    b.write(&mut out).unwrap();
    out
}

#[test]
fn round_trip_through_the_builder_is_byte_exact_on_the_corpus_and_fixtures() {
    let fixtures = workspace().join("tests/fixtures");
    for f in ["standalone", "bpfel", "bpfeb", "split_base"] {
        let data = std::fs::read(fixtures.join(format!("{f}.btf"))).unwrap();
        assert!(rewrite(&data, None) == data, "fixture {f}");
    }
    let sb = std::fs::read(fixtures.join("split_base.btf")).unwrap();
    let sbase = Btf::parse(&sb).unwrap();
    let split = std::fs::read(fixtures.join("split.btf")).unwrap();
    assert!(rewrite(&split, Some(&sbase)) == split, "fixture split");

    let Some(dir) = corpus() else { return };
    let vm = std::fs::read(dir.join("vmlinux")).unwrap();
    assert!(rewrite(&vm, None) == vm, "vmlinux");
    let base = Btf::parse(&vm).unwrap();
    let modules = corpus_modules(&dir);
    assert!(modules.len() > 1000);
    for m in &modules {
        let data = std::fs::read(m).unwrap();
        assert!(rewrite(&data, Some(&base)) == data, "{}", m.display());
    }
    eprintln!("round trip: fixtures, vmlinux and {} modules byte-identical", modules.len());
}

struct Loaded {
    vmlinux: PathBuf,
    base: Vec<u8>,
    paths: Vec<PathBuf>,
    datas: Vec<Vec<u8>>,
}

fn load(dir: &Path) -> Loaded {
    let vmlinux = dir.join("vmlinux");
    let paths = corpus_modules(dir);
    let datas = paths.iter().map(|p| std::fs::read(p).unwrap()).collect();
    Loaded { base: std::fs::read(&vmlinux).unwrap(), vmlinux, paths, datas }
}

fn merged(base: &Btf<'_>, modules: &[Btf<'_>], form: Form) -> (Vec<u8>, Vec<Vec<u32>>) {
    let opts = MergeOptions { form, ..MergeOptions::default() };
    let need = Merge::scratch_len(base, modules, &opts).unwrap();
    let (mut words, mut slots) = (vec![0u32; need.words], vec![0u64; need.slots]);
    let plan = Merge::plan(base, modules, &opts, &mut words, &mut slots).unwrap();
    // The id map per module, indexed by old id.
    let map: Vec<Vec<u32>> = modules
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let mut v = vec![0u32; m.type_count() as usize];
            plan.fill_id_map(i, &mut v).unwrap();
            // Spot-check the two forms agree.
            let last = m.type_count() - 1;
            assert_eq!(plan.new_id(Some(i), TypeId(last)).map(|t| t.0), Some(v[last as usize]));
            v
        })
        .collect();
    let mut out = vec![0u8; plan.len()];
    plan.write(&mut out).unwrap();
    (out, map)
}

/// A dump with its type ids renumbered: the `[N]` that opens a type and
/// every `type_id=N` (also `ret_type_id=`, `index_type_id=`).
fn renumber(dump: &[u8], map: &dyn Fn(u32) -> u32) -> Vec<u8> {
    let text = std::str::from_utf8(dump).unwrap();
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for line in text.split_inclusive('\n') {
        let mut rest = line;
        if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']').unwrap();
            out.push_str(&format!("[{}]", map(r[..end].parse().unwrap())));
            rest = &r[end + 1..];
        }
        while let Some(i) = rest.find("type_id=") {
            let (head, tail) = rest.split_at(i + "type_id=".len());
            out.push_str(head);
            let end = tail.find(|c: char| !c.is_ascii_digit()).unwrap_or(tail.len());
            out.push_str(&map(tail[..end].parse().unwrap()).to_string());
            rest = &tail[end..];
        }
        out.push_str(rest);
    }
    out.into_bytes()
}

#[test]
fn all_modules_merged_are_loaded_by_the_kernel_and_dump_as_their_inputs() {
    let (Some(dir), Some(bpftool)) = (corpus(), bpftool()) else { return };
    let l = load(&dir);
    // Indexed: the strict check of the split merge looks base types up by
    // id, which without an index is a scan each time.
    let base = Btf::parse(&l.base).unwrap();
    let base_ix = base.build_index_vec().unwrap();
    let base = base.with_index(btfkit::IdIndex::from_built(&base, &base_ix)).unwrap();
    let modules: Vec<Btf<'_>> = l.datas.iter().map(|d| Btf::parse_split(d, &base).unwrap()).collect();
    let tmp = std::env::temp_dir().join(format!("btfkit-merge-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();

    // Flat: the expected dump is vmlinux's, then each module's renumbered.
    let (flat, map) = merged(&base, &modules, Form::Flat);
    assert!(flat.len() < 16 << 20, "flat merge is {} bytes, over the kernel's 16 MiB", flat.len());
    let mut want = our_dump(&l.base, None).unwrap();
    for (m, data) in map.iter().zip(&l.datas) {
        want.extend(renumber(&our_dump(data, Some(&l.base)).unwrap(), &|t| m[t as usize]));
    }
    let flat_path = tmp.join("flat.btf");
    std::fs::write(&flat_path, &flat).unwrap();
    let got = btfkit_tests::bpftool_dump(&bpftool, &flat_path, None);
    assert!(got == want, "bpftool dump of the flat merge differs: {}", first_diff(&got, &want));

    // Split: each module's dump renumbered, over vmlinux.
    let (split, map) = merged(&base, &modules, Form::Split);
    let mut want = Vec::new();
    for (m, data) in map.iter().zip(&l.datas) {
        want.extend(renumber(&our_dump(data, Some(&l.base)).unwrap(), &|t| m[t as usize]));
    }
    let split_path = tmp.join("split.btf");
    std::fs::write(&split_path, &split).unwrap();
    let got = btfkit_tests::bpftool_dump(&bpftool, &split_path, Some(&l.vmlinux));
    assert!(got == want, "bpftool dump of the split merge differs: {}", first_diff(&got, &want));
    let strict = ValidateOptions::new(Profile::Strict, KernelVersion::LATEST);
    validate_vec(&split, Some(&base), &strict).unwrap();

    // The running kernel's rules, then the running kernel itself.
    let release = kernel::release();
    let k = btfkit_sysfs::kernel::running_kernel();
    validate_vec(&flat, None, &ValidateOptions::new(Profile::UserLoad, k)).unwrap();
    match kernel::availability() {
        Ok(()) => {
            if let Err(r) = kernel::btf_load(&flat) {
                panic!("kernel {release} refused the flat merge: errno {}, log tail: {}", r.errno, tail(&r.log));
            }
            eprintln!(
                "merge: vmlinux + {} modules -> {} bytes, {} types, loaded by Linux {release}",
                modules.len(),
                flat.len(),
                Btf::parse(&flat).unwrap().type_count() - 1
            );
        }
        Err(why) => {
            let _ = unavailable("the kernel oracle (bpf(BPF_BTF_LOAD))", &why);
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
}

fn tail(log: &str) -> &str {
    &log[log.len().saturating_sub(400)..]
}

#[test]
fn seed_scenario_btrfs_inode_through_merge_library_and_cli() {
    let Some(dir) = corpus() else { return };
    let l = load(&dir);
    let base = Btf::parse(&l.base).unwrap();
    let btrfs_at = l.paths.iter().position(|p| p.ends_with("btrfs")).expect("btrfs in the corpus");
    // Two modules, btrfs among them, merged flat.
    let picked = [btrfs_at, btrfs_at.saturating_sub(1)];
    let modules: Vec<Btf<'_>> = picked.iter().map(|&i| Btf::parse_split(&l.datas[i], &base).unwrap()).collect();
    let (flat, map) = merged(&base, &modules, Form::Flat);
    let out = Btf::parse(&flat).unwrap();
    let find = |btf: &Btf<'_>| -> Vec<u32> {
        let ix = btf.build_name_index_vec().unwrap();
        let names = btfkit::names::NameIndex::from_built(&ix);
        names.find(btf, b"btrfs_inode", Some(Kind::Struct)).map(|t| t.id().0).collect()
    };
    assert!(find(&base).is_empty(), "vmlinux does not define struct btrfs_inode");
    // The hashbrown form of the name index agrees.
    let hashed = btfkit::names::HashNameIndex::build(&modules[0]).unwrap();
    let hashed: Vec<u32> =
        hashed.find(&modules[0], b"btrfs_inode", Some(Kind::Struct)).iter().map(|t| t.id().0).collect();
    assert_eq!(hashed, find(&modules[0]));
    let in_module = find(&modules[0]);
    assert_eq!(in_module.len(), 1);
    let in_merged = find(&out);
    assert_eq!(in_merged, vec![map[0][in_module[0] as usize]]);

    // The CLI: merge, then dump and find the definition at the mapped id.
    let tmp = std::env::temp_dir().join(format!("btfkit-seed-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let (o, m) = (tmp.join("out.btf"), tmp.join("map.txt"));
    let bin = btfkit_tests::cli();
    let st = std::process::Command::new(&bin)
        .args(["merge", "--base"])
        .arg(&l.vmlinux)
        .arg("-o")
        .arg(&o)
        .arg("--map")
        .arg(&m)
        .args(picked.iter().map(|&i| &l.paths[i]))
        .output()
        .unwrap();
    assert!(st.status.success(), "{}", String::from_utf8_lossy(&st.stderr));
    assert!(std::fs::read(&o).unwrap() == flat, "CLI output equals the library's");
    let map_text = std::fs::read_to_string(&m).unwrap();
    let line = format!("1 {} {}\n", in_module[0], in_merged[0]);
    assert!(map_text.contains(&line), "map has {line:?}");
    assert_eq!(map_text.lines().count() as u32, out.type_count() - 1, "one line per type");
    let dump = std::process::Command::new(&bin).arg("dump").arg(&o).output().unwrap();
    let text = String::from_utf8(dump.stdout).unwrap();
    assert!(text.contains(&format!("[{}] STRUCT 'btrfs_inode' size=", in_merged[0])));
    let _ = std::fs::remove_dir_all(&tmp);
}
