//! # btfkit
//!
//! A reader for the Linux BPF Type Format (BTF) with first-class support for
//! *split* BTF: the per-module BTF in `/sys/kernel/btf/<module>` that extends
//! the vmlinux base.
//!
//! - `#![no_std]`, `#![forbid(unsafe_code)]`, and it works with **no
//!   allocator**: every table it needs lives in storage the caller provides.
//! - Zero-copy: records are viewed in place through `zerocopy` over borrowed
//!   bytes, in either byte order, detected from the magic. Nothing is copied
//!   or swapped.
//! - Split views: a split blob is parsed over a borrowed base; its ids and
//!   string offsets continue from the base, which is never copied or mutated,
//!   so many modules can share one vmlinux. A cache that keeps a module's
//!   bytes and id index makes its view again in O(1), with no walk
//!   ([`Btf::reopen_indexed`]).
//! - Typed views of all 19 kinds ([`TypeView`]) with their flags decoded.
//! - A bpftool-compatible text dump ([`dump`]) and JSON dump ([`json`]) into
//!   any byte [`dump::Sink`].
//! - Kernel-faithful validation ([`validate`]): would a given kernel accept
//!   this BTF, through which load path? Scratch memory comes from the caller;
//!   many modules over one base share its name bits ([`validate::BaseNames`]).
//! - Lookups by name ([`names`]) through a sorted hash index in caller
//!   storage (8 bytes a named type), and a [`composite`] of one base and N
//!   modules, addressed as (layer, id), with FWD resolution across layers.
//! - Writing ([`mod@write`]): a builder for every kind, in either byte order,
//!   with interned strings, in storage the caller chooses; ask for the exact
//!   size, then write into a caller buffer.
//! - Rebase and merge ([`merge`]): a module rebased onto another layer, and
//!   vmlinux + N modules merged into one standalone or one split blob, into
//!   caller buffers, with the id map and the kernel's limits checked.
//!
//! ```
//! # fn main() -> Result<(), btfkit::Error> {
//! # let blob = btfkit::doc_example_blob();
//! use btfkit::{Btf, TypeView};
//!
//! let btf = Btf::parse(&blob)?;
//! for ty in btf.types() {
//!     let ty = ty?;
//!     if let TypeView::Struct(s) = ty.view() {
//!         let name = btf.name(&ty)?;
//!         assert_eq!(name, b"point");
//!         assert_eq!(s.members().len(), 2);
//!     }
//! }
//!
//! // O(1) lookups by id with an index in caller storage (4 bytes a type).
//! let mut slots = [0u32; 8];
//! let index = btf.build_index(&mut slots[..btf.index_len()])?;
//! let btf = btf.with_index(index)?;
//! assert_eq!(btf.type_by_id(btfkit::TypeId(1))?.kind(), Some(btfkit::Kind::Int));
//! # Ok(()) }
//! ```
//!
//! Split BTF, as in `/sys/kernel/btf/<module>`:
//!
//! ```no_run
//! # fn main() -> Result<(), btfkit::Error> {
//! # let (vmlinux_bytes, module_bytes) = (&[][..], &[][..]);
//! let vmlinux = btfkit::Btf::parse(vmlinux_bytes)?;
//! let module = btfkit::Btf::parse_split(module_bytes, &vmlinux)?;
//! assert_eq!(module.start_id().0, vmlinux.type_count());
//! # Ok(()) }
//! ```
//!
//! ## Features
//!
//! - *(none, the default)*: everything above, with no allocator.
//! - `alloc`: owned conveniences such as `Btf::build_index_vec`,
//!   `Btf::build_name_index_vec`, `validate::validate_vec`,
//!   `validate::BaseNamesVec`, `write::VecBuilder`, and `write::HashIndex`, the writer's string
//!   interning in a `hashbrown` table.
//! - `log`: debug logging through the `log` crate.
//! - `defmt`: debug logging through `defmt`, and `defmt::Format` for every
//!   public type. `log` and `defmt` are mutually exclusive.
//!
//! ## Threat model
//!
//! Input bytes are untrusted. Any input yields `Ok` or an [`Error`], never a
//! panic, never unbounded recursion, and never work or memory beyond a
//! constant factor of the input size. The crate forbids `unsafe` (its
//! dependencies `zerocopy`, `memchr` and, on x86_64, `safe_arch` for SSE2
//! keep theirs behind safe APIs), and its clippy configuration denies unchecked indexing, arithmetic overflow,
//! `unwrap`, `expect` and `panic`. Fuzz targets in `fuzz/` enforce this.
//!
//! Parsing checks *structure* (what reading relies on). Whether the kernel
//! would accept a blob is a separate question, answered by validation.
//! Merging checks every reference of every module before writing a byte,
//! and refuses outputs beyond the kernel's limits unless told otherwise.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs, missing_debug_implementations)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )
)]

#[cfg(feature = "alloc")]
extern crate alloc;

mod btf;
pub mod composite;
pub mod dump;
mod endian;
mod error;
mod header;
pub mod json;
mod kind;
mod log;
pub mod merge;
pub mod names;
pub mod raw;
mod refs;
mod swar;
mod types;
pub mod validate;
pub mod write;

#[cfg(all(test, feature = "alloc"))]
mod merge_tests;
#[cfg(test)]
mod test_util;
#[cfg(test)]
mod tests;
#[cfg(all(test, feature = "alloc"))]
mod write_tests;

pub use btf::{Btf, IdIndex, ParseOptions, Types};
pub use endian::Endian;
pub use error::{Error, ErrorKind, Result, Section};
pub use header::{HEADER_LEN_LAYOUT, HEADER_LEN_V1, Header};
pub use kind::{Kind, VlenEncoding};
pub use types::{
    Array, Composite, DeclTag, Enum, EnumValue, Float, Func, FuncProto, Fwd, Int, Linkage, Member, Param, Record,
    Records, SecInfo, StrOffset, Type, TypeId, TypeTag, TypeView, Var,
};

use core::fmt;

/// Displays a BTF name (bytes, not necessarily UTF-8) losslessly: valid
/// UTF-8 as is, `\` as `\\`, and every other byte as `\xNN`.
#[derive(Debug, Clone, Copy)]
pub struct DisplayName<'a>(pub &'a [u8]);

impl fmt::Display for DisplayName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for chunk in self.0.utf8_chunks() {
            for part in chunk.valid().split_inclusive('\\') {
                match part.strip_suffix('\\') {
                    Some(head) => {
                        f.write_str(head)?;
                        f.write_str("\\\\")?;
                    }
                    None => f.write_str(part)?,
                }
            }
            for b in chunk.invalid() {
                write!(f, "\\x{b:02x}")?;
            }
        }
        Ok(())
    }
}

/// A small standalone blob for the crate examples: `int` and
/// `struct point { int x; int y; }`, little-endian.
#[doc(hidden)]
#[must_use]
pub fn doc_example_blob() -> [u8; 91] {
    [
        0x9f, 0xeb, 0x01, 0x00, 0x18, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x34, 0x00, 0x00, 0x00, 0x34, 0x00,
        0x00, 0x00, 0x0f, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00,
        0x20, 0x00, 0x00, 0x01, 0x05, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x04, 0x08, 0x00, 0x00, 0x00, 0x0b, 0x00,
        0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0d, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
        0x20, 0x00, 0x00, 0x00, 0x00, 0x69, 0x6e, 0x74, 0x00, 0x70, 0x6f, 0x69, 0x6e, 0x74, 0x00, 0x78, 0x00, 0x79,
        0x00,
    ]
}

/// A base and a split blob over it for the crate examples: the base is
/// [`doc_example_blob`]; the split adds `struct point *` and
/// `struct line { struct point a, b; }`.
#[doc(hidden)]
#[must_use]
pub fn doc_example_split() -> ([u8; 91], [u8; 82]) {
    (
        doc_example_blob(),
        [
            0x9f, 0xeb, 0x01, 0x00, 0x18, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x30, 0x00, 0x00, 0x00, 0x30, 0x00,
            0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00,
            0x10, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x04, 0x10, 0x00, 0x00, 0x00, 0x15, 0x00, 0x00, 0x00, 0x02, 0x00,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x17, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x00,
            0x00, 0x6c, 0x69, 0x6e, 0x65, 0x00, 0x61, 0x00, 0x62, 0x00,
        ],
    )
}
