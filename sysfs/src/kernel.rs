//! The running kernel's BTF: `/sys/kernel/btf/vmlinux` and, only when
//! asked, its modules' split BTF.
//!
//! Module BTF is never read because it exists. A [`Session`] reads a
//! module the first time a lookup reaches it, validates it against the
//! base with the kernel's module rules, and keeps it. Which modules a
//! lookup may reach is the caller's choice: names, the owners of symbols
//! (`/proc/kallsyms`), or all of them, explicitly.
//!
//! Strict by default: the first module that cannot be read or is invalid
//! is an error naming its file and the rule. In tolerant mode the session
//! skips it and records why ([`Session::skipped`]); nothing is dropped
//! silently.

use std::cell::{OnceCell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use btfkit::composite::Layer;
use btfkit::names::NameIndex;
use btfkit::validate::Backport::{
    ArgNotSource, Dots, OneSeenSet, OwnershipDepth, RbTree, RefcountUnique, RetNotSource,
};
use btfkit::validate::{Backport, Backports, BaseNamesVec, KernelVersion, Profile, ValidateOptions};
use btfkit::{Btf, IdIndex};

use crate::{Error, SYSFS_BTF, read_file};

/// How to bring a file into memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReadMode {
    /// Map sysfs's vmlinux read-only when the kernel allows it (6.16+),
    /// else read it; read every other file. libbpf's choice: a regular
    /// file may change under a private mapping.
    #[default]
    Auto,
    /// Map read-only; fail when the kernel or file system refuses.
    Mmap,
    /// Read into memory.
    Read,
}

/// Bytes of a file: mapped or read.
#[derive(Debug)]
pub enum Blob {
    /// A read-only private mapping.
    Mapped(memmap2::Mmap),
    /// Read into memory.
    Owned(Vec<u8>),
    /// Read into a huge-page buffer ([`crate::big_buffer`]).
    Read(crate::BigBuffer, usize),
}

impl std::ops::Deref for Blob {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Blob::Mapped(m) => m,
            Blob::Owned(v) => v,
            Blob::Read(m, n) => m.get(..*n).unwrap_or_default(),
        }
    }
}

impl Blob {
    /// Opens `path` as `mode` says.
    ///
    /// # Errors
    /// [`Error::Io`] naming the file.
    pub fn open(path: &Path, mode: ReadMode) -> Result<Blob, Error> {
        let on_sysfs = path.starts_with("/sys/");
        match mode {
            ReadMode::Read => read_big(path),
            ReadMode::Mmap => map(path),
            ReadMode::Auto if on_sysfs => map(path).or_else(|_| read_big(path)),
            ReadMode::Auto => read_big(path),
        }
    }

    /// Whether the bytes are a mapping.
    #[must_use]
    pub fn is_mapped(&self) -> bool {
        matches!(self, Blob::Mapped(_))
    }
}

/// Reads a whole file into a [`crate::big_buffer`]: a few page faults for
/// a 4 MB vmlinux instead of a thousand, read on two threads
/// ([`crate::read_files`]).
fn read_big(path: &Path) -> Result<Blob, Error> {
    let (buf, ranges) = crate::read_files(&[path.to_owned()])?;
    let n = ranges.first().map_or(0, |r| r.end);
    Ok(Blob::Read(buf, n))
}

/// The module files of a BTF directory (open as `dir`, at `path`), sorted,
/// with their inode numbers: every entry but vmlinux and dot files. An
/// entry that cannot be read, or whose name is not UTF-8 (no kernel
/// module's is), is an error naming the directory, never skipped in
/// silence.
fn list_modules(dir: &std::fs::File, path: &Path) -> Result<Vec<(String, u64)>, Error> {
    let io = |source| Error::Io { path: path.to_owned(), source };
    let errno = |e: rustix::io::Errno| io(e.into());
    let mut modules = Vec::new();
    for e in rustix::fs::Dir::read_from(dir).map_err(errno)? {
        let e = e.map_err(errno)?;
        let Ok(name) = e.file_name().to_str() else {
            let why = format!("{:?} is not UTF-8, so not a module name: move it out of the directory", e.file_name());
            return Err(io(std::io::Error::other(why)));
        };
        if name != "vmlinux" && !name.starts_with('.') {
            modules.push((name.to_owned(), e.ino()));
        }
    }
    modules.sort_unstable();
    Ok(modules)
}

#[allow(unsafe_code)]
fn map(path: &Path) -> Result<Blob, Error> {
    let io = |source| Error::Io { path: path.to_owned(), source };
    let file = std::fs::File::open(path).map_err(io)?;
    // SAFETY: the mapping is read-only and private. The file is sysfs's
    // vmlinux BTF, which the kernel never changes while it runs, or a file
    // the caller asked to map knowing that changes to it would show
    // through (ReadMode::Mmap). No reference into it outlives the Blob.
    // MAP_PRIVATE and PROT_READ: sysfs refuses a shared mapping (EACCES).
    let m = unsafe { memmap2::MmapOptions::new().map_copy_read_only(&file) }.map_err(io)?;
    Ok(Blob::Mapped(m))
}

/// Where to find things and how strict to be.
#[derive(Debug, Clone)]
pub struct Options {
    /// The BTF directory (`/sys/kernel/btf`, or a corpus shaped like it).
    pub dir: PathBuf,
    /// The symbol table (`/proc/kallsyms`).
    pub kallsyms: PathBuf,
    /// Skip broken modules (and report them) instead of failing.
    pub tolerant: bool,
    /// Validate each module when it is loaded, with the kernel's module
    /// rules for this version.
    pub validate: Option<KernelVersion>,
    /// How to read vmlinux.
    pub read: ReadMode,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            dir: PathBuf::from(SYSFS_BTF),
            kallsyms: PathBuf::from("/proc/kallsyms"),
            tolerant: false,
            validate: Some(running_kernel()),
            read: ReadMode::Auto,
        }
    }
}

/// The running kernel's version: its release (`/proc/sys/kernel/osrelease`,
/// `uname -r`), with the stable release a distribution's ABI name hides
/// ([`kernel_version_of`]); or the newest this crate knows.
#[must_use]
pub fn running_kernel() -> KernelVersion {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    kernel_version_of(
        &read("/proc/sys/kernel/osrelease"),
        &read("/proc/sys/kernel/version"),
        &read("/proc/version_signature"),
    )
    .unwrap_or(KernelVersion::LATEST)
}

/// A kernel's version from its release (`uname -r`), its version string
/// (`uname -v`) and Ubuntu's `/proc/version_signature`, as libbpf reads
/// them.
///
/// A release such as `6.12.57+deb13-cloud-amd64` names itself. An ABI name
/// such as Debian's `6.1.0-50-cloud-amd64` or Ubuntu's `5.15.0-91-generic`
/// does not (see [`KernelVersion::parse`]): Debian writes the release into
/// the version string (`#1 SMP PREEMPT_DYNAMIC Debian 6.1.176-1 (...)`),
/// Ubuntu into the signature's last word (`Ubuntu 5.15.0-91.101-generic
/// 5.15.131`). Without either, the series.
///
/// A distribution's kernel is its upstream release plus patches of its own,
/// and the answer is the upstream release: Ubuntu's 5.19 and 6.2, kept
/// after upstream's series ended, carry BTF rule fixes that upstream's
/// 5.19.17 and 6.2.16 do not, which [`ubuntu_backports`] names.
#[must_use]
pub fn kernel_version_of(osrelease: &str, uname_v: &str, version_signature: &str) -> Option<KernelVersion> {
    let k = KernelVersion::parse(osrelease)?;
    if !k.is_series() {
        return Some(k);
    }
    let debian = uname_v.split_once("Debian ").map(|(_, v)| v);
    let ubuntu = version_signature.strip_prefix("Ubuntu ").and_then(|s| s.split_whitespace().last());
    let same_series = |r: KernelVersion| r.major == k.major && r.minor == k.minor && !r.is_series();
    Some([debian, ubuntu].into_iter().flatten().filter_map(KernelVersion::parse).find(|&r| same_series(r)).unwrap_or(k))
}

/// The 2026 hardening's three steps, as Ubuntu's 7.0 kernels took them: in
/// one ABI.
const HARDENING: [Backport; 3] = [OneSeenSet, RefcountUnique, OwnershipDepth];

/// One series' flavour: major, minor, flavour, and the changes each from
/// its ABI.
type UbuntuRow = (u16, u16, &'static str, &'static [(u32, &'static [Backport])]);

/// The BTF rule changes Ubuntu's kernels carry beyond their upstream
/// release, per series and flavour: each change from the first ABI whose
/// changelog lists its commit (`debian.master/changelog` of the source
/// packages, and the `changelog.Debian.gz` of `linux-doc`, the images and
/// `linux-buildinfo`; `tests/vm/ubuntu-backports.sh` prints the latter).
/// A flavour listed with no change was read, and booted, and carries none.
/// The guests boot ABIs on either side where the archive still has them.
/// Not listed, so warned about: the flavours whose changelog does not go
/// back far enough to tell (5.19's and 6.2's cloud flavours).
const UBUNTU_BACKPORTS: &[UbuntuRow] = &[
    // kinetic's 5.19 (and jammy's HWE 5.19): "bpf: prevent decl_tag from
    // being referenced in func_proto" in 5.19.0-30.31, "... func_proto arg"
    // in 5.19.0-39.40. The archive's oldest 5.19 is 41 (50 was read and
    // booted).
    (5, 19, "generic", &[(30, &[RetNotSource]), (39, &[ArgNotSource])]),
    // lunar's 6.2 (and jammy's HWE 6.2, which has no ABI 27 to 30): 6.3's
    // "bpf: Add basic bpf_rb_{root,node} support" in 6.2.0-27.28,
    // "bpf/btf: Accept function names that contain dots" in 6.2.0-36.37.
    // Booted: 26 has neither, 35 the rb-trees alone, 39 both.
    (6, 2, "generic", &[(27, &[RbTree]), (36, &[Dots])]),
    // noble's 6.8: "bpf: Bound ownership depth through local kptrs and graph
    // roots" in 6.8.0-148.148, "bpf: Mark bpf_refcount field as unique" in
    // 6.8.0-150.150; not "Preserve unique-field state across nested
    // structs". Booted: 147 has neither, 149 the bound alone, 151 both.
    (6, 8, "generic", &[(148, &[OwnershipDepth]), (150, &[RefcountUnique])]),
    // Built from the generic kernel's source with its ABI numbers: the
    // bound in 6.8.0-148.148.1; no lowlatency ABI from 150 yet.
    (6, 8, "lowlatency", &[(148, &[OwnershipDepth]), (150, &[RefcountUnique])]),
    // The derivatives, each with its own ABI numbers. Booted: AWS's 1067
    // has neither, 1069 the bound alone, 1070 both.
    (6, 8, "aws", &[(1068, &[OwnershipDepth]), (1070, &[RefcountUnique])]),
    (6, 8, "azure", &[(1072, &[OwnershipDepth]), (1074, &[RefcountUnique])]),
    (6, 8, "azure-fde", &[(1070, &[OwnershipDepth]), (1072, &[RefcountUnique])]),
    (6, 8, "gcp", &[(1072, &[OwnershipDepth]), (1074, &[RefcountUnique])]),
    (6, 8, "gke", &[(1067, &[OwnershipDepth]), (1069, &[RefcountUnique])]),
    (6, 8, "gkeop", &[(1053, &[OwnershipDepth]), (1054, &[RefcountUnique])]),
    (6, 8, "ibm", &[(1068, &[OwnershipDepth]), (1070, &[RefcountUnique])]),
    (6, 8, "nvidia", &[(1066, &[OwnershipDepth]), (1068, &[RefcountUnique])]),
    (6, 8, "nvidia-lowlatency", &[(1067, &[OwnershipDepth]), (1068, &[RefcountUnique])]),
    (6, 8, "oracle", &[(1065, &[OwnershipDepth]), (1068, &[RefcountUnique])]),
    (6, 8, "vmware", &[(1009, &[OwnershipDepth]), (1011, &[RefcountUnique])]),
    // Its last ABI, 1032, predates the bound (booted: no backport).
    (6, 8, "oem", &[]),
    // noble's HWE 7.0 (resolute's 7.0): all three steps of the hardening,
    // which upstream's 7.0.y never got, in one ABI. Booted: generic 38 and
    // AWS 1014 have none, generic 44 and AWS 1018 all three.
    (7, 0, "generic", &[(42, &HARDENING)]),
    (7, 0, "aws", &[(1017, &HARDENING)]),
    (7, 0, "azure", &[(1020, &HARDENING)]),
    (7, 0, "azure-fde", &[(1019, &HARDENING)]),
    (7, 0, "gcp", &[(1017, &HARDENING)]),
    (7, 0, "oracle", &[(1016, &HARDENING)]),
    // Not yet in NVIDIA's 7.0 (booted: 1025 has none).
    (7, 0, "nvidia", &[]),
];

/// An Ubuntu release (`6.8.0-151-generic`): series, ABI and flavour.
fn ubuntu_release(osrelease: &str) -> Option<(u16, u16, u32, &str)> {
    let (version, rest) = osrelease.trim().split_once('-')?;
    let (abi, flavour) = rest.split_once('-')?;
    let mut v = version.split('.').map(str::parse::<u16>);
    let (major, minor, patch) = (v.next()?.ok()?, v.next()?.ok()?, v.next()?.ok()?);
    (patch == 0 && v.next().is_none() && !flavour.is_empty()).then_some(())?;
    Some((major, minor, abi.parse().ok()?, flavour))
}

/// The backports known to be in an Ubuntu kernel of release `osrelease`
/// (`6.8.0-151-generic`, `7.0.0-1018-aws`), each from the ABI whose
/// changelog first lists it. For the generic kernels:
///
/// | series | ABI | backports |
/// |---|---|---|
/// | 5.19 | 30 | `ret-not-source` |
/// | 5.19 | 39 | `arg-not-source` |
/// | 6.2 | 27 | `rb-tree` |
/// | 6.2 | 36 | `dots` |
/// | 6.8 | 148 | `ownership-depth` |
/// | 6.8 | 150 | `refcount-unique` |
/// | 7.0 | 42 | `one-seen-set`, `refcount-unique`, `ownership-depth` |
///
/// and 6.8's and 7.0's cloud and other flavours (aws, azure, azure-fde, gcp,
/// gke, gkeop, ibm, lowlatency, nvidia, nvidia-lowlatency, oem, oracle,
/// vmware) from their own ABIs. Ubuntu's other series carry none (their
/// booted ABIs agree with their upstream release; 6.14's and 6.17's
/// flavours list none). A flavour not read gets none:
/// [`ubuntu_flavour_unread`] says so. The caller knows the kernel is Ubuntu's
/// ([`running_ubuntu_release`] reads `/proc/version_signature`).
#[must_use]
pub fn ubuntu_backports(osrelease: &str) -> Backports {
    let Some((major, minor, abi, flavour)) = ubuntu_release(osrelease) else { return Backports::NONE };
    UBUNTU_BACKPORTS
        .iter()
        .filter(|&&(ma, mi, f, _)| (ma, mi, f) == (major, minor, flavour))
        .flat_map(|(.., steps)| steps.iter())
        .filter(|&&(from, _)| abi >= from)
        .flat_map(|(_, changes)| changes.iter())
        .fold(Backports::NONE, |set, &b| set.with(b))
}

/// For an Ubuntu release of a series whose kernels carry backports but of
/// a flavour [`ubuntu_backports`] does not know (6.8's `generic-64k`, 6.2's
/// `aws`: changelogs not read, or not back to their start): the backports
/// that the series' read flavours carry, some of which this kernel may
/// carry too. `None` for a known flavour, a series without backports, and
/// what is not an Ubuntu release name.
#[must_use]
pub fn ubuntu_flavour_unread(osrelease: &str) -> Option<Backports> {
    let (major, minor, _, flavour) = ubuntu_release(osrelease)?;
    let series = || UBUNTU_BACKPORTS.iter().filter(move |&&(ma, mi, ..)| (ma, mi) == (major, minor));
    if series().next().is_none() || series().any(|&(.., f, _)| f == flavour) {
        return None;
    }
    Some(
        series()
            .flat_map(|(.., steps)| steps.iter())
            .flat_map(|(_, changes)| changes.iter())
            .fold(Backports::NONE, |set, &b| set.with(b)),
    )
}

/// For a kernel release of a distribution whose BTF backports are not
/// modelled at all, and whose version therefore says little: Red Hat
/// Enterprise Linux and its rebuilds (`5.14.0-503.40.1.el9_5.x86_64`), which
/// carry years of BPF changes back into an old series. `None` for other
/// releases.
#[must_use]
pub fn unmodelled_distribution(osrelease: &str) -> Option<&'static str> {
    let el = osrelease.trim().split(['.', '-']).any(|part| {
        part.strip_prefix("el").is_some_and(|v| v.split('_').next().is_some_and(|n| n.parse::<u8>().is_ok()))
    });
    el.then_some(
        "Red Hat Enterprise Linux (or a rebuild of it), whose kernels carry BPF changes far beyond their version",
    )
}

/// The running kernel's release (`/proc/sys/kernel/osrelease`) when it is
/// Ubuntu's (`/proc/version_signature` says so).
#[must_use]
pub fn running_ubuntu_release() -> Option<String> {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    read("/proc/version_signature").starts_with("Ubuntu ").then(|| read("/proc/sys/kernel/osrelease").trim().to_owned())
}

/// The running kernel's known backports: [`ubuntu_backports`] on Ubuntu,
/// none elsewhere.
#[must_use]
pub fn running_backports() -> Backports {
    running_ubuntu_release().map_or(Backports::NONE, |r| ubuntu_backports(&r))
}

/// The vmlinux ELF files libbpf falls back to when there is no sysfs
/// BTF, for kernel release `rel`.
#[must_use]
pub fn vmlinux_fallbacks(rel: &str) -> Vec<PathBuf> {
    [
        format!("/boot/vmlinux-{rel}"),
        format!("/lib/modules/{rel}/vmlinux-{rel}"),
        format!("/lib/modules/{rel}/build/vmlinux"),
        format!("/usr/lib/modules/{rel}/kernel/vmlinux"),
        format!("/usr/lib/debug/boot/vmlinux-{rel}"),
        format!("/usr/lib/debug/boot/vmlinux-{rel}.debug"),
        format!("/usr/lib/debug/lib/modules/{rel}/vmlinux"),
    ]
    .into_iter()
    .map(PathBuf::from)
    .collect()
}

/// The kernel's BTF: vmlinux read (or mapped), modules listed but not read.
#[derive(Debug)]
pub struct KernelBtf {
    opts: Options,
    vmlinux_path: PathBuf,
    vmlinux: Blob,
    modules: Vec<String>,
    /// Indexes into `modules`, by inode number: the order the files were
    /// made in ([`KernelBtf::modules_in_load_order`]).
    load_order: Vec<usize>,
    /// The directory the modules were listed from, open: the listing and
    /// each module's file are read through it (one path component to
    /// resolve, and the directory that was listed even if its path changes
    /// meanwhile).
    dir: Option<std::fs::File>,
    index: std::sync::OnceLock<Vec<u32>>,
    names: std::sync::OnceLock<Vec<u64>>,
}

impl KernelBtf {
    /// Opens `opts.dir/vmlinux` and lists the modules beside it. When the
    /// default directory does not exist, falls back to a vmlinux ELF file
    /// as libbpf does (then there are no modules).
    ///
    /// # Errors
    /// [`Error::NoBtf`] when there is no BTF at all; I/O and format errors.
    pub fn open(opts: Options) -> Result<Self, Error> {
        let vmlinux_path = opts.dir.join("vmlinux");
        if !opts.dir.is_dir() {
            if opts.dir != Path::new(SYSFS_BTF) {
                return Err(Error::NoBtf { dir: opts.dir.clone() });
            }
            let rel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
            for p in vmlinux_fallbacks(rel.trim()) {
                if let Ok(data) = read_file(&p) {
                    let e = crate::input::extract(&p, &data)?;
                    let vmlinux = Blob::Owned(e.btf);
                    return Ok(KernelBtf::new(opts, p, vmlinux, Vec::new()));
                }
            }
            return Err(Error::NoBtf { dir: opts.dir.clone() });
        }
        let vmlinux = Blob::open(&vmlinux_path, opts.read)?;
        let dir = std::fs::File::open(&opts.dir).map_err(|source| Error::Io { path: opts.dir.clone(), source })?;
        let listed = list_modules(&dir, &opts.dir)?;
        let load_order = by_inode(&listed);
        let modules = listed.into_iter().map(|(name, _)| name).collect();
        let mut k = KernelBtf::new(opts, vmlinux_path, vmlinux, modules);
        k.load_order = load_order;
        k.dir = Some(dir);
        Ok(k)
    }

    fn new(opts: Options, vmlinux_path: PathBuf, vmlinux: Blob, modules: Vec<String>) -> Self {
        KernelBtf {
            opts,
            vmlinux_path,
            vmlinux,
            modules,
            load_order: Vec::new(),
            dir: None,
            index: std::sync::OnceLock::new(),
            names: std::sync::OnceLock::new(),
        }
    }

    /// The options.
    #[must_use]
    pub fn options(&self) -> &Options {
        &self.opts
    }

    /// vmlinux's BTF bytes.
    #[must_use]
    pub fn vmlinux_bytes(&self) -> &[u8] {
        &self.vmlinux
    }

    /// Whether vmlinux is mapped rather than read.
    #[must_use]
    pub fn vmlinux_is_mapped(&self) -> bool {
        self.vmlinux.is_mapped()
    }

    /// Where vmlinux came from.
    #[must_use]
    pub fn vmlinux_path(&self) -> &Path {
        &self.vmlinux_path
    }

    /// The modules that have BTF, by name, sorted. Nothing is read.
    #[must_use]
    pub fn module_names(&self) -> &[String] {
        &self.modules
    }

    /// The modules in the order the kernel registered their BTF, which is
    /// the order of their BTF ids, in which the kernel searches them by
    /// name (`bpf_find_btf_id`, for a kptr's pointee), as far as the
    /// directory tells: sysfs numbers its files in the order it makes
    /// them (kernfs ids only grow), and the kernel makes a module's file
    /// right after giving its BTF an id. (Two modules loaded at once could
    /// swap between the two steps.) The guest-kernel test holds this on
    /// Debian's 6.1 to 6.18, each loading `veth` and then `dummy`: inode
    /// order, BTF-id order and load order agree, against name order.
    /// Another directory gives the order of its inode numbers, which need
    /// not mean anything.
    pub fn modules_in_load_order(&self) -> impl Iterator<Item = &str> {
        self.load_order.iter().filter_map(|&i| self.modules.get(i)).map(String::as_str)
    }

    /// A module's file.
    #[must_use]
    pub fn module_path(&self, name: &str) -> PathBuf {
        self.opts.dir.join(name)
    }

    /// Reads module `name`'s file into the front of `buf`, as
    /// [`crate::read_into`] does, opening it relative to the directory
    /// listed at [`KernelBtf::open`]. A name that is not a plain file
    /// name (empty, `.`, `..`, or with a `/`) is an error, not a path.
    ///
    /// # Errors
    /// [`Error::Io`] naming the module's file.
    pub fn read_module_into(&self, name: &str, buf: &mut Vec<u8>) -> Result<usize, Error> {
        let io = |source| Error::Io { path: self.module_path(name), source };
        if name.is_empty() || name == "." || name == ".." || name.contains('/') {
            return Err(io(std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a module name")));
        }
        let file = match &self.dir {
            Some(dir) => {
                use rustix::fs::{Mode, OFlags};
                rustix::fs::openat(dir, name, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
                    .map(std::fs::File::from)
                    .map_err(std::io::Error::from)
            }
            None => std::fs::File::open(self.module_path(name)),
        };
        crate::read_open_into(file.map_err(io)?, buf).map_err(io)
    }

    /// vmlinux, parsed, with its id index (built once).
    ///
    /// # Errors
    /// [`Error::Btf`] naming vmlinux.
    pub fn base(&self) -> Result<Btf<'_>, Error> {
        let err = |source| Error::Btf { path: self.vmlinux_path.clone(), source };
        let btf = Btf::parse(&self.vmlinux).map_err(err)?;
        if self.index.get().is_none() {
            let _ = self.index.set(btf.build_index_vec().map_err(err)?);
        }
        let ix = self.index.get().map(Vec::as_slice).unwrap_or_default();
        btf.with_index(IdIndex::from_built(&btf, ix)).map_err(err)
    }

    /// vmlinux's name index (built once).
    ///
    /// # Errors
    /// [`Error::Btf`] naming vmlinux.
    pub fn base_names(&self) -> Result<NameIndex<'_>, Error> {
        if self.names.get().is_none() {
            let b = self.base()?;
            let v =
                b.build_name_index_vec().map_err(|source| Error::Btf { path: self.vmlinux_path.clone(), source })?;
            let _ = self.names.set(v);
        }
        Ok(NameIndex::from_built(self.names.get().map(Vec::as_slice).unwrap_or_default()))
    }

    /// The modules that own `symbols`, from the symbol table: each symbol
    /// maps to the `[module]` column of its lines, or to vmlinux.
    ///
    /// # Errors
    /// [`Error::Io`] for the symbol table.
    pub fn symbol_owners(&self, symbols: &[String]) -> Result<SymbolOwners, Error> {
        let text = std::fs::read_to_string(&self.opts.kallsyms)
            .map_err(|source| Error::Io { path: self.opts.kallsyms.clone(), source })?;
        Ok(SymbolOwners::parse(&text, symbols))
    }

    /// A session over vmlinux in which modules load on first use.
    ///
    /// # Errors
    /// [`Error::Btf`] naming vmlinux.
    pub fn session(&self) -> Result<Session<'_>, Error> {
        Ok(Session {
            kernel: self,
            base: self.base()?,
            base_names: self.base_names()?,
            slots: self.modules.iter().map(|_| OnceCell::new()).collect(),
            name_bits: OnceCell::new(),
            scratch: RefCell::new(Vec::new()),
            loads: RefCell::new(Vec::new()),
            skipped: RefCell::new(Vec::new()),
        })
    }
}

/// Where each symbol lives, per the symbol table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SymbolOwners {
    /// Symbol → the modules that define it (several for static names).
    pub modules: BTreeMap<String, BTreeSet<String>>,
    /// Symbols found in vmlinux itself.
    pub vmlinux: BTreeSet<String>,
    /// Symbols found nowhere.
    pub unknown: Vec<String>,
}

impl SymbolOwners {
    /// Reads `/proc/kallsyms` text (`ADDR TYPE NAME [MODULE]` lines) for
    /// the given symbols.
    #[must_use]
    pub fn parse(text: &str, symbols: &[String]) -> Self {
        let wanted: BTreeSet<&str> = symbols.iter().map(String::as_str).collect();
        let mut out = SymbolOwners::default();
        for line in text.lines() {
            let mut f = line.split_whitespace();
            let (Some(_addr), Some(_ty), Some(name)) = (f.next(), f.next(), f.next()) else { continue };
            if !wanted.contains(name) {
                continue;
            }
            match f.next().and_then(|m| m.strip_prefix('[')).and_then(|m| m.strip_suffix(']')) {
                Some(module) => {
                    out.modules.entry(name.to_owned()).or_default().insert(module.to_owned());
                }
                None => {
                    out.vmlinux.insert(name.to_owned());
                }
            }
        }
        out.unknown = symbols
            .iter()
            .filter(|s| !out.vmlinux.contains(s.as_str()) && !out.modules.contains_key(s.as_str()))
            .cloned()
            .collect();
        out
    }

    /// Every owning module, once, sorted.
    #[must_use]
    pub fn all_modules(&self) -> Vec<String> {
        let set: BTreeSet<&String> = self.modules.values().flatten().collect();
        set.into_iter().cloned().collect()
    }
}

/// A module skipped in tolerant mode, and why.
#[derive(Debug)]
pub struct Skipped {
    /// The module.
    pub module: String,
    /// Why.
    pub error: Error,
}

/// A loaded module: its bytes and indexes.
#[derive(Debug)]
struct Loaded {
    data: Box<[u8]>,
    ids: Vec<u32>,
    /// The name index, made at the first lookup by name.
    names: OnceCell<Vec<u64>>,
}

/// vmlinux plus the modules loaded so far; see the [module docs](self).
#[derive(Debug)]
pub struct Session<'k> {
    kernel: &'k KernelBtf,
    base: Btf<'k>,
    base_names: NameIndex<'k>,
    /// Per module of the kernel's list: empty until loaded; `None` when
    /// skipped.
    slots: Vec<OnceCell<Option<Loaded>>>,
    /// vmlinux's name classes for validation, made at the first module
    /// that is validated.
    name_bits: OnceCell<BaseNamesVec<'k>>,
    /// Validation scratch, reused by every module (it grows to the largest
    /// one loaded).
    scratch: RefCell<Vec<u32>>,
    loads: RefCell<Vec<String>>,
    skipped: RefCell<Vec<Skipped>>,
}

impl<'k> Session<'k> {
    /// vmlinux.
    #[must_use]
    pub fn base(&self) -> &Btf<'k> {
        &self.base
    }

    /// vmlinux as a composite layer.
    #[must_use]
    pub fn base_layer(&self) -> Layer<'k> {
        Layer::new(self.base, self.base_names)
    }

    /// The kernel this session is over.
    #[must_use]
    pub fn kernel(&self) -> &'k KernelBtf {
        self.kernel
    }

    /// Modules read so far, in order.
    #[must_use]
    pub fn loaded(&self) -> Vec<String> {
        self.loads.borrow().clone()
    }

    /// Modules skipped (tolerant mode), with why.
    #[must_use]
    pub fn skipped(&self) -> std::cell::Ref<'_, Vec<Skipped>> {
        self.skipped.borrow()
    }

    /// Module `name` as a layer over vmlinux, read and validated on first
    /// use. `Ok(None)` when it was skipped (tolerant mode).
    ///
    /// # Errors
    /// [`Error::NoModule`]; in strict mode, the module's I/O, format or
    /// validation error.
    pub fn module(&self, name: &str) -> Result<Option<Layer<'_>>, Error> {
        let Some((btf, l)) = self.module_parts(name)? else { return Ok(None) };
        // The name index is made at the first lookup that needs it.
        if l.names.get().is_none() {
            let v = btf
                .build_name_index_vec()
                .map_err(|source| Error::Btf { path: self.kernel.module_path(name), source })?;
            let _ = l.names.set(v);
        }
        Ok(Some(Layer::new(btf, NameIndex::from_built(l.names.get().map(Vec::as_slice).unwrap_or_default()))))
    }

    /// Module `name`'s BTF over vmlinux, read and validated on first use,
    /// as [`Session::module`] but without the name index (which is then
    /// not made): for walks over every type, such as counts.
    ///
    /// # Errors
    /// As [`Session::module`].
    pub fn module_btf(&self, name: &str) -> Result<Option<Btf<'_>>, Error> {
        Ok(self.module_parts(name)?.map(|(btf, _)| btf))
    }

    /// The module's id-indexed BTF and what was loaded, loading it first.
    fn module_parts(&self, name: &str) -> Result<Option<(Btf<'_>, &Loaded)>, Error> {
        let i = self
            .kernel
            .modules
            .binary_search_by(|m| m.as_str().cmp(name))
            .map_err(|_| Error::NoModule { name: name.to_owned(), dir: self.kernel.opts.dir.clone() })?;
        let slot = self
            .slots
            .get(i)
            .ok_or_else(|| Error::NoModule { name: name.to_owned(), dir: self.kernel.opts.dir.clone() })?;
        if slot.get().is_none() {
            let loaded = match self.load(name) {
                Ok(l) => Some(l),
                Err(e) if self.kernel.opts.tolerant => {
                    self.skipped.borrow_mut().push(Skipped { module: name.to_owned(), error: e });
                    None
                }
                Err(e) => return Err(e),
            };
            let _ = slot.set(loaded);
        }
        let Some(Some(l)) = slot.get() else { return Ok(None) };
        let err = |source| Error::Btf { path: self.kernel.module_path(name), source };
        // From the index made at load: no walk per call.
        let btf = Btf::reopen_indexed(&l.data, Some(&self.base), self.base.options(), &l.ids).map_err(err)?;
        Ok(Some((btf, l)))
    }

    fn load(&self, name: &str) -> Result<Loaded, Error> {
        let path = self.kernel.module_path(name);
        self.loads.borrow_mut().push(name.to_owned());
        let mut raw = Vec::new();
        self.kernel.read_module_into(name, &mut raw)?;
        // Raw BTF (sysfs) is kept as read; anything else is extracted.
        let data = crate::input::into_btf(&path, raw)?.into_boxed_slice();
        if let Some(k) = self.kernel.opts.validate {
            let opts = ValidateOptions::new(Profile::Module, k);
            let names = self.name_bits.get_or_init(|| BaseNamesVec::new(&self.base, k));
            let mut scratch = self.scratch.borrow_mut();
            let need = btfkit::validate::scratch_len_bound(&data);
            if scratch.len() < need {
                // Fresh, not resized: validation rewrites what it uses.
                *scratch = vec![0; need];
            }
            btfkit::validate::validate_split(&data, &self.base, &names.names(), &opts, &mut scratch)
                .map_err(|source| Error::Invalid { path: path.clone(), source })?;
        }
        let err = |source| Error::Btf { path: path.clone(), source };
        // Parsed and id-indexed in one walk; named on first lookup.
        let mut ids = vec![0u32; Btf::index_len_bound(&data)];
        let n = Btf::parse_indexed(&data, Some(&self.base), self.base.options(), &mut ids).map_err(err)?.index_len();
        ids.truncate(n);
        // 4 bytes a type, not the header's upper bound.
        ids.shrink_to_fit();
        Ok(Loaded { data, ids, names: OnceCell::new() })
    }
}

/// Indexes into `listed` (sorted by name), by inode number and then name.
fn by_inode(listed: &[(String, u64)]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..listed.len()).collect();
    order.sort_by_key(|&i| listed.get(i).map(|(name, ino)| (*ino, name.as_str())));
    order
}

/// The destructors a kernel registers for the types a referenced kptr may
/// hold (`register_btf_id_dtor_kfuncs`): the type, and the kfuncs whose
/// presence in the kernel's BTF says that the code that registers it is
/// built in (the `_dtor` wrapper from about 6.13, the release kfunc itself
/// before).
const DESTRUCTORS: [(&[u8], [&[u8]; 2]); 7] = [
    (b"task_struct", [b"bpf_task_release_dtor", b"bpf_task_release"]),
    (b"cgroup", [b"bpf_cgroup_release_dtor", b"bpf_cgroup_release"]),
    (b"bpf_cpumask", [b"bpf_cpumask_release_dtor", b"bpf_cpumask_release"]),
    (b"bpf_crypto_ctx", [b"bpf_crypto_ctx_release_dtor", b"bpf_crypto_ctx_release"]),
    (b"sk_buff", [b"bpf_kfree_skb_dtor", b"bpf_kfree_skb"]),
    (b"prog_test_ref_kfunc", [b"bpf_kfunc_call_test_release_dtor", b"bpf_kfunc_call_test_release"]),
    (b"prog_test_member", [b"bpf_kfunc_call_memb_release_dtor", b"bpf_kfunc_call_memb_release"]),
];

/// A kernel's own STRUCT names, for the one rule of a user load that
/// depends on the kernel rather than the blob
/// ([`btfkit::validate::validate_in_kernel`]): a kptr whose pointee is
/// named like a kernel struct takes it, and a referenced one needs the
/// struct's destructor.
///
/// Each BTF added is one layer, searched in the order added, as the kernel
/// searches vmlinux and then every loaded module in the order of their BTF
/// ids ([`KernelBtf::modules_in_load_order`]): the first layer that has
/// the name answers, alone. A destructor counts as registered when its
/// kfunc is in that same BTF, as the kernel looks the destructor up in the
/// table of the BTF where it found the struct; the code that registers one
/// is built where its kfunc is. Add the modules that matter (or all of
/// them, explicitly), as with any lookup.
#[derive(Debug, Clone, Default)]
pub struct KernelStructNames {
    layers: Vec<StructLayer>,
}

/// One BTF's STRUCT names and destructor kfuncs.
#[derive(Debug, Clone, Default)]
struct StructLayer {
    structs: BTreeSet<Vec<u8>>,
    funcs: BTreeSet<Vec<u8>>,
}

impl KernelStructNames {
    /// Adds one BTF's own types as the next layer: vmlinux first, then a
    /// module over it.
    pub fn add(&mut self, btf: &Btf<'_>) {
        let mut layer = StructLayer::default();
        for t in btf.types().filter_map(Result::ok) {
            let kind = t.kind();
            if kind != Some(btfkit::Kind::Struct) && kind != Some(btfkit::Kind::Func) {
                continue;
            }
            let Ok(name) = btf.str_at(t.name_off()) else { continue };
            if kind == Some(btfkit::Kind::Struct) {
                // An anonymous pointee is the program's own: the kernel
                // (6.18.44 here) finds no kernel struct for the empty name.
                if !name.is_empty() && !layer.structs.contains(name) {
                    layer.structs.insert(name.to_vec());
                }
            } else if DESTRUCTORS.iter().any(|(_, fs)| fs.contains(&name)) {
                layer.funcs.insert(name.to_vec());
            }
        }
        self.layers.push(layer);
    }

    /// The names of vmlinux alone.
    ///
    /// # Errors
    /// [`Error::Btf`] naming vmlinux.
    pub fn of_vmlinux(k: &KernelBtf) -> Result<Self, Error> {
        let mut n = KernelStructNames::default();
        n.add(&k.base()?);
        Ok(n)
    }

    /// Adds the names of every module of the session's kernel, in the
    /// order the kernel searches them after vmlinux (`bpf_find_btf_id`,
    /// [`KernelBtf::modules_in_load_order`]): for a kptr pointee that
    /// vmlinux does not name. Each module is read through the session, so
    /// its options apply: the first module that cannot be read fails the
    /// call, or with `tolerant` it is skipped and listed in
    /// [`Session::skipped`].
    ///
    /// # Errors
    /// The first module's I/O or format error (strict mode).
    pub fn add_modules(&mut self, s: &Session<'_>) -> Result<(), Error> {
        for name in s.kernel().modules_in_load_order() {
            if let Some(btf) = s.module_btf(name)? {
                self.add(&btf);
            }
        }
        Ok(())
    }

    /// Whether a STRUCT of this name was added, in any layer.
    #[must_use]
    pub fn has_struct(&self, name: &[u8]) -> bool {
        self.layers.iter().any(|l| l.structs.contains(name))
    }
}

impl btfkit::validate::KernelStructs for KernelStructNames {
    fn lookup(&self, name: &[u8]) -> btfkit::validate::KernelStruct {
        let Some(layer) = self.layers.iter().find(|l| l.structs.contains(name)) else {
            return btfkit::validate::KernelStruct::Absent;
        };
        let destructor = DESTRUCTORS.iter().any(|(s, fs)| *s == name && fs.iter().any(|f| layer.funcs.contains(*f)));
        btfkit::validate::KernelStruct::Present { destructor }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ubuntu_backports_from_the_abi_that_lists_them() {
        let none = Backports::NONE;
        let u = |r| ubuntu_backports(r);
        // Each step, on either side of its ABI.
        assert_eq!(u("6.8.0-147-generic"), none);
        assert_eq!(u("6.8.0-148-generic"), none.with(OwnershipDepth));
        assert_eq!(u("6.8.0-149-generic\n"), none.with(OwnershipDepth));
        let ubuntu68 = none.with(RefcountUnique).with(OwnershipDepth);
        assert_eq!(u("6.8.0-150-generic"), ubuntu68);
        assert_eq!(u("6.8.0-160-generic"), ubuntu68);
        assert_eq!(u("6.2.0-26-generic"), none);
        assert_eq!(u("6.2.0-35-generic"), none.with(RbTree));
        assert_eq!(u("6.2.0-39-generic"), none.with(Dots).with(RbTree));
        assert_eq!(u("5.19.0-29-generic"), none);
        assert_eq!(u("5.19.0-38-generic"), none.with(RetNotSource));
        assert_eq!(u("5.19.0-50-generic"), none.with(RetNotSource).with(ArgNotSource));
        assert_eq!(u("7.0.0-38-generic"), none);
        let hardening = ubuntu68.with(OneSeenSet);
        assert_eq!(u("7.0.0-42-generic"), hardening);
        assert_eq!(u("7.0.0-44-generic"), hardening);
        // Flavours, by their own ABI numbers (the generic kernel's are not
        // theirs).
        assert_eq!(u("6.8.0-1067-aws"), none);
        assert_eq!(u("6.8.0-1069-aws"), none.with(OwnershipDepth));
        assert_eq!(u("6.8.0-1070-aws"), ubuntu68);
        assert_eq!(u("6.8.0-1069-nvidia-lowlatency"), ubuntu68);
        assert_eq!(u("6.8.0-149-lowlatency"), none.with(OwnershipDepth));
        assert_eq!(u("7.0.0-1014-aws"), none);
        assert_eq!(u("7.0.0-1018-aws"), hardening);
        assert_eq!(u("7.0.0-1025-nvidia"), none);
        // Other series, flavours not read, other distributions: none.
        for other in [
            "6.5.0-45-generic",
            "6.17.0-42-generic",
            "6.8.0-150-generic-64k",
            "6.2.0-1018-aws",
            "6.12.57+deb13-cloud-amd64",
            "6.1.0-50-cloud-amd64",
            "6.8.1-151-generic",
            "6.8.0-151",
            "",
        ] {
            assert_eq!(u(other), none, "{other}");
        }
    }

    /// A BTF (split over `base`, if given) with the named structs and
    /// functions.
    fn btf_with(base: Option<&Btf<'_>>, structs: &[&str], funcs: &[&str]) -> Vec<u8> {
        use btfkit::write::{Builder, BuilderOptions, HashIndex, StrTable};
        let mut b = match base {
            None => Builder::new_vec(BuilderOptions::standalone(btfkit::Endian::Little)).unwrap(),
            Some(base) => {
                let strings = StrTable::new_split(Vec::new(), HashIndex::default(), base).unwrap();
                Builder::new(BuilderOptions::split_of(base), Vec::new(), strings).unwrap()
            }
        };
        for s in structs {
            b.add_struct(*s, 8).unwrap();
        }
        let proto = b.add_func_proto(btfkit::TypeId(0)).unwrap();
        for f in funcs {
            b.add_func(*f, btfkit::raw::BTF_FUNC_GLOBAL, proto).unwrap();
        }
        b.to_vec().unwrap()
    }

    #[test]
    fn kernel_struct_names_answer_from_the_first_btf_that_has_the_name() {
        use btfkit::validate::{KernelStruct, KernelStructs};
        let (with, without) = (KernelStruct::Present { destructor: true }, KernelStruct::Present { destructor: false });
        let vmlinux = btf_with(None, &["task_struct"], &["bpf_task_release", "bpf_kfunc_call_test_release"]);
        let vmlinux = Btf::parse(&vmlinux).unwrap();
        // Two modules with the same struct: one registers its destructor
        // (has the kfunc), one does not.
        let own = btf_with(Some(&vmlinux), &["prog_test_ref_kfunc"], &["bpf_kfunc_call_test_release"]);
        let bare = btf_with(Some(&vmlinux), &["prog_test_ref_kfunc", "veth_priv"], &[]);
        let (own, bare) = (Btf::parse_split(&own, &vmlinux).unwrap(), Btf::parse_split(&bare, &vmlinux).unwrap());
        let names = |modules: &[&Btf<'_>]| {
            let mut n = KernelStructNames::default();
            n.add(&vmlinux);
            for m in modules {
                n.add(m);
            }
            n
        };
        let first_own = names(&[&own, &bare]);
        assert_eq!(first_own.lookup(b"prog_test_ref_kfunc"), with);
        assert_eq!(first_own.lookup(b"task_struct"), with);
        assert_eq!(first_own.lookup(b"veth_priv"), without);
        assert_eq!(first_own.lookup(b"nosuch"), KernelStruct::Absent);
        // The first module answers alone, and vmlinux's kfunc is not a
        // module struct's destructor.
        let first_bare = names(&[&bare, &own]);
        assert_eq!(first_bare.lookup(b"prog_test_ref_kfunc"), without);
        assert!(first_bare.has_struct(b"prog_test_ref_kfunc") && !first_bare.has_struct(b"nosuch"));
    }

    #[test]
    fn modules_in_load_order_follow_inode_numbers() {
        let listed = [("a".to_owned(), 30), ("b".to_owned(), 10), ("c".to_owned(), 20), ("d".to_owned(), 20)];
        assert_eq!(by_inode(&listed), [1, 2, 3, 0]);
        assert_eq!(by_inode(&[]), Vec::<usize>::new());
    }

    #[test]
    fn red_hat_kernels_are_told_apart() {
        for el in ["5.14.0-503.40.1.el9_5.x86_64", "4.18.0-553.el8_10.x86_64", "6.12.0-55.9.1.el10_0.x86_64\n"] {
            assert!(unmodelled_distribution(el).is_some(), "{el}");
        }
        for other in [
            "6.8.0-151-generic",
            "6.12.57+deb13-cloud-amd64",
            "6.1.0-50-cloud-amd64",
            "6.1.79-99.167.amzn2023.x86_64",
            "6.18.44-fc-v595",
            "6.11.0-elephant",
            "",
        ] {
            assert!(unmodelled_distribution(other).is_none(), "{other}");
        }
    }

    #[test]
    fn ubuntu_flavours_not_read_are_told_apart() {
        for read in
            ["6.8.0-151-generic", "6.8.0-1032-oem", "7.0.0-1025-nvidia", "6.17.0-1020-aws", "5.15.0-1090-aws", ""]
        {
            assert_eq!(ubuntu_flavour_unread(read), None, "{read}");
        }
        let hardening = Backports::NONE.with(OneSeenSet).with(RefcountUnique).with(OwnershipDepth);
        assert_eq!(ubuntu_flavour_unread("7.0.0-1010-realtime"), Some(hardening));
        assert_eq!(
            ubuntu_flavour_unread("6.8.0-150-generic-64k"),
            Some(Backports::NONE.with(RefcountUnique).with(OwnershipDepth))
        );
        assert_eq!(ubuntu_flavour_unread("6.2.0-1018-aws"), Some(Backports::NONE.with(RbTree).with(Dots)));
        assert_eq!(
            ubuntu_flavour_unread("5.19.0-1029-aws"),
            Some(Backports::NONE.with(RetNotSource).with(ArgNotSource))
        );
    }

    #[test]
    fn running_kernel_versions_see_through_distribution_abi_names() {
        let v = |r, u, s| kernel_version_of(r, u, s);
        // Releases that name themselves.
        assert_eq!(v("6.18.44-fc-v595\n", "#1 SMP PREEMPT_DYNAMIC @0", ""), Some(KernelVersion::release(6, 18, 44)));
        assert_eq!(
            v("6.12.57+deb13-cloud-amd64", "#1 SMP PREEMPT_DYNAMIC Debian 6.12.57-1 (2025-11-05)", ""),
            Some(KernelVersion::release(6, 12, 57))
        );
        // Debian's ABI name, and the release in `uname -v`.
        assert_eq!(
            v("6.1.0-50-cloud-amd64\n", "#1 SMP PREEMPT_DYNAMIC Debian 6.1.176-1 (2026-06-01)\n", ""),
            Some(KernelVersion::release(6, 1, 176))
        );
        // Ubuntu's, and the signature's last word.
        assert_eq!(
            v(
                "5.15.0-91-generic",
                "#101-Ubuntu SMP Tue Nov 14 13:30:08 UTC 2023",
                "Ubuntu 5.15.0-91.101-generic 5.15.131\n"
            ),
            Some(KernelVersion::release(5, 15, 131))
        );
        // A release of another series is not this kernel's.
        assert_eq!(v("6.1.0-0.deb11.48-cloud-amd64", "#1 SMP Debian 5.10.200-1", ""), Some(KernelVersion::new(6, 1)));
        // Nothing to go by: the series.
        assert_eq!(v("6.1.0-50-cloud-amd64", "", ""), Some(KernelVersion::new(6, 1)));
        assert_eq!(v("", "Debian 6.1.176-1", ""), None);
    }
}
