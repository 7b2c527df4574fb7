//! Kernel-faithful validation: would a kernel accept this BTF?
//!
//! [`validate`] applies the rules of the kernel's BTF verifier
//! (`kernel/bpf/btf.c`), in the kernel's order, for one of its load paths
//! ([`Profile`]) and one kernel version ([`KernelVersion`]):
//!
//! 1. the header and the tiling of its sections (`btf_parse_hdr`,
//!    `btf_check_sec_info`), the 7.1 layout section;
//! 2. the string section, for base and for split BTF (`btf_parse_str_sec`);
//! 3. pass 1, every type's own record (`btf_check_meta` and the per-kind
//!    `check_meta`), with the kernel's Latin-1 name classes;
//! 4. pass 2, resolution (`btf_check_all_types`): the depth-first walk with
//!    its three modes and its depth limit of 32, sized targets, arrays,
//!    struct and union members in both bitfield encodings, FUNC → FUNC_PROTO,
//!    parameters, DATASEC → VAR and DECL_TAG targets;
//! 5. from 5.18, type-tag ordering and modifier chains of at most 32
//!    (`btf_check_type_tags`, 7.2's `btf_check_modifier_chain_length`
//!    without the ordering; with a resolve pass, checked at each modifier's
//!    turn in it and reported after its own errors);
//! 6. for a standalone blob under `UserLoad` and `Strict` on 6.2 and later,
//!    the BPF special-field layer (`btf_parse_struct_metas`; see
//!    [below](#bpf-special-fields)).
//!
//! It needs no allocator: pass 1's descriptors and pass 2's state (24 bytes
//! a type, and two summary bits), and the name bits (one bit a string byte)
//! live in scratch memory the caller provides ([`scratch_len`]), and the
//! walk uses a fixed stack of 32 entries, never recursion.
//!
//! Most records and types take a fast path: a record that is plainly fine,
//! a type whose walk would push nothing and whose outcome its targets'
//! words already decide (a struct's members from their types' member
//! words, in a dense array), or whose walk would only push one struct,
//! array or pointer that itself needs no walk. Each fast path leaves the
//! verdict and every scratch word exactly as the plain passes would, and
//! hands anything else to them, so errors are still found by the kernel's
//! own steps, in its order. Tests and the fuzz target hold the two to
//! each other ([`validate_unoptimized`] has no fast paths), and the unit
//! cases and a differential of millions of inputs to the running
//! kernel; the unit cases and tens of thousands of inputs also to Debian's
//! kernels of every series it ships (5.10, 6.1, 6.12, 6.16 to 6.19, 7.0 to
//! 7.3, the newest in sid, and releases on either side of backports) and
//! Ubuntu's of the series before and between (5.0, 5.3, 5.4, 5.6, 5.8,
//! 5.11, 5.13, 5.14, 5.15, 5.17, 6.0, 6.5, 6.8, 6.11, 6.14), booted under
//! qemu, each judged by its own release's rules.
//! Before 5.4, upstream kernels took at most 65,535 types and 64 KiB of
//! names ("bpf: fix BTF limits", 5.4): `validate` takes the later limits
//! for every version, as Ubuntu's 5.0 and 5.3 do (they carry the fix).
//! 4.18 and 4.19, the first kernels to load BTF, are not modelled (they
//! know no FUNC or FUNC_PROTO, among other differences): a version before
//! 5.0 gets 5.0's rules.
//!
//! A [`KernelVersion`] names a release, such as 6.12.57, or a series, such
//! as 6.12, taken as its latest stable release. Stable updates carry rule
//! changes back (6.1.36 and 5.10.186 take `.` in identifiers as 6.4 does;
//! 6.12.110 to 6.12.115 took the special-field hardening in three steps),
//! and each knob knows the first release of each series that has it, from
//! stable's review mails and push notices, or from Debian's kernels booted.
//! `btfkit-sysfs`'s `running_kernel` finds the running release, also behind
//! Debian's and Ubuntu's ABI names.
//!
//! Many split blobs over one base ([`validate_split`], [`BaseNames`]) share
//! the base's name bits, built once. The base must carry its id index
//! ([`Btf::parse_indexed`] builds it in the parsing walk), so that every
//! lookup of a base type is O(1):
//!
//! ```
//! # fn main() -> Result<(), Box<dyn core::error::Error>> {
//! use btfkit::validate::{BaseNames, KernelVersion, Profile, ValidateOptions, scratch_len_bound, validate_split};
//! use btfkit::{Btf, ParseOptions};
//!
//! let (vmlinux, module) = btfkit::doc_example_split();
//! let mut index = [0u32; 32];
//! let base = Btf::parse_indexed(&vmlinux, None, ParseOptions::default(), &mut index)?;
//! let kernel = KernelVersion::new(6, 18);
//! let mut words = [0u32; 8];
//! assert!(BaseNames::words_needed(&base) <= words.len());
//! let names = BaseNames::new(&base, kernel, &mut words)?;
//!
//! // Then, for each module, with one reused scratch buffer:
//! let opts = ValidateOptions::new(Profile::Module, kernel);
//! let mut scratch = [0u32; 128];
//! assert!(scratch_len_bound(&module) <= scratch.len());
//! validate_split(&module, &base, &names, &opts, &mut scratch)?;
//! # Ok(()) }
//! ```
//!
//! ## Kernel quirks, and what each profile does with them
//!
//! | quirk | `UserLoad` | `Strict` |
//! |---|---|---|
//! | more than BTF_MAX_TYPE types: the kernel drops the excess silently | emulated | rejected ([`Rule::TooManyTypes`]) |
//! | before 6.1 and its stable fixes: a struct member the walk pushed is checked again as the type of its id's low 16 bits, which must be resolved | emulated | whole id |
//! | `hdr_len` below 24 (header bytes past it read as 0, a field cut short keeps its first bytes) or not a multiple of 4 | emulated | rejected |
//! | 7.1+: partial layout fields with 24 < `hdr_len` < 32 ignored | emulated | must be zero |
//! | INT: bits 8-15 of the int data unchecked, size unbounded | emulated | rejected above 16 bytes or with those bits set |
//! | PTR or modifier → FUNC accepted only when the FUNC resolved first (5.16 and later; before, a FUNC is never resolved, so never) | emulated | rejected ([`Rule::RefToFunc`]) |
//! | kind_flag ENUM64 member without bitfield checked as 32 bits wide | emulated | checked at its real width |
//! | DATASEC entry whose VAR is resolved on the way is not size-checked | emulated | checked |
//! | kernel and module BTF get no resolve pass | (n/a) | resolve pass on all |
//! | section sort by signed offset difference | same verdict either way | same |
//! | name classes are the kernel's Latin-1 ctype table | kept | kept |
//! | special fields: a second spin lock in a nested struct of the same record (the kernel only warns) | emulated | rejected ([`Rule::DuplicateField`]) |
//! | special fields: a graph root's node offset is decoded with the node type's kind_flag | emulated (no verdict depends on it: the two decodes differ by multiples of 2 MiB) | same |
//! | special fields: a kptr pointee named like a kernel struct | taken as the program's own by [`validate`] (the kernel's verdict depends on its own BTF; see [`validate_in_kernel`]) | same |
//! | special fields: thousands of graph roots or re-walked nested structs, superlinear work for the kernel | rejected ([`Rule::SpecialFieldsTooComplex`]) | rejected |
//! | special fields: the hardening's stable releases between the last one booted without a step and the first one booted with it (6.12.112, 6.12.114, 7.2.7, 7.2.8; 7.2.0 to 7.2.5 unknown) | taken as the older one | same |
//!
//! ## BPF special fields
//!
//! After the type tags, a user load checks the structs that hold BPF's
//! special types: spin locks, list and rb-tree roots and nodes, refcounts
//! and kptrs (`btf_parse_struct_metas`, `btf_parse_fields`,
//! `btf_check_and_fixup_fields`). `validate` does the same for a
//! standalone blob under `UserLoad` and `Strict` on kernels 6.2 and later,
//! in each version's shape (see below; the list describes 6.12's), with
//! `bpf_res_spin_lock` from 6.15. Each failure has its own
//! [`Rule`]; the kernel logs nothing for them, so each rule's message names
//! the errno the kernel returns instead.
//!
//! - A STRUCT is checked when a direct member's type is the first STRUCT
//!   named `bpf_spin_lock`, `bpf_list_head`, `bpf_list_node`, `bpf_rb_root`,
//!   `bpf_rb_node` or `bpf_refcount`, or a kptr (a PTR, or a VOLATILE one,
//!   to a TYPE_TAG without kind_flag named `kptr`, `kptr_untrusted` or
//!   `percpu_kptr`). Typedefs, modifiers and arrays of them trigger nothing.
//! - Its fields are found through arrays and nested structs (32 levels of
//!   each), at most 11, every member on a byte boundary, every tagged
//!   pointer with a kptr tag on a struct. Then: no overlap, one
//!   `contains:<struct>:<node>` declaration tag per graph root naming a
//!   struct whose node member is of the root's node type and 8-byte
//!   aligned, a lock beside any root, a refcount beside both node kinds,
//!   and no root in the value struct of a struct that has a node.
//!
//! What the layer cannot know from the blob: a kptr whose pointee struct is
//! named like a struct of the running kernel's BTF (vmlinux or a loaded
//! module) takes the kernel's type, and a referenced one (`kptr`) then
//! needs a destructor the kernel registered, or the load fails with ENOENT.
//! `validate` takes every pointee as the program's own type, which is what
//! the kernel does for a name it does not know; [`validate_in_kernel`]
//! asks a [`KernelStructs`] instead (`btfkit-sysfs` reads one from a
//! kernel's BTF, and `btfkit validate --profile user` uses vmlinux's,
//! then, for a name vmlinux lacks, every module's, as the kernel searches
//! them; the tests boot kernels with `veth` loaded to check a kptr to its
//! `veth_priv`).
//!
//! In 2026 the layer was hardened (in bpf-next in July, so mainline 7.3 by
//! the dates; 7.2.6 already has part of it), and stable series took
//! the changes back in three steps, each release by release (see
//! `ONE_SEEN_SET`, `REFCOUNT_UNIQUE` and `OWNERSHIP_DEPTH` in the source for
//! the releases and the evidence): one set of unique fields serves the
//! whole walk of a struct, nested structs included (6.12.110, 6.18.52,
//! 7.2.6); `bpf_refcount` is unique (6.12.115, 6.18.52, 7.2.6), both
//! [`Rule::DuplicateField`]; and instead of the node-holder rule, the
//! ownership graph is bounded (6.12.113, 7.2.9): graph roots own their
//! value structs, referenced and per-CPU kptrs the program's own structs
//! with special fields, and no chain may hold more than 8 records, nor a
//! cycle ([`Rule::OwnershipTooDeep`]). Debian's 6.12.111, .113, .115 and
//! .117, 7.2.6, 7.2.9 and 7.2.12 are booted to check each step; 6.12.43 to
//! 6.12.107, 6.16 to 6.19, 7.0 and 7.1 have the older layer. 6.12
//! knows no `uptr` tag ([`Rule::PtrUnknownTag`]). From 7.2 a kptr's tag may
//! sit anywhere among the modifiers after its pointer, other tags beside
//! it ignored, one kptr kind at most ([`Rule::KptrTagsConflict`]); and
//! type tags need no longer precede the other modifiers of a chain.
//!
//! Before 6.12 the layer was narrower, and `validate` follows each step
//! back (from the kernels' sources, each step checked on a kernel booted):
//! - before 6.12 ("bpf: Search for kptrs in prog BTF structs"), no kptrs:
//!   a kptr member makes no struct parsed, and a tagged pointer is an
//!   ordinary member (Ubuntu's 6.11);
//! - before 6.11 ("bpf: look into the types of the fields of a struct type
//!   recursively", in bpf-next after 6.10's merge window), no arrays and
//!   no nested structs: only the direct members whose own type is named
//!   as a special struct are fields, and only those must start on a byte
//!   (Ubuntu's 6.8, and 6.5);
//! - before 6.7 (with "bpf: Add support for BPF exceptions"), a graph
//!   root's first `contains:` tag is taken, and a second one not looked
//!   for (6.5);
//! - before 6.6 ("bpf: Add 'owner' field to bpf_{list,rb}_node"),
//!   `bpf_list_node` and `bpf_rb_node` were 16 and 24 bytes, and a member
//!   of another size is no field (6.5; a struct parsed with none is
//!   refused, [`Rule::NoSpecialFields`]);
//! - before 6.4 ("bpf: Introduce opaque bpf_refcount struct and add
//!   btf_record plumbing"), no `bpf_refcount`: it triggers nothing and is
//!   no field, and both node kinds may share a struct without one (6.2);
//! - before 6.3 ("bpf: Add basic bpf_rb_{root,node} support"), no
//!   rb-trees: only spin locks, list heads and list nodes (6.2 as upstream
//!   had it, from its source; Ubuntu's 6.2, booted, carries the rb-trees);
//! - 6.1 and earlier have no layer.
//!
//! 6.3 and 6.4 are taken to be as their neighbours' sources say; no kernel
//! of theirs is booted.
//!
//! Distribution kernels carry backports: Ubuntu's 6.8.0-151 has two of the
//! 2026 steps, its 6.2 the rb-trees and dots, its 5.19 the FUNC_PROTO
//! checks of 6.1 and 6.2. [`ValidateOptions::backports`] names them
//! ([`Backport`]), and `btfkit validate --backport` on the command line.
//! [`ValidateOptions::special_fields`] turns the layer off, for BTF that no
//! kernel loads as program BTF.
//!
//! The kernel walks a nested struct again at each use, and each graph root
//! looks up its declaration tag and value struct by a scan of the types.
//! `validate` marks a struct whose walk found nothing, so that clean
//! structs are walked once, and counts the rest of the work: past 16 steps
//! a byte of the blob and 2^22 more (hundreds of graph roots), it refuses
//! the blob ([`Rule::SpecialFieldsTooComplex`]) rather than break the
//! crate's promise of work linear in the input.

mod fields;
mod names;
mod rule;

pub use rule::Rule;

use core::cell::Cell;
use core::fmt;

use crate::btf::Btf;
use crate::types::{Type, TypeId};
use crate::{Endian, Kind, VlenEncoding, raw};

/// Which of the kernel's load paths to emulate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Profile {
    /// What `bpf(BPF_BTF_LOAD)` accepts (`btf_parse`): every rule, with the
    /// kernel's quirks emulated so that verdicts match the kernel's. Host
    /// byte order only, standalone only, at most 16 MiB.
    UserLoad,
    /// The base rules (`btf_parse_base`, vmlinux): header, strings, pass 1
    /// and type tags; no resolve pass.
    Vmlinux,
    /// The split rules (`btf_parse_module`): as `Vmlinux`, with the split
    /// string rules, over the base.
    Module,
    /// The default for untrusted input: every rule, quirks tightened,
    /// either byte order, and split BTF checked together with its base.
    #[default]
    Strict,
}

/// A kernel version: a series, `major.minor`, or one release of it,
/// `major.minor.patch`. A series selects the rules of its latest stable
/// release (stable updates carry some rule changes back; see the module
/// docs); a release selects that release's own, where a backport landed
/// within the series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct KernelVersion {
    /// Major.
    pub major: u16,
    /// Minor.
    pub minor: u16,
    /// The stable release within the series (the kernel's `SUBLEVEL`), or
    /// [`KernelVersion::SERIES`] for the series' latest.
    pub patch: u16,
}

impl KernelVersion {
    /// The newest kernel this crate knows (7.3, where the special-field
    /// hardening is mainline; 7.2 brought the 24-bit vlen). The tests boot
    /// 7.3.4.
    pub const LATEST: KernelVersion = KernelVersion::new(7, 3);

    /// The `patch` of a series: its latest stable release, whatever that is.
    pub const SERIES: u16 = u16::MAX;

    /// The series `major.minor`, as its latest stable release has it.
    #[must_use]
    pub const fn new(major: u16, minor: u16) -> Self {
        KernelVersion { major, minor, patch: Self::SERIES }
    }

    /// The one release `major.minor.patch`.
    #[must_use]
    pub const fn release(major: u16, minor: u16, patch: u16) -> Self {
        KernelVersion { major, minor, patch }
    }

    /// Whether this names a series rather than one release.
    #[must_use]
    pub const fn is_series(self) -> bool {
        self.patch == Self::SERIES
    }

    /// Parses a version or the start of a release string: `6.18` is the
    /// series, `6.18.44` and `6.18.44-fc-v782` the release 6.18.44.
    ///
    /// A sublevel of 0 followed by `-` and a number is a distribution's ABI
    /// name, not a release: Debian's `6.1.0-50-cloud-amd64` is 6.1.176
    /// and Ubuntu's `5.15.0-91-generic` 5.15.131. Such a string gives the
    /// series; `btfkit-sysfs`'s `running_kernel` reads the real release
    /// where the distribution records it.
    #[must_use]
    pub fn parse(release: &str) -> Option<Self> {
        let b = release.trim().as_bytes();
        let (major, b) = leading_number(b)?;
        let (minor, b) = leading_number(b.strip_prefix(b".")?)?;
        let series = KernelVersion::new(major, minor);
        let Some((patch, after)) = b.strip_prefix(b".").and_then(leading_number) else {
            return Some(series);
        };
        let abi = patch == 0 && after.strip_prefix(b"-").and_then(<[u8]>::first).is_some_and(u8::is_ascii_digit);
        if abi || patch == Self::SERIES {
            return Some(series);
        }
        Some(KernelVersion::release(major, minor, patch))
    }

    /// The series, without the release.
    #[must_use]
    pub const fn series(self) -> Self {
        KernelVersion::new(self.major, self.minor)
    }

    /// Whether this is of the series `major.minor` or a later one. (Compare
    /// versions with this rather than `>=`: a series sorts after its
    /// releases.)
    #[must_use]
    pub const fn at_least(self, major: u16, minor: u16) -> bool {
        self.major > major || (self.major == major && self.minor >= minor)
    }

    /// Of the series `major.minor`, release `patch` or later (a series is
    /// its latest release).
    const fn in_series_from(self, major: u16, minor: u16, patch: u16) -> bool {
        self.major == major && self.minor == minor && self.patch >= patch
    }
}

/// The decimal number at the start of `b`, and the bytes after it.
fn leading_number(b: &[u8]) -> Option<(u16, &[u8])> {
    let n = b.iter().take_while(|c| c.is_ascii_digit()).count();
    let (digits, rest) = b.split_at_checked(n)?;
    let v = core::str::from_utf8(digits).ok()?.parse().ok()?;
    Some((v, rest))
}

impl fmt::Display for KernelVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_series() {
            write!(f, "{}.{}", self.major, self.minor)
        } else {
            write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
        }
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
    /// `sizeof(void *)` on the target kernel (PTR members, FLOAT alignment).
    pub ptr_size: u32,
    /// The kernel's byte order (`UserLoad` reads the blob in it).
    pub host: Endian,
    /// Apply the kernel's BPF special-field rules (spin locks, graph roots
    /// and nodes, refcounts, kptrs; kernels 6.2 and later) to a standalone
    /// blob under `UserLoad` and `Strict`, as `bpf(BPF_BTF_LOAD)` does.
    /// On by default; they are runtime semantics rather than format rules,
    /// so a reader of BTF that no kernel loads may turn them off.
    pub special_fields: bool,
    /// Rule changes the kernel carries although its version predates them:
    /// a distribution's backports (none by default).
    pub backports: Backports,
}

impl ValidateOptions {
    /// Options for a profile on a kernel: 8-byte pointers, this machine's
    /// byte order, no backports.
    #[must_use]
    pub const fn new(profile: Profile, kernel: KernelVersion) -> Self {
        ValidateOptions {
            profile,
            kernel,
            ptr_size: 8,
            host: Endian::NATIVE,
            special_fields: true,
            backports: Backports::NONE,
        }
    }
}

/// A rule change that stable or distribution kernels took back into older
/// series. A [`KernelVersion`] already implies the stable releases known to
/// have it; [`ValidateOptions::backports`] adds it to a kernel that has it
/// otherwise, such as a distribution's (Ubuntu's 6.8.0-151 carries
/// [`Backport::RefcountUnique`] and [`Backport::OwnershipDepth`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Backport {
    /// `.` is an identifier character ("bpf/btf: Accept function names
    /// that contain dots", 6.4).
    Dots,
    /// FUNC is resolved to its FUNC_PROTO in pass 2 ("bpf: Fix a btf
    /// decl_tag bug when tagging a function", 5.18).
    FuncResolves,
    /// No VAR, DATASEC or DECL_TAG return type ("bpf: prevent decl_tag from
    /// being referenced in func_proto", 6.1).
    RetNotSource,
    /// Nor parameter type ("bpf: Prevent decl_tag from being referenced in
    /// func_proto arg", 6.2).
    ArgNotSource,
    /// A member's type id is kept whole when the walk comes back to its
    /// struct ("bpf: btf: fix truncated last_member_type_id in
    /// btf_struct_resolve", 6.1).
    MemberIdU32,
    /// One set of unique special fields for the whole walk of a struct
    /// (the special-field layer's 2026 hardening, part one).
    OneSeenSet,
    /// `bpf_refcount` is a unique field (part two).
    RefcountUnique,
    /// The ownership graph is bounded to 8 records deep instead of the
    /// node-holder rule (part three).
    OwnershipDepth,
    /// `bpf_rb_root` and `bpf_rb_node` are special fields ("bpf: Add basic
    /// bpf_rb_{root,node} support", 6.3).
    RbTree,
}

impl Backport {
    /// Every backport, in declaration order.
    pub const ALL: [Backport; 9] = [
        Backport::Dots,
        Backport::FuncResolves,
        Backport::RetNotSource,
        Backport::ArgNotSource,
        Backport::MemberIdU32,
        Backport::OneSeenSet,
        Backport::RefcountUnique,
        Backport::OwnershipDepth,
        Backport::RbTree,
    ];

    /// Its name on the command line (`refcount-unique`).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Backport::Dots => "dots",
            Backport::FuncResolves => "func-resolves",
            Backport::RetNotSource => "ret-not-source",
            Backport::ArgNotSource => "arg-not-source",
            Backport::MemberIdU32 => "member-id-u32",
            Backport::OneSeenSet => "one-seen-set",
            Backport::RefcountUnique => "refcount-unique",
            Backport::OwnershipDepth => "ownership-depth",
            Backport::RbTree => "rb-tree",
        }
    }

    /// The backport of a [`Backport::name`].
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|b| b.name() == name)
    }
}

/// A set of [`Backport`]s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Backports(u32);

impl Backports {
    /// The empty set.
    pub const NONE: Self = Backports(0);

    /// This set and `b`.
    #[must_use]
    pub const fn with(self, b: Backport) -> Self {
        Backports(self.0 | 1u32 << b as u32)
    }

    /// Whether `b` is in the set.
    #[must_use]
    pub const fn contains(self, b: Backport) -> bool {
        self.0 & 1u32 << b as u32 != 0
    }

    /// Both sets.
    #[must_use]
    pub const fn union(self, other: Backports) -> Self {
        Backports(self.0 | other.0)
    }
}

impl Default for ValidateOptions {
    fn default() -> Self {
        Self::new(Profile::Strict, KernelVersion::LATEST)
    }
}

/// Why a blob fails validation: the rule, where, and for which type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ValidationError {
    rule: Rule,
    offset: u32,
    type_id: Option<TypeId>,
    index: Option<u32>,
}

impl ValidationError {
    #[cold]
    const fn new(rule: Rule, offset: u32) -> Self {
        ValidationError { rule, offset, type_id: None, index: None }
    }
    /// The rule broken.
    #[must_use]
    pub const fn rule(&self) -> Rule {
        self.rule
    }
    /// Byte offset in the blob.
    #[must_use]
    pub const fn offset(&self) -> u32 {
        self.offset
    }
    /// The type, when the rule concerns one.
    #[must_use]
    pub const fn type_id(&self) -> Option<TypeId> {
        self.type_id
    }
    /// The member, parameter, enumerator or entry index, when relevant.
    #[must_use]
    pub const fn index(&self) -> Option<u32> {
        self.index
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(id) = self.type_id {
            write!(f, "[{}] ", id.0)?;
        }
        f.write_str(self.rule.message())?;
        if let Some(i) = self.index {
            match self.rule {
                Rule::InvalidArg => write!(f, "#{}", i.saturating_add(1))?,
                _ => write!(f, " (member/entry {i})")?,
            }
        }
        write!(f, " at byte {:#x}", self.offset)
    }
}

impl core::error::Error for ValidationError {}

type VResult<T> = Result<T, ValidationError>;

/// Scratch words per type: record offset; resolved id with the visit state
/// in its top bits; resolved size (for an INT, which is never resolved: its
/// int data); kind | pass-1 summary flags (bits 5-6) | kind_flag << 7 |
/// vlen << 8; the `size`/`type` field.
const WORDS_PER_TYPE: usize = 5;
/// Scratch words per type in all: its [`WORDS_PER_TYPE`] words, and its
/// member word ([`V::member_word`]) in a dense array of their own.
const SCRATCH_PER_TYPE: usize = WORDS_PER_TYPE + 1;
const MAX_RESOLVE_DEPTH: usize = 32;
const BTF_MAX_SIZE: usize = 16 * 1024 * 1024;

/// How many `u32` of scratch [`validate`] needs for `data`: 6 per type
/// (5 for the passes' state, and one member word that the struct checks
/// of pass 2 read from a dense array instead of from the type's words),
/// plus one bit per byte of its string section (where the identifiers
/// end, found in one linear pass, so that each name check is a few bit
/// operations), plus two bits per 12 bytes of its type section (a summary
/// of each type that the hot checks of pass 2 read from a few kilobytes
/// instead of from the type's words).
///
/// This walks the record heads once (no allocation). For a blob whose
/// structure is broken it returns an upper bound.
#[must_use]
pub fn scratch_len(data: &[u8], base: Option<&Btf<'_>>, opts: &ValidateOptions) -> usize {
    let parse = crate::ParseOptions::with_vlen(vlen_encoding(opts.kernel));
    let (types, str_len, type_len) = match Btf::parse_with(data, base, parse) {
        Ok(b) => (b.own_type_count() as usize, b.header().str_len as usize, b.header().type_len as usize),
        Err(_) => (data.len() / 12, data.len(), data.len()),
    };
    scratch_words(str_len, type_len, types)
}

/// Scratch words for `str_len` bytes of strings and `types` types in
/// `type_len` bytes: name classes, type summaries, each type's words.
fn scratch_words(str_len: usize, type_len: usize, types: usize) -> usize {
    names::words_for(str_len)
        .saturating_add(flag_words(type_len))
        .saturating_add(types.saturating_add(1).saturating_mul(SCRATCH_PER_TYPE))
}

/// Of `len` words of scratch for types, those of the types' words: the
/// member words take the rest, one for each type that fits.
fn type_room(len: usize) -> usize {
    (len / SCRATCH_PER_TYPE).wrapping_mul(WORDS_PER_TYPE)
}

/// Words of type summaries ([`SIZED_OK`], [`FUNC_OK`]) for a type section
/// of `type_len` bytes: two bits for each record it can hold.
fn flag_words(type_len: usize) -> usize {
    (type_len / 12).saturating_add(1).div_ceil(16)
}

/// An upper bound of [`scratch_len`] from the header alone (no walk over
/// the records): every record is at least 12 bytes. For a buffer reused
/// across many blobs, where walking each one twice would cost more than
/// the spare words.
#[must_use]
pub fn scratch_len_bound(data: &[u8]) -> usize {
    // A header the parser refuses bounds nothing: the blob's length does.
    let (type_len, str_len) =
        crate::Header::parse(data).map_or((data.len(), data.len()), |h| (h.type_len as usize, h.str_len as usize));
    let (type_len, str_len) = (type_len.min(data.len()), str_len.min(data.len()));
    scratch_words(str_len, type_len, type_len / 12)
}

fn vlen_encoding(k: KernelVersion) -> VlenEncoding {
    if k.at_least(7, 2) { VlenEncoding::Bits24 } else { VlenEncoding::Bits16 }
}

/// [`validate`] with scratch in a `Vec`.
///
/// # Errors
/// The first rule broken, in the kernel's order.
///
/// A base without its id index (or a base of it) is indexed here, in a
/// `Vec`, for the duration of the call.
#[cfg(feature = "alloc")]
pub fn validate_vec(data: &[u8], base: Option<&Btf<'_>>, opts: &ValidateOptions) -> Result<(), ValidationError> {
    let mut scratch = alloc::vec![0u32; scratch_len(data, base, opts)];
    match base {
        Some(b) if !all_indexed(b) => {
            let mut storage = alloc::vec::Vec::new();
            let b = reindexed(b, &mut storage).ok_or(ValidationError::new(Rule::BaseNotIndexed, 0))?;
            validate(data, Some(&b), opts, &mut scratch)
        }
        _ => validate(data, base, opts, &mut scratch),
    }
}

/// Whether `b` and every base below it have their id index.
fn all_indexed(b: &Btf<'_>) -> bool {
    let mut cur = Some(b);
    while let Some(b) = cur {
        if !b.has_index() {
            return false;
        }
        cur = b.base();
    }
    true
}

/// `b` with an id index in `storage`. Only a standalone base, or one whose
/// own bases are indexed, can be indexed here (a chain is rebuilt by the
/// caller).
#[cfg(feature = "alloc")]
fn reindexed<'s>(b: &Btf<'s>, storage: &'s mut alloc::vec::Vec<u32>) -> Option<Btf<'s>> {
    if b.base().is_some_and(|bb| !all_indexed(bb)) {
        return None;
    }
    storage.resize(b.index_len(), 0);
    let index = b.build_index(storage).ok()?;
    (*b).with_index(index).ok()
}

/// Validates `data`, split over `base` when given. The base (and any base
/// of it) must carry its id index ([`Btf::with_index`]), so that every
/// lookup of a base type is O(1): [`Rule::BaseNotIndexed`] otherwise.
///
/// `scratch` needs [`scratch_len`] words; each call overwrites what it
/// uses (nothing carries over), so it can be reused across calls.
///
/// # Errors
/// The first rule broken, in the kernel's order; a too-small scratch is
/// reported as [`Rule::TooManyTypes`] at offset 0 with the index set to
/// the number of words needed.
pub fn validate<'a>(
    data: &'a [u8],
    base: Option<&'a Btf<'a>>,
    opts: &ValidateOptions,
    scratch: &mut [u32],
) -> Result<(), ValidationError> {
    validate_impl(data, base, None, None, opts, scratch)
}

/// What the running kernel's own BTF (vmlinux, then each loaded module)
/// says of a struct name: the one input of the special-field layer that is
/// not in the blob (see [the module docs](self#bpf-special-fields)).
pub trait KernelStructs {
    /// The kernel's STRUCT of this exact name, if it has one: vmlinux's,
    /// else that of the first module (in the order of their BTF ids) that
    /// has one, whose destructor must be registered for that same BTF
    /// (`bpf_find_btf_id`, then `btf_find_dtor_kfunc`). An anonymous
    /// pointee asks for the empty name (the running 6.18 kernel finds
    /// none).
    fn lookup(&self, name: &[u8]) -> KernelStruct;
}

/// A name in the kernel's own BTF.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum KernelStruct {
    /// No STRUCT of the name: a kptr to it points to the program's own type.
    Absent,
    /// A STRUCT of the name, and whether the kernel registered a destructor
    /// for it (which a referenced kptr, tag `kptr`, needs).
    Present {
        /// A destructor kfunc is registered for the type.
        destructor: bool,
    },
}

/// [`validate`] of a standalone blob that also decides what depends on the
/// running kernel's own types: a kptr whose pointee is named like a kernel
/// struct takes that struct, and a referenced one then needs its
/// destructor ([`Rule::KptrNoDestructor`]). Plain [`validate`] takes every
/// pointee as the program's own.
///
/// ```
/// use btfkit::validate::{KernelStruct, KernelStructs, KernelVersion, Profile, ValidateOptions, validate_in_kernel};
///
/// /// A kernel that knows `task_struct` (with its destructor) and nothing else.
/// struct Tiny;
/// impl KernelStructs for Tiny {
///     fn lookup(&self, name: &[u8]) -> KernelStruct {
///         match name {
///             b"task_struct" => KernelStruct::Present { destructor: true },
///             _ => KernelStruct::Absent,
///         }
///     }
/// }
/// let (vmlinux, _) = btfkit::doc_example_split();
/// let opts = ValidateOptions::new(Profile::UserLoad, KernelVersion::new(6, 18));
/// let mut scratch = vec![0u32; btfkit::validate::scratch_len(&vmlinux, None, &opts)];
/// validate_in_kernel(&vmlinux, &opts, &mut scratch, &Tiny)?;
/// # Ok::<(), btfkit::validate::ValidationError>(())
/// ```
///
/// # Errors
/// As [`validate`].
pub fn validate_in_kernel(
    data: &[u8],
    opts: &ValidateOptions,
    scratch: &mut [u32],
    kernel: &dyn KernelStructs,
) -> Result<(), ValidationError> {
    validate_impl(data, None, None, Some(kernel), opts, scratch)
}

/// Many modules over one base: the base's strings classified once, so that
/// checking a name a split blob takes from its base is one bit: set where
/// a plain identifier starts (an ASCII letter or `_`, then ASCII letters,
/// digits and `_` up to a NUL, with `.` where the kernel allows it,
/// shorter than 128 bytes, hence within every kernel's KSYM_NAME_LEN).
/// Other names get the exact check. Built once per base and kernel, shared
/// by every [`validate_split`] (it is `Sync`: validate from many threads).
#[derive(Debug, Clone, Copy)]
pub struct BaseNames<'s> {
    words: &'s [u32],
    /// The base's own strings.
    strs: &'s [u8],
    /// The base's first own string offset.
    start: u32,
    dot: bool,
}

impl<'s> BaseNames<'s> {
    /// `u32` words of storage [`BaseNames::new`] needs for `base`: one bit
    /// per byte of its own string section.
    #[must_use]
    pub fn words_needed(base: &Btf<'_>) -> usize {
        names::words_for(base.own_strings().len())
    }

    /// `u32` words of storage [`BaseNames::from_strings`] needs for a
    /// string section of `str_len` bytes.
    #[must_use]
    pub fn words_for(str_len: usize) -> usize {
        names::words_for(str_len)
    }

    /// Classifies `base`'s own strings for `kernel`'s name rules, in one
    /// linear pass, into `storage`.
    ///
    /// # Errors
    /// [`ErrorKind::BufferTooSmall`](crate::ErrorKind::BufferTooSmall)
    /// with the words needed.
    pub fn new(base: &Btf<'s>, kernel: KernelVersion, storage: &'s mut [u32]) -> crate::Result<Self> {
        Self::from_strings(base.own_strings(), base.start_str_off().0, kernel, storage)
    }

    /// As [`BaseNames::new`], from the base's own string section and its
    /// first string offset (0 for a standalone base), before the base is
    /// parsed: the section is known from the header alone, so this can run
    /// beside the parse. [`validate_split`] uses the result only for the
    /// base whose own string section is this very slice.
    ///
    /// # Errors
    /// As [`BaseNames::new`].
    pub fn from_strings(
        strs: &'s [u8],
        start_str_off: u32,
        kernel: KernelVersion,
        storage: &'s mut [u32],
    ) -> crate::Result<Self> {
        let needed = names::words_for(strs.len());
        let words = storage.get_mut(..needed).ok_or(crate::Error::new(
            crate::ErrorKind::BufferTooSmall { needed: u32::try_from(needed).unwrap_or(u32::MAX) },
            0,
        ))?;
        let dot = classify_base(strs, kernel, words);
        names::clear_from(words, first_past_max(start_str_off));
        Ok(BaseNames { words, strs, start: start_str_off, dot })
    }
}

/// The first byte of a string section at offset `start_str_off` whose
/// offset is past the largest name offset.
fn first_past_max(start_str_off: u32) -> usize {
    (raw::BTF_MAX_NAME_OFFSET as usize).saturating_add(1).saturating_sub(start_str_off as usize)
}

/// Classifies a base's own strings for `kernel`'s name rules into `words`;
/// returns whether `.` counts as an identifier byte (6.4+, and the stable
/// series that took that change).
fn classify_base(strs: &[u8], kernel: KernelVersion, words: &mut [u32]) -> bool {
    let dot = Rules::new(&ValidateOptions::new(Profile::Module, kernel)).dot_everywhere;
    names::classify_starts(strs, dot, words);
    dot
}

/// [`BaseNames`] in their own `Vec` (`alloc`): for a holder that keeps the
/// base and its name bits side by side (a session loading modules one at
/// a time), where [`BaseNames::new`]'s borrowed storage would borrow the
/// holder itself.
#[cfg(feature = "alloc")]
#[derive(Debug, Clone)]
pub struct BaseNamesVec<'s> {
    words: alloc::vec::Vec<u32>,
    strs: &'s [u8],
    start: u32,
    dot: bool,
}

#[cfg(feature = "alloc")]
impl<'s> BaseNamesVec<'s> {
    /// Classifies `base`'s own strings for `kernel`'s name rules, as
    /// [`BaseNames::new`] does, into a `Vec` of its own.
    #[must_use]
    pub fn new(base: &Btf<'s>, kernel: KernelVersion) -> Self {
        let strs = base.own_strings();
        let mut words = alloc::vec![0u32; names::words_for(strs.len())];
        let dot = classify_base(strs, kernel, &mut words);
        BaseNamesVec { words, strs, start: base.start_str_off().0, dot }
    }

    /// The names, for [`validate_split`].
    #[must_use]
    pub fn names(&self) -> BaseNames<'_> {
        BaseNames { words: &self.words, strs: self.strs, start: self.start, dot: self.dot }
    }
}

/// [`validate`] of split `data` over `base`, with the base's names
/// classified beforehand: the same verdict, faster when many blobs share a
/// base. `names` made from another string section than `base`'s own are
/// not used (the verdict is the same, found slower).
///
/// # Errors
/// As [`validate`].
pub fn validate_split<'a>(
    data: &'a [u8],
    base: &'a Btf<'a>,
    names: &'a BaseNames<'a>,
    opts: &ValidateOptions,
    scratch: &mut [u32],
) -> Result<(), ValidationError> {
    let names = Some(names).filter(|n| n.start == base.start_str_off().0 && core::ptr::eq(n.strs, base.own_strings()));
    validate_impl(data, Some(base), names, None, opts, scratch)
}

// Never inlined: one call per blob costs nothing, and the instruction
// counts of tests/bench/instructions.sh find every validation under this
// one name, whatever the optimiser does to the callers (with LTO,
// `validate_split` is inlined into its loops).
#[inline(never)]
fn validate_impl<'a>(
    data: &'a [u8],
    base: Option<&'a Btf<'a>>,
    base_names: Option<&'a BaseNames<'a>>,
    kernel: Option<&'a dyn KernelStructs>,
    opts: &ValidateOptions,
    scratch: &mut [u32],
) -> Result<(), ValidationError> {
    validate_rules(data, base, base_names, kernel, Rules::new(opts), scratch)
}

/// [`validate`] without the fast paths of either pass: every record and
/// every type goes through the kernel's own steps. It gives the same
/// verdict (rule, offset, type id, index) and leaves the same scratch
/// words as [`validate`], only more slowly, so it is there to check that:
/// the unit tests and the `validate` fuzz target hold the two together.
///
/// # Errors
/// As [`validate`].
pub fn validate_unoptimized<'a>(
    data: &'a [u8],
    base: Option<&'a Btf<'a>>,
    opts: &ValidateOptions,
    scratch: &mut [u32],
) -> Result<(), ValidationError> {
    validate_rules(data, base, None, None, Rules { fast: false, ..Rules::new(opts) }, scratch)
}

fn validate_rules<'a>(
    data: &'a [u8],
    base: Option<&'a Btf<'a>>,
    base_names: Option<&'a BaseNames<'a>>,
    kernel: Option<&'a dyn KernelStructs>,
    rules: Rules,
    scratch: &mut [u32],
) -> Result<(), ValidationError> {
    if rules.profile == Profile::UserLoad && base.is_some() {
        return Err(ValidationError::new(Rule::SplitNotLoadable, 0));
    }
    if rules.profile == Profile::Module && base.is_none() {
        return Err(ValidationError::new(Rule::BaseRequired, 0));
    }
    if base.is_some_and(|b| !all_indexed(b)) {
        return Err(ValidationError::new(Rule::BaseNotIndexed, 0));
    }
    if rules.max_size && data.len() > BTF_MAX_SIZE {
        return Err(ValidationError::new(Rule::TooLarge, 0));
    }
    let hdr = check_header(data, base, &rules)?;
    if let Some(b) = base
        && b.endian() != hdr.endian
    {
        return Err(ValidationError::new(Rule::InvalidMagic, 0));
    }
    // One copy of the passes per byte order: record reads are plain loads.
    match hdr.endian {
        Endian::Little => run::<Le>(data, base, base_names, kernel, rules, hdr, scratch),
        Endian::Big => run::<Be>(data, base, base_names, kernel, rules, hdr, scratch),
    }
}

fn run<'a, E: Order>(
    data: &'a [u8],
    base: Option<&'a Btf<'a>>,
    base_names: Option<&'a BaseNames<'a>>,
    kernel: Option<&'a dyn KernelStructs>,
    rules: Rules,
    hdr: Hdr,
    scratch: &mut [u32],
) -> Result<(), ValidationError> {
    let (name_bits, scratch) = scratch.split_at_mut(names::words_for(hdr.str_len as usize).min(scratch.len()));
    let s = hdr.hdr_len.wrapping_add(hdr.str_off) as usize;
    let strs = data.get(s..s.wrapping_add(hdr.str_len as usize)).unwrap_or(&[]);
    // Every word is rewritten: nothing carries over from a reused scratch.
    names::classify_starts(strs, rules.dot_everywhere, name_bits);
    let start_str_off = base.map_or(0, |b| b.start_str_off().0.saturating_add(b.header().str_len));
    names::clear_from(name_bits, first_past_max(start_str_off));
    let name_bits = &*name_bits;
    let (flags, scratch) = scratch.split_at_mut(flag_words(hdr.type_len as usize).min(scratch.len()));
    // Only pass 2 uses the summaries.
    if rules.resolve {
        flags.fill(0);
    }
    let flags = Cell::from_mut(flags).as_slice_of_cells();
    let scratch = Cell::from_mut(scratch).as_slice_of_cells();
    let mut v = V {
        data,
        strs,
        order: core::marker::PhantomData::<E>,
        rules,
        hdr,
        base,
        start_id: base.map_or(1, Btf::type_count),
        start_str_off,
        nr: 0,
        types: &[],
        members: &[],
        scratch,
        flags,
        name_bits,
        base_names: base_names.filter(|n| !n.dot || rules.dot_everywhere),
        mode: Mode::Tbd,
        stack: heapless::Vec::new(),
        special_on: rules.special_fields && base.is_none(),
        special: fields::Scan::default(),
        kernel,
    };
    v.check_strings()?;
    v.check_type_section()?;
    // The special-field notes cost nothing where the layer does not run.
    if v.special_on {
        v.pass1::<true>()?
    } else {
        v.pass1::<false>()?
    }
    v.types = v.scratch.get(..(v.nr as usize).wrapping_mul(WORDS_PER_TYPE)).unwrap_or(&[]).as_chunks().0;
    // Pass 1 left room for them: one word a type after the types' words.
    let members = type_room(v.scratch.len());
    v.members = v.scratch.get(members..members.wrapping_add(v.nr as usize)).unwrap_or(&[]);
    if v.rules.resolve {
        v.members.iter().for_each(|w| w.set(0));
        // Pass 2 also checks the type tags, and reports their first error
        // after its own.
        v.pass2()?;
    } else if v.rules.type_tags {
        v.check_type_tags()?;
    }
    // The kernel's last layer of a user load.
    if v.special_on {
        v.special_fields()?;
    }
    Ok(())
}

/// A byte order, at compile time.
trait Order {
    fn u32(b: [u8; 4]) -> u32;
}
struct Le;
struct Be;
impl Order for Le {
    #[inline(always)]
    fn u32(b: [u8; 4]) -> u32 {
        u32::from_le_bytes(b)
    }
}
impl Order for Be {
    #[inline(always)]
    fn u32(b: [u8; 4]) -> u32 {
        u32::from_be_bytes(b)
    }
}

/// A rule change: the mainline release that made it, and the first
/// release of each stable series that took it back.
struct Change {
    mainline: (u16, u16),
    stable: &'static [(u16, u16, u16)],
    /// Its name as a backport.
    backport: Backport,
}

impl Change {
    /// Whether kernel `k` has the change (a series is its latest release).
    fn in_kernel(&self, k: KernelVersion) -> bool {
        k.at_least(self.mainline.0, self.mainline.1)
            || self.stable.iter().any(|&(major, minor, patch)| k.in_series_from(major, minor, patch))
    }

    /// Whether the kernel of `o` has it, by its version or as a backport.
    fn applies(&self, o: &ValidateOptions) -> bool {
        self.in_kernel(o.kernel) || o.backports.contains(self.backport)
    }
}

/// "bpf/btf: Accept function names that contain dots" (9724160b3942, 6.4):
/// `.` is an identifier character too, not only a section name's. Stable:
/// 6.3.10, 6.1.36, 5.15.119 and 5.10.186 (review mails and the stable
/// queue); no trace of it in 5.4.y (Ubuntu's 5.4.291, booted, refuses a
/// dot), and 6.2.y had ended.
const DOTS: Change = Change {
    mainline: (6, 4),
    stable: &[(5, 10, 186), (5, 15, 119), (6, 1, 36), (6, 3, 10)],
    backport: Backport::Dots,
};

/// "bpf: Fix a btf decl_tag bug when tagging a function" (d7e7b42f4f95,
/// 5.18): FUNC is resolved to its FUNC_PROTO in pass 2. Stable: 5.16.19
/// and 5.17.2 (review mails and pushes); the older series have no
/// DECL_TAG.
const FUNC_RESOLVES: Change =
    Change { mainline: (5, 18), stable: &[(5, 16, 19), (5, 17, 2)], backport: Backport::FuncResolves };

/// "bpf: prevent decl_tag from being referenced in func_proto"
/// (ea68376c8bed, 6.1-rc3): a FUNC_PROTO's return type may not be a VAR,
/// DATASEC or DECL_TAG. Stable: 6.0.7 (the older series have no DECL_TAG).
const RET_NOT_SOURCE: Change = Change { mainline: (6, 1), stable: &[(6, 0, 7)], backport: Backport::RetNotSource };

/// "bpf: Prevent decl_tag from being referenced in func_proto arg"
/// (f17472d45996, 6.2): nor a parameter's. Stable: 6.1.2, 6.0.16, 5.15.86,
/// 5.10.163 and 5.4.229 (Ubuntu's 5.4.291, booted, has it). Before, a VAR
/// or DATASEC parameter is resolved and sized like any other.
const ARG_NOT_SOURCE: Change = Change {
    mainline: (6, 2),
    stable: &[(5, 4, 229), (5, 10, 163), (5, 15, 86), (6, 0, 16), (6, 1, 2)],
    backport: Backport::ArgNotSource,
};

/// "bpf: btf: fix truncated last_member_type_id in btf_struct_resolve"
/// (a37a32583e28, 6.1): when the walk comes back to a struct whose member
/// it pushed, it looks that member's type up again by its whole id.
/// Before, it kept the id in a `u16`: a member typed above 65535 was taken
/// as the type of its low 16 bits, which must be resolved (or the kernel
/// warns and returns EINVAL, logging nothing), and whose kind's member
/// check runs (an array's and a modifier's read the real member again).
/// Stable: 6.0.3, 5.19.17, 5.15.75, 5.10.150, 5.4.220 and 4.19.262 (their
/// release announcements; 5.19.17's review). The series that had ended
/// (5.11 to 5.14, 5.16 to 5.18) never got it: Ubuntu's 5.11.22 and 5.13.19,
/// booted, refuse their own vmlinux as user BTF for it, and Ubuntu's
/// 5.4.291, Debian's 5.10.223 and Ubuntu's 5.15.224 take theirs.
const MEMBER_ID_U32: Change = Change {
    mainline: (6, 1),
    stable: &[(4, 19, 262), (5, 4, 220), (5, 10, 150), (5, 15, 75), (5, 19, 17), (6, 0, 3)],
    backport: Backport::MemberIdU32,
};

/// "bpf: Add basic bpf_rb_{root,node} support" (6.3): `bpf_rb_root` and
/// `bpf_rb_node` are special fields, and triggers. Ubuntu's 6.2 carries it.
const RB_TREE: Change = Change { mainline: (6, 3), stable: &[], backport: Backport::RbTree };

/// The special-field layer's 2026 hardening ("fix unique field logic in
/// btf", bpf-next in July 2026, so mainline 7.3 by the dates), and the
/// stable releases that took it back, from stable's push notices where they
/// name them and else from Debian's kernels booted (the first release
/// booted that has it: releases between it and the last one booted without
/// it may or may not). Part one, "bpf: Preserve unique-field state across nested
/// structs": one set of unique fields serves the whole walk of a struct,
/// nested structs included. Stable: 6.12.110 and 6.18.52 (push notices),
/// 7.2 by 7.2.6 (booted: the first 7.2 Debian ships).
const ONE_SEEN_SET: Change =
    Change { mainline: (7, 3), stable: &[(6, 12, 110), (6, 18, 52), (7, 2, 6)], backport: Backport::OneSeenSet };

/// Part two, "bpf: Mark bpf_refcount field as unique". Stable: 6.18.52
/// (push notice); booted: 6.12.115 (6.12.113 lacks it) and 7.2.6.
const REFCOUNT_UNIQUE: Change =
    Change { mainline: (7, 3), stable: &[(6, 12, 115), (6, 18, 52), (7, 2, 6)], backport: Backport::RefcountUnique };

/// Part three: the ownership graph (graph roots, referenced and per-CPU
/// kptrs) is bounded to 8 records deep (`btf_check_ownership_depth`)
/// instead of the node-holder rule. Booted: 6.12.113 (6.12.111 lacks it)
/// and 7.2.9 (7.2.6 lacks it); no stable push notice names it, and 6.18 is
/// taken to lack it (6.18.44 does).
const OWNERSHIP_DEPTH: Change =
    Change { mainline: (7, 3), stable: &[(6, 12, 113), (7, 2, 9)], backport: Backport::OwnershipDepth };

/// The rule set of one profile on one kernel.
#[derive(Debug, Clone, Copy)]
struct Rules {
    profile: Profile,
    strict: bool,
    resolve: bool,
    max_size: bool,
    host: Option<Endian>,
    hdr_struct: u32,
    layout: bool,
    vlen: VlenEncoding,
    info_mask: u32,
    kind_max: u8,
    tag_kflag: bool,
    enum_kflag: bool,
    func_global: bool,
    ksym_name_len: usize,
    datasec_printable: bool,
    /// `.` is an identifier character too ([`DOTS`]).
    dot_everywhere: bool,
    ptr_size: u32,
    /// The special-field layer runs (after pass 2, standalone blobs only;
    /// 6.4 and later).
    special_fields: bool,
    /// The layer also finds kptrs, and a kptr member makes a struct parsed
    /// (6.12, "bpf: Search for kptrs in prog BTF structs"); before, a
    /// tagged pointer is an ordinary member.
    kptr_fields: bool,
    /// The field walk goes into arrays and nested structs, and wants every
    /// member of a parsed struct on a byte (6.11, "bpf: look into the types
    /// of the fields of a struct type recursively"); before, only the
    /// direct members named as special structs count.
    nested_fields: bool,
    /// `bpf_rb_root` and `bpf_rb_node` are special ([`RB_TREE`]).
    rb_fields: bool,
    /// `bpf_refcount` is special, and both node kinds in one struct need
    /// it (6.4, "bpf: Introduce opaque bpf_refcount struct and add
    /// btf_record plumbing").
    refcount_field: bool,
    /// `bpf_list_node` and `bpf_rb_node` are 24 and 32 bytes (6.6, "bpf: Add
    /// 'owner' field to bpf_{list,rb}_node"); before, 16 and 24, and a
    /// member of the newer sizes is no field.
    owned_nodes: bool,
    /// A graph root with two `contains:` tags is refused (6.7, with "bpf:
    /// Add support for BPF exceptions"' `btf_find_decl_tag_value`); before,
    /// the first is taken.
    decl_tag_unique: bool,
    /// `bpf_res_spin_lock` is a special field (6.15).
    res_spin_lock: bool,
    /// The ownership graph is bounded to 8 records deep instead of the
    /// node-holder rule ([`OWNERSHIP_DEPTH`]).
    ownership_depth: bool,
    /// `bpf_refcount` is unique ([`REFCOUNT_UNIQUE`]).
    refcount_unique: bool,
    /// One set of unique fields seen for the whole walk of a struct, nested
    /// structs included ([`ONE_SEEN_SET`]).
    one_seen_set: bool,
    /// A `uptr` tag on a kptr-shaped pointer is unknown (6.12).
    uptr_unknown: bool,
    /// A kptr's tag is found among all the modifiers after its pointer,
    /// other tags ignored, one kptr kind at most (7.2); before, the
    /// pointer's target itself must be the one tag.
    kptr_tag_walk: bool,
    /// An empty DATASEC is allowed (5.12, "bpf: Permit size-0 datasec";
    /// before, "vlen == 0").
    datasec_empty: bool,
    /// A FUNC_PROTO's return type may not be a VAR, DATASEC or DECL_TAG
    /// ([`RET_NOT_SOURCE`]).
    ret_not_source: bool,
    /// Nor a parameter's ([`ARG_NOT_SOURCE`]).
    arg_not_source: bool,
    /// An ENUM is 1, 2, 4 or 8 bytes ("bpf: fix BTF verification of
    /// enums", 5.4); before, 4 only.
    enum_any_size: bool,
    /// The widest INT, and the widest bitfield copy of a member: 128 bits
    /// ("bpf: btf: support 128 bit integer type", 5.1); before, 64.
    int_bits: u32,
    /// A struct's member pushed for resolution is looked up again by its
    /// whole type id ([`MEMBER_ID_U32`]); before, by its low 16 bits. Strict
    /// always takes the whole id.
    member_id_u32: bool,
    /// FUNC is resolved in pass 2, to its FUNC_PROTO ([`FUNC_RESOLVES`]);
    /// before, it is checked at its turn and never resolved, so that
    /// nothing may point at it.
    func_resolves: bool,
    /// The kinds that pass 2 resolves (`btf_type_needs_resolve`).
    needs_resolve: u32,
    /// `btf_check_type_tags` runs (5.18): modifier chains of at most 32,
    /// no dangling modifier. 5.17, the first with TYPE_TAG, has no such
    /// check (Ubuntu's 5.17.15, booted).
    type_tags: bool,
    /// Type tags must precede the other modifiers of a chain
    /// (`btf_check_type_tags` from 5.18; 7.2 keeps only the chain's length
    /// limit).
    type_tag_order: bool,
    /// The passes may take their fast paths ([`V::meta_fast`] in pass 1;
    /// `func_fast`, `ref_fast`, `aggregate_fast` (also by `resolve_fast`),
    /// `proto_fast`, `member_fast` and the summaries in pass 2): always,
    /// but in [`validate_unoptimized`], which the tests and the fuzz target
    /// hold them to.
    fast: bool,
}

impl Rules {
    fn new(o: &ValidateOptions) -> Self {
        let k = o.kernel;
        let strict = o.profile == Profile::Strict;
        let vlen = vlen_encoding(k);
        let func_resolves = FUNC_RESOLVES.applies(o);
        let kind_max = if k.at_least(6, 0) {
            19
        } else if k.at_least(5, 17) {
            18
        } else if k.at_least(5, 16) {
            17
        } else if k.at_least(5, 13) {
            16
        } else if k.at_least(5, 2) {
            15
        } else {
            13
        };
        Rules {
            profile: o.profile,
            strict,
            resolve: matches!(o.profile, Profile::UserLoad | Profile::Strict),
            max_size: matches!(o.profile, Profile::UserLoad | Profile::Strict),
            host: (o.profile == Profile::UserLoad).then_some(o.host),
            hdr_struct: if k.at_least(7, 1) { 32 } else { 24 },
            layout: k.at_least(7, 1),
            vlen,
            info_mask: match vlen {
                VlenEncoding::Bits24 => u32::MAX,
                VlenEncoding::Bits16 if k.at_least(5, 13) => 0x9f00_ffff,
                VlenEncoding::Bits16 => 0x8f00_ffff,
            },
            kind_max,
            tag_kflag: k.at_least(6, 15),
            enum_kflag: k.at_least(6, 0),
            func_global: k.at_least(5, 6),
            ksym_name_len: if k.at_least(6, 1) { 512 } else { 128 },
            datasec_printable: k.at_least(6, 9),
            dot_everywhere: DOTS.applies(o),
            ptr_size: o.ptr_size,
            special_fields: o.special_fields
                && matches!(o.profile, Profile::UserLoad | Profile::Strict)
                && k.at_least(6, 2),
            kptr_fields: k.at_least(6, 12),
            nested_fields: k.at_least(6, 11),
            rb_fields: RB_TREE.applies(o),
            refcount_field: k.at_least(6, 4),
            owned_nodes: k.at_least(6, 6),
            decl_tag_unique: k.at_least(6, 7),
            res_spin_lock: k.at_least(6, 15),
            ownership_depth: OWNERSHIP_DEPTH.applies(o),
            refcount_unique: REFCOUNT_UNIQUE.applies(o),
            one_seen_set: ONE_SEEN_SET.applies(o),
            uptr_unknown: k.major == 6 && k.minor == 12,
            kptr_tag_walk: k.at_least(7, 2),
            type_tags: k.at_least(5, 18),
            type_tag_order: k.at_least(5, 18) && !k.at_least(7, 2),
            datasec_empty: k.at_least(5, 12),
            ret_not_source: RET_NOT_SOURCE.applies(o),
            arg_not_source: ARG_NOT_SOURCE.applies(o),
            enum_any_size: k.at_least(5, 4),
            int_bits: if k.at_least(5, 1) { 128 } else { 64 },
            member_id_u32: strict || MEMBER_ID_U32.applies(o),
            func_resolves,
            needs_resolve: if func_resolves { K_NEEDS_RESOLVE } else { K_NEEDS_RESOLVE & !kb(Kind::Func) },
            fast: true,
        }
    }
}

/// The header as the kernel reads it.
#[derive(Debug, Clone, Copy)]
struct Hdr {
    endian: Endian,
    hdr_len: u32,
    type_off: u32,
    type_len: u32,
    str_off: u32,
    str_len: u32,
    layout_off: u32,
    layout_len: u32,
}

fn err(rule: Rule, offset: u32) -> ValidationError {
    ValidationError::new(rule, offset)
}

fn u32_at(data: &[u8], at: usize, e: Endian) -> u32 {
    let b: [u8; 4] = data.get(at..at.wrapping_add(4)).and_then(|b| b.try_into().ok()).unwrap_or([0; 4]);
    match e {
        Endian::Little => u32::from_le_bytes(b),
        Endian::Big => u32::from_be_bytes(b),
    }
}

/// `btf_parse_hdr` and `btf_check_sec_info`.
fn check_header(data: &[u8], base: Option<&Btf<'_>>, r: &Rules) -> VResult<Hdr> {
    if data.len() < 8 {
        return Err(err(Rule::HdrLenNotFound, 0));
    }
    // The kernel reads in its own byte order; other profiles detect it.
    let endian = match r.host {
        Some(h) => h,
        None => data
            .get(..2)
            .and_then(|m| m.try_into().ok())
            .and_then(Endian::from_magic)
            .ok_or(err(Rule::InvalidMagic, 0))?,
    };
    let hdr_len = u32_at(data, 4, endian);
    let size = u32::try_from(data.len()).map_err(|_| err(Rule::TooLarge, 0))?;
    if size < hdr_len {
        return Err(err(Rule::HeaderNotFound, 4));
    }
    let known = r.hdr_struct;
    if hdr_len > known {
        let extra = data.get(known as usize..hdr_len as usize).unwrap_or(&[]);
        if let Some(p) = extra.iter().position(|&b| b != 0) {
            return Err(err(Rule::UnsupportedHeader, known.saturating_add(p as u32)));
        }
    }
    if r.strict {
        if hdr_len < 24 {
            return Err(err(Rule::HeaderTooShort, 4));
        }
        if !hdr_len.is_multiple_of(4) {
            return Err(err(Rule::HeaderMisaligned, 4));
        }
        if r.hdr_struct == 32 && hdr_len > 24 && hdr_len < 32 {
            // Strict: a partial layout field is refused rather than ignored.
            let extra = data.get(24..hdr_len as usize).unwrap_or(&[]);
            if extra.iter().any(|&b| b != 0) {
                return Err(err(Rule::UnsupportedHeader, 24));
            }
        }
    }
    // The kernel copies min(hdr_len, struct) *bytes* into a zeroed header:
    // a field cut short by hdr_len keeps the bytes it has (hdr_len 21 keeps
    // str_len's first byte), the rest read as zero.
    let mut hdr = [0u8; 32];
    let copied = (hdr_len.min(r.hdr_struct) as usize).min(hdr.len());
    if let (Some(dst), Some(src)) = (hdr.get_mut(..copied), data.get(..copied)) {
        dst.copy_from_slice(src);
    }
    let field = |at: u32| u32_at(&hdr, at as usize, endian);
    let magic_ok = match endian {
        Endian::Little => data.get(..2) == Some(&[0x9f, 0xeb]),
        Endian::Big => data.get(..2) == Some(&[0xeb, 0x9f]),
    };
    if !magic_ok {
        return Err(err(Rule::InvalidMagic, 0));
    }
    if data.get(2) != Some(&raw::BTF_VERSION) {
        return Err(err(Rule::UnsupportedVersion, 2));
    }
    if data.get(3) != Some(&0) {
        return Err(err(Rule::UnsupportedFlags, 3));
    }
    if base.is_none() && size == hdr_len {
        return Err(err(Rule::NoData, 4));
    }
    let h = Hdr {
        endian,
        hdr_len,
        type_off: field(8),
        type_len: field(12),
        str_off: field(16),
        str_len: field(20),
        layout_off: field(24),
        layout_len: field(28),
    };
    // Sections: sorted by (offset, length), they must tile the payload.
    let mut secs = [(h.type_off, h.type_len, 8u32), (h.str_off, h.str_len, 16), (0, 0, 0)];
    let with_layout = r.layout && hdr_len >= 32 && h.layout_len != 0;
    let n = if with_layout {
        if let Some(s) = secs.get_mut(2) {
            *s = (h.layout_off, h.layout_len, 24);
        }
        3
    } else {
        2
    };
    let secs = secs.get_mut(..n).unwrap_or(&mut []);
    secs.sort_unstable_by_key(|s| (s.0, s.1));
    let expected = size.wrapping_sub(hdr_len);
    let mut total: u32 = 0;
    for &(off, len, at) in secs.iter() {
        if expected < off {
            return Err(err(Rule::InvalidSectionOffset, at));
        }
        if total < off {
            return Err(err(Rule::UnsupportedSection, at));
        }
        if total > off {
            return Err(err(Rule::SectionOverlap, at));
        }
        if expected.wrapping_sub(total) < len {
            return Err(err(Rule::SectionTooLong, at.wrapping_add(4)));
        }
        total = total.wrapping_add(len);
    }
    if expected != total {
        return Err(err(Rule::UnsupportedSection, hdr_len.wrapping_add(total)));
    }
    Ok(h)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Tbd,
    Ptr,
    StructOrArray,
}

const NOT_VISITED: u32 = 0;
const VISITED: u32 = 1;
const RESOLVED: u32 = 2;

#[derive(Debug, Clone, Copy)]
struct Vertex {
    id: u32,
    next_member: u32,
}

/// A kind as one bit of a kind-class mask.
const fn kb(k: Kind) -> u32 {
    1u32.wrapping_shl(k as u32)
}
/// Void: kind number 0 in a descriptor.
const K_VOID: u32 = 1;
const K_MODIFIER: u32 =
    kb(Kind::Typedef) | kb(Kind::Volatile) | kb(Kind::Const) | kb(Kind::Restrict) | kb(Kind::TypeTag);
/// `btf_type_needs_resolve`.
const K_NEEDS_RESOLVE: u32 = K_MODIFIER
    | kb(Kind::Ptr)
    | kb(Kind::Struct)
    | kb(Kind::Union)
    | kb(Kind::Array)
    | kb(Kind::Var)
    | kb(Kind::Func)
    | kb(Kind::DeclTag)
    | kb(Kind::Datasec);
/// `btf_type_has_size`.
const K_HAS_SIZE: u32 = kb(Kind::Int)
    | kb(Kind::Struct)
    | kb(Kind::Union)
    | kb(Kind::Enum)
    | kb(Kind::Datasec)
    | kb(Kind::Float)
    | kb(Kind::Enum64);
/// `btf_type_nosize`.
const K_NOSIZE: u32 = K_VOID | kb(Kind::Fwd) | kb(Kind::Func) | kb(Kind::FuncProto) | kb(Kind::DeclTag);
/// Kinds that only make sense in the source (VAR, DATASEC, DECL_TAG).
const K_SOURCE_ONLY: u32 = kb(Kind::Var) | kb(Kind::Datasec) | kb(Kind::DeclTag);
const K_STRUCT: u32 = kb(Kind::Struct) | kb(Kind::Union);
/// What a PTR or modifier may resolve to without a walk beyond it
/// ([`V::ref_fast`]): a sized type other than a modifier, VAR or DATASEC,
/// or void, FWD or FUNC_PROTO.
const K_REF_TARGETS: u32 =
    (K_HAS_SIZE & !kb(Kind::Datasec)) | kb(Kind::Array) | kb(Kind::Ptr) | K_VOID | kb(Kind::Fwd) | kb(Kind::FuncProto);
/// The kind number a base type of a kind unknown here gets: in no class.
const K_UNKNOWN: u8 = 31;

/// Descriptor flags (bits 5-7 of the descriptor word, and of [`T::flags`]).
/// FUNC_PROTO: no parameter is typed but unnamed (`btf_func_check` passes).
const F_FUNC_OK: u8 = 0x20;
/// FUNC_PROTO: every named parameter has a valid identifier.
const F_NAMES_OK: u8 = 0x40;
/// The kind_flag.
const F_KFLAG: u8 = 0x80;

/// Member word ([`V::member_word`]): an INT, with its int data's bits
/// and offset in the low bits.
const M_INT: u32 = 1 << 31;
/// Member word: an ENUM or ENUM64 (with [`M_SIZED`]).
const M_ENUM: u32 = 1 << 30;
/// Member word: a sized member type other than INT, of the size in
/// [`M_SIZE`].
const M_SIZED: u32 = 1 << 29;
/// Member word: the largest member size it holds (and the mask of it).
const M_SIZE: u32 = (1 << 28) - 1;

/// Type summary: the type passes [`V::param_fast`] (it needs no
/// resolution, or is resolved, and is sized): set by pass 2 at the turn of
/// a kind that needs no resolution, and when a type is resolved. Once
/// true, it stays true; unset, it decides nothing.
const SIZED_OK: u32 = 1;
/// Type summary: a FUNC_PROTO whose parameters pass `btf_func_check`
/// ([`F_FUNC_OK`]), set by pass 2 at its turn.
const FUNC_OK: u32 = 2;

/// A type as the resolver sees it: pass 1's descriptor, no record decode.
/// Kind 0 is void.
#[derive(Debug, Clone, Copy)]
struct T {
    kind: u8,
    /// `F_*` bits.
    flags: u8,
    vlen: u32,
    /// The `size`/`type` field.
    st: u32,
    /// INT only: the int data word (other kinds: not meaningful).
    int: u32,
}

impl T {
    const VOID: T = T { kind: 0, flags: 0, vlen: 0, st: 0, int: 0 };

    /// A base type.
    fn of(t: &Type<'_>) -> T {
        let kind = match t.kind() {
            Some(k) => k as u8,
            None => K_UNKNOWN,
        };
        let flags = if t.kflag { F_KFLAG } else { 0 };
        T { kind, flags, vlen: t.vlen, st: t.size_type, int: int_data(t) }
    }
    /// Whether the kind is in the class `mask`.
    #[inline]
    fn is(self, mask: u32) -> bool {
        mask.wrapping_shr(u32::from(self.kind)) & 1 != 0
    }
    #[inline]
    fn k(self, k: Kind) -> bool {
        self.kind == k as u8
    }
}

fn int_data(t: &Type<'_>) -> u32 {
    match t.view() {
        crate::TypeView::Int(i) => i.data,
        _ => 0,
    }
}
/// `btf_type_int_is_regular`: offset 0, whole bytes of 1, 2, 4, 8 or 16.
fn int_is_regular(d: u32) -> bool {
    let bits = d & 0xff;
    let off = (d >> 16) & 0xff;
    bits.is_multiple_of(8) && off == 0 && matches!(bits / 8, 1 | 2 | 4 | 8 | 16)
}

const ALPHA: u8 = 1;
const DIGIT: u8 = 2;
const PRINT: u8 = 4;
const UNDERSCORE: u8 = 8;
const DOT: u8 = 16;

/// The kernel's `ctype` classes for Latin-1 bytes (`lib/ctype.c`), plus
/// `_` and `.` for the name rules; built at compile time.
#[allow(clippy::arithmetic_side_effects, clippy::cast_possible_truncation)]
const CTYPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0usize;
    while c < 256 {
        let b = c as u8;
        let mut k = 0;
        if is_alpha(b) {
            k |= ALPHA;
        }
        if b.is_ascii_digit() {
            k |= DIGIT;
        }
        if is_print(b) {
            k |= PRINT;
        }
        if b == b'_' {
            k |= UNDERSCORE;
        }
        if b == b'.' {
            k |= DOT;
        }
        // In a const initializer an out-of-range index fails the build.
        #[allow(clippy::indexing_slicing)]
        {
            t[c] = k;
        }
        c += 1;
    }
    t
};

/// Kernel `ctype` classes for Latin-1 (`lib/ctype.c`).
const fn is_alpha(c: u8) -> bool {
    c.is_ascii_alphabetic() || matches!(c, 0xc0..=0xd6 | 0xd8..=0xf6 | 0xf8..=0xff)
}
const fn is_print(c: u8) -> bool {
    matches!(c, 0x20..=0x7e | 0xa0..=0xff)
}

struct V<'a, 's, E> {
    data: &'a [u8],
    /// Our own string section.
    strs: &'a [u8],
    order: core::marker::PhantomData<E>,
    rules: Rules,
    hdr: Hdr,
    base: Option<&'a Btf<'a>>,
    start_id: u32,
    start_str_off: u32,
    /// Own types added in pass 1.
    nr: u32,
    /// Pass 1's words of the own types, one array a type (after pass 1).
    types: &'s [[Cell<u32>; WORDS_PER_TYPE]],
    /// Each own type's member word ([`Self::member_word`]), in id order;
    /// 0 until pass 2 settles it.
    members: &'s [Cell<u32>],
    /// Pass 1's descriptors and pass 2's state, `WORDS_PER_TYPE` words a type.
    scratch: &'s [Cell<u32>],
    /// Two bits an own type, in id order ([`SIZED_OK`], [`FUNC_OK`]).
    flags: &'s [Cell<u32>],
    /// The name classes of our own strings (see `names`).
    name_bits: &'s [u32],
    /// The base's, when the caller classified them (usable for these rules).
    base_names: Option<&'a BaseNames<'a>>,
    mode: Mode,
    stack: heapless::Vec<Vertex, MAX_RESOLVE_DEPTH>,
    /// The special-field layer applies (its rules, and no base).
    special_on: bool,
    /// What the passes find for it.
    special: fields::Scan,
    /// The running kernel's own structs, for kptr pointees.
    kernel: Option<&'a dyn KernelStructs>,
}

/// A record's head, as pass 1 reads it.
#[derive(Debug, Clone, Copy)]
struct Head {
    off: u32,
    name: u32,
    kflag: bool,
    vlen: u32,
    st: u32,
}

/// What pass 1 keeps of a record.
#[derive(Debug, Clone, Copy)]
struct Meta {
    len: u32,
    desc: u32,
    st: u32,
    int: u32,
}

/// An ARRAY's fixed data.
#[derive(Debug, Clone, Copy)]
struct Arr {
    elem: u32,
    index: u32,
    nelems: u32,
}

impl<'a, 's, E: Order> V<'a, 's, E> {
    fn abs(&self, rel: u32) -> u32 {
        self.hdr.hdr_len.wrapping_add(rel)
    }

    fn own_strings(&self) -> &'a [u8] {
        self.strs
    }

    /// The `u32` at `at` in `b`, in the blob's byte order (0 past the end).
    #[inline(always)]
    fn rd(&self, b: &[u8], at: usize) -> u32 {
        b.get(at..at.wrapping_add(4)).and_then(|w| <[u8; 4]>::try_from(w).ok()).map_or(0, E::u32)
    }

    /// `btf_parse_str_sec`.
    fn check_strings(&self) -> VResult<()> {
        let h = &self.hdr;
        let end = u64::from(h.hdr_len).wrapping_add(u64::from(h.str_off)).wrapping_add(u64::from(h.str_len));
        let must_end = !self.rules.layout || h.hdr_len < 32 || self.rules.strict;
        if must_end && end != self.data.len() as u64 {
            return Err(err(Rule::StringsNotAtEnd, 16));
        }
        let s = self.own_strings();
        let at = self.abs(h.str_off);
        if self.base.is_some() && s.is_empty() {
            return Ok(());
        }
        if s.is_empty() || h.str_len.wrapping_sub(1) > raw::BTF_MAX_NAME_OFFSET || s.last() != Some(&0) {
            return Err(err(Rule::InvalidStringSection, at));
        }
        if self.base.is_none() && s.first() != Some(&0) {
            return Err(err(Rule::InvalidStringSection, at));
        }
        if self.rules.layout
            && h.hdr_len >= 32
            && h.layout_len != 0
            && self.rules.profile != Profile::Vmlinux
            && self.rules.profile != Profile::Module
        {
            if !h.layout_off.is_multiple_of(4) {
                return Err(err(Rule::LayoutMisaligned, 24));
            }
            if h.layout_len < 4 || !h.layout_len.is_multiple_of(4) {
                return Err(err(Rule::InvalidLayoutLen, 28));
            }
        }
        Ok(())
    }

    fn check_type_section(&self) -> VResult<()> {
        if matches!(self.rules.profile, Profile::UserLoad | Profile::Strict) {
            if !self.hdr.type_off.is_multiple_of(4) {
                return Err(err(Rule::UnalignedTypeOff, 8));
            }
            if self.base.is_none() && self.hdr.type_len == 0 {
                return Err(err(Rule::NoTypeFound, 12));
            }
        }
        Ok(())
    }

    /// `btf_name_offset_valid`.
    fn name_off_valid(&self, off: u32) -> bool {
        if off > raw::BTF_MAX_NAME_OFFSET {
            return false;
        }
        if off < self.start_str_off {
            // Below the split's first offset: the base's strings, all valid.
            return self.base.is_some();
        }
        off.wrapping_sub(self.start_str_off) < self.hdr.str_len
    }

    /// The bytes from a (valid) string offset to the end of its string
    /// section, ours or a base's.
    fn str_from(&self, off: u32) -> &'a [u8] {
        if off < self.start_str_off {
            return self.base.and_then(|b| b.str_tail(crate::StrOffset(off)).ok()).unwrap_or(&[]);
        }
        self.own_strings().get(off.wrapping_sub(self.start_str_off) as usize..).unwrap_or(&[])
    }

    /// `__btf_name_valid`: identifier (or, for sections, printable) within
    /// KSYM_NAME_LEN. The name classes confirm plain ASCII identifiers; the
    /// exact check decides the rest.
    #[inline(always)]
    fn name_valid(&self, off: u32, how: NameRule) -> bool {
        // The classes are built for `Ident`; a name they confirm is also a
        // valid `IdentDot`, and shorter than any kernel's KSYM_NAME_LEN.
        if how != NameRule::Section && self.name_known(off) {
            return true;
        }
        self.name_valid_uncached(off, how)
    }

    /// Whether the name classes confirm a plain identifier at `off`, ours
    /// or the base's: then the name is valid under both identifier rules.
    /// `false` decides nothing. A set bit lies inside its string section,
    /// at an offset no larger than the largest name offset (`clear_from`),
    /// so a confirmed name's offset is valid (`name_off_valid`). It can be
    /// set at offset 0, where a base that breaks the base rules (its
    /// strings do not start with NUL) has a name: callers that need a name
    /// test for 0 first.
    #[inline(always)]
    fn name_known(&self, off: u32) -> bool {
        if off >= self.start_str_off {
            names::starts_at(self.name_bits, off.wrapping_sub(self.start_str_off) as usize)
        } else {
            self.base_names
                .filter(|b| off >= b.start)
                .is_some_and(|b| names::starts_at(b.words, off.wrapping_sub(b.start) as usize))
        }
    }

    /// One pass over the string, up to its NUL, with the kernel's classes.
    #[cold]
    #[inline(never)]
    fn name_valid_uncached(&self, off: u32, how: NameRule) -> bool {
        let limit = self.rules.ksym_name_len;
        let printable = how == NameRule::Section && self.rules.datasec_printable;
        let dot = self.rules.dot_everywhere || how != NameRule::Ident;
        let (first_ok, rest_ok) = if printable {
            (PRINT, PRINT)
        } else if dot {
            (ALPHA | UNDERSCORE | DOT, ALPHA | DIGIT | UNDERSCORE | DOT)
        } else {
            (ALPHA | UNDERSCORE, ALPHA | DIGIT | UNDERSCORE)
        };
        let s = self.str_from(off);
        let Some((&first, rest)) = s.split_first() else { return false };
        // NUL is in no class.
        if CTYPE.get(usize::from(first)).is_none_or(|&k| k & first_ok == 0) {
            return false;
        }
        // The kernel scans KSYM_NAME_LEN bytes and then wants the NUL:
        // names of up to KSYM_NAME_LEN characters pass. The first
        // character is one of them.
        if printable {
            return scan_bytes(rest, 0, limit, rest_ok);
        }
        // Eight bytes at a time: the first that is not a plain ASCII
        // identifier byte ends the scan (one unpredictable branch a name).
        let mut i = 0usize;
        while let Some(c) = rest.get(i..i.wrapping_add(8)).and_then(|c| <[u8; 8]>::try_from(c).ok()) {
            let ends = names::ends8(u64::from_le_bytes(c), dot);
            if ends == 0 {
                i = i.wrapping_add(8);
                if i >= limit {
                    return false;
                }
                continue;
            }
            let p = ends.trailing_zeros() as usize;
            let pos = i.wrapping_add(p);
            return match c.get(p) {
                // Names of up to KSYM_NAME_LEN characters, the first one
                // included, pass.
                Some(0) => pos < limit,
                // Latin-1: byte by byte from there.
                Some(&b) if b >= 0x80 && pos < limit => scan_bytes(rest, pos, limit, rest_ok),
                _ => false,
            };
        }
        scan_bytes(rest, i, limit, rest_ok)
    }

    fn value_nonempty(&self, off: u32) -> bool {
        self.name_off_valid(off) && self.str_from(off).first().is_some_and(|&c| c != 0)
    }

    /// Pass 1: `btf_check_all_metas`.
    fn pass1<const SPECIAL: bool>(&mut self) -> VResult<()> {
        let start = self.abs(self.hdr.type_off);
        let end = start.wrapping_add(self.hdr.type_len);
        // The header check placed the section inside the blob.
        let mut rest = self.data.get(start as usize..end as usize).ok_or(err(Rule::MetaTruncated, start))?;
        let mut off = start;
        let mut id = self.start_id;
        // Each own type's descriptor words, in order.
        // Room for as many types as the scratch holds member words for.
        let room = type_room(self.scratch.len());
        let mut slots = self.scratch.get(..room).unwrap_or_default().as_chunks::<WORDS_PER_TYPE>().0.iter();
        // The fast path takes name offset 0 as valid, as it is but for a
        // split blob without strings over a base without any.
        let fast = self.rules.fast && self.name_off_valid(0);
        while !rest.is_empty() {
            let tid = TypeId(id);
            let m = match if fast { self.meta_fast(rest) } else { None } {
                Some(m) => m,
                None => self.check_meta(off, rest).map_err(|mut e| {
                    e.type_id = Some(tid);
                    e
                })?,
            };
            // BTF_MAX_TYPE: ids must stay <= 0xFFFFF. The kernel drops the
            // excess silently (quirk 1); Strict refuses.
            // Total types with void must stay below BTF_MAX_TYPE. Once a
            // type is dropped, `id` stays there: all that follow are too.
            if id >= raw::BTF_MAX_TYPE {
                if self.rules.strict {
                    return Err(ValidationError { type_id: Some(tid), ..err(Rule::TooManyTypes, off) });
                }
            } else {
                let Some([o, resolved, size, d, st]) = slots.next() else {
                    let needed = (id.wrapping_sub(self.start_id) as usize).saturating_add(1);
                    return Err(ValidationError {
                        index: Some(u32::try_from(needed.saturating_mul(SCRATCH_PER_TYPE)).unwrap_or(u32::MAX)),
                        ..err(Rule::TooManyTypes, 0)
                    });
                };
                o.set(off);
                resolved.set(0);
                size.set(m.int);
                d.set(m.desc);
                st.set(m.st);
                if SPECIAL {
                    self.note_special(id, m.desc, rest);
                }
                id = id.wrapping_add(1);
            }
            off = off.wrapping_add(m.len);
            rest = rest.get(m.len as usize..).unwrap_or_default();
        }
        self.nr = id.wrapping_sub(self.start_id);
        Ok(())
    }

    /// [`Self::check_meta`] of the common records (all but a few hundred of
    /// the cloud kernel's 95,000) when they are plainly fine: a PTR,
    /// VOLATILE, CONST or RESTRICT with no name, a TYPEDEF or FUNC whose
    /// name the classes confirm, a FUNC_PROTO or ARRAY with no name; a
    /// STRUCT, UNION, ENUM or ENUM64 with no name or a confirmed one, whose
    /// members or values have confirmed names (or none, for members),
    /// in-range types and offsets in order within the size. No vlen beyond
    /// 16 bits, kind_flag only where every kernel that knows the kind
    /// takes it, and type ids in range. Returns what `check_meta` would,
    /// without its general decode; `None` leaves the record to it, for the
    /// other kinds and for the rule that a record breaks. Only for blobs
    /// where name offset 0 is valid.
    #[inline(always)]
    fn meta_fast(&self, rest: &'a [u8]) -> Option<Meta> {
        const PTR: u32 = Kind::Ptr as u32;
        const VOLATILE: u32 = Kind::Volatile as u32;
        const CONST: u32 = Kind::Const as u32;
        const RESTRICT: u32 = Kind::Restrict as u32;
        const TYPEDEF: u32 = Kind::Typedef as u32;
        const FUNC: u32 = Kind::Func as u32;
        const FUNC_PROTO: u32 = Kind::FuncProto as u32;
        const ARRAY: u32 = Kind::Array as u32;
        const STRUCT: u32 = Kind::Struct as u32;
        const UNION: u32 = Kind::Union as u32;
        const ENUM: u32 = Kind::Enum as u32;
        const ENUM64: u32 = Kind::Enum64 as u32;
        // The kind_flag, as the kind byte has it.
        const KF: u32 = 0x80;
        const STRUCT_KF: u32 = STRUCT | KF;
        const UNION_KF: u32 = UNION | KF;
        const ENUM_KF: u32 = ENUM | KF;
        const ENUM64_KF: u32 = ENUM64 | KF;
        let h = rest.get(..12)?;
        let (name, info, st) = (self.rd(h, 0), self.rd(h, 4), self.rd(h, 8));
        // Bits 16-23 clear: the same vlen under either encoding, and no
        // bit the info mask refuses. The kind is the whole top byte: no
        // kind_flag, and every kind here is known to every kernel.
        if info & 0x00ff_0000 != 0 {
            return None;
        }
        let (kind, vlen) = (info >> 24, info & 0xffff);
        // A confirmed name's offset is valid (see `name_known`); offset 0
        // is no name, whatever string a base has there.
        let named = || name != 0 && self.name_known(name);
        let (len, flags) = match kind {
            PTR | VOLATILE | CONST | RESTRICT if vlen == 0 && name == 0 && st <= raw::BTF_MAX_TYPE => (12, 0),
            TYPEDEF if vlen == 0 && st <= raw::BTF_MAX_TYPE && named() => (12, 0),
            FUNC if vlen <= if self.rules.func_global { raw::BTF_FUNC_GLOBAL } else { raw::BTF_FUNC_STATIC }
                && named() =>
            {
                (12, 0)
            }
            FUNC_PROTO if name == 0 => {
                let len = 12u32.wrapping_add(vlen.wrapping_mul(8));
                (len, self.proto_flags(rest.get(12..len as usize)?))
            }
            ARRAY if vlen == 0 && name == 0 && st == 0 => {
                let b = rest.get(12..24)?;
                let (elem, index) = (self.rd(b, 0), self.rd(b, 4));
                if elem == 0 || elem > raw::BTF_MAX_TYPE || index == 0 || index > raw::BTF_MAX_TYPE {
                    return None;
                }
                (24, 0)
            }
            STRUCT | UNION | STRUCT_KF | UNION_KF if name == 0 || named() => {
                let len = 12u32.wrapping_add(vlen.wrapping_mul(12));
                let bo_mask = if kind & KF != 0 { 0x00ff_ffff } else { u32::MAX };
                let union = kind & 0x1f == UNION;
                let mut last = 0u32;
                for m in rest.get(12..len as usize)?.chunks_exact(12) {
                    let (mname, mty, bo) = (self.rd(m, 0), self.rd(m, 4), self.rd(m, 8) & bo_mask);
                    if mname != 0 && !self.name_known(mname) {
                        return None;
                    }
                    if mty == 0 || mty > raw::BTF_MAX_TYPE || (union && bo != 0) || last > bo || bo.div_ceil(8) > st {
                        return None;
                    }
                    last = bo;
                }
                (len, 0)
            }
            ENUM | ENUM64 | ENUM_KF | ENUM64_KF
                if kind & 0x1f <= u32::from(self.rules.kind_max)
                    && (kind & KF == 0 || self.rules.enum_kflag)
                    && st <= 8
                    && st.is_power_of_two()
                    && (self.rules.enum_any_size || st == 4)
                    && (name == 0 || named()) =>
            {
                let esz = if kind & 0x1f == ENUM { 8 } else { 12 };
                let len = 12u32.wrapping_add(vlen.wrapping_mul(esz));
                for v in rest.get(12..len as usize)?.chunks_exact(esz as usize) {
                    let vname = self.rd(v, 0);
                    if vname == 0 || !self.name_known(vname) {
                        return None;
                    }
                }
                (len, 0)
            }
            _ => return None,
        };
        Some(Meta { len, desc: kind | u32::from(flags) | (vlen << 8), st, int: 0 })
    }

    /// A FUNC_PROTO's summary flags: [`F_FUNC_OK`] when every unnamed
    /// parameter is the void that ends a variadic list (as `btf_func_check`
    /// wants), [`F_NAMES_OK`] when every named one is a valid identifier.
    /// Nothing is refused here.
    #[inline(always)]
    fn proto_flags(&self, params: &[u8]) -> u8 {
        let (mut func_ok, mut names_ok) = (true, true);
        for p in params.chunks_exact(8) {
            let (pname, pty) = (self.rd(p, 0), self.rd(p, 4));
            if pname == 0 {
                func_ok &= pty == 0;
            } else if names_ok {
                names_ok = self.name_known(pname)
                    || (self.name_off_valid(pname) && self.name_valid_uncached(pname, NameRule::Ident));
            }
        }
        (if func_ok { F_FUNC_OK } else { 0 }) | if names_ok { F_NAMES_OK } else { 0 }
    }

    /// `btf_check_meta`: the record at `off`, at the start of `rest` (the
    /// type section from there on); returns its length and descriptor.
    fn check_meta(&self, off: u32, rest: &'a [u8]) -> VResult<Meta> {
        let Some(h) = rest.get(..12) else { return Err(err(Rule::MetaTruncated, off)) };
        let info = self.rd(h, 4);
        if info & !self.rules.info_mask != 0 {
            return Err(err(Rule::InvalidInfo, off.wrapping_add(4)));
        }
        let (kind_raw, vlen, kflag) = self.rules.vlen.decode(info);
        // The sizes from the kinds' table: a load, not two matches.
        let sizes = (kind_raw <= self.rules.kind_max).then(|| crate::btf::KIND_SIZES.get(usize::from(kind_raw)));
        let Some((kind, &(isz, esz))) = Kind::from_u8(kind_raw).zip(sizes.flatten()) else {
            return Err(err(Rule::InvalidKind, off.wrapping_add(4)));
        };
        let name_off = self.rd(h, 0);
        if !self.name_off_valid(name_off) {
            return Err(err(Rule::InvalidNameOffset, off));
        }
        // u32 * u32 + u32 cannot wrap a u64.
        let need = u64::from(isz).wrapping_add(u64::from(vlen).wrapping_mul(u64::from(esz)));
        // rest.len() >= 12, and the section's length is a u32.
        if need > (rest.len() as u64).wrapping_sub(12) {
            return Err(err(Rule::MetaTruncated, off));
        }
        let len = 12u32.wrapping_add(need as u32);
        let body = rest.get(12..len as usize).ok_or(err(Rule::MetaTruncated, off))?;
        let head = Head { off, name: name_off, kflag, vlen, st: self.rd(h, 8) };
        let flags = self.kind_meta(kind, &head, body)?;
        let int = if kind == Kind::Int { self.rd(body, 0) } else { 0 };
        let desc = u32::from(kind as u8) | u32::from(flags) | if kflag { u32::from(F_KFLAG) } else { 0 } | (vlen << 8);
        Ok(Meta { len, desc, st: head.st, int })
    }

    /// The per-kind `check_meta`; returns the descriptor flags it found.
    fn kind_meta(&self, kind: Kind, t: &Head, body: &[u8]) -> VResult<u8> {
        let r = &self.rules;
        let off = t.off;
        let at = |rule| err(rule, off);
        let valid_id = |id: u32| id <= raw::BTF_MAX_TYPE;
        let no_vlen = || if t.vlen != 0 { Err(at(Rule::VlenNotZero)) } else { Ok(()) };
        let no_kflag = || if t.kflag { Err(at(Rule::InvalidKindFlag)) } else { Ok(()) };
        let name = t.name;
        match kind {
            Kind::Int => {
                no_vlen()?;
                no_kflag()?;
                let d = self.rd(body, 0);
                if d & !0x0fff_ffff != 0 {
                    return Err(err(Rule::InvalidIntData, off.wrapping_add(12)));
                }
                let bits = (d & 0xff).wrapping_add((d >> 16) & 0xff);
                if bits > r.int_bits {
                    return Err(at(if r.int_bits == 64 { Rule::IntBitsOver64 } else { Rule::IntBitsTooMany }));
                }
                if bits.div_ceil(8) > t.st {
                    return Err(at(Rule::IntBitsExceedSize));
                }
                let enc = ((d >> 24) & 0xf) as u8;
                if enc != 0 && enc != raw::BTF_INT_SIGNED && enc != raw::BTF_INT_CHAR && enc != raw::BTF_INT_BOOL {
                    return Err(at(Rule::UnsupportedEncoding));
                }
                if r.strict && (d & 0xff00 != 0 || t.st > 16) {
                    return Err(at(Rule::IntReservedBits));
                }
            }
            Kind::Ptr | Kind::Typedef | Kind::Volatile | Kind::Const | Kind::Restrict | Kind::TypeTag => {
                no_vlen()?;
                if t.kflag && !(kind == Kind::TypeTag && r.tag_kflag) {
                    return Err(at(Rule::InvalidKindFlag));
                }
                if !valid_id(t.st) {
                    return Err(at(Rule::InvalidTypeId));
                }
                let ok = match kind {
                    Kind::Typedef => name != 0 && self.name_valid(name, NameRule::Ident),
                    Kind::TypeTag => self.value_nonempty(name),
                    _ => name == 0,
                };
                if !ok {
                    return Err(at(Rule::InvalidName));
                }
            }
            Kind::Array => {
                if name != 0 {
                    return Err(at(Rule::InvalidName));
                }
                no_vlen()?;
                no_kflag()?;
                if t.st != 0 {
                    return Err(at(Rule::SizeNotZero));
                }
                let (elem, index) = (self.rd(body, 0), self.rd(body, 4));
                if elem == 0 || !valid_id(elem) {
                    return Err(at(Rule::InvalidElem));
                }
                if index == 0 || !valid_id(index) {
                    return Err(at(Rule::InvalidIndex));
                }
            }
            Kind::Struct | Kind::Union => {
                if name != 0 && !self.name_valid(name, NameRule::Ident) {
                    return Err(at(Rule::InvalidName));
                }
                let mut last = 0u32;
                let union = kind == Kind::Union;
                let bo_mask = if t.kflag { 0x00ff_ffff } else { u32::MAX };
                for (i, m) in body.chunks_exact(12).enumerate() {
                    let mat = |rule| ValidationError {
                        index: Some(i as u32),
                        ..err(rule, off.wrapping_add(12).wrapping_add((i as u32).wrapping_mul(12)))
                    };
                    let (mname, mty, moff) = (self.rd(m, 0), self.rd(m, 4), self.rd(m, 8));
                    if !self.name_off_valid(mname) {
                        return Err(mat(Rule::InvalidMemberNameOffset));
                    }
                    if mname != 0 && !self.name_valid(mname, NameRule::Ident) {
                        return Err(mat(Rule::InvalidMemberName));
                    }
                    if mty == 0 || !valid_id(mty) {
                        return Err(mat(Rule::InvalidTypeId));
                    }
                    let bo = moff & bo_mask;
                    if union && bo != 0 {
                        return Err(mat(Rule::InvalidMemberBitsOffset));
                    }
                    if last > bo {
                        return Err(mat(Rule::InvalidMemberBitsOffset));
                    }
                    if bo.div_ceil(8) > t.st {
                        return Err(mat(Rule::MemberOffsetExceedsSize));
                    }
                    last = bo;
                }
            }
            Kind::Enum | Kind::Enum64 => {
                if !r.enum_any_size && t.st != 4 {
                    return Err(at(Rule::EnumSizeNotInt));
                }
                if t.st > 8 || !t.st.is_power_of_two() {
                    return Err(at(Rule::UnexpectedSize));
                }
                if t.kflag && !r.enum_kflag {
                    return Err(at(Rule::InvalidKindFlag));
                }
                if name != 0 && !self.name_valid(name, NameRule::Ident) {
                    return Err(at(Rule::InvalidName));
                }
                let esz = if kind == Kind::Enum { 8 } else { 12 };
                for (i, v) in body.chunks_exact(esz).enumerate() {
                    let ve = |rule| ValidationError { index: Some(i as u32), ..err(rule, off) };
                    let vname = self.rd(v, 0);
                    if !self.name_off_valid(vname) {
                        return Err(ve(Rule::InvalidNameOffset));
                    }
                    if vname == 0 || !self.name_valid(vname, NameRule::Ident) {
                        return Err(ve(Rule::InvalidName));
                    }
                }
            }
            Kind::Fwd => {
                no_vlen()?;
                if t.st != 0 {
                    return Err(at(Rule::TypeNotZero));
                }
                if name == 0 || !self.name_valid(name, NameRule::Ident) {
                    return Err(at(Rule::InvalidName));
                }
            }
            Kind::Func => {
                if name == 0 || !self.name_valid(name, NameRule::Ident) {
                    return Err(at(Rule::InvalidName));
                }
                let max = if r.func_global { raw::BTF_FUNC_GLOBAL } else { raw::BTF_FUNC_STATIC };
                if t.vlen > max {
                    return Err(at(Rule::InvalidFuncLinkage));
                }
                no_kflag()?;
            }
            Kind::FuncProto => {
                if name != 0 {
                    return Err(at(Rule::InvalidName));
                }
                no_kflag()?;
                // Nothing more is checked here; the summary lets pass 2
                // skip what it would find fine (FUNC targets, param names).
                return Ok(self.proto_flags(body));
            }
            Kind::Var => {
                no_vlen()?;
                no_kflag()?;
                if name == 0 || !self.name_valid(name, NameRule::IdentDot) {
                    return Err(at(Rule::InvalidName));
                }
                if t.st == 0 || !valid_id(t.st) {
                    return Err(at(Rule::InvalidTypeId));
                }
                let linkage = self.rd(body, 0);
                if linkage != raw::BTF_VAR_STATIC && linkage != raw::BTF_VAR_GLOBAL_ALLOCATED {
                    return Err(at(Rule::LinkageNotSupported));
                }
            }
            Kind::Datasec => {
                if t.vlen == 0 && !r.datasec_empty {
                    return Err(at(Rule::DatasecEmpty));
                }
                if t.st == 0 {
                    return Err(at(Rule::SizeZero));
                }
                no_kflag()?;
                if name == 0 || !self.name_valid(name, NameRule::Section) {
                    return Err(at(Rule::InvalidName));
                }
                let size = t.st;
                let (mut last_end, mut sum) = (0u32, 0u32);
                for (i, e) in body.chunks_exact(12).enumerate() {
                    let ee = |rule| ValidationError {
                        index: Some(i as u32),
                        ..err(rule, off.wrapping_add(12).wrapping_add((i as u32).wrapping_mul(12)))
                    };
                    let (ety, eoff, esize) = (self.rd(e, 0), self.rd(e, 4), self.rd(e, 8));
                    if ety == 0 || !valid_id(ety) {
                        return Err(ee(Rule::InvalidTypeId));
                    }
                    if eoff < last_end || eoff >= size {
                        return Err(ee(Rule::InvalidOffset));
                    }
                    if esize == 0 || esize > size {
                        return Err(ee(Rule::InvalidSize));
                    }
                    // u32 arithmetic, wrapping as in the kernel (Strict: no wrap).
                    let (end, wrapped) = eoff.overflowing_add(esize);
                    last_end = end;
                    if last_end > size || (r.strict && wrapped) {
                        return Err(ee(Rule::InvalidOffsetSize));
                    }
                    sum = sum.wrapping_add(esize);
                }
                if size < sum {
                    return Err(at(Rule::InvalidInfoSize));
                }
            }
            Kind::Float => {
                no_vlen()?;
                no_kflag()?;
                if !matches!(t.st, 2 | 4 | 8 | 12 | 16) {
                    return Err(at(Rule::InvalidTypeSize));
                }
            }
            Kind::DeclTag => {
                if !self.value_nonempty(name) {
                    return Err(at(Rule::InvalidValue));
                }
                no_vlen()?;
                if t.kflag && !r.tag_kflag {
                    return Err(at(Rule::InvalidKindFlag));
                }
                if (self.rd(body, 0) as i32) < -1 {
                    return Err(at(Rule::InvalidComponentIdx));
                }
            }
        }
        Ok(0)
    }

    // ---- lookups for pass 2 and the type-tag check ----

    /// The scratch words of own type `id`.
    #[inline(always)]
    fn words(&self, id: u32) -> Option<&'s [Cell<u32>; WORDS_PER_TYPE]> {
        self.types.get(id.wrapping_sub(self.start_id) as usize)
    }

    /// Whether own type `id` has summary bit `f` (`false` for any other id).
    #[inline(always)]
    fn flag(&self, id: u32, f: u32) -> bool {
        let i = id.wrapping_sub(self.start_id) as usize;
        self.flags.get(i / 16).is_some_and(|w| w.get().wrapping_shr(((i % 16) as u32).wrapping_mul(2)) & f != 0)
    }

    /// Sets summary bit `f` of own type `id`.
    #[inline(always)]
    fn set_flag(&self, id: u32, f: u32) {
        let i = id.wrapping_sub(self.start_id) as usize;
        if let Some(w) = self.flags.get(i / 16) {
            w.set(w.get() | f.wrapping_shl(((i % 16) as u32).wrapping_mul(2)));
        }
    }

    /// After own type `id` was resolved: its [`SIZED_OK`] bit and its
    /// member word.
    #[inline(always)]
    fn settled(&self, id: u32) {
        if self.param_fast(id) {
            self.set_flag(id, SIZED_OK);
        }
        self.note_member(id);
    }

    /// `btf_type_by_id`: `None` when the id does not exist; kind 0 is void.
    #[inline]
    fn ty(&self, id: u32) -> Option<T> {
        if let Some([_, _, size, desc, st]) = self.words(id) {
            let d = desc.get();
            #[allow(clippy::cast_possible_truncation)]
            return Some(T {
                kind: (d & 0x1f) as u8,
                flags: (d & 0xe0) as u8,
                vlen: d >> 8,
                st: st.get(),
                int: size.get(),
            });
        }
        if id == 0 {
            return Some(T::VOID);
        }
        if id < self.start_id {
            // Base types borrow the base, which outlives this call.
            return self.base.and_then(|b| b.type_by_id(TypeId(id)).ok()).map(|t| T::of(&t));
        }
        None
    }

    /// The bytes of a type's record after its 12-byte head (fixed data,
    /// then members, params or entries), and the record's offset; from this
    /// blob or its base. `None` for void and missing ids.
    #[inline]
    fn body(&self, id: u32) -> Option<(&'a [u8], u32)> {
        if let Some([off, _, _, desc, _]) = self.words(id) {
            let (off, d) = (off.get(), desc.get());
            let &(isz, esz) = crate::btf::KIND_SIZES.get((d & 0x1f) as usize)?;
            // Pass 1 checked that the record fits.
            let len = usize::from(isz).wrapping_add(((d >> 8) as usize).wrapping_mul(usize::from(esz)));
            let s = (off as usize).wrapping_add(12);
            return Some((self.data.get(s..s.wrapping_add(len))?, off));
        }
        if id != 0 && id < self.start_id {
            let t = self.base?.type_by_id(TypeId(id)).ok()?;
            return Some((t.trailing(), t.offset()));
        }
        None
    }

    /// Byte offset of a type's record, for error locations.
    fn offset_of(&self, id: u32) -> u32 {
        self.body(id).map_or(0, |(_, off)| off)
    }

    /// `env_type_is_resolved`: base types count as resolved; void does not.
    #[inline]
    fn is_resolved(&self, id: u32) -> bool {
        if let Some([_, r, ..]) = self.words(id) {
            return r.get() >> 30 == RESOLVED;
        }
        id != 0 && id < self.start_id
    }

    /// `btf_resolved_type_id`.
    fn resolved_id(&self, id: u32) -> u32 {
        if let Some([_, r, ..]) = self.words(id) {
            return r.get() & 0x3fff_ffff;
        }
        if id != 0 && id < self.start_id {
            return self.base_resolved(id).0;
        }
        0
    }

    /// `btf_resolved_type_size`.
    fn resolved_size(&self, id: u32) -> u32 {
        if let Some([_, _, s, ..]) = self.words(id) {
            return s.get();
        }
        if id != 0 && id < self.start_id {
            return self.base_resolved(id).1;
        }
        0
    }

    /// Resolution of a base type, computed on demand (the base is trusted
    /// to be resolvable; bounded to 32 hops).
    fn base_resolved(&self, id: u32) -> (u32, u32) {
        let mut cur = id;
        for _ in 0..MAX_RESOLVE_DEPTH {
            let Some(t) = self.ty(cur) else { return (0, 0) };
            if t.is(K_MODIFIER | kb(Kind::Var)) {
                cur = t.st;
                continue;
            }
            if t.k(Kind::Array) {
                let a = self.array_of(cur);
                let nel = a.map_or(0, |a| a.nelems);
                let mut eid = a.map_or(0, |a| a.elem);
                let es = self.id_size(&mut eid).map_or(0, |(_, s)| s);
                return (if cur == id { eid } else { cur }, es.wrapping_mul(nel));
            }
            return (cur, 0);
        }
        (0, 0)
    }

    fn array_of(&self, id: u32) -> Option<Arr> {
        if !self.ty(id)?.k(Kind::Array) {
            return None;
        }
        let (b, _) = self.body(id)?;
        Some(Arr { elem: self.rd(b, 0), index: self.rd(b, 4), nelems: self.rd(b, 8) })
    }

    /// `btf_type_id_size`: the sized type an id stands for, and its size.
    #[inline]
    fn id_size(&self, id: &mut u32) -> Option<(T, u32)> {
        let mut tid = *id;
        let t = self.ty(tid)?;
        if t.is(K_NOSIZE) {
            return None;
        }
        let size;
        let t2;
        if t.is(K_HAS_SIZE) {
            size = t.st;
            t2 = t;
        } else if t.k(Kind::Array) {
            size = self.resolved_size(tid);
            t2 = t;
        } else if t.k(Kind::Ptr) {
            size = self.rules.ptr_size;
            t2 = t;
        } else {
            if !t.is(K_MODIFIER | kb(Kind::Var)) {
                return None;
            }
            tid = self.resolved_id(tid);
            let r = self.ty(tid)?;
            if r.is(K_NOSIZE) {
                return None;
            } else if r.is(K_HAS_SIZE) {
                size = r.st;
            } else if r.k(Kind::Array) {
                size = self.resolved_size(tid);
            } else if r.k(Kind::Ptr) {
                size = self.rules.ptr_size;
            } else {
                return None;
            }
            t2 = r;
        }
        *id = tid;
        Some((t2, size))
    }

    /// `btf_type_id_size(id) != NULL`, from the descriptor words alone
    /// (the size itself is not needed): the hot check of every FUNC_PROTO
    /// parameter.
    #[inline(always)]
    fn is_sized(&self, id: u32) -> bool {
        const SIZED: u32 = K_HAS_SIZE | kb(Kind::Array) | kb(Kind::Ptr);
        let Some([_, r, _, d, _]) = self.words(id) else { return self.id_size(&mut { id }).is_some() };
        let k = kb_raw(d.get() & 0x1f);
        if k & SIZED != 0 {
            return true;
        }
        if k & (K_MODIFIER | kb(Kind::Var)) == 0 {
            return false;
        }
        let rid = r.get() & 0x3fff_ffff;
        match self.words(rid) {
            Some([_, _, _, rd, _]) => kb_raw(rd.get() & 0x1f) & SIZED != 0,
            None => self.id_size(&mut { id }).is_some(),
        }
    }

    /// `btf_type_id_resolve`.
    fn id_resolve(&self, id: &mut u32) -> Option<T> {
        *id = self.resolved_id(*id);
        self.ty(*id)
    }

    /// `env_type_is_resolve_sink`.
    #[inline]
    fn is_sink(&self, t: T) -> bool {
        match self.mode {
            Mode::Tbd => !t.is(self.rules.needs_resolve),
            Mode::Ptr => !t.is(K_MODIFIER | kb(Kind::Ptr)),
            Mode::StructOrArray => !t.is(K_MODIFIER | kb(Kind::Array) | K_STRUCT),
        }
    }

    #[cold]
    fn type_err(&self, rule: Rule, id: u32) -> ValidationError {
        ValidationError { type_id: Some(TypeId(id)), ..err(rule, self.offset_of(id)) }
    }
    #[cold]
    fn member_err(&self, rule: Rule, id: u32, i: u32) -> ValidationError {
        let off = self.offset_of(id).wrapping_add(12).wrapping_add(i.wrapping_mul(12));
        ValidationError { type_id: Some(TypeId(id)), index: Some(i), ..err(rule, off) }
    }

    // ---- pass 2 ----

    /// `btf_check_all_types`, then `btf_check_type_tags`: each modifier's
    /// tags are checked at its turn, and their first error is returned
    /// only once every type has passed.
    fn pass2(&mut self) -> VResult<()> {
        const INT: u32 = Kind::Int as u32;
        const PTR: u32 = Kind::Ptr as u32;
        const ARRAY: u32 = Kind::Array as u32;
        const STRUCT: u32 = Kind::Struct as u32;
        const UNION: u32 = Kind::Union as u32;
        const ENUM: u32 = Kind::Enum as u32;
        const FWD: u32 = Kind::Fwd as u32;
        const TYPEDEF: u32 = Kind::Typedef as u32;
        const VOLATILE: u32 = Kind::Volatile as u32;
        const CONST: u32 = Kind::Const as u32;
        const RESTRICT: u32 = Kind::Restrict as u32;
        const FUNC: u32 = Kind::Func as u32;
        const PROTO: u32 = Kind::FuncProto as u32;
        const FLOAT: u32 = Kind::Float as u32;
        const TYPE_TAG: u32 = Kind::TypeTag as u32;
        const ENUM64: u32 = Kind::Enum64 as u32;
        let fast = self.rules.fast;
        let mut tags = Ok(());
        self.special.seal(self.data.len());
        let special = self.special_on && self.special.has_set();
        // The own types in id order, their words read once here.
        for (id, [off, r, size, d, st]) in (self.start_id..).zip(self.types) {
            let d = d.get();
            let kind = d & 0x1f;
            match kind {
                // Sized and never resolved, from their turn on: a later
                // type that uses an earlier one finds its summary, an
                // earlier one that uses a later one (rare) takes the full
                // path.
                INT | ENUM | ENUM64 | FLOAT => {
                    self.set_flag(id, SIZED_OK);
                    self.note_member(id);
                    continue;
                }
                FWD => continue,
                // Two types in five: `func_fast` without the decode.
                // Before 5.16: checked at its turn, never resolved.
                FUNC if !self.rules.func_resolves => {
                    self.func_check(id, st.get())?;
                    continue;
                }
                FUNC if r.get() >> 30 == RESOLVED => continue,
                // `func_fast`, on this type's own words.
                FUNC if fast && self.flag(st.get(), FUNC_OK) => {
                    r.set((RESOLVED << 30) | (st.get() & 0x3fff_ffff));
                    size.set(0);
                    continue;
                }
                PROTO => {
                    if d & u32::from(F_FUNC_OK) != 0 {
                        self.set_flag(id, FUNC_OK);
                    }
                    // `proto_fast`, on this type's own words: nothing to
                    // resolve, nothing to report.
                    if fast && self.proto_fast_at(off.get(), d, st.get()) {
                        continue;
                    }
                }
                TYPEDEF | VOLATILE | CONST | RESTRICT | TYPE_TAG if tags.is_ok() && self.rules.type_tags => {
                    tags = self.type_tags_of(id);
                }
                STRUCT if special => self.note_triggered(id, off.get(), d),
                _ => {}
            }
            let needs = kind != PROTO && r.get() >> 30 != RESOLVED;
            if !needs && kind != PROTO {
                continue;
            }
            #[allow(clippy::cast_possible_truncation)]
            let t = T { kind: kind as u8, flags: (d & 0xe0) as u8, vlen: d >> 8, st: st.get(), int: size.get() };
            self.mode = Mode::Tbd;
            if needs {
                let quick = fast
                    && match kind {
                        PTR | TYPEDEF | VOLATILE | CONST | RESTRICT | TYPE_TAG => {
                            match self.ref_fast_own(id, kind == PTR, t.st, r, size) {
                                Some(true) => true,
                                Some(false) => kind != PTR && self.modifier_through(id, t.st, r, size),
                                None => self.ref_fast(id, t),
                            }
                        }
                        STRUCT | UNION | ARRAY => self.aggregate_fast(id, t),
                        _ => false,
                    };
                if !quick {
                    self.resolve(id)?;
                }
            } else {
                self.func_proto_check(id, t)?;
            }
        }
        tags
    }

    /// `resolve(id)` for an unresolved type outside any walk, when its
    /// result is known without walking; `false`: walk it.
    #[inline]
    fn resolve_fast(&mut self, id: u32, t: T) -> bool {
        if !self.rules.fast {
            return false;
        }
        if t.k(Kind::Func) {
            return self.func_fast(id, t.st);
        }
        if t.is(K_MODIFIER | kb(Kind::Ptr)) {
            return self.ref_fast(id, t);
        }
        if t.is(K_STRUCT | kb(Kind::Array)) {
            return self.aggregate_fast(id, t);
        }
        false
    }

    /// A STRUCT or UNION at the top of the walk whose members all pass
    /// [`Self::member_fast`], or an ARRAY whose index and element need no
    /// walk and pass: resolved as the walk would (after pushing it, in the
    /// struct-or-array mode), without the walk. Inside a walk already in
    /// that mode ([`Self::nested_fast`]) the same holds of a push. The mode
    /// is left as it was found.
    fn aggregate_fast(&mut self, id: u32, t: T) -> bool {
        let Some((b, _)) = self.body(id) else { return false };
        let mode = self.mode;
        self.mode = Mode::StructOrArray;
        let done = if t.k(Kind::Array) {
            match self.array_step(id, b) {
                Ok(Step::Done(elem_id, size)) => Some((elem_id, size)),
                _ => None,
            }
        } else {
            let kflag = t.flags & F_KFLAG != 0;
            b.chunks_exact(12).all(|m| self.member_fast(t.st, kflag, self.rd(m, 4), self.rd(m, 8))).then_some((0, 0))
        };
        self.mode = mode;
        if let Some((to, size)) = done
            && let Some([_, r, s, ..]) = self.words(id)
        {
            r.set((RESOLVED << 30) | (to & 0x3fff_ffff));
            s.set(size);
            // Sized, and now resolved.
            self.set_flag(id, SIZED_OK);
            self.note_member(id);
            return true;
        }
        false
    }

    /// A PTR or modifier at the top of the walk whose target needs no walk:
    /// a sized type other than a modifier, VAR or DATASEC, or void, FWD or
    /// FUNC_PROTO, that is a sink of the walk's mode or already resolved;
    /// or a resolved modifier that resolved to such a type. The walk would
    /// push it, find the target sized (or one of the three allowed unsized
    /// kinds), resolve it to the target (or to the target's resolution) and
    /// find that valid.
    fn ref_fast(&mut self, id: u32, t: T) -> bool {
        let Some(n) = self.ty(t.st) else { return false };
        let to = if n.is(K_MODIFIER) {
            // A resolved modifier (never a sink): the walk goes on to what
            // it resolved to, which is no modifier. `finish_ref` takes that
            // when it is sized, void, FWD or FUNC_PROTO; a PTR walks on
            // past a PTR that is not resolved yet (`continue_past_modifier`).
            if !self.is_resolved(t.st) {
                return false;
            }
            let to = self.resolved_id(t.st);
            match self.ty(to) {
                Some(r) if r.is(K_REF_TARGETS) && !(t.k(Kind::Ptr) && r.k(Kind::Ptr) && !self.is_resolved(to)) => to,
                _ => return false,
            }
        } else {
            if !n.is(K_REF_TARGETS) {
                return false;
            }
            // The walk's mode after pushing `id`: Ptr for a PTR, else Tbd.
            let sink = if t.k(Kind::Ptr) { !n.k(Kind::Ptr) } else { !n.is(self.rules.needs_resolve) };
            if !sink && !self.is_resolved(t.st) {
                return false;
            }
            t.st
        };
        if let Some([_, r, s, ..]) = self.words(id) {
            r.set((RESOLVED << 30) | (to & 0x3fff_ffff));
            s.set(0);
            self.settled(id);
            return true;
        }
        false
    }

    /// [`Self::ref_fast`] of own type `id` (a PTR when `ptr`, else a
    /// modifier) whose target is `st`, from the descriptor words alone and
    /// writing to its own words `r` and `s`. `None` when the target, or
    /// what a modifier target resolved to, is a base type: `ref_fast`
    /// decides (nothing was written).
    #[inline(always)]
    fn ref_fast_own(&self, id: u32, ptr: bool, st: u32, r: &Cell<u32>, s: &Cell<u32>) -> Option<bool> {
        const SIZED: u32 = K_HAS_SIZE | kb(Kind::Array) | kb(Kind::Ptr);
        // An own type's kind bit and resolved word, or void's.
        let own = |x: u32| match self.words(x) {
            Some([_, xr, _, xd, _]) => Some((kb_raw(xd.get() & 0x1f), xr.get())),
            None if x == 0 => Some((K_VOID, 0)),
            None => None,
        };
        let resolved = |w: u32| w >> 30 == RESOLVED;
        let (k, w) = own(st)?;
        let (to, tk) = if k & K_MODIFIER != 0 {
            // A resolved modifier: on to what it resolved to (see `ref_fast`).
            if !resolved(w) {
                return Some(false);
            }
            let to = w & 0x3fff_ffff;
            let (rk, rw) = own(to)?;
            if rk & K_REF_TARGETS == 0 || (ptr && rk & kb(Kind::Ptr) != 0 && !resolved(rw)) {
                return Some(false);
            }
            (to, rk)
        } else {
            if k & K_REF_TARGETS == 0 {
                return Some(false);
            }
            let sink = if ptr { k & kb(Kind::Ptr) == 0 } else { k & self.rules.needs_resolve == 0 };
            if !sink && !resolved(w) {
                return Some(false);
            }
            (st, k)
        };
        r.set((RESOLVED << 30) | (to & 0x3fff_ffff));
        s.set(0);
        // `settled`: a PTR is sized; a modifier when what it resolved to is
        // an own sized type (void is not).
        if ptr || (to != 0 && tk & SIZED != 0) {
            self.set_flag(id, SIZED_OK);
        }
        self.note_member(id);
        Some(true)
    }

    /// A FUNC at the top of the walk whose own FUNC_PROTO passes
    /// `btf_func_check` (pass 1's summary): resolved to it directly, as the
    /// walk would.
    fn func_fast(&mut self, id: u32, proto: u32) -> bool {
        if self.flag(proto, FUNC_OK)
            && let Some([_, r, s, ..]) = self.words(id)
        {
            r.set((RESOLVED << 30) | (proto & 0x3fff_ffff));
            s.set(0);
            return true;
        }
        false
    }

    fn push(&mut self, id: u32) -> VResult<()> {
        if self.stack.is_full() {
            return Err(self.type_err(Rule::MaxResolveDepth, self.stack.last().map_or(id, |v| v.id)));
        }
        let Some([_, r, _, d, _]) = self.words(id) else {
            // Only own types are ever pushed; keep the walk's verdict for
            // anything else.
            return Err(self.type_err(Rule::LoopDetected, id));
        };
        if r.get() >> 30 != NOT_VISITED {
            return Err(self.type_err(Rule::LoopDetected, id));
        }
        r.set(VISITED << 30);
        let _ = self.stack.push(Vertex { id, next_member: 0 });
        if self.mode == Mode::Tbd {
            let k = d.get() & 0x1f;
            if k == u32::from(Kind::Ptr as u8) {
                self.mode = Mode::Ptr;
            } else if kb_raw(k) & (K_STRUCT | kb(Kind::Array)) != 0 {
                self.mode = Mode::StructOrArray;
            }
        }
        Ok(())
    }

    fn pop_resolved(&mut self, resolved_id: u32, size: u32) {
        if let Some(v) = self.stack.pop()
            && let Some([_, r, s, ..]) = self.words(v.id)
        {
            r.set((RESOLVED << 30) | (resolved_id & 0x3fff_ffff));
            s.set(size);
            self.settled(v.id);
        }
    }

    fn set_next_member(&mut self, n: u32) {
        if let Some(v) = self.stack.last_mut() {
            v.next_member = n;
        }
    }

    /// `btf_resolve`: the explicit-stack DFS from `id`.
    fn resolve(&mut self, id: u32) -> VResult<()> {
        self.mode = Mode::Tbd;
        self.stack.clear();
        self.push(id)?;
        while let Some(&v) = self.stack.last() {
            let r = self.resolve_one(v);
            if let Err(e) = r {
                self.stack.clear();
                return Err(e);
            }
        }
        if !self.resolve_valid(id) {
            return Err(self.type_err(Rule::InvalidResolveState, id));
        }
        Ok(())
    }

    fn resolve_one(&mut self, v: Vertex) -> VResult<()> {
        let t = self.ty(v.id).filter(|t| t.kind != 0).ok_or_else(|| self.type_err(Rule::InvalidTypeId, v.id))?;
        match Kind::from_u8(t.kind) {
            Some(Kind::Typedef | Kind::Volatile | Kind::Const | Kind::Restrict | Kind::TypeTag) => {
                self.modifier_resolve(v, t.st)
            }
            Some(Kind::Ptr) => self.ptr_resolve(v, t.st),
            Some(Kind::Var) => self.var_resolve(v, t.st),
            Some(Kind::Func) => {
                self.func_check(v.id, t.st)?;
                self.pop_resolved(t.st, 0);
                Ok(())
            }
            Some(Kind::Array) => self.array_resolve(v),
            Some(Kind::Struct | Kind::Union) => self.struct_resolve(v, t),
            Some(Kind::Datasec) => self.datasec_resolve(v),
            Some(Kind::DeclTag) => self.decl_tag_resolve(v, t),
            _ => Err(self.type_err(Rule::InvalidResolveState, v.id)),
        }
    }

    /// The record body of a type being resolved.
    fn body_of(&self, id: u32) -> VResult<&'a [u8]> {
        self.body(id).map(|(b, _)| b).ok_or_else(|| self.type_err(Rule::InvalidTypeId, id))
    }

    /// The tail shared by modifier and PTR resolution: the target must be
    /// sized, or void, FWD or FUNC_PROTO.
    fn finish_ref(&mut self, v: Vertex, next_id: u32, next: T) -> VResult<()> {
        let mut nid = next_id;
        let mut next = next;
        if self.id_size(&mut nid).is_none() {
            if self.is_resolved(nid) {
                if self.rules.strict && next.k(Kind::Func) {
                    return Err(self.type_err(Rule::RefToFunc, v.id));
                }
                next = self.id_resolve(&mut nid).unwrap_or(T::VOID);
            }
            if !next.is(K_VOID | kb(Kind::Fwd) | kb(Kind::FuncProto)) {
                return Err(self.type_err(Rule::InvalidTypeId, v.id));
            }
        }
        self.pop_resolved(nid, 0);
        Ok(())
    }

    /// The shared start of modifier, PTR and VAR resolution: the target
    /// must exist and not be source-only; an unresolved, non-sink target is
    /// pushed (`None`: resolve it first, then come back).
    fn target_or_push(&mut self, v: Vertex, next_id: u32) -> VResult<Option<T>> {
        let next = self
            .ty(next_id)
            .filter(|n| !n.is(K_SOURCE_ONLY))
            .ok_or_else(|| self.type_err(Rule::InvalidTypeId, v.id))?;
        if !self.is_sink(next) && !self.is_resolved(next_id) {
            self.push(next_id)?;
            return Ok(None);
        }
        Ok(Some(next))
    }

    fn modifier_resolve(&mut self, v: Vertex, next_id: u32) -> VResult<()> {
        let Some(next) = self.target_or_push(v, next_id)? else { return Ok(()) };
        self.finish_ref(v, next_id, next)
    }

    /// After a modifier target resolved (possibly to a PTR that stopped a
    /// struct walk), continue from that PTR: catches const→ptr→const→ptr loops.
    fn continue_past_modifier(&mut self, next_id: u32, next: T) -> VResult<bool> {
        if next.is(K_MODIFIER) {
            let mut rid = next_id;
            let r = self.id_resolve(&mut rid).unwrap_or(T::VOID);
            if r.k(Kind::Ptr) && !self.is_sink(r) && !self.is_resolved(rid) {
                self.push(rid)?;
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn ptr_resolve(&mut self, v: Vertex, next_id: u32) -> VResult<()> {
        let Some(next) = self.target_or_push(v, next_id)? else { return Ok(()) };
        if self.continue_past_modifier(next_id, next)? {
            return Ok(());
        }
        self.finish_ref(v, next_id, next)
    }

    fn array_resolve(&mut self, v: Vertex) -> VResult<()> {
        let b = self.body_of(v.id)?;
        match self.array_step(v.id, b)? {
            Step::Push(next) => self.push(next),
            Step::Done(elem_id, size) => {
                self.pop_resolved(elem_id, size);
                Ok(())
            }
        }
    }

    /// `btf_array_resolve` of array `id` (record body `b`) once: a type to
    /// resolve first, or the element's resolved id and the array's size.
    fn array_step(&self, id: u32, b: &[u8]) -> VResult<Step> {
        let a = Arr { elem: self.rd(b, 0), index: self.rd(b, 4), nelems: self.rd(b, 8) };
        let v = Vertex { id, next_member: 0 };
        let mut index_id = a.index;
        let index = self
            .ty(index_id)
            .filter(|x| !x.is(K_NOSIZE | K_SOURCE_ONLY))
            .ok_or_else(|| self.type_err(Rule::InvalidIndex, v.id))?;
        if !self.is_sink(index) && !self.is_resolved(index_id) {
            return Ok(Step::Push(index_id));
        }
        match self.id_size(&mut index_id) {
            Some((it, _)) if it.k(Kind::Int) && int_is_regular(it.int) => {}
            _ => return Err(self.type_err(Rule::InvalidIndex, v.id)),
        }
        let mut elem_id = a.elem;
        let elem = self
            .ty(elem_id)
            .filter(|x| !x.is(K_NOSIZE | K_SOURCE_ONLY))
            .ok_or_else(|| self.type_err(Rule::InvalidElem, v.id))?;
        if !self.is_sink(elem) && !self.is_resolved(elem_id) {
            return Ok(Step::Push(elem_id));
        }
        let (et, esize) = self.id_size(&mut elem_id).ok_or_else(|| self.type_err(Rule::InvalidElem, v.id))?;
        if et.k(Kind::Int) && !int_is_regular(et.int) {
            return Err(self.type_err(Rule::InvalidArrayOfInt, v.id));
        }
        if esize > u32::MAX.checked_div(a.nelems).unwrap_or(u32::MAX) {
            return Err(self.type_err(Rule::ArraySizeOverflow, v.id));
        }
        Ok(Step::Done(elem_id, esize.wrapping_mul(a.nelems)))
    }

    fn struct_resolve(&mut self, v: Vertex, t: T) -> VResult<()> {
        let b = self.body_of(v.id)?;
        let s = Strukt { id: v.id, size: t.st, kflag: t.flags & F_KFLAG != 0 };
        let from = v.next_member as usize;
        if let Some(i) = from.checked_sub(1)
            && let Some(m) = b.chunks_exact(12).nth(i)
        {
            self.member_returned(&s, i as u32, self.rd(m, 4), self.rd(m, 8))?;
        }
        for (i, m) in b.chunks_exact(12).enumerate().skip(from) {
            let i = i as u32;
            let (mty, moff) = (self.rd(m, 4), self.rd(m, 8));
            if self.rules.fast && self.member_fast(s.size, s.kflag, mty, moff) {
                continue;
            }
            let mt = self
                .ty(mty)
                .filter(|x| !x.is(K_NOSIZE | K_SOURCE_ONLY))
                .ok_or_else(|| self.member_err(Rule::InvalidMember, v.id, i))?;
            if !self.is_sink(mt) && !self.is_resolved(mty) {
                if self.rules.fast && self.nested_fast(mty, mt) {
                    // As the walk's return to this member would.
                    self.member_returned(&s, i, mty, moff)?;
                    continue;
                }
                self.set_next_member(i.wrapping_add(1));
                return self.push(mty);
            }
            self.check_member(&s, mty, moff, i, mt)?;
        }
        self.pop_resolved(0, 0);
        Ok(())
    }

    /// The walk back at member `i` of struct `s` (type `mty` at `moff`),
    /// once the type it pushed for it is resolved.
    fn member_returned(&self, s: &Strukt, i: u32, mty: u32, moff: u32) -> VResult<()> {
        // Before `MEMBER_ID_U32`, the type of the id's low 16 bits.
        let seen = if self.rules.member_id_u32 { mty } else { mty & 0xffff };
        if !self.is_resolved(seen) {
            return Err(self.member_err(Rule::InvalidResolveState, s.id, i));
        }
        let mt = self.ty(seen).unwrap_or(T::VOID);
        self.check_member(s, mty, moff, i, mt)
    }

    /// A STRUCT, UNION or ARRAY `id` (of `t`) that a struct walk in the
    /// struct-or-array mode is about to push, resolved in place by
    /// [`Self::aggregate_fast`] when that needs no walk: the push, the
    /// type's own step and its pop, without them. Not when the push would
    /// fail (the stack is full, or `id` is visited) or the mode is another:
    /// the walk decides those.
    fn nested_fast(&mut self, id: u32, t: T) -> bool {
        self.mode == Mode::StructOrArray
            && t.is(K_STRUCT | kb(Kind::Array))
            && !self.stack.is_full()
            && self.words(id).is_some_and(|[_, r, ..]| r.get() >> 30 == NOT_VISITED)
            && self.aggregate_fast(id, t)
    }

    /// A modifier `id` at the top of the walk whose target `st` is an own
    /// STRUCT, UNION, ARRAY or PTR not yet visited: the walk pushes the
    /// modifier (the mode stays undecided), then the target, which sets the
    /// mode as the target's own walk would; it resolves the target, then
    /// the modifier, whose resolution with its target resolved does not
    /// depend on the mode. Done without the walk when
    /// [`Self::aggregate_fast`] or [`Self::ref_fast_own`] resolves the
    /// target.
    fn modifier_through(&mut self, id: u32, st: u32, r: &Cell<u32>, s: &Cell<u32>) -> bool {
        let Some([_, tr, ts, ..]) = self.words(st) else { return false };
        let Some(t) = self.ty(st).filter(|t| t.is(K_STRUCT | kb(Kind::Array) | kb(Kind::Ptr))) else {
            return false;
        };
        if tr.get() >> 30 != NOT_VISITED {
            return false;
        }
        let target = if t.k(Kind::Ptr) {
            self.ref_fast_own(st, true, t.st, tr, ts) == Some(true)
        } else {
            self.aggregate_fast(st, t)
        };
        target && self.ref_fast_own(id, false, st, r, s) == Some(true)
    }

    /// A member of a struct or union (with kind_flag `kflag`) that passes
    /// the member loop with nothing to push and passes `check_member`,
    /// decided from the descriptor words of own types alone: an INT, ENUM,
    /// PTR, resolved STRUCT, UNION or ARRAY, directly or through a resolved
    /// modifier. `false`: the full path decides (and finds any error).
    ///
    /// The type's stored member word answers for most members: one load
    /// from a dense array, and no turn on the member type's kind.
    #[inline(always)]
    fn member_fast(&self, ssize: u32, kflag: bool, mty: u32, moff: u32) -> bool {
        let stored = self.members.get(mty.wrapping_sub(self.start_id) as usize).map_or(0, Cell::get);
        let w = if stored != 0 { stored } else { self.member_word(mty, false) };
        w != 0 && self.member_fits(w, ssize, kflag, moff)
    }

    /// What [`Self::member_fast`] needs of own type `x` as a member's type,
    /// when the member loop would take it with nothing to push and its
    /// `check_member` would be that of an INT, ENUM, ENUM64, PTR, STRUCT,
    /// UNION or ARRAY: [`M_INT`] with the int data, or [`M_SIZED`] with
    /// the member's size (and [`M_ENUM`] for an enum). 0: the full path
    /// decides.
    ///
    /// `stored`: for [`Self::members`], where the word must hold from now
    /// on whatever the walk's mode: a PTR then counts only once resolved,
    /// and a modifier of an ARRAY not at all (that array's state could
    /// still change). Every other input to the word is fixed by pass 1 or
    /// by `x`'s resolution.
    #[inline(always)]
    fn member_word(&self, x: u32, stored: bool) -> u32 {
        const SIZED: u32 =
            kb(Kind::Int) | kb(Kind::Enum) | kb(Kind::Enum64) | kb(Kind::Ptr) | K_STRUCT | kb(Kind::Array);
        let Some([_, r, size, d, st]) = self.words(x) else { return 0 };
        let k = kb_raw(d.get() & 0x1f);
        let resolved = r.get() >> 30 == RESOLVED;
        // What the member loop would do before check_member: push an
        // unresolved STRUCT, UNION, ARRAY or modifier (a PTR is a sink of
        // the struct walk).
        let (k, size, st) = if k & K_MODIFIER != 0 {
            // check_member of a modifier: that of its resolved, sized target.
            let Some([_, tr, tsize, td, tst]) = self.words(r.get() & 0x3fff_ffff).filter(|_| resolved) else {
                return 0;
            };
            let tk = kb_raw(td.get() & 0x1f);
            if tk & kb(Kind::Array) != 0 && (stored || tr.get() >> 30 != RESOLVED) {
                return 0;
            }
            (tk, tsize.get(), tst.get())
        } else if !resolved
            && (k & (K_STRUCT | kb(Kind::Array)) != 0
                || (k & kb(Kind::Ptr) != 0 && (stored || self.mode != Mode::StructOrArray)))
        {
            return 0;
        } else {
            (k, size.get(), st.get())
        };
        if k & SIZED == 0 {
            return 0;
        }
        if k & kb(Kind::Int) != 0 {
            // `size` is the int data: bits and offset are all the checks read.
            return M_INT | (size & 0x00ff_00ff);
        }
        let msize = if k & kb(Kind::Ptr) != 0 {
            self.rules.ptr_size
        } else if k & kb(Kind::Array) != 0 {
            size
        } else {
            st
        };
        if msize > M_SIZE {
            return 0;
        }
        let e = if k & (kb(Kind::Enum) | kb(Kind::Enum64)) != 0 { M_ENUM } else { 0 };
        M_SIZED | e | msize
    }

    /// `check_member` of a member at `moff` of a struct of `ssize` bytes
    /// (with kind_flag `kflag`), whose type has member word `w` (not 0).
    #[inline(always)]
    fn member_fits(&self, w: u32, ssize: u32, kflag: bool, moff: u32) -> bool {
        if w & M_INT != 0 {
            let (d, bits) = (w & 0x00ff_00ff, self.rules.int_bits);
            return if kflag { int_kflag_member(d, moff, ssize, bits) } else { int_member(d, moff, ssize, bits) }
                .is_ok();
        }
        let msize = w & M_SIZE;
        if kflag {
            if w & M_ENUM != 0 {
                return enum_kflag_member(msize, moff, ssize, self.rules.strict).is_ok();
            }
            // No bitfield size on other kinds.
            if moff >> 24 != 0 {
                return false;
            }
        }
        sized_member(moff, ssize, msize).is_ok()
    }

    /// Stores own type `x`'s member word, once its turn or its resolution
    /// has fixed it (see [`Self::member_word`]).
    #[inline(always)]
    fn note_member(&self, x: u32) {
        if let Some(c) = self.members.get(x.wrapping_sub(self.start_id) as usize) {
            c.set(self.member_word(x, true));
        }
    }

    /// The `check_member` / `check_kflag_member` op of the member's type.
    fn check_member(&self, s: &Strukt, mty: u32, moff: u32, i: u32, mt: T) -> VResult<()> {
        let me = |rule| self.member_err(rule, s.id, i);
        let ssize = s.size;
        let kflag = s.kflag;
        // A modifier's op is its sized target's (`btf_modifier_check_member`):
        // that target is no modifier.
        let (mty, mt) = if mt.is(K_MODIFIER) {
            let mut rid = mty;
            let (rt, _) = self.id_size(&mut rid).ok_or_else(|| me(Rule::InvalidMember))?;
            (rid, rt)
        } else {
            (mty, mt)
        };
        match Kind::from_u8(mt.kind) {
            Some(Kind::Int) => {
                let d = mt.int;
                let bits = self.rules.int_bits;
                if kflag { int_kflag_member(d, moff, ssize, bits) } else { int_member(d, moff, ssize, bits) }
                    .map_err(me)
            }
            Some(Kind::Enum | Kind::Enum64) => {
                let esize = mt.st;
                if kflag {
                    enum_kflag_member(esize, moff, ssize, self.rules.strict).map_err(me)
                } else {
                    sized_member(moff, ssize, esize).map_err(me)
                }
            }
            Some(k @ (Kind::Ptr | Kind::Array | Kind::Struct | Kind::Union | Kind::Float)) => {
                let mut bo = moff;
                if kflag {
                    if bo >> 24 != 0 {
                        return Err(me(Rule::InvalidMemberBitfieldSize));
                    }
                    bo &= 0x00ff_ffff;
                }
                match k {
                    Kind::Float => {
                        let fsize = mt.st;
                        let align_bits = u64::from(self.rules.ptr_size.min(fsize)).wrapping_mul(8);
                        if u64::from(bo).checked_rem(align_bits).is_none_or(|r| r != 0) {
                            return Err(me(Rule::MemberNotAligned));
                        }
                        if u64::from(bo / 8).wrapping_add(u64::from(fsize)) > u64::from(ssize) {
                            return Err(me(Rule::MemberExceedsStructSize));
                        }
                        Ok(())
                    }
                    Kind::Ptr => sized_member(bo, ssize, self.rules.ptr_size).map_err(me),
                    Kind::Array => {
                        let mut aid = mty;
                        let asize = self.id_size(&mut aid).map_or(0, |(_, s)| s);
                        sized_member(bo, ssize, asize).map_err(me)
                    }
                    _ => sized_member(bo, ssize, mt.st).map_err(me),
                }
            }
            _ => Err(me(Rule::InvalidMember)),
        }
    }

    fn var_resolve(&mut self, v: Vertex, next_id: u32) -> VResult<()> {
        let Some(next) = self.target_or_push(v, next_id)? else { return Ok(()) };
        if self.continue_past_modifier(next_id, next)? {
            return Ok(());
        }
        let mut nid = next_id;
        if self.id_size(&mut nid).is_none() {
            return Err(self.type_err(Rule::InvalidTypeId, v.id));
        }
        self.pop_resolved(nid, 0);
        Ok(())
    }

    fn datasec_resolve(&mut self, v: Vertex) -> VResult<()> {
        self.mode = Mode::Tbd;
        let b = self.body_of(v.id)?;
        // Strict also size-checks the entry whose VAR was resolved on the
        // way (the kernel resumes after it; quirk).
        let from = if self.rules.strict { v.next_member.saturating_sub(1) } else { v.next_member };
        for (i, e) in b.chunks_exact(12).enumerate().skip(from as usize) {
            let i = i as u32;
            let (ety, esize) = (self.rd(e, 0), self.rd(e, 8));
            let var = self.ty(ety).filter(|x| x.k(Kind::Var)).ok_or_else(|| self.member_err(Rule::NotAVar, v.id, i))?;
            if !self.is_sink(var) && !self.is_resolved(ety) {
                self.set_next_member(i.wrapping_add(1));
                return self.push(ety);
            }
            let mut tid = var.st;
            let (_, size) = self.id_size(&mut tid).ok_or_else(|| self.member_err(Rule::InvalidType, v.id, i))?;
            if esize < size {
                return Err(self.member_err(Rule::InvalidSize, v.id, i));
            }
        }
        self.pop_resolved(0, 0);
        Ok(())
    }

    fn decl_tag_resolve(&mut self, v: Vertex, t: T) -> VResult<()> {
        let next_id = t.st;
        let targets = kb(Kind::Func) | K_STRUCT | kb(Kind::Var) | kb(Kind::Typedef);
        let next =
            self.ty(next_id).filter(|n| n.is(targets)).ok_or_else(|| self.type_err(Rule::InvalidTypeId, v.id))?;
        if !self.is_sink(next) && !self.is_resolved(next_id) {
            return self.push(next_id);
        }
        let idx = self.rd(self.body_of(v.id)?, 0) as i32;
        if idx != -1 {
            let vlen = if next.is(kb(Kind::Var) | kb(Kind::Typedef)) {
                return Err(self.type_err(Rule::InvalidComponentIdx, v.id));
            } else if next.is(K_STRUCT) {
                next.vlen
            } else {
                self.ty(next.st).map_or(0, |p| p.vlen)
            };
            if (idx as u32) >= vlen {
                return Err(self.type_err(Rule::InvalidComponentIdx, v.id));
            }
        }
        self.pop_resolved(next_id, 0);
        Ok(())
    }

    /// `btf_func_check`: the type is a FUNC_PROTO whose typed params are named.
    fn func_check(&self, id: u32, proto_id: u32) -> VResult<()> {
        let Some(p) = self.ty(proto_id).filter(|p| p.k(Kind::FuncProto)) else {
            return Err(self.type_err(Rule::InvalidTypeId, id));
        };
        if p.flags & F_FUNC_OK != 0 {
            return Ok(());
        }
        let Some((b, _)) = self.body(proto_id) else { return Err(self.type_err(Rule::InvalidTypeId, id)) };
        for (i, a) in b.chunks_exact(8).enumerate() {
            if self.rd(a, 0) == 0 && self.rd(a, 4) != 0 {
                return Err(ValidationError { index: Some(i as u32), ..self.type_err(Rule::InvalidArg, id) });
            }
        }
        Ok(())
    }

    /// `btf_func_proto_check`.
    fn func_proto_check(&mut self, id: u32, t: T) -> VResult<()> {
        if self.rules.fast && self.proto_fast(id, t) {
            return Ok(());
        }
        let ret = t.st;
        if ret != 0 && !(self.rules.fast && self.flag(ret, SIZED_OK)) {
            let rt = self
                .ty(ret)
                .filter(|r| !(r.is(K_SOURCE_ONLY) && self.rules.ret_not_source))
                .ok_or_else(|| self.type_err(Rule::InvalidReturnType, id))?;
            if rt.is(self.rules.needs_resolve) && !self.is_resolved(ret) {
                self.resolve(ret)?;
            }
            if !self.is_sized(ret) {
                return Err(self.type_err(Rule::InvalidReturnType, id));
            }
        }
        let Some((b, _)) = self.body(id) else { return Ok(()) };
        let params = b.chunks_exact(8);
        let mut n = params.len();
        if let Some(last) = params.clone().next_back()
            && self.rd(last, 4) == 0
        {
            if self.rd(last, 0) != 0 {
                return Err(self.member_err(Rule::InvalidArg, id, (n as u32).wrapping_sub(1)));
            }
            n = n.wrapping_sub(1);
        }
        // Pass 1 found every name valid: nothing to look at again.
        let names_ok = t.flags & F_NAMES_OK != 0;
        for (i, a) in params.take(n).enumerate() {
            let i = i as u32;
            let (aname, aty) = (self.rd(a, 0), self.rd(a, 4));
            if names_ok && self.rules.fast && self.flag(aty, SIZED_OK) {
                continue;
            }
            let ae = |s: &Self| s.member_err(Rule::InvalidArg, id, i);
            let at =
                self.ty(aty).filter(|x| !(x.is(K_SOURCE_ONLY) && self.rules.arg_not_source)).ok_or_else(|| ae(self))?;
            if !names_ok && aname != 0 && (!self.name_off_valid(aname) || !self.name_valid(aname, NameRule::Ident)) {
                return Err(ae(self));
            }
            if at.is(self.rules.needs_resolve) && !self.is_resolved(aty) && !self.resolve_fast(aty, at) {
                self.resolve(aty)?;
            }
            if !self.is_sized(aty) {
                return Err(ae(self));
            }
        }
        Ok(())
    }

    /// A FUNC_PROTO that `btf_func_proto_check` passes with nothing to
    /// resolve: pass 1 found its names valid, its return type is void or
    /// has [`SIZED_OK`], every parameter but a trailing unnamed void has it.
    #[inline(always)]
    fn proto_fast(&self, id: u32, t: T) -> bool {
        self.words(id).is_some_and(|[off, ..]| self.proto_fast_at(off.get(), u32::from(t.flags) | (t.vlen << 8), t.st))
    }

    /// [`Self::proto_fast`] of the own FUNC_PROTO whose record is at `off`,
    /// with descriptor `d` and return type `ret`.
    #[inline(always)]
    fn proto_fast_at(&self, off: u32, d: u32, ret: u32) -> bool {
        if d & u32::from(F_NAMES_OK) == 0 || (ret != 0 && !self.flag(ret, SIZED_OK)) {
            return false;
        }
        let from = (off as usize).wrapping_add(12);
        let Some(b) = self.data.get(from..from.wrapping_add(((d >> 8) as usize).wrapping_mul(8))) else {
            return false;
        };
        // A trailing void parameter: unnamed it ends a variadic list (a
        // named one is the full check's to report).
        let typed = match b.rchunks_exact(8).next() {
            Some(last) if self.rd(last, 4) == 0 && self.rd(last, 0) == 0 => b.len().wrapping_sub(8),
            _ => b.len(),
        };
        b.get(..typed).unwrap_or_default().chunks_exact(8).all(|a| self.flag(self.rd(a, 4), SIZED_OK))
    }

    /// A parameter (or return) type that passes every check of the
    /// parameter loop with nothing to resolve: an own type, not
    /// source-only, resolved (or needing no resolution) and sized.
    /// `false`: the full checks decide.
    #[inline(always)]
    fn param_fast(&self, id: u32) -> bool {
        const SIZED: u32 = K_HAS_SIZE | kb(Kind::Array) | kb(Kind::Ptr);
        let Some([_, r, _, d, _]) = self.words(id) else { return false };
        let k = kb_raw(d.get() & 0x1f);
        let w = r.get();
        if k & K_SOURCE_ONLY != 0 || (k & self.rules.needs_resolve != 0 && w >> 30 != RESOLVED) {
            return false;
        }
        if k & SIZED != 0 {
            return true;
        }
        // A resolved modifier (VAR is source-only): sized when what it
        // resolved to is (`is_sized`, for own types).
        k & K_MODIFIER != 0
            && self.words(w & 0x3fff_ffff).is_some_and(|[_, _, _, rd, _]| kb_raw(rd.get() & 0x1f) & SIZED != 0)
    }

    /// `btf_resolve_valid`.
    fn resolve_valid(&self, id: u32) -> bool {
        if !self.is_resolved(id) {
            return false;
        }
        let t = self.ty(id).unwrap_or(T::VOID);
        let (rid, rsize) = (self.resolved_id(id), self.resolved_size(id));
        if t.is(K_STRUCT | kb(Kind::Datasec)) {
            return rid == 0 && rsize == 0;
        }
        if t.is(kb(Kind::DeclTag) | kb(Kind::Func)) {
            return rid != 0 && rsize == 0;
        }
        if t.is(K_MODIFIER | kb(Kind::Ptr) | kb(Kind::Var)) {
            let mut r = id;
            return match self.id_resolve(&mut r) {
                Some(rt) => !rt.is(K_MODIFIER | kb(Kind::Var) | kb(Kind::Datasec)),
                None => false,
            };
        }
        if t.k(Kind::Array) {
            let Some(a) = self.array_of(id) else { return false };
            let mut eid = a.elem;
            return match self.id_size(&mut eid) {
                Some((et, esize)) => !et.is(K_MODIFIER) && a.nelems.wrapping_mul(esize) == rsize,
                None => false,
            };
        }
        false
    }

    /// `btf_check_type_tags`: in each modifier chain, tags come first.
    /// The kernel follows each chain only until it meets a type it has
    /// already checked (a smaller id).
    fn check_type_tags(&self) -> VResult<()> {
        for (i, [_, _, _, d, _]) in (self.start_id..).zip(self.types) {
            // Most types are no modifier: their descriptor word says so.
            if kb_raw(d.get() & 0x1f) & K_MODIFIER != 0 {
                self.type_tags_of(i)?;
            }
        }
        Ok(())
    }

    /// [`Self::check_type_tags`] of modifier `i`: its chain, up to the
    /// first earlier type. It reads descriptors only, so pass 2 can run it
    /// at the modifier's turn and keep the first error for after it.
    fn type_tags_of(&self, i: u32) -> VResult<()> {
        let mut t = self.ty(i).ok_or_else(|| self.type_err(Rule::DanglingModifier, i))?;
        let mut in_tags = t.k(Kind::TypeTag);
        let mut cur = i;
        let mut limit = 32u32;
        while t.is(K_MODIFIER) {
            if limit == 0 {
                return Err(self.type_err(Rule::ModifierChainTooLong, i));
            }
            limit = limit.wrapping_sub(1);
            if t.k(Kind::TypeTag) {
                if !in_tags && self.rules.type_tag_order {
                    return Err(self.type_err(Rule::TypeTagsAfterModifiers, i));
                }
            } else {
                in_tags = false;
            }
            if cur < i {
                break;
            }
            cur = t.st;
            t = self.ty(cur).ok_or_else(|| self.type_err(Rule::DanglingModifier, i))?;
        }
        Ok(())
    }
}

/// One step of an array's resolution.
#[derive(Debug, Clone, Copy)]
enum Step {
    /// Resolve this type first.
    Push(u32),
    /// Resolved: the element's resolved id, the array's size.
    Done(u32, u32),
}

/// The struct or union whose members are checked.
#[derive(Debug, Clone, Copy)]
struct Strukt {
    id: u32,
    size: u32,
    kflag: bool,
}

/// The rest of a name from `from` on, byte by byte: its characters must
/// all be in `rest_ok` and its NUL (or, for a base string, its end) come
/// within `limit` characters of `rest`'s start.
fn scan_bytes(rest: &[u8], from: usize, limit: usize, rest_ok: u8) -> bool {
    let scan = rest.get(..limit).unwrap_or(rest);
    let tail = scan.get(from..).unwrap_or(&[]);
    match tail.iter().position(|&c| CTYPE.get(usize::from(c)).is_none_or(|&k| k & rest_ok == 0)) {
        Some(p) => tail.get(p) == Some(&0),
        None => rest.len() < limit,
    }
}

fn kb_raw(k: u32) -> u32 {
    1u32.wrapping_shl(k)
}

/// `nr_copy_bits` past the widest copy, `max` bits (128, or 64 before 5.1).
fn copy_bits_err(max: u32) -> Rule {
    if max == 64 { Rule::NrCopyBitsOver64 } else { Rule::NrCopyBitsTooMany }
}

/// An INT member of a struct without kind_flag, at bit `bo`: the bitfield
/// is the int's own (`d`, its int data); copies of up to `max` bits.
#[inline(always)]
fn int_member(d: u32, bo: u32, ssize: u32, max: u32) -> Result<(), Rule> {
    let (ibits, ioff) = (d & 0xff, (d >> 16) & 0xff);
    let start = bo.checked_add(ioff).ok_or(Rule::BitsOffsetOverflow)?;
    let bytes = start / 8;
    let copy = ibits.wrapping_add(start % 8);
    if copy > max {
        return Err(copy_bits_err(max));
    }
    if ssize < bytes || ssize.wrapping_sub(bytes) < copy.div_ceil(8) {
        return Err(Rule::MemberExceedsStructSize);
    }
    Ok(())
}

/// An INT member of a struct with kind_flag (`btf_int_check_kflag_member`):
/// the bitfield size is the member's own, in the offset's top byte; copies
/// of up to `max` bits.
#[inline(always)]
fn int_kflag_member(d: u32, moff: u32, ssize: u32, max: u32) -> Result<(), Rule> {
    if !int_is_regular(d) {
        return Err(Rule::InvalidMemberBaseType);
    }
    let ibits = d & 0xff;
    let mut nr = moff >> 24;
    let bo = moff & 0x00ff_ffff;
    if nr == 0 {
        if !bo.is_multiple_of(8) {
            return Err(Rule::InvalidMemberOffset);
        }
        nr = ibits;
    } else if nr > ibits {
        return Err(Rule::InvalidMemberBitfieldSize);
    }
    let copy = nr.wrapping_add(bo % 8);
    if copy > max {
        return Err(copy_bits_err(max));
    }
    let bytes = bo / 8;
    if ssize < bytes || ssize.wrapping_sub(bytes) < copy.div_ceil(8) {
        return Err(Rule::MemberExceedsStructSize);
    }
    Ok(())
}

/// An ENUM or ENUM64 member (of `esize` bytes) of a struct with kind_flag
/// (`btf_enum_check_kflag_member`).
#[inline(always)]
fn enum_kflag_member(esize: u32, moff: u32, ssize: u32, strict: bool) -> Result<(), Rule> {
    let bo = moff & 0x00ff_ffff;
    let mut nr = moff >> 24;
    // Kernel quirk 6: an 8-byte enum without bitfield is checked as 32
    // bits; Strict uses its real width.
    let width = if strict { esize.wrapping_mul(8) } else { 32 };
    if nr == 0 {
        if !bo.is_multiple_of(8) {
            return Err(Rule::MemberNotByteAligned);
        }
        nr = width;
    } else if nr > 32 {
        return Err(Rule::InvalidMemberBitfieldSize);
    }
    // bo < 2^24 and nr <= 64: no wrap.
    if ssize < bo.wrapping_add(nr).div_ceil(8) {
        return Err(Rule::MemberExceedsStructSize);
    }
    Ok(())
}

fn sized_member(bo: u32, ssize: u32, msize: u32) -> Result<(), Rule> {
    if !bo.is_multiple_of(8) {
        return Err(Rule::MemberNotByteAligned);
    }
    // Pass 1 guarantees bo/8 <= ssize.
    if ssize.wrapping_sub(bo / 8) < msize {
        return Err(Rule::MemberExceedsStructSize);
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NameRule {
    /// `btf_name_valid_identifier`.
    Ident,
    /// Identifier where old kernels already allowed `.` (VAR).
    IdentDot,
    /// `btf_name_valid_section` (DATASEC).
    Section,
}

#[cfg(test)]
mod tests;
