//! The running kernel as the validation oracle: `bpf(BPF_BTF_LOAD)`.

use std::os::fd::{FromRawFd, OwnedFd};

const BPF_BTF_LOAD: libc::c_long = 18;

/// The BTF_LOAD part of `union bpf_attr`, padded to the size the kernel
/// accepts for this command.
#[repr(C)]
#[derive(Default)]
struct BtfLoadAttr {
    btf: u64,
    btf_log_buf: u64,
    btf_size: u32,
    btf_log_size: u32,
    btf_log_level: u32,
    btf_log_true_size: u32,
    btf_flags: u32,
    btf_token_fd: i32,
    _pad: [u64; 8],
}

/// The kernel refused a blob.
#[derive(Debug, Clone)]
pub struct Rejected {
    /// `errno`.
    pub errno: i32,
    /// The verifier log, when one was asked for.
    pub log: String,
}

#[allow(unsafe_code)]
fn sys_btf_load(data: &[u8], log: Option<&mut Vec<u8>>) -> Result<OwnedFd, i32> {
    let mut attr = BtfLoadAttr {
        btf: data.as_ptr() as u64,
        btf_size: u32::try_from(data.len()).unwrap_or(u32::MAX),
        ..BtfLoadAttr::default()
    };
    if let Some(buf) = log {
        attr.btf_log_buf = buf.as_mut_ptr() as u64;
        attr.btf_log_size = u32::try_from(buf.len()).unwrap_or(u32::MAX);
        attr.btf_log_level = 1;
    }
    // SAFETY: `attr` is a valid, initialized bpf_attr prefix for
    // BPF_BTF_LOAD whose pointers refer to `data` and the log buffer, both
    // alive and correctly sized for the duration of the call; the kernel
    // only reads `data` and writes at most `btf_log_size` bytes of log.
    let r = unsafe { libc::syscall(libc::SYS_bpf, BPF_BTF_LOAD, &raw mut attr, std::mem::size_of::<BtfLoadAttr>()) };
    if r < 0 {
        return Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0));
    }
    // SAFETY: a non-negative return of BPF_BTF_LOAD is a new fd we own.
    Ok(unsafe { OwnedFd::from_raw_fd(r as i32) })
}

/// Loads `data`; `Ok` when the kernel accepts it (the object is released
/// at once). The log is fetched only on rejection, by a second load.
///
/// # Errors
/// The kernel's errno and its verifier log.
pub fn btf_load(data: &[u8]) -> Result<(), Rejected> {
    match sys_btf_load(data, None) {
        Ok(_fd) => Ok(()),
        Err(errno) => {
            let mut buf = vec![0u8; 1 << 20];
            let _ = sys_btf_load(data, Some(&mut buf));
            let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
            Err(Rejected { errno, log: String::from_utf8_lossy(&buf[..end]).into_owned() })
        }
    }
}

/// Whether this process can load BTF: `Err` says why not (not root,
/// EPERM, no bpf()).
///
/// # Errors
/// A sentence naming the cause.
pub fn availability() -> Result<(), String> {
    let tiny = btfkit::doc_example_blob();
    match sys_btf_load(&tiny, None) {
        Ok(_) => Ok(()),
        Err(libc::EPERM) => Err("bpf(BPF_BTF_LOAD) returned EPERM: run as root (or with CAP_BPF)".into()),
        Err(libc::ENOSYS) => Err("the kernel has no bpf() syscall".into()),
        Err(e) => Err(format!("bpf(BPF_BTF_LOAD) of a valid blob failed with errno {e}")),
    }
}

/// The running kernel's release (`uname -r`).
#[must_use]
pub fn release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim().to_owned()
}

/// The running kernel's own struct names: vmlinux and every module in
/// `/sys/kernel/btf` (read explicitly, for the kernel searches the loaded
/// modules), built once. Empty when they cannot be read.
pub fn running_structs() -> &'static btfkit_sysfs::kernel::KernelStructNames {
    static NAMES: std::sync::OnceLock<btfkit_sysfs::kernel::KernelStructNames> = std::sync::OnceLock::new();
    NAMES.get_or_init(|| {
        let mut names = btfkit_sysfs::kernel::KernelStructNames::default();
        let opts = btfkit_sysfs::kernel::Options { tolerant: true, validate: None, ..Default::default() };
        let k = match btfkit_sysfs::kernel::KernelBtf::open(opts) {
            Ok(k) => k,
            Err(e) => {
                eprintln!("WARNING: no running kernel BTF ({e}): kptr pointees taken as the program's own");
                return names;
            }
        };
        let Ok(s) = k.session() else { return names };
        names.add(s.base());
        for m in k.modules_in_load_order() {
            if let Ok(Some(b)) = s.module_btf(m) {
                names.add(&b);
            }
        }
        for skip in s.skipped().iter() {
            eprintln!("WARNING: module {} not read for kernel struct names: {}", skip.module, skip.error);
        }
        names
    })
}

/// Where [`validate`](btfkit::validate::validate) and the plain passes
/// ([`validate_unoptimized`](btfkit::validate::validate_unoptimized)) part
/// on a blob, split over `base` when given (an indexed one): their
/// verdicts, or the first scratch word that differs. `None` when they
/// agree, as they must: the fast paths are only shortcuts to the plain
/// passes' outcome.
#[must_use]
pub fn fast_paths_differ<'a>(
    data: &'a [u8],
    base: Option<&'a btfkit::Btf<'a>>,
    opts: &btfkit::validate::ValidateOptions,
) -> Option<String> {
    use btfkit::validate::{scratch_len, validate, validate_unoptimized};
    let len = scratch_len(data, base, opts);
    let (mut fast_words, mut plain_words) = (vec![0u32; len], vec![0u32; len]);
    let fast = validate(data, base, opts, &mut fast_words);
    let plain = validate_unoptimized(data, base, opts, &mut plain_words);
    if fast != plain {
        return Some(format!("the fast paths give {fast:?}, the plain passes {plain:?}"));
    }
    let (i, (f, p)) = fast_words.iter().zip(&plain_words).enumerate().find(|(_, (f, p))| f != p)?;
    Some(format!(
        "both give {fast:?}, but scratch word {i} is {f:#x} after the fast paths and {p:#x} after the plain passes"
    ))
}

/// Our `UserLoad`-style verdict on a standalone blob for the running
/// kernel: kptr pointees named like its own structs take them.
///
/// # Errors
/// The first rule broken.
pub fn validate_user(
    data: &[u8],
    opts: &btfkit::validate::ValidateOptions,
) -> Result<(), btfkit::validate::ValidationError> {
    let mut scratch = vec![0u32; btfkit::validate::scratch_len(data, None, opts)];
    btfkit::validate::validate_in_kernel(data, opts, &mut scratch, running_structs())
}
