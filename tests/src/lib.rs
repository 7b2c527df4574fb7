//! Shared helpers for btfkit's integration tests: locating the real-kernel
//! corpus and the oracles (bpftool), and failing loudly when they are absent.
//!
//! A test that needs an oracle never passes silently. When the corpus or
//! bpftool is missing it fails with what to do, unless
//! `BTFKIT_SKIP_ORACLES=1` is set, in which case it prints `SKIPPED: ...`
//! to stderr; under `CI=true` it fails regardless.

use std::path::{Path, PathBuf};
use std::process::Command;

pub mod kernel;
pub mod vm;

/// The workspace root.
#[must_use]
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_owned()
}

/// Why an oracle-backed test cannot run. Returns `false` when the caller
/// should return early (skip allowed), and panics otherwise.
#[must_use]
pub fn unavailable(what: &str, hint: &str) -> bool {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let skip = std::env::var("BTFKIT_SKIP_ORACLES").is_ok_and(|v| v == "1");
    if skip && !ci {
        eprintln!("SKIPPED: {what} is unavailable ({hint}); BTFKIT_SKIP_ORACLES=1 is set");
        return false;
    }
    panic!("{what} is unavailable: {hint}. Set BTFKIT_SKIP_ORACLES=1 to skip outside CI.");
}

/// The sysfs-shaped corpus built by `tests/corpus/build-corpus.sh`
/// (`$BTFKIT_CORPUS`, else `target/corpus/cloud-6.1.0-50`).
#[must_use]
pub fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("BTFKIT_CORPUS")
        .map_or_else(|| workspace().join("target/corpus/cloud-6.1.0-50"), PathBuf::from);
    if dir.join(".complete").exists() && dir.join("vmlinux").exists() {
        return Some(dir);
    }
    let _ = unavailable(
        &format!("the kernel BTF corpus at {}", dir.display()),
        "run `bash tests/corpus/build-corpus.sh` first",
    );
    None
}

/// Every module file of a corpus directory, sorted by name.
#[must_use]
pub fn corpus_modules(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("corpus dir readable")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            p.is_file() && name != "vmlinux" && !name.starts_with('.')
        })
        .collect();
    v.sort();
    v
}

/// The bpftool binary, if it runs.
#[must_use]
pub fn bpftool() -> Option<PathBuf> {
    let path = std::env::var_os("BPFTOOL").map_or_else(|| PathBuf::from("bpftool"), PathBuf::from);
    match Command::new(&path).arg("version").output() {
        Ok(o) if o.status.success() => Some(path),
        _ => {
            let _ = unavailable("bpftool", "apt-get install bpftool");
            None
        }
    }
}

/// `bpftool btf dump file FILE [-B BASE]`, as bytes.
///
/// # Panics
/// When bpftool fails on the file.
#[must_use]
pub fn bpftool_dump(bpftool: &Path, file: &Path, base: Option<&Path>) -> Vec<u8> {
    let mut cmd = Command::new(bpftool);
    cmd.args(["btf", "dump", "file"]).arg(file);
    if let Some(b) = base {
        cmd.arg("-B").arg(b);
    }
    let out = cmd.output().expect("bpftool runs");
    assert!(out.status.success(), "bpftool failed on {}: {}", file.display(), String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// Our dump of `data` (split over `base` when given), with an id index on
/// every layer, as the CLI does it.
///
/// # Errors
/// Any parse error.
pub fn our_dump(data: &[u8], base: Option<&[u8]>) -> Result<Vec<u8>, btfkit::Error> {
    use btfkit::{Btf, IdIndex};
    let base_btf = base.map(Btf::parse).transpose()?;
    let base_ix = base_btf.as_ref().map(Btf::build_index_vec).transpose()?;
    let base_btf = match (base_btf, &base_ix) {
        (Some(b), Some(ix)) => Some(b.with_index(IdIndex::from_built(&b, ix))?),
        _ => None,
    };
    let btf = Btf::parse_with(data, base_btf.as_ref(), btfkit::ParseOptions::default())?;
    let ix = btf.build_index_vec()?;
    let btf = btf.with_index(IdIndex::from_built(&btf, &ix))?;
    let mut out = Vec::new();
    btfkit::dump::dump_all(&btf, &mut out)?;
    Ok(out)
}

/// The first differing line of two dumps, for readable failures.
#[must_use]
pub fn first_diff(ours: &[u8], theirs: &[u8]) -> String {
    let a: Vec<&[u8]> = ours.split(|&b| b == b'\n').collect();
    let b: Vec<&[u8]> = theirs.split(|&b| b == b'\n').collect();
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        if x != y {
            return format!(
                "line {}:\n  ours:    {}\n  bpftool: {}",
                i + 1,
                String::from_utf8_lossy(x),
                String::from_utf8_lossy(y)
            );
        }
    }
    format!("line counts differ: ours {} vs bpftool {}", a.len(), b.len())
}

/// The `btfkit` binary, built now (a no-op when up to date) so that a
/// stale one is never tested.
///
/// # Panics
/// When the build fails.
#[must_use]
pub fn cli() -> PathBuf {
    let st = Command::new(env!("CARGO"))
        .args(["build", "-q", "--bin", "btfkit"])
        .current_dir(workspace())
        .status()
        .expect("cargo runs");
    assert!(st.success(), "building btfkit failed");
    workspace().join("target/debug/btfkit")
}

/// Where, in a split blob, the name offset of member 0 of its first STRUCT
/// or UNION with members lies; `None` when it has none.
pub fn first_member_name_at(data: &[u8]) -> Option<usize> {
    let btf = btfkit::Btf::parse(data).ok()?;
    btf.types().filter_map(Result::ok).find_map(|t| {
        matches!(t.kind(), Some(btfkit::Kind::Struct | btfkit::Kind::Union))
            .then_some(())
            .filter(|()| t.vlen() > 0)
            .map(|()| t.offset() as usize + 12)
    })
}
