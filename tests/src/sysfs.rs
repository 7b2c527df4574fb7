//! btfkit-sysfs and the CLI over the cloud corpus used as a fake
//! `/sys/kernel/btf`: module-only types, lazy loading (which modules were
//! read), the kallsyms mapping, strict and tolerant handling of a broken
//! module, ELF and compressed `.ko` input, and the mmap path on the
//! running kernel.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use btfkit::Btf;
use btfkit_sysfs::input::{Format, extract, into_btf, is_raw_btf};
use btfkit_sysfs::kernel::{Blob, KernelBtf, Options, ReadMode, SymbolOwners};
use btfkit_tests::{cli, corpus, first_member_name_at, unavailable};

fn run(args: &[&str]) -> Output {
    Command::new(cli()).args(args).output().expect("btfkit runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Modules the CLI said it read (`-v`).
fn reads(o: &Output) -> Vec<String> {
    text(&o.stderr).lines().filter_map(|l| l.strip_prefix("btfkit: read module ")).map(str::to_owned).collect()
}

/// A temporary sysfs-shaped directory with vmlinux and some modules of
/// the corpus, plus extra files.
fn fake_sysfs(dir: &Path, tag: &str, modules: &[&str], extra: &[(&str, &[u8])]) -> PathBuf {
    let t = std::env::temp_dir().join(format!("btfkit-sysfs-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&t);
    std::fs::create_dir_all(&t).unwrap();
    for m in std::iter::once(&"vmlinux").chain(modules) {
        std::fs::copy(dir.join(m), t.join(m)).unwrap();
    }
    for (name, bytes) in extra {
        std::fs::write(t.join(name), bytes).unwrap();
    }
    t
}

#[test]
fn find_module_only_struct_reading_only_what_is_needed() {
    let Some(dir) = corpus() else { return };
    let d = dir.to_str().unwrap();
    // vmlinux alone: not found, exit 1, with what to do.
    let o = run(&["find", "btrfs_inode", "--sysfs", d, "-v"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(reads(&o).is_empty(), "no module is read by default");
    assert!(text(&o.stderr).contains("--module M, --symbol SYM or --all-modules"), "{}", text(&o.stderr));

    // With modules: found in btrfs, at the id the library gives; the
    // search stops there, so veth (after it) is never read.
    let o =
        run(&["find", "btrfs_inode", "--sysfs", d, "-v", "--module", "dummy", "--module", "btrfs", "--module", "veth"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(reads(&o), ["dummy", "btrfs"]);
    let k = KernelBtf::open(Options { dir: dir.clone(), validate: None, ..Options::default() }).unwrap();
    let s = k.session().unwrap();
    let btrfs = s.module("btrfs").unwrap().unwrap();
    let id = btrfs.names.find(&btrfs.btf, b"btrfs_inode", Some(btfkit::Kind::Struct)).next().unwrap().id();
    let out = text(&o.stdout);
    assert!(out.starts_with(&format!("btrfs: [{}] STRUCT 'btrfs_inode' size=", id.0)), "{out}");
    assert_eq!(s.loaded(), ["btrfs"], "the library read one module");

    // --all reads every module given and reports each definition.
    let o = run(&["find", "btrfs_inode", "--sysfs", d, "-v", "--all", "-m", "btrfs", "-m", "veth"]);
    assert_eq!(reads(&o), ["btrfs", "veth"]);

    // A name defined in several modules is reported as ambiguous.
    let o = run(&["find", AMBIGUOUS.0, "--sysfs", d, "--all", "-m", AMBIGUOUS.1, "-m", AMBIGUOUS.2]);
    assert_eq!(o.status.code(), Some(0));
    let err = text(&o.stderr);
    assert!(err.contains("is defined in 2 places") && err.contains("ambiguous"), "{err}");
}

#[test]
fn kallsyms_maps_symbols_to_the_modules_that_are_read() {
    let Some(dir) = corpus() else { return };
    let ks = std::env::temp_dir().join(format!("btfkit-kallsyms-{}", std::process::id()));
    // The shape of /proc/kallsyms: address, type, name, [module].
    std::fs::write(
        &ks,
        "ffffffff81000000 T _stext\n\
         ffffffff810a0000 T schedule\n\
         ffffffffc0a01000 t btrfs_sync_fs\t[btrfs]\n\
         ffffffffc0b00000 t veth_xmit\t[veth]\n\
         ffffffffc0c00000 t dummy_xmit\t[dummy]\n\
         ffffffffc0c00100 t init_module\t[dummy]\n\
         ffffffffc0b00100 t init_module\t[veth]\n",
    )
    .unwrap();
    let owners = SymbolOwners::parse(
        &std::fs::read_to_string(&ks).unwrap(),
        &["btrfs_sync_fs".into(), "schedule".into(), "init_module".into(), "nope".into()],
    );
    assert_eq!(owners.all_modules(), ["btrfs", "dummy", "veth"]);
    assert!(owners.vmlinux.contains("schedule"));
    assert_eq!(owners.unknown, ["nope"]);

    let (d, k) = (dir.to_str().unwrap(), ks.to_str().unwrap());
    let o = run(&["find", "btrfs_inode", "--sysfs", d, "--kallsyms", k, "-v", "--symbol", "btrfs_sync_fs"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(reads(&o), ["btrfs"], "only the symbol's module is read");
    let o = run(&["find", "btrfs_inode", "--sysfs", d, "--kallsyms", k, "-v", "--symbol", "schedule"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(reads(&o).is_empty(), "a vmlinux symbol reads no module");
    let o = run(&["find", "task_struct", "--sysfs", d, "--kallsyms", k, "--symbol", "nope"]);
    assert!(text(&o.stderr).contains("symbol \"nope\" is not in"), "{}", text(&o.stderr));
    let _ = std::fs::remove_file(&ks);
}

#[test]
fn a_broken_module_fails_strict_mode_and_is_reported_in_tolerant_mode() {
    let Some(dir) = corpus() else { return };
    let mut broken = std::fs::read(dir.join("veth")).unwrap();
    let n = broken.len();
    broken.truncate(n - 3); // the string section now runs past the end
    let t = fake_sysfs(&dir, "tolerant", &["btrfs", "dummy"], &[("broken", &broken)]);
    let d = t.to_str().unwrap();

    let o = run(&["find", "dummy_dev_init", "--sysfs", d, "--all", "--all-modules"]);
    assert_eq!(o.status.code(), Some(1), "strict: the broken module is an error");
    let err = text(&o.stderr);
    assert!(err.contains(&format!("{d}/broken")) && err.contains("at byte"), "{err}");

    let o = run(&["find", "dummy_dev_init", "--sysfs", d, "--all", "--all-modules", "--tolerant"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    assert!(err.contains("warning: skipped module broken:") && err.contains("/broken"), "{err}");
    assert!(text(&o.stdout).contains("dummy: ["));

    // validate lists it, and only it; stats in tolerant mode skips it.
    let o = run(&["validate", "--sysfs", d, "--all-modules"]);
    assert_eq!(o.status.code(), Some(1));
    let out = text(&o.stdout);
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.contains("/broken: "), "{out}");
    let o = run(&["stats", "--sysfs", d, "--all-modules", "--tolerant", "-j"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(text(&o.stderr).contains("skipped module broken"));
    assert!(text(&o.stdout).contains("\"name\":\"btrfs\""));
    let _ = std::fs::remove_dir_all(&t);
}

/// A session validates each module as it loads it, with vmlinux's name
/// classes made once: a member name pointing at an empty base string is
/// refused (strict) or skipped and reported (tolerant), the modules
/// beside it load, and `module_btf` gives the same types as `module`.
#[test]
fn a_session_validates_modules_against_the_base_names() {
    let Some(dir) = corpus() else { return };
    let mut bad = std::fs::read(dir.join("veth")).unwrap();
    let at = first_member_name_at(&bad).unwrap();
    // vmlinux's strings: offset 1 is its first name; its NUL ends it.
    let base = std::fs::read(dir.join("vmlinux")).unwrap();
    let b = Btf::parse(&base).unwrap();
    let empty = 1 + b.own_strings()[1..].iter().position(|&c| c == 0).unwrap() as u32;
    bad[at..at + 4].copy_from_slice(&empty.to_le_bytes());
    let t = fake_sysfs(&dir, "session", &["dummy", "veth"], &[("bad", &bad)]);
    let k61 = btfkit::validate::KernelVersion::new(6, 1);
    for tolerant in [false, true] {
        let opts = Options { dir: t.clone(), tolerant, validate: Some(k61), ..Options::default() };
        let k = KernelBtf::open(opts).unwrap();
        let s = k.session().unwrap();
        let veth = s.module("veth").unwrap().unwrap();
        assert_eq!(s.module_btf("veth").unwrap().unwrap().own_type_count(), veth.btf.own_type_count());
        match s.module("bad") {
            Err(btfkit_sysfs::Error::Invalid { path, source }) => {
                assert!(!tolerant);
                assert_eq!(path, t.join("bad"));
                assert_eq!(source.rule(), btfkit::validate::Rule::InvalidMemberName, "{source}");
            }
            Ok(None) => {
                assert!(tolerant);
                let skipped = s.skipped();
                assert_eq!(skipped.len(), 1);
                assert_eq!(skipped[0].module, "bad");
                assert!(skipped[0].error.to_string().contains("/bad"), "{}", skipped[0].error);
            }
            other => panic!("tolerant {tolerant}: {other:?}"),
        }
        assert!(s.module_btf("dummy").unwrap().is_some());
        assert_eq!(s.loaded(), ["veth", "bad", "dummy"]);
    }
    let _ = std::fs::remove_dir_all(&t);
}

#[test]
fn modules_and_stats_agree_with_the_library() {
    let Some(dir) = corpus() else { return };
    let t = fake_sysfs(&dir, "stats", &["btrfs", "dummy", "veth"], &[]);
    let d = t.to_str().unwrap();
    let o = run(&["modules", "--sysfs", d]);
    assert_eq!(o.status.code(), Some(0));
    let base = std::fs::read(t.join("vmlinux")).unwrap();
    let base = Btf::parse(&base).unwrap();
    let out = text(&o.stdout);
    assert_eq!(out.lines().count(), 3);
    for m in ["btrfs", "dummy", "veth"] {
        let data = std::fs::read(t.join(m)).unwrap();
        let b = Btf::parse_split(&data, &base).unwrap();
        let line = out.lines().find(|l| l.starts_with(m)).unwrap();
        assert!(
            line.contains(&format!(" {} bytes", data.len()))
                && line.contains(&format!(" {} types", b.own_type_count()))
        );
    }
    let o = run(&["stats", "--sysfs", d, "-m", "veth"]);
    let out = text(&o.stdout);
    let total = base.own_type_count() + {
        let data = std::fs::read(t.join("veth")).unwrap();
        Btf::parse_split(&data, &base).unwrap().own_type_count()
    };
    assert!(out.starts_with(&format!("types: {total}\n")), "{out}");
    let _ = std::fs::remove_dir_all(&t);
}

/// A directory entry that cannot be a module is an error that names it,
/// not an entry dropped from the module list.
#[test]
fn a_non_utf8_entry_is_an_error_not_a_missing_module() {
    use std::os::unix::ffi::OsStrExt;
    let Some(dir) = corpus() else { return };
    let t = fake_sysfs(&dir, "nonutf8", &["dummy"], &[]);
    std::fs::write(t.join(std::ffi::OsStr::from_bytes(b"bad\xffname")), b"").unwrap();
    let err = KernelBtf::open(Options { dir: t.clone(), validate: None, ..Options::default() }).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains(t.to_str().unwrap()) && msg.contains("not UTF-8"), "{msg}");
    let o = run(&["modules", "--sysfs", t.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("not UTF-8"), "{}", text(&o.stderr));
    std::fs::remove_file(t.join(std::ffi::OsStr::from_bytes(b"bad\xffname"))).unwrap();
    let k = KernelBtf::open(Options { dir: t.clone(), validate: None, ..Options::default() }).unwrap();
    assert_eq!(k.module_names(), ["dummy"]);
    let _ = std::fs::remove_dir_all(&t);
}

#[test]
fn no_btf_directory_says_what_to_do() {
    let o = run(&["find", "task_struct", "--sysfs", "/nonexistent/btf"]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(err.contains("CONFIG_DEBUG_INFO_BTF") && err.contains("--sysfs DIR"), "{err}");
    let o = run(&["dump", "--module", "no_such_module", "--sysfs", "/sys/kernel/btf"]);
    if Path::new("/sys/kernel/btf/vmlinux").exists() {
        assert_eq!(o.status.code(), Some(2));
        assert!(text(&o.stderr).contains("btfkit modules"), "{}", text(&o.stderr));
    }
}

fn compress(tool: &str, args: &[&str], input: &Path, out: &Path) {
    let data = std::fs::read(input).unwrap();
    let mut child = Command::new(tool)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{tool}: {e} (apt-get install xz-utils zstd gzip)"));
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || std::io::Write::write_all(&mut stdin, &data).unwrap());
    let o = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(o.status.success());
    std::fs::write(out, o.stdout).unwrap();
}

#[test]
fn ko_files_raw_and_compressed_three_ways_give_the_raw_btf() {
    let Some(dir) = corpus() else { return };
    let tmp = std::env::temp_dir().join(format!("btfkit-ko-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let base = std::fs::read(dir.join("vmlinux")).unwrap();
    for m in ["btrfs", "dummy", "veth"] {
        let ko = dir.join(".ko").join(format!("{m}.ko"));
        let raw = std::fs::read(dir.join(m)).unwrap();
        let e = extract(&ko, &std::fs::read(&ko).unwrap()).unwrap();
        assert_eq!(e.format, Format::Elf);
        assert!(e.btf == raw, "{m}.ko .BTF differs from the raw extraction");
        // into_btf: the .ko extracted, raw BTF (either byte order) kept.
        assert!(into_btf(&ko, std::fs::read(&ko).unwrap()).unwrap() == raw);
        assert!(into_btf(&ko, raw.clone()).unwrap() == raw);
        let mut swapped = raw.clone();
        swapped.swap(0, 1);
        assert!(is_raw_btf(&swapped) && into_btf(&ko, swapped.clone()).unwrap() == swapped);
        for (tool, args, ext, fmt) in [
            ("xz", &["-c", "-1"][..], "xz", Format::Xz),
            ("zstd", &["-c", "-q", "-1"][..], "zst", Format::Zstd),
            ("gzip", &["-c", "-1"][..], "gz", Format::Gzip),
        ] {
            let p = tmp.join(format!("{m}.ko.{ext}"));
            compress(tool, args, &ko, &p);
            let e = extract(&p, &std::fs::read(&p).unwrap()).unwrap();
            assert_eq!(e.format, fmt);
            assert!(e.btf == raw, "{m}.ko.{ext}: BTF differs");
            // The CLI reads it too: dump over vmlinux equals the raw module's.
            let o = run(&["dump", p.to_str().unwrap(), "-B", dir.join("vmlinux").to_str().unwrap()]);
            assert!(o.status.success(), "{}", text(&o.stderr));
            assert!(o.stdout == btfkit_tests::our_dump(&raw, Some(&base)).unwrap(), "{m}.ko.{ext} dump");
        }
    }
    // Garbage is refused with the file named, and a non-BTF ELF explained.
    let junk = tmp.join("junk.ko.xz");
    std::fs::write(&junk, [0xfd, b'7', b'z', b'X', b'Z', 0, 1, 2, 3]).unwrap();
    let err = extract(&junk, &std::fs::read(&junk).unwrap()).unwrap_err().to_string();
    assert!(err.contains("junk.ko.xz") && err.contains("xz"), "{err}");
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn vmlinux_is_mapped_on_the_running_kernel_and_read_otherwise() {
    // The explicit fallback: read mode, and regular files under Auto.
    let Some(dir) = corpus() else { return };
    let b = Blob::open(&dir.join("vmlinux"), ReadMode::Auto).unwrap();
    assert!(!b.is_mapped(), "regular files are read, as libbpf does");
    let r = Blob::open(&dir.join("vmlinux"), ReadMode::Read).unwrap();
    assert!(!r.is_mapped() && *r == *b);
    // Read in two halves on two threads (4.1 MB): byte for byte the file.
    assert!(*b == *std::fs::read(dir.join("vmlinux")).unwrap(), "the two halves make up the file");

    let sys = Path::new("/sys/kernel/btf/vmlinux");
    if !sys.exists() {
        let _ = unavailable("/sys/kernel/btf/vmlinux", "the running kernel has no CONFIG_DEBUG_INFO_BTF");
        return;
    }
    let read = Blob::open(sys, ReadMode::Read).unwrap();
    match Blob::open(sys, ReadMode::Mmap) {
        Ok(m) => {
            assert!(m.is_mapped());
            assert!(*m == *read, "the mapping holds the same bytes as a read");
            let auto = KernelBtf::open(Options::default()).unwrap();
            assert!(auto.vmlinux_is_mapped(), "Auto maps sysfs's vmlinux when the kernel allows it");
            assert_eq!(auto.base().unwrap().type_count(), Btf::parse(&read).unwrap().type_count());
        }
        Err(e) => {
            // Kernels before 6.16 refuse to map it: Auto must then read.
            let auto = KernelBtf::open(Options::default()).unwrap();
            assert!(!auto.vmlinux_is_mapped());
            let _ = unavailable("mmap of /sys/kernel/btf/vmlinux", &format!("{e} (needs Linux 6.16+)"));
        }
    }
}

/// A struct that two modules of the corpus define and vmlinux does not
/// (found with `bpftool btf dump` over the corpus): name, module, module.
const AMBIGUOUS: (&str, &str, &str) = ("udp_port_cfg", "fou", "geneve");

/// `read_into` reads whole files into one reused buffer: a big module that
/// makes the buffer grow, small ones after it, an empty file, and a
/// missing one (an error naming it).
#[test]
fn read_into_reads_whole_files_into_a_reused_buffer() {
    let Some(dir) = corpus() else { return };
    let mut buf = Vec::new();
    for name in ["btrfs", "dummy", "veth", "vmlinux", "dummy"] {
        let path = dir.join(name);
        let len = btfkit_sysfs::read_into(&path, &mut buf).unwrap();
        assert_eq!(&buf[..len], &std::fs::read(&path).unwrap()[..], "{name}");
    }
    let empty = std::env::temp_dir().join(format!("btfkit-empty-{}", std::process::id()));
    std::fs::write(&empty, b"").unwrap();
    assert_eq!(btfkit_sysfs::read_into(&empty, &mut buf).unwrap(), 0);
    let _ = std::fs::remove_file(&empty);
    let missing = dir.join("no-such-module");
    let e = btfkit_sysfs::read_into(&missing, &mut buf).unwrap_err();
    assert!(e.to_string().contains("no-such-module"), "{e}");
}

/// Modules are read relative to the directory listed when the kernel BTF
/// was opened, byte for byte as on disk, and only by plain file names.
#[test]
fn modules_are_read_through_the_listed_directory() {
    let Some(dir) = corpus() else { return };
    let t = fake_sysfs(&dir, "dirfd", &["dummy", "veth"], &[]);
    let k = KernelBtf::open(Options { dir: t.clone(), validate: None, ..Options::default() }).unwrap();
    let mut buf = Vec::new();
    for name in ["veth", "dummy", "veth"] {
        let len = k.read_module_into(name, &mut buf).unwrap();
        assert_eq!(&buf[..len], &std::fs::read(dir.join(name)).unwrap()[..], "{name}");
    }
    for bad in ["", ".", "..", "../vmlinux", "/etc/hostname", "dummy/"] {
        let e = k.read_module_into(bad, &mut buf).unwrap_err();
        assert!(e.to_string().contains("not a module name"), "{bad:?}: {e}");
    }
    let e = k.read_module_into("no_such_module", &mut buf).unwrap_err();
    assert!(e.to_string().contains(&*t.join("no_such_module").to_string_lossy()), "{e}");
    // The directory moved after it was listed: its modules are still read.
    let moved = t.with_extension("moved");
    let _ = std::fs::remove_dir_all(&moved);
    std::fs::rename(&t, &moved).unwrap();
    let len = k.read_module_into("dummy", &mut buf).unwrap();
    assert_eq!(&buf[..len], &std::fs::read(dir.join("dummy")).unwrap()[..]);
    let _ = std::fs::remove_dir_all(&moved);
}
