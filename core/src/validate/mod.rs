//! Kernel-faithful validation (work in progress: API only).

use crate::Btf;
use crate::types::TypeId;

/// Which of the kernel's load paths to emulate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Profile {
    /// What `bpf(BPF_BTF_LOAD)` accepts: every rule, kernel quirks emulated.
    UserLoad,
    /// The base (vmlinux) rules: no resolve pass.
    Vmlinux,
    /// The split (module) rules.
    Module,
    /// Every rule, quirks tightened, applied to split BTF with its base too.
    #[default]
    Strict,
}

/// A kernel version, `major.minor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct KernelVersion {
    /// Major.
    pub major: u16,
    /// Minor.
    pub minor: u16,
}

impl KernelVersion {
    /// The newest behaviour this crate knows.
    pub const LATEST: KernelVersion = KernelVersion { major: 7, minor: 2 };
    /// `major.minor`.
    #[must_use]
    pub const fn new(major: u16, minor: u16) -> Self {
        KernelVersion { major, minor }
    }
    /// Parses the start of a release string such as `6.18.44-fc-v782`.
    #[must_use]
    pub fn parse(release: &str) -> Option<Self> {
        let mut it = release.split(|c: char| !c.is_ascii_digit());
        let major = it.next()?.parse().ok()?;
        let minor = it.next()?.parse().ok()?;
        Some(KernelVersion { major, minor })
    }
}

/// Options for [`validate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct ValidateOptions {
    /// The load path.
    pub profile: Profile,
    /// The kernel whose rules apply.
    pub kernel: KernelVersion,
    /// `sizeof(void *)` on the target.
    pub ptr_size: u32,
}

impl ValidateOptions {
    /// Options for a profile on a kernel, 8-byte pointers.
    #[must_use]
    pub const fn new(profile: Profile, kernel: KernelVersion) -> Self {
        ValidateOptions { profile, kernel, ptr_size: 8 }
    }
}

/// A validation failure (placeholder).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidationError {
    /// Type id, when known.
    pub type_id: Option<TypeId>,
    /// Byte offset.
    pub offset: u32,
}

/// How many `u32` of scratch [`validate`] needs for `data`.
#[must_use]
pub fn scratch_len(data: &[u8]) -> usize {
    data.len() / 4
}

/// Validates `data` (split over `base` when given).
///
/// # Errors
/// The first rule broken.
pub fn validate(
    _data: &[u8],
    _base: Option<&Btf<'_>>,
    _opts: &ValidateOptions,
    _scratch: &mut [u32],
) -> Result<(), ValidationError> {
    Ok(())
}

/// [`validate`] with scratch in a `Vec`.
///
/// # Errors
/// The first rule broken.
#[cfg(feature = "alloc")]
pub fn validate_vec(data: &[u8], base: Option<&Btf<'_>>, opts: &ValidateOptions) -> Result<(), ValidationError> {
    let mut scratch = alloc::vec![0u32; scratch_len(data)];
    validate(data, base, opts, &mut scratch)
}
