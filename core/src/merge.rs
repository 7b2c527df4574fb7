//! Rebase and merge of split BTF, into caller buffers.
//!
//! - [`rebase`] moves a split blob so that it follows another layer: its
//!   own type ids and string offsets are shifted past that layer's, and
//!   nothing else changes.
//! - [`Merge`] joins one base and N modules split over it, either into one
//!   **standalone** blob ([`Form::Flat`], which needs no base) or into one
//!   **split** blob over the unchanged base ([`Form::Split`], what libbpf's
//!   `btf__add_btf` makes, without mutating or copying the base).
//!
//! Both are two-phase: plan, ask for the exact size, write into a buffer
//! of that size. A plan checks every input reference first, so a write
//! never fails halfway. Nothing is deduplicated except strings: every input
//! type is in the output, unchanged but for its renumbering, which
//! [`Merge::new_id`] tells. Module strings are interned: a string that
//! several modules share is stored once. The kernel's limits (`BTF_MAX_TYPE`
//! types, `BTF_MAX_NAME_OFFSET` string bytes) are checked unless turned off,
//! so no output is made that a kernel must refuse for its size.
//!
//! ```
//! use btfkit::merge::{Form, Merge, MergeOptions};
//! use btfkit::Btf;
//! # let (base_bytes, module_bytes) = btfkit::doc_example_split();
//! let base = Btf::parse(&base_bytes)?;
//! let modules = [Btf::parse_split(&module_bytes, &base)?];
//!
//! let opts = MergeOptions { form: Form::Flat, ..MergeOptions::default() };
//! let need = Merge::scratch_len(&base, &modules, &opts)?;
//! let (mut words, mut slots) = (vec![0u32; need.words], vec![0u64; need.slots]);
//! let merge = Merge::plan(&base, &modules, &opts, &mut words, &mut slots)?;
//! let mut out = vec![0u8; merge.len()];
//! merge.write(&mut out)?;
//!
//! let flat = Btf::parse(&out)?; // standalone: no base needed
//! assert_eq!(flat.type_count(), modules[0].type_count());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use core::fmt;

use zerocopy::FromBytes;
use zerocopy::byteorder::{ByteOrder, U32};

use crate::endian::with_endian;
use crate::error::{Error, ErrorKind};
use crate::refs;
use crate::types::TypeId;
use crate::write::{Header, SlotIndex, StrIndex, str_hash};
use crate::{Btf, HEADER_LEN_LAYOUT, HEADER_LEN_V1, Kind, raw};

/// The output of a [`Merge`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Form {
    /// One standalone blob: base types, then each module's.
    #[default]
    Flat,
    /// One split blob over the same base: each module's types.
    Split,
}

/// How to merge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct MergeOptions {
    /// Standalone or split output.
    pub form: Form,
    /// Also point module strings that the base already has at the base's
    /// copy, as libbpf does. pahole's module BTF never repeats a base
    /// string, so this only pays off for other producers; it costs hashing
    /// the base's strings.
    pub reuse_base_strings: bool,
    /// Refuse outputs beyond the kernel's limits: more than
    /// `BTF_MAX_TYPE` types, or strings past `BTF_MAX_NAME_OFFSET`.
    pub kernel_limits: bool,
}

impl Default for MergeOptions {
    fn default() -> Self {
        MergeOptions { form: Form::Flat, reuse_base_strings: false, kernel_limits: true }
    }
}

/// Which input an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Input {
    /// The base.
    Base,
    /// The module at this index of the slice given.
    Module(usize),
    /// The output as a whole (a limit), or the caller's buffers.
    Output,
}

/// A merge or rebase error: the input it is about, and the error located
/// in that input's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct MergeError {
    /// Which input.
    pub input: Input,
    /// What, where.
    pub error: Error,
}

impl fmt::Display for MergeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.input {
            Input::Base => write!(f, "base: {}", self.error),
            Input::Module(i) => write!(f, "module #{i}: {}", self.error),
            Input::Output => write!(f, "output: {}", self.error.kind()),
        }
    }
}

impl core::error::Error for MergeError {}

fn at(input: Input) -> impl Fn(Error) -> MergeError {
    move |error| MergeError { input, error }
}

fn out_err(kind: ErrorKind) -> MergeError {
    MergeError { input: Input::Output, error: Error::new(kind, 0) }
}

/// Scratch a [`Merge`] needs, in elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScratchLen {
    /// `u32` words: two per string of the modules (and of the base when
    /// its strings are reused), plus two per module.
    pub words: usize,
    /// `u64` slots: the string index while planning, the string map of
    /// one module while writing.
    pub slots: usize,
}

/// Strings in a section: its NUL count (a valid section ends with one).
fn count_strings(section: &[u8]) -> usize {
    memchr::memchr_iter(0, section).count()
}

/// The NUL-terminated strings of `section`, with their offsets (bytes
/// after the last NUL, which a checked section does not have, are left out).
fn strings_of(section: &[u8]) -> impl Iterator<Item = (u32, &[u8])> {
    let mut start = 0usize;
    memchr::memchr_iter(0, section).map(move |nul| {
        let s = section.get(start..nul).unwrap_or_default();
        let off = start as u32; // sections are < 4 GiB
        start = nul.saturating_add(1);
        (off, s)
    })
}

/// Calls `f(offset, string)` for each NUL-terminated string of `section`.
#[inline]
fn for_each_string(section: &[u8], mut f: impl FnMut(u32, &[u8])) {
    for (off, s) in strings_of(section) {
        f(off, s);
    }
}

/// Checks that `m` is split directly over `base`, in the same numbering.
fn check_over(base: &Btf<'_>, m: &Btf<'_>, i: usize) -> Result<(), MergeError> {
    let same = m.base().is_some_and(|b| {
        core::ptr::eq(b.data(), base.data())
            || (b.data() == base.data() && b.start_id() == base.start_id() && b.options() == base.options())
    });
    if !same {
        return Err(MergeError { input: Input::Module(i), error: Error::new(ErrorKind::NotOverBase, 0) });
    }
    let strings = m.own_strings();
    if strings.last().is_some_and(|&b| b != 0) {
        let end = u32::try_from(strings.len()).unwrap_or(u32::MAX);
        return Err(MergeError {
            input: Input::Module(i),
            error: Error::new(ErrorKind::StringNotTerminated(m.start_str_off().0.saturating_add(end)), 0),
        });
    }
    Ok(())
}

/// Visits every record of `m`'s own type section: its id, absolute byte
/// offset, kind, and byte range within the section. Callers read or patch
/// that range of the section or of a copy of it.
fn each_record<O: ByteOrder>(
    m: &Btf<'_>,
    mut f: impl FnMut(TypeId, u32, Kind, core::ops::Range<usize>) -> Result<(), Error>,
) -> Result<(), Error> {
    let (t0, _) = type_range(m);
    let section = m.own_types_section();
    let vlen_enc = m.options().vlen;
    let mut pos = 0usize;
    let mut id = m.start_id().0;
    while let Some(rest) = section.get(pos..).filter(|r| !r.is_empty()) {
        let off = (t0 as u32).saturating_add(pos as u32);
        let here = |k: ErrorKind| Error::at_type(k, off, TypeId(id));
        let info = rest.get(4..8).and_then(|w| U32::<O>::read_from_bytes(w).ok()).map(|v| v.get());
        let (k, vlen, _) = vlen_enc.decode(info.ok_or_else(|| here(ErrorKind::TypeTruncated))?);
        let kind = Kind::from_u8(k).ok_or_else(|| here(ErrorKind::UnknownKind(k)))?;
        let len = 12usize
            .saturating_add(kind.info_size() as usize)
            .saturating_add((vlen as usize).saturating_mul(kind.elem_size() as usize));
        if len > rest.len() {
            return Err(here(ErrorKind::TypeTruncated));
        }
        let end = pos.saturating_add(len);
        f(TypeId(id), off, kind, pos..end)?;
        pos = end;
        id = id.saturating_add(1);
    }
    Ok(())
}

/// The bytes a [`rebase`] writes: the split blob's length.
#[must_use]
pub fn rebase_len(split: &Btf<'_>) -> usize {
    split.data().len()
}

/// Rewrites `split` so that it follows `onto` instead of its own base:
/// its own type ids then start at `onto.type_count()` and its own string
/// offsets at `onto.str_end()`; references into the base are unchanged.
/// `onto` must be the split's base or a blob split over it (at any depth),
/// as when a module is to follow another module. Writes
/// [`rebase_len`] bytes into `out` and returns that length; parse the
/// result with [`Btf::parse_split`] over `onto`.
///
/// # Errors
/// [`ErrorKind::NotOverBase`] when `onto` does not extend the split's
/// base; [`ErrorKind::BufferTooSmall`] (nothing written); reference and
/// limit errors, checked before anything is written.
pub fn rebase(split: &Btf<'_>, onto: &Btf<'_>, out: &mut [u8], kernel_limits: bool) -> Result<usize, MergeError> {
    let input = Input::Module(0);
    let base = split.base().ok_or(MergeError { input, error: Error::new(ErrorKind::NotOverBase, 0) })?;
    let mut layer = Some(onto);
    let extends = core::iter::from_fn(|| {
        let l = layer?;
        layer = l.base();
        Some(l)
    })
    .any(|l| core::ptr::eq(l.data(), base.data()) && l.start_id() == base.start_id());
    if !extends || onto.endian() != split.endian() || onto.options() != split.options() {
        return Err(MergeError { input, error: Error::new(ErrorKind::NotOverBase, 0) });
    }
    let id_delta = onto.type_count().wrapping_sub(split.start_id().0);
    let str_delta = onto.str_end().wrapping_sub(split.start_str_off().0);
    let (start, own_end) = (split.start_id().0, split.type_count());
    let (str_start, str_end) = (split.start_str_off().0, split.str_end());
    if kernel_limits {
        let types = u64::from(onto.type_count()).saturating_add(u64::from(split.own_type_count()));
        if types > u64::from(raw::BTF_MAX_TYPE) {
            return Err(out_err(ErrorKind::KernelLimitTypes(u32::try_from(types).unwrap_or(u32::MAX))));
        }
        let strs = u64::from(onto.str_end()).saturating_add(u64::from(split.header().str_len));
        if strs > u64::from(raw::BTF_MAX_NAME_OFFSET).saturating_add(1) {
            return Err(out_err(ErrorKind::KernelLimitStrings(u32::try_from(strs).unwrap_or(u32::MAX))));
        }
    }
    let ty = |t: u32| -> Result<u32, Error> {
        match t {
            _ if t < start => Ok(t),
            _ if t < own_end => t.checked_add(id_delta).ok_or(Error::new(ErrorKind::TooManyTypes, 0)),
            _ => Err(Error::new(ErrorKind::TypeIdOutOfRange(t), 0)),
        }
    };
    let st = |s: u32| -> Result<u32, Error> {
        match s {
            _ if s < str_start => Ok(s),
            _ if s < str_end => s.checked_add(str_delta).ok_or(Error::new(ErrorKind::StringOffsetOutOfRange(s), 0)),
            _ => Err(Error::new(ErrorKind::StringOffsetOutOfRange(s), 0)),
        }
    };
    let data = split.data();
    let len = data.len();
    let needed = u32::try_from(len).unwrap_or(u32::MAX);
    let out = out.get_mut(..len).ok_or(out_err(ErrorKind::BufferTooSmall { needed }))?;
    // Check first (on the input), so that a bad reference writes nothing.
    with_endian!(split.endian(), O => {
        check_refs::<O>(split, split.type_count(), split.str_end()).map_err(at(input))?;
        out.copy_from_slice(data);
        let (t0, t1) = type_range(split);
        let types = out.get_mut(t0..t1).unwrap_or_default();
        each_record::<O>(split, |id, off, kind, r| {
            let rec = types.get_mut(r).unwrap_or_default();
            refs::patch::<O, Error>(rec, kind, &ty, &st).map_err(|e| Error::at_type(e.kind(), off, id))
        })
        .map_err(at(input))?;
    });
    Ok(len)
}

/// Byte range of a blob's own type section.
fn type_range(b: &Btf<'_>) -> (usize, usize) {
    let h = b.header();
    let start = h.hdr_len.saturating_add(h.type_off) as usize;
    (start, start.saturating_add(h.type_len as usize))
}

/// Checks that every type id of `m`'s own records is below `ty_end` and
/// every string offset below `str_end`, without writing.
fn check_refs<O: ByteOrder>(m: &Btf<'_>, ty_end: u32, str_end: u32) -> Result<(), Error> {
    let section = m.own_types_section();
    let bounded = |end: u32| move |v: u32| if v < end { Ok(()) } else { Err(v) };
    each_record::<O>(m, |id, off, kind, r| {
        let rec = section.get(r).unwrap_or_default();
        refs::check::<O, u32>(rec, kind, bounded(ty_end), bounded(str_end)).map_err(|v| {
            // Which of the two failed: re-check with the roles apart.
            let bad_type = refs::check::<O, ()>(rec, kind, |t| if t < ty_end { Ok(()) } else { Err(()) }, |_| Ok(()));
            let k =
                if bad_type.is_err() { ErrorKind::TypeIdOutOfRange(v) } else { ErrorKind::StringOffsetOutOfRange(v) };
            Error::at_type(k, off, id)
        })
    })
}

/// A planned merge of one base and N modules: the output's exact size is
/// known, and every input reference has been checked. See the
/// [module docs](self).
#[derive(Debug)]
pub struct Merge<'m, 'a, 's> {
    base: &'m Btf<'a>,
    modules: &'m [Btf<'a>],
    opts: MergeOptions,
    /// Per string ordinal: its global position, then its output offset.
    pairs: &'s [u32],
    /// First ordinal of each module's strings.
    first: &'s [u32],
    slots: &'s mut [u64],
    /// Length of the new strings (module strings stored once).
    new_len: u32,
    len: usize,
}

impl<'m, 'a, 's> Merge<'m, 'a, 's> {
    /// Scratch needed to plan and write this merge.
    ///
    /// # Errors
    /// [`ErrorKind::NotOverBase`] when a module is not split over `base`,
    /// or when a flat merge's base is itself split.
    pub fn scratch_len(base: &Btf<'_>, modules: &[Btf<'_>], opts: &MergeOptions) -> Result<ScratchLen, MergeError> {
        if opts.form == Form::Flat && base.is_split() {
            return Err(MergeError { input: Input::Base, error: Error::new(ErrorKind::NotOverBase, 0) });
        }
        let mut n = if opts.reuse_base_strings { count_strings(base.own_strings()) } else { 0 };
        let mut widest = 0usize;
        for (i, m) in modules.iter().enumerate() {
            check_over(base, m, i)?;
            n = n.saturating_add(count_strings(m.own_strings()));
            widest = widest.max(m.own_strings().len());
        }
        Ok(ScratchLen {
            words: n.saturating_add(modules.len()).saturating_add(1).saturating_mul(2),
            slots: SlotIndex::slots_for(n).max(widest),
        })
    }

    /// Plans the merge: checks every module's references, interns the
    /// module strings, and computes the output's size.
    ///
    /// # Errors
    /// [`ErrorKind::NotOverBase`]; [`ErrorKind::BufferTooSmall`] when the
    /// scratch is shorter than [`Merge::scratch_len`]; reference errors
    /// located in their module ([`ErrorKind::TypeIdOutOfRange`],
    /// [`ErrorKind::StringOffsetOutOfRange`], [`ErrorKind::UnknownKind`]);
    /// [`ErrorKind::KernelLimitTypes`] and
    /// [`ErrorKind::KernelLimitStrings`] under `kernel_limits`.
    pub fn plan(
        base: &'m Btf<'a>,
        modules: &'m [Btf<'a>],
        opts: &MergeOptions,
        words: &'s mut [u32],
        slots: &'s mut [u64],
    ) -> Result<Self, MergeError> {
        if opts.form == Form::Flat && base.is_split() {
            return Err(MergeError { input: Input::Base, error: Error::new(ErrorKind::NotOverBase, 0) });
        }
        // A base string section that does not end in NUL would let its last
        // string run on into the module strings that follow it in the output.
        let bs = base.own_strings();
        if bs.last().is_some_and(|&b| b != 0) {
            let end = base.start_str_off().0.saturating_add(u32::try_from(bs.len()).unwrap_or(u32::MAX));
            return Err(MergeError { input: Input::Base, error: Error::new(ErrorKind::StringNotTerminated(end), 0) });
        }
        let mut widest = 0usize;
        for (i, m) in modules.iter().enumerate() {
            check_over(base, m, i)?;
            widest = widest.max(m.own_strings().len());
        }
        // Scratch that is short is reported with the full requirement
        // (which costs a count of every string, so only then).
        let short = || match Self::scratch_len(base, modules, opts) {
            Ok(need) => out_err(ErrorKind::BufferTooSmall {
                needed: u32::try_from(need.words.max(need.slots)).unwrap_or(u32::MAX),
            }),
            Err(e) => e,
        };
        if slots.len() < widest {
            return Err(short());
        }
        let layers = modules.len().saturating_add(1);
        let (spans, rest) = words.split_at_mut_checked(layers).ok_or_else(short)?;
        let (first, pairs) = rest.split_at_mut_checked(layers).ok_or_else(short)?;

        // Types: ids continue from the base, module after module.
        let mut next = base.type_count();
        for (i, m) in modules.iter().enumerate() {
            with_endian!(m.endian(), O => check_refs::<O>(m, m.type_count(), m.str_end()))
                .map_err(at(Input::Module(i)))?;
            next = next
                .checked_add(m.own_type_count())
                .ok_or(MergeError { input: Input::Module(i), error: Error::new(ErrorKind::TooManyTypes, 0) })?;
        }
        if opts.kernel_limits && next > raw::BTF_MAX_TYPE {
            return Err(out_err(ErrorKind::KernelLimitTypes(next)));
        }

        // Strings: the base's are kept; each module string is interned.
        // Every input string gets an ordinal and a pair of words: its
        // global byte position (the base's section when reused, then each
        // module's, back to back), for comparisons, and its output offset.
        let base_strings = base.own_strings();
        let base_span = if opts.reuse_base_strings { base_strings.len() } else { 0 };
        let mut g = base_span;
        for (i, m) in modules.iter().enumerate() {
            if let Some(s) = spans.get_mut(i) {
                *s = u32::try_from(g).map_err(|_| out_err(ErrorKind::BlobTooLarge))?;
            }
            g = g.saturating_add(m.own_strings().len());
        }
        if let Some(s) = spans.last_mut() {
            *s = u32::try_from(g).map_err(|_| out_err(ErrorKind::BlobTooLarge))?;
        }
        let spans: &[u32] = spans;
        let bytes_at = |gpos: u32| -> &[u8] {
            let g = gpos as usize;
            if g < base_span {
                return base_strings.get(g..).unwrap_or_default();
            }
            let i = spans.partition_point(|&s| s <= gpos).saturating_sub(1);
            let rel = gpos.wrapping_sub(spans.get(i).copied().unwrap_or(0)) as usize;
            modules.get(i).and_then(|m| m.own_strings().get(rel..)).unwrap_or_default()
        };
        let empty_is_zero = base.str_at(crate::StrOffset(0)).is_ok_and(<[u8]>::is_empty);
        let out_start = base.str_end();
        let mut index = SlotIndex::new(slots);
        let ord = core::cell::Cell::new(0usize);
        let mut new_len: u32 = 0;
        let mut failed = false;
        // Interns the string `s` found at global position `gpos`: returns
        // its output offset (`fresh` when it is new).
        let mut intern = |index: &mut SlotIndex<'_>,
                          pairs: &mut [u32],
                          s: &[u8],
                          h: u64,
                          gpos: u32,
                          fresh: &mut dyn FnMut(&[u8]) -> u32| {
            let o = u32::try_from(ord.get()).unwrap_or(u32::MAX);
            let at = ord.get().saturating_mul(2);
            ord.set(ord.get().saturating_add(1));
            let Some([p, _]) = pairs.get_mut(at..at.saturating_add(2)) else {
                failed = true;
                return;
            };
            *p = gpos;
            let out = if s.is_empty() && empty_is_zero {
                0
            } else {
                let view: &[u32] = pairs;
                let eq = |e: u32| {
                    let b = bytes_at(view.get((e as usize).saturating_mul(2)).copied().unwrap_or(u32::MAX));
                    b.get(..s.len()) == Some(s) && b.get(s.len()) == Some(&0)
                };
                match index.find_or_insert(h, eq, o) {
                    Ok(Some(e)) => view.get((e as usize).saturating_mul(2).saturating_add(1)).copied().unwrap_or(0),
                    Ok(None) => fresh(s),
                    Err(()) => {
                        failed = true;
                        0
                    }
                }
            };
            if let Some(q) = pairs.get_mut(at.saturating_add(1)) {
                *q = out;
            }
        };
        if opts.reuse_base_strings {
            for_each_string(base_strings, |off, s| intern(&mut index, pairs, s, str_hash(s), off, &mut |_| off));
        }
        for (i, m) in modules.iter().enumerate() {
            if let Some(f) = first.get_mut(i) {
                *f = u32::try_from(ord.get()).unwrap_or(u32::MAX);
            }
            let g = spans.get(i).copied().unwrap_or(0);
            let section = m.own_strings();
            // In batches: hash a batch and touch its slots first, so that
            // the table's cache misses overlap instead of queueing.
            let mut strings = strings_of(section).peekable();
            while strings.peek().is_some() {
                let mut batch = [(0u32, 0u32, 0u64); 16];
                let mut n = 0usize;
                for (slot, (off, s)) in batch.iter_mut().zip(&mut strings) {
                    let h = str_hash(s);
                    index.touch(h);
                    *slot = (off, u32::try_from(s.len()).unwrap_or(u32::MAX), h);
                    n = n.wrapping_add(1);
                }
                for &(off, len, h) in batch.get(..n).unwrap_or_default() {
                    let s = section.get(off as usize..).and_then(|r| r.get(..len as usize)).unwrap_or_default();
                    intern(&mut index, pairs, s, h, g.saturating_add(off), &mut |s| {
                        let at = out_start.saturating_add(new_len);
                        new_len = new_len.saturating_add(u32::try_from(s.len()).unwrap_or(u32::MAX)).saturating_add(1);
                        at
                    });
                }
            }
        }
        if let Some(f) = first.last_mut() {
            *f = u32::try_from(ord.get()).unwrap_or(u32::MAX);
        }
        if failed {
            return Err(short());
        }
        let str_space = u64::from(out_start).saturating_add(u64::from(new_len));
        if opts.kernel_limits && str_space > u64::from(raw::BTF_MAX_NAME_OFFSET).saturating_add(1) {
            return Err(out_err(ErrorKind::KernelLimitStrings(u32::try_from(str_space).unwrap_or(u32::MAX))));
        }

        let module_types: usize = modules.iter().map(|m| m.own_types_section().len()).fold(0, usize::saturating_add);
        let len = match opts.form {
            Form::Flat => {
                let hdr = if base.layout_section().is_empty() { HEADER_LEN_V1 } else { HEADER_LEN_LAYOUT };
                (hdr as usize)
                    .saturating_add(base.own_types_section().len())
                    .saturating_add(base.layout_section().len())
                    .saturating_add(module_types)
                    .saturating_add(base_strings.len())
                    .saturating_add(new_len as usize)
            }
            Form::Split => (HEADER_LEN_V1 as usize).saturating_add(module_types).saturating_add(new_len as usize),
        };
        if u32::try_from(len).is_err() {
            return Err(out_err(ErrorKind::BlobTooLarge));
        }
        Ok(Merge { base, modules, opts: *opts, pairs, first, slots: index.into_slots(), new_len, len })
    }

    /// Exact size of the output, in bytes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the output is empty (never: there is a header).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Number of types in the output (with `void`, as
    /// [`Btf::type_count`] counts them).
    #[must_use]
    pub fn type_count(&self) -> u32 {
        // The same in both forms: split ids continue from the base.
        let own = self.modules.iter().map(Btf::own_type_count).fold(0u32, u32::saturating_add);
        self.base.type_count().saturating_add(own)
    }

    /// The output's id of type `old` of an input: `None` for the base's
    /// layer index, then modules from 0. Base types keep their ids (in the
    /// split form they stay in the base). `None` when `old` is not a type of
    /// that input or of the base.
    #[must_use]
    pub fn new_id(&self, module: Option<usize>, old: TypeId) -> Option<TypeId> {
        let Some(i) = module else {
            return (old.0 < self.base.type_count()).then_some(old);
        };
        let m = self.modules.get(i)?;
        if old.0 < m.start_id().0 {
            return Some(old);
        }
        if old.0 >= m.type_count() {
            return None;
        }
        let before = self.modules.get(..i)?.iter().map(Btf::own_type_count).fold(0u32, u32::saturating_add);
        old.0.checked_add(before).map(TypeId)
    }

    /// Fills a caller map for module `module`: `map[old]` is the output id
    /// of its type `old`, for every id it can refer to (`0..type_count`,
    /// base ids included, which map to themselves).
    ///
    /// # Errors
    /// [`ErrorKind::BufferTooSmall`] when `map` is shorter than the
    /// module's [`Btf::type_count`]; [`ErrorKind::TypeIdOutOfRange`] for a
    /// module index past the list.
    pub fn fill_id_map(&self, module: usize, map: &mut [u32]) -> Result<(), MergeError> {
        let m = self.modules.get(module).ok_or(out_err(ErrorKind::TypeIdOutOfRange(0)))?;
        let n = m.type_count();
        let map = map.get_mut(..n as usize).ok_or(out_err(ErrorKind::BufferTooSmall { needed: n }))?;
        let before = self
            .modules
            .get(..module)
            .unwrap_or_default()
            .iter()
            .map(Btf::own_type_count)
            .fold(0u32, u32::saturating_add);
        let start = m.start_id().0;
        for (old, slot) in (0u32..).zip(map.iter_mut()) {
            *slot = if old < start { old } else { old.saturating_add(before) };
        }
        Ok(())
    }

    /// Writes the output into the start of `out` and returns its length,
    /// [`Merge::len`]. The plan's scratch is reused, so a plan writes once;
    /// plan again for another copy.
    ///
    /// # Errors
    /// [`ErrorKind::BufferTooSmall`], before anything is written.
    pub fn write(mut self, out: &mut [u8]) -> Result<usize, MergeError> {
        let len = self.len;
        let needed = u32::try_from(len).unwrap_or(u32::MAX);
        let out = out.get_mut(..len).ok_or(out_err(ErrorKind::BufferTooSmall { needed }))?;
        with_endian!(self.base.endian(), O => self.write_in::<O>(out))?;
        Ok(len)
    }

    fn write_in<O: ByteOrder>(&mut self, out: &mut [u8]) -> Result<(), MergeError> {
        let base = self.base;
        let flat = self.opts.form == Form::Flat;
        let module_types: usize =
            self.modules.iter().map(|m| m.own_types_section().len()).fold(0, usize::saturating_add);
        let (hdr_len, base_types, layout, base_strings) = if flat {
            let h = if base.layout_section().is_empty() { HEADER_LEN_V1 } else { HEADER_LEN_LAYOUT };
            (h, base.own_types_section(), base.layout_section(), base.own_strings())
        } else {
            (HEADER_LEN_V1, &[][..], &[][..], &[][..])
        };
        let too_large = || out_err(ErrorKind::BlobTooLarge);
        let type_len = u32::try_from(base_types.len().saturating_add(module_types)).map_err(|_| too_large())?;
        let layout_len = u32::try_from(layout.len()).map_err(|_| too_large())?;
        let str_len =
            u32::try_from(base_strings.len()).ok().and_then(|b| b.checked_add(self.new_len)).ok_or_else(too_large)?;
        let header = Header {
            hdr_len,
            type_len,
            str_off: type_len.checked_add(layout_len).ok_or_else(too_large)?,
            str_len,
            layout_len,
        };
        let (h, rest) = out.split_at_mut_checked(hdr_len as usize).ok_or_else(too_large)?;
        header.write::<O>(h);
        let (t, rest) = rest.split_at_mut_checked(type_len as usize).ok_or_else(too_large)?;
        let (l, s) = rest.split_at_mut_checked(layout.len()).ok_or_else(too_large)?;
        l.copy_from_slice(layout);
        let (sb, snew) = s.split_at_mut_checked(base_strings.len()).ok_or_else(too_large)?;
        sb.copy_from_slice(base_strings);

        let (tb, mut tm) = t.split_at_mut_checked(base_types.len()).ok_or_else(too_large)?;
        tb.copy_from_slice(base_types);
        let out_start = base.str_end();
        let mut written: u32 = 0;
        let mut before: u32 = 0;
        for (i, m) in self.modules.iter().enumerate() {
            let (dst, rest) =
                core::mem::take(&mut tm).split_at_mut_checked(m.own_types_section().len()).ok_or_else(too_large)?;
            tm = rest;
            dst.copy_from_slice(m.own_types_section());
            // This module's string map: section offset -> output offset,
            // at each string's first byte; and its new strings, in order.
            let strings = m.own_strings();
            let first = self.first.get(i).copied().unwrap_or(0) as usize;
            let dense = &mut *self.slots;
            let mut ord = first;
            for_each_string(strings, |off, s| {
                let o = self.pairs.get(ord.saturating_mul(2).saturating_add(1)).copied().unwrap_or(u32::MAX);
                if let Some(d) = dense.get_mut(off as usize) {
                    *d = u64::from(o);
                }
                // New strings were numbered in this order, so a string is the
                // first of its text exactly when its offset is the next one.
                // ("" mapped to the base's offset 0 cannot match: a base
                // with that string has out_start >= 1.)
                if o == out_start.wrapping_add(written) {
                    let w = written as usize;
                    if let Some(d) = snew.get_mut(w..w.saturating_add(s.len())) {
                        d.copy_from_slice(s);
                    }
                    if let Some(z) = snew.get_mut(w.saturating_add(s.len())) {
                        *z = 0;
                    }
                    written = written.saturating_add(s.len() as u32).saturating_add(1);
                }
                ord = ord.saturating_add(1);
            });
            let dense: &[u64] = dense;
            let (start, end) = (m.start_id().0, m.type_count());
            let s_start = m.start_str_off().0;
            let ty = |t: u32| -> Result<u32, Error> {
                if t < start {
                    Ok(t)
                } else if t < end {
                    Ok(t.wrapping_add(before))
                } else {
                    Err(Error::new(ErrorKind::TypeIdOutOfRange(t), 0))
                }
            };
            let st = |s: u32| -> Result<u32, Error> {
                let Some(rel) = s.checked_sub(s_start) else { return Ok(s) };
                // The start of the string `rel` lies in (usually `rel`).
                let head = strings.get(..rel as usize).unwrap_or_default();
                let begin = head.iter().rposition(|&b| b == 0).map_or(0, |p| p.saturating_add(1));
                let mapped = dense.get(begin).copied().unwrap_or(u64::from(u32::MAX));
                u32::try_from(mapped)
                    .ok()
                    .filter(|&v| v != u32::MAX)
                    .and_then(|v| v.checked_add(rel.wrapping_sub(begin as u32)))
                    .ok_or(Error::new(ErrorKind::StringOffsetOutOfRange(s), 0))
            };
            each_record::<O>(m, |id, off, kind, r| {
                let rec = dst.get_mut(r).unwrap_or_default();
                refs::patch::<O, Error>(rec, kind, &ty, &st).map_err(|e| Error::at_type(e.kind(), off, id))
            })
            .map_err(at(Input::Module(i)))?;
            before = before.wrapping_add(m.own_type_count());
        }
        debug_assert_eq!(written, self.new_len);
        Ok(())
    }
}
