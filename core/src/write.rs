//! Writing BTF: a builder for every kind, an interning string table, and a
//! two-phase output: ask for the exact size, then write into a caller
//! buffer.
//!
//! The builder keeps records and strings in storage the caller chooses: a
//! slice ([`SliceStorage`]), a `heapless::Vec`, or a `Vec` under `alloc`.
//! Strings are interned through an index that is also the caller's choice:
//! [`SlotIndex`], an open-addressing table over a caller slice, or
//! `HashIndex` (hashbrown) under `alloc`. Records are stored in the byte
//! order of the output, so [`Builder::write`] is three copies.
//!
//! ```
//! use btfkit::write::{Builder, BuilderOptions, SliceStorage, SlotIndex, StrTable};
//! use btfkit::{Btf, Endian, TypeView};
//!
//! let (mut types, mut strs, mut slots) = ([0u8; 256], [0u8; 64], [0u64; 32]);
//! let strings = StrTable::new(SliceStorage::new(&mut strs), SlotIndex::new(&mut slots))?;
//! let mut b = Builder::new(BuilderOptions::standalone(Endian::Big), SliceStorage::new(&mut types), strings)?;
//! let int = b.add_int("int", 4, btfkit::raw::BTF_INT_SIGNED, 0, 32)?;
//! b.add_struct("point", 8)?;
//! b.add_member("x", int, 0, 0)?;
//! b.add_member("y", int, 32, 0)?;
//!
//! let mut out = [0u8; 128];
//! let n = b.write(&mut out)?; // fails, writing nothing, if `out` is shorter than `b.len()`
//! assert_eq!(n, b.len());
//! let btf = Btf::parse(&out[..n])?;
//! assert_eq!(btf.endian(), Endian::Big);
//! let point = btf.type_by_id(btfkit::TypeId(2))?;
//! assert!(matches!(point.view(), TypeView::Struct(s) if s.members().len() == 2));
//! # Ok::<(), btfkit::Error>(())
//! ```

use zerocopy::byteorder::{ByteOrder, U16, U32};
use zerocopy::{FromBytes, IntoBytes};

use crate::endian::with_endian;
use crate::error::{Error, ErrorKind, Result};
use crate::refs;
use crate::types::{StrOffset, Type, TypeId};
use crate::{Btf, Endian, HEADER_LEN_LAYOUT, HEADER_LEN_V1, Kind, VlenEncoding, raw};

/// Growable byte storage for the builder: all or nothing appends.
pub trait Storage {
    /// The bytes stored so far.
    fn bytes(&self) -> &[u8];
    /// The bytes stored so far, mutably.
    fn bytes_mut(&mut self) -> &mut [u8];
    /// Appends all of `data`, or nothing and `false` when it does not fit.
    fn try_extend(&mut self, data: &[u8]) -> bool;
    /// Shortens the storage to `len` bytes (no-op when already shorter).
    fn truncate(&mut self, len: usize);
}

/// [`Storage`] in a caller slice: no allocation, fixed capacity.
#[derive(Debug)]
pub struct SliceStorage<'s> {
    buf: &'s mut [u8],
    len: usize,
}

impl<'s> SliceStorage<'s> {
    /// Empty storage over `buf`.
    #[must_use]
    pub fn new(buf: &'s mut [u8]) -> Self {
        SliceStorage { buf, len: 0 }
    }
}

impl Storage for SliceStorage<'_> {
    fn bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }
    fn bytes_mut(&mut self) -> &mut [u8] {
        self.buf.get_mut(..self.len).unwrap_or_default()
    }
    fn try_extend(&mut self, data: &[u8]) -> bool {
        let Some(end) = self.len.checked_add(data.len()) else { return false };
        match self.buf.get_mut(self.len..end) {
            Some(dst) => {
                dst.copy_from_slice(data);
                self.len = end;
                true
            }
            None => false,
        }
    }
    fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }
}

impl<const N: usize> Storage for heapless::Vec<u8, N> {
    fn bytes(&self) -> &[u8] {
        self
    }
    fn bytes_mut(&mut self) -> &mut [u8] {
        self
    }
    fn try_extend(&mut self, data: &[u8]) -> bool {
        self.extend_from_slice(data).is_ok()
    }
    fn truncate(&mut self, len: usize) {
        heapless::Vec::truncate(self, len);
    }
}

#[cfg(feature = "alloc")]
impl Storage for alloc::vec::Vec<u8> {
    fn bytes(&self) -> &[u8] {
        self
    }
    fn bytes_mut(&mut self) -> &mut [u8] {
        self
    }
    fn try_extend(&mut self, data: &[u8]) -> bool {
        if self.try_reserve(data.len()).is_err() {
            return false;
        }
        self.extend_from_slice(data);
        true
    }
    fn truncate(&mut self, len: usize) {
        alloc::vec::Vec::truncate(self, len);
    }
}

/// The hash of a string, as the string indexes use it: 8 bytes a step,
/// then a full avalanche, so both the slot bits and the tag bits are good.
#[must_use]
#[inline]
pub fn str_hash(s: &[u8]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut h = (s.len() as u64).wrapping_mul(K);
    let mut chunks = s.chunks_exact(8);
    for c in &mut chunks {
        let w = <[u8; 8]>::try_from(c).map(u64::from_le_bytes).unwrap_or(0);
        h = (h ^ w).wrapping_mul(K).rotate_left(29);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut b = [0u8; 8];
        for (d, s) in b.iter_mut().zip(rest) {
            *d = *s;
        }
        h = (h ^ u64::from_le_bytes(b)).wrapping_mul(K).rotate_left(29);
    }
    // murmur3's fmix64
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// An index of strings by content, for interning. Entries are string
/// offsets; the index never holds the bytes, so the caller's `eq` decides
/// whether an entry's string is the one sought.
pub trait StrIndex {
    /// Returns the entry with hash `h` for which `eq` holds; when there is
    /// none, inserts `new` and returns `Ok(None)`.
    ///
    /// # Errors
    /// `Err(())` when the index is full; nothing is inserted then.
    #[allow(clippy::result_unit_err)]
    fn find_or_insert(&mut self, h: u64, eq: impl FnMut(u32) -> bool, new: u32) -> Result<Option<u32>, ()>;
}

/// An open-addressing [`StrIndex`] over caller storage: one `u64` a slot
/// (a 32-bit hash tag and the offset), linear probing, filled to at most
/// 7/8. Give it at least 8/7 slots per distinct string, a power of two
/// ([`SlotIndex::slots_for`]).
#[derive(Debug)]
pub struct SlotIndex<'s> {
    slots: &'s mut [u64],
    mask: usize,
    used: usize,
    limit: usize,
}

impl<'s> SlotIndex<'s> {
    /// An empty index over `slots` (cleared here). Only the largest
    /// power-of-two prefix of `slots` is used.
    #[must_use]
    pub fn new(slots: &'s mut [u64]) -> Self {
        let n = match slots.len() {
            0 => 0,
            l => 1usize << (usize::BITS.wrapping_sub(1).wrapping_sub(l.leading_zeros())),
        };
        if let Some(used) = slots.get_mut(..n) {
            used.fill(0);
        }
        SlotIndex { slots, mask: n.saturating_sub(1), used: 0, limit: n.saturating_sub(n / 8) }
    }

    /// Loads the first slot `h` probes, so that the cache miss is under way
    /// before [`StrIndex::find_or_insert`] needs it.
    #[inline]
    pub(crate) fn touch(&self, h: u64) {
        core::hint::black_box(self.slots.get((h as usize) & self.mask).copied());
    }

    /// The slots back, for another use.
    pub(crate) fn into_slots(self) -> &'s mut [u64] {
        self.slots
    }

    /// Slots for `n` distinct strings: the power of two at or above
    /// `n * 8 / 7`, at least 8.
    #[must_use]
    pub fn slots_for(n: usize) -> usize {
        n.saturating_add(n / 7).saturating_add(1).max(8).checked_next_power_of_two().unwrap_or(usize::MAX)
    }
}

impl StrIndex for SlotIndex<'_> {
    #[inline]
    fn find_or_insert(&mut self, h: u64, mut eq: impl FnMut(u32) -> bool, new: u32) -> Result<Option<u32>, ()> {
        let tag = h >> 32;
        // Slot i holds (tag << 32 | off + 1); 0 is empty.
        let mut i = (h as usize) & self.mask;
        loop {
            let v = *self.slots.get(i).ok_or(())?;
            if v == 0 {
                break;
            }
            if v >> 32 == tag {
                let off = (v as u32).wrapping_sub(1);
                if eq(off) {
                    return Ok(Some(off));
                }
            }
            i = i.wrapping_add(1) & self.mask;
        }
        if self.used >= self.limit || new == u32::MAX {
            return Err(());
        }
        let slot = self.slots.get_mut(i).ok_or(())?;
        *slot = (tag << 32) | u64::from(new.wrapping_add(1));
        self.used = self.used.wrapping_add(1);
        Ok(None)
    }
}

/// A [`StrIndex`] in a hashbrown table: grows as needed.
#[cfg(feature = "alloc")]
#[derive(Debug, Default)]
pub struct HashIndex {
    table: hashbrown::HashTable<(u64, u32)>,
}

#[cfg(feature = "alloc")]
impl HashIndex {
    /// An empty index with room for `n` strings.
    #[must_use]
    pub fn with_capacity(n: usize) -> Self {
        HashIndex { table: hashbrown::HashTable::with_capacity(n) }
    }
}

#[cfg(feature = "alloc")]
impl StrIndex for HashIndex {
    #[inline]
    fn find_or_insert(&mut self, h: u64, mut eq: impl FnMut(u32) -> bool, new: u32) -> Result<Option<u32>, ()> {
        if let Some(&(_, off)) = self.table.find(h, |&(hh, off)| hh == h && eq(off)) {
            return Ok(Some(off));
        }
        self.table.try_reserve(1, |&(hh, _)| hh).map_err(|_| ())?;
        self.table.insert_unique(h, (h, new), |&(hh, _)| hh);
        Ok(None)
    }
}

/// A string section being built: existing strings kept byte for byte, new
/// ones interned (added once, found again by content).
#[derive(Debug)]
pub struct StrTable<S, I> {
    bytes: S,
    index: I,
    /// Offset of this section's first byte in the string space (the base's
    /// string length for split BTF, else 0).
    start: u32,
    /// Bytes already entered into the index (the index is built lazily).
    indexed: usize,
}

impl<S: Storage, I: StrIndex> StrTable<S, I> {
    /// A standalone string section: `bytes` must be empty; it gets the
    /// leading `""` every base section starts with.
    ///
    /// # Errors
    /// [`ErrorKind::StorageFull`] when `bytes` cannot take one byte, or
    /// is not empty.
    pub fn new(mut bytes: S, index: I) -> Result<Self> {
        if !bytes.bytes().is_empty() || !bytes.try_extend(&[0]) {
            return Err(Error::new(ErrorKind::StorageFull, 0));
        }
        Ok(StrTable { bytes, index, start: 0, indexed: 0 })
    }

    /// The string section of a split blob over `base`: it starts empty,
    /// and its offsets continue from the base's strings. `""` is offset 0
    /// (the base's first string).
    ///
    /// # Errors
    /// [`ErrorKind::StorageFull`] when `bytes` is not empty.
    pub fn new_split(bytes: S, index: I, base: &Btf<'_>) -> Result<Self> {
        if !bytes.bytes().is_empty() {
            return Err(Error::new(ErrorKind::StorageFull, 0));
        }
        Ok(StrTable { bytes, index, start: base.str_end(), indexed: 0 })
    }

    /// A section that starts as a copy of `section`, whose first byte is
    /// at offset `start` (0, or the base's string length): the layout of
    /// an existing blob's strings, kept byte for byte.
    ///
    /// # Errors
    /// [`ErrorKind::StorageFull`] when `bytes` is not empty or too small.
    pub fn from_section(mut bytes: S, index: I, section: &[u8], start: StrOffset) -> Result<Self> {
        if !bytes.bytes().is_empty() || !bytes.try_extend(section) {
            return Err(Error::new(ErrorKind::StorageFull, 0));
        }
        Ok(StrTable { bytes, index, start: start.0, indexed: 0 })
    }

    /// Bytes in the section.
    #[must_use]
    pub fn len(&self) -> usize {
        self.bytes.bytes().len()
    }

    /// Whether the section is empty (possible only for split BTF).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The section's bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.bytes()
    }

    /// Offset in the string space of this section's first byte.
    #[must_use]
    pub fn start(&self) -> StrOffset {
        StrOffset(self.start)
    }

    /// The offset of `s`, added if it is new.
    ///
    /// # Errors
    /// [`ErrorKind::NulInString`] when `s` contains a NUL;
    /// [`ErrorKind::StorageFull`] when the bytes or the index are full;
    /// [`ErrorKind::StringOffsetOutOfRange`] past 4 GiB.
    pub fn add(&mut self, s: &[u8]) -> Result<StrOffset> {
        if s.is_empty() && (self.start != 0 || self.as_bytes().first() == Some(&0)) {
            // Offset 0 is "" in every valid string space.
            return Ok(StrOffset(0));
        }
        if s.contains(&0) {
            return Err(Error::new(ErrorKind::NulInString, 0));
        }
        self.index_existing()?;
        let new = u32::try_from(self.len()).map_err(|_| Error::new(ErrorKind::StorageFull, 0))?;
        let bytes = self.bytes.bytes();
        let found = self
            .index
            .find_or_insert(str_hash(s), |off| string_at(bytes, off) == Some(s), new)
            .map_err(|()| Error::new(ErrorKind::StorageFull, 0))?;
        let rel = match found {
            Some(off) => off,
            None => {
                if !(self.bytes.try_extend(s) && self.bytes.try_extend(&[0])) {
                    // The index now names a string that is not there:
                    // poison nothing, fail loudly; the table is unusable.
                    return Err(Error::new(ErrorKind::StorageFull, 0));
                }
                self.indexed = self.len();
                new
            }
        };
        self.start.checked_add(rel).map(StrOffset).ok_or(Error::new(ErrorKind::StringOffsetOutOfRange(rel), 0))
    }

    /// The string at `off`, when it lies in this section.
    #[must_use]
    pub fn get(&self, off: StrOffset) -> Option<&[u8]> {
        string_at(self.as_bytes(), off.0.checked_sub(self.start)?)
    }

    /// Enters the strings present before the first `add` into the index,
    /// first occurrence first, so that interning finds them.
    fn index_existing(&mut self) -> Result<()> {
        let bytes = self.bytes.bytes();
        let mut pos = self.indexed;
        while let Some(rest) = bytes.get(pos..).filter(|r| !r.is_empty()) {
            let n = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
            let s = rest.get(..n).unwrap_or_default();
            let off = u32::try_from(pos).map_err(|_| Error::new(ErrorKind::StorageFull, 0))?;
            self.index
                .find_or_insert(str_hash(s), |o| string_at(bytes, o) == Some(s), off)
                .map_err(|()| Error::new(ErrorKind::StorageFull, 0))?;
            pos = pos.saturating_add(n).saturating_add(1);
        }
        self.indexed = bytes.len();
        Ok(())
    }
}

/// The NUL-terminated string at `off` of `bytes`.
#[inline]
fn string_at(bytes: &[u8], off: u32) -> Option<&[u8]> {
    let rest = bytes.get(off as usize..)?;
    rest.get(..rest.iter().position(|&b| b == 0)?)
}

/// A name for a record: text to intern, or an offset already in the
/// string space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Name<'n> {
    /// Interned by the builder's [`StrTable`].
    Str(&'n [u8]),
    /// Used as is: an offset of this section or of the base's.
    Off(StrOffset),
}

impl<'n> From<&'n str> for Name<'n> {
    fn from(s: &'n str) -> Self {
        Name::Str(s.as_bytes())
    }
}
impl<'n> From<&'n [u8]> for Name<'n> {
    fn from(s: &'n [u8]) -> Self {
        Name::Str(s)
    }
}
impl<'n, const N: usize> From<&'n [u8; N]> for Name<'n> {
    fn from(s: &'n [u8; N]) -> Self {
        Name::Str(s)
    }
}
impl From<StrOffset> for Name<'_> {
    fn from(o: StrOffset) -> Self {
        Name::Off(o)
    }
}

/// What the builder writes: byte order, vlen encoding, header, numbering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuilderOptions {
    /// Byte order of the output.
    pub endian: Endian,
    /// How `info` splits into kind and vlen.
    pub vlen: VlenEncoding,
    /// 24 ([`HEADER_LEN_V1`]) or 32 ([`HEADER_LEN_LAYOUT`]).
    pub header_len: u32,
    /// Id of the first type: 1 for standalone BTF, the base's
    /// [`Btf::type_count`] for split BTF.
    pub start_id: TypeId,
}

impl BuilderOptions {
    /// Standalone BTF in byte order `endian`, 24-byte header, 16-bit vlen.
    #[must_use]
    pub fn standalone(endian: Endian) -> Self {
        BuilderOptions { endian, vlen: VlenEncoding::Bits16, header_len: HEADER_LEN_V1, start_id: TypeId(1) }
    }

    /// Split BTF over `base`: its byte order and vlen encoding, ids
    /// continuing from it.
    #[must_use]
    pub fn split_of(base: &Btf<'_>) -> Self {
        BuilderOptions {
            endian: base.endian(),
            vlen: base.options().vlen,
            header_len: HEADER_LEN_V1,
            start_id: TypeId(base.type_count()),
        }
    }
}

/// Builds one BTF blob: records go into `T` in the output's byte order,
/// strings into a [`StrTable`]. See the [module docs](self).
///
/// Element methods (`add_member`, `add_param`, ...) append to the record
/// added last, which must be of a matching kind.
#[derive(Debug)]
pub struct Builder<'l, T, S, I> {
    opts: BuilderOptions,
    types: T,
    strings: StrTable<S, I>,
    layout: &'l [u8],
    count: u32,
    /// Offset in `types` and kind of the record elements go to.
    open: Option<(usize, Kind)>,
}

/// A builder over `Vec`s, interning with hashbrown.
#[cfg(feature = "alloc")]
pub type VecBuilder = Builder<'static, alloc::vec::Vec<u8>, alloc::vec::Vec<u8>, HashIndex>;

#[cfg(feature = "alloc")]
impl VecBuilder {
    /// A standalone builder on the heap.
    ///
    /// # Errors
    /// Only on allocation failure.
    pub fn new_vec(opts: BuilderOptions) -> Result<Self> {
        let strings = StrTable::new(alloc::vec::Vec::new(), HashIndex::default())?;
        Builder::new(opts, alloc::vec::Vec::new(), strings)
    }

    /// The output as a `Vec`.
    ///
    /// # Errors
    /// As [`Builder::write`].
    pub fn to_vec(&self) -> Result<alloc::vec::Vec<u8>> {
        let mut out = alloc::vec![0u8; self.len()];
        self.write(&mut out)?;
        Ok(out)
    }
}

impl<'l, T: Storage, S: Storage, I: StrIndex> Builder<'l, T, S, I> {
    /// A builder writing into `types` (which must be empty) and `strings`.
    ///
    /// # Errors
    /// [`ErrorKind::StorageFull`] when `types` is not empty;
    /// [`ErrorKind::HeaderLenTooLarge`] for a header length other than 24
    /// or 32; [`ErrorKind::TypeIdOutOfRange`] for start id 0.
    pub fn new(opts: BuilderOptions, types: T, strings: StrTable<S, I>) -> Result<Self> {
        if !types.bytes().is_empty() {
            return Err(Error::new(ErrorKind::StorageFull, 0));
        }
        if opts.header_len != HEADER_LEN_V1 && opts.header_len != HEADER_LEN_LAYOUT {
            return Err(Error::new(ErrorKind::HeaderLenTooLarge(opts.header_len), 0));
        }
        if opts.start_id.0 == 0 {
            return Err(Error::new(ErrorKind::TypeIdOutOfRange(0), 0));
        }
        Ok(Builder { opts, types, strings, layout: &[], count: 0, open: None })
    }

    /// Adds a layout section (raw entries, already in the output's byte
    /// order) and switches to the 32-byte header.
    ///
    /// # Errors
    /// [`ErrorKind::BadLayoutSection`] when its length is not a multiple of 4.
    pub fn set_layout(&mut self, layout: &'l [u8]) -> Result<()> {
        if !layout.len().is_multiple_of(4) {
            return Err(Error::new(ErrorKind::BadLayoutSection, 0));
        }
        self.layout = layout;
        self.opts.header_len = HEADER_LEN_LAYOUT;
        Ok(())
    }

    /// The string table.
    pub fn strings(&mut self) -> &mut StrTable<S, I> {
        &mut self.strings
    }

    /// Id the next record will get.
    #[must_use]
    pub fn next_id(&self) -> TypeId {
        TypeId(self.opts.start_id.0.saturating_add(self.count))
    }

    /// Records added so far.
    #[must_use]
    pub fn type_count(&self) -> u32 {
        self.count
    }

    /// Exact size of the output, in bytes.
    #[must_use]
    pub fn len(&self) -> usize {
        (self.opts.header_len as usize)
            .saturating_add(self.types.bytes().len())
            .saturating_add(self.layout.len())
            .saturating_add(self.strings.len())
    }

    /// Whether nothing at all would be written (never: there is a header).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        false
    }

    fn name(&mut self, name: Name<'_>) -> Result<u32> {
        match name {
            Name::Str(s) => self.strings.add(s).map(|o| o.0),
            Name::Off(o) => Ok(o.0),
        }
    }

    fn word(&self, v: u32) -> [u8; 4] {
        match self.opts.endian {
            Endian::Little => v.to_le_bytes(),
            Endian::Big => v.to_be_bytes(),
        }
    }

    fn extend_words(&mut self, words: &[u32]) -> Result<()> {
        let mut buf = [0u8; 24];
        let mut n = 0usize;
        for &w in words {
            let b = self.word(w);
            match buf.get_mut(n..n.saturating_add(4)) {
                Some(d) => d.copy_from_slice(&b),
                None => return Err(Error::new(ErrorKind::StorageFull, 0)),
            }
            n = n.saturating_add(4);
        }
        if self.types.try_extend(buf.get(..n).unwrap_or_default()) {
            Ok(())
        } else {
            Err(Error::new(ErrorKind::StorageFull, 0))
        }
    }

    /// Adds a record of any known kind from its parts: the head's words
    /// and the kind's fixed words (no elements; add those with the element
    /// methods). This is the escape hatch for values the typed methods do
    /// not produce, such as unusual INT encodings or tag `kind_flag`s.
    ///
    /// # Errors
    /// [`ErrorKind::UnknownKind`] for a kind this crate cannot size,
    /// [`ErrorKind::BadLayoutSection`] when `fixed` has the wrong length,
    /// [`ErrorKind::TooManyTypes`], and the string table's errors.
    pub fn add_record(
        &mut self,
        kind: Kind,
        name: Name<'_>,
        kflag: bool,
        vlen: u32,
        size_type: u32,
        fixed: &[u32],
    ) -> Result<TypeId> {
        if (fixed.len() as u64).saturating_mul(4) != u64::from(kind.info_size()) {
            return Err(Error::new(ErrorKind::BadLayoutSection, 0));
        }
        let max_vlen = match self.opts.vlen {
            VlenEncoding::Bits16 => raw::BTF_MAX_VLEN,
            VlenEncoding::Bits24 => raw::BTF_MAX_VLEN_24,
        };
        if vlen > max_vlen || (kind.has_elems() && vlen != 0) {
            return Err(Error::new(ErrorKind::VlenOverflow, 0));
        }
        let id = self.next_id();
        if self.count == u32::MAX || id.0 == u32::MAX {
            return Err(Error::new(ErrorKind::TooManyTypes, 0));
        }
        let name = self.name(name)?;
        let at = self.types.bytes().len();
        let info = self.opts.vlen.encode(kind as u8, vlen, kflag);
        let mut words = [name, info, size_type, 0, 0, 0];
        for (d, s) in words.iter_mut().skip(3).zip(fixed) {
            *d = *s;
        }
        self.extend_words(words.get(..fixed.len().saturating_add(3)).unwrap_or_default())?;
        self.count = self.count.wrapping_add(1);
        self.open = kind.has_elems().then_some((at, kind));
        Ok(id)
    }

    /// Fails unless the record elements go to is of one of `kinds`
    /// (checked before a name is interned for the element).
    fn expect_open(&self, kinds: &[Kind]) -> Result<()> {
        match self.open {
            Some((_, k)) if kinds.contains(&k) => Ok(()),
            _ => Err(Error::new(ErrorKind::NoOpenType, 0)),
        }
    }

    /// Appends one element to the open record of one of `kinds`, bumping
    /// its vlen; `kflag` is or-ed into its kind_flag.
    fn add_elem(&mut self, kinds: &[Kind], words: &[u32], kflag: bool) -> Result<()> {
        let (at, kind) = self.open.filter(|(_, k)| kinds.contains(k)).ok_or(Error::new(ErrorKind::NoOpenType, 0))?;
        let endian = self.opts.endian;
        let vlen_enc = self.opts.vlen;
        let info_at = at.saturating_add(4);
        let info_bytes = self.types.bytes().get(info_at..info_at.saturating_add(4)).unwrap_or_default();
        let info = with_endian!(endian, O => U32::<O>::read_from_bytes(info_bytes).map(|v| v.get()).map_err(|_| ()))
            .map_err(|_| Error::new(ErrorKind::NoOpenType, 0))?;
        let (_, vlen, old_kflag) = vlen_enc.decode(info);
        let max_vlen = match vlen_enc {
            VlenEncoding::Bits16 => raw::BTF_MAX_VLEN,
            VlenEncoding::Bits24 => raw::BTF_MAX_VLEN_24,
        };
        if vlen >= max_vlen {
            return Err(Error::new(ErrorKind::VlenOverflow, 0));
        }
        self.extend_words(words)?;
        let new_info = vlen_enc.encode(kind as u8, vlen.wrapping_add(1), old_kflag || kflag);
        let w = self.word(new_info);
        if let Some(d) = self.types.bytes_mut().get_mut(info_at..info_at.saturating_add(4)) {
            d.copy_from_slice(&w);
        }
        Ok(())
    }

    /// `INT`: `encoding` is a set of `raw::BTF_INT_*` flags.
    ///
    /// # Errors
    /// As [`Builder::add_record`].
    pub fn add_int<'n>(
        &mut self,
        name: impl Into<Name<'n>>,
        size: u32,
        encoding: u8,
        bit_offset: u8,
        bits: u8,
    ) -> Result<TypeId> {
        let data = (u32::from(encoding) << 24) | (u32::from(bit_offset) << 16) | u32::from(bits);
        self.add_record(Kind::Int, name.into(), false, 0, size, &[data])
    }

    /// `PTR` to `target`.
    ///
    /// # Errors
    /// As [`Builder::add_record`].
    pub fn add_ptr(&mut self, target: TypeId) -> Result<TypeId> {
        self.add_record(Kind::Ptr, Name::Off(StrOffset(0)), false, 0, target.0, &[])
    }

    /// `ARRAY` of `nelems` `elem`s indexed by `index`.
    ///
    /// # Errors
    /// As [`Builder::add_record`].
    pub fn add_array(&mut self, elem: TypeId, index: TypeId, nelems: u32) -> Result<TypeId> {
        self.add_record(Kind::Array, Name::Off(StrOffset(0)), false, 0, 0, &[elem.0, index.0, nelems])
    }

    /// `STRUCT` of `size` bytes; add its members with [`Builder::add_member`].
    ///
    /// # Errors
    /// As [`Builder::add_record`].
    pub fn add_struct<'n>(&mut self, name: impl Into<Name<'n>>, size: u32) -> Result<TypeId> {
        self.add_record(Kind::Struct, name.into(), false, 0, size, &[])
    }

    /// `UNION` of `size` bytes; add its members with [`Builder::add_member`].
    ///
    /// # Errors
    /// As [`Builder::add_record`].
    pub fn add_union<'n>(&mut self, name: impl Into<Name<'n>>, size: u32) -> Result<TypeId> {
        self.add_record(Kind::Union, name.into(), false, 0, size, &[])
    }

    /// A member of the last STRUCT or UNION, at `bit_offset`. A non-zero
    /// `bitfield_size` sets the record's kind_flag (the bitfield encoding,
    /// which gives the same bytes for the members without one); offsets
    /// then must fit in 24 bits.
    ///
    /// # Errors
    /// [`ErrorKind::NoOpenType`] when the last record is not a STRUCT or
    /// UNION; [`ErrorKind::VlenOverflow`]; the string table's errors.
    pub fn add_member<'n>(
        &mut self,
        name: impl Into<Name<'n>>,
        ty: TypeId,
        bit_offset: u32,
        bitfield_size: u8,
    ) -> Result<()> {
        if bitfield_size != 0 && bit_offset > 0x00ff_ffff {
            return Err(Error::new(ErrorKind::VlenOverflow, 0));
        }
        let offset = (u32::from(bitfield_size) << 24) | bit_offset;
        self.expect_open(&[Kind::Struct, Kind::Union])?;
        let name = self.name(name.into())?;
        self.add_elem(&[Kind::Struct, Kind::Union], &[name, ty.0, offset], bitfield_size != 0)
    }

    /// `ENUM` of `size` bytes (1, 2, 4 or 8); add values with
    /// [`Builder::add_enum_value`].
    ///
    /// # Errors
    /// As [`Builder::add_record`].
    pub fn add_enum<'n>(&mut self, name: impl Into<Name<'n>>, size: u32, signed: bool) -> Result<TypeId> {
        self.add_record(Kind::Enum, name.into(), signed, 0, size, &[])
    }

    /// `ENUM64` of `size` bytes; add values with [`Builder::add_enum_value`].
    ///
    /// # Errors
    /// As [`Builder::add_record`].
    pub fn add_enum64<'n>(&mut self, name: impl Into<Name<'n>>, size: u32, signed: bool) -> Result<TypeId> {
        self.add_record(Kind::Enum64, name.into(), signed, 0, size, &[])
    }

    /// A value of the last ENUM (its low 32 bits) or ENUM64.
    ///
    /// # Errors
    /// [`ErrorKind::NoOpenType`]; [`ErrorKind::VlenOverflow`]; the string
    /// table's errors.
    pub fn add_enum_value<'n>(&mut self, name: impl Into<Name<'n>>, value: i64) -> Result<()> {
        self.expect_open(&[Kind::Enum, Kind::Enum64])?;
        let name = self.name(name.into())?;
        let v = value as u64;
        #[allow(clippy::cast_possible_truncation)]
        let (lo, hi) = (v as u32, (v >> 32) as u32);
        match self.open.map(|(_, k)| k) {
            Some(Kind::Enum64) => self.add_elem(&[Kind::Enum64], &[name, lo, hi], false),
            _ => self.add_elem(&[Kind::Enum], &[name, lo], false),
        }
    }

    /// `FWD` of a struct, or of a union when `union`.
    ///
    /// # Errors
    /// As [`Builder::add_record`].
    pub fn add_fwd<'n>(&mut self, name: impl Into<Name<'n>>, union: bool) -> Result<TypeId> {
        self.add_record(Kind::Fwd, name.into(), union, 0, 0, &[])
    }

    /// `TYPEDEF` of `target`.
    ///
    /// # Errors
    /// As [`Builder::add_record`].
    pub fn add_typedef<'n>(&mut self, name: impl Into<Name<'n>>, target: TypeId) -> Result<TypeId> {
        self.add_record(Kind::Typedef, name.into(), false, 0, target.0, &[])
    }

    /// A modifier (`VOLATILE`, `CONST`, `RESTRICT`) of `target`.
    ///
    /// # Errors
    /// [`ErrorKind::UnknownKind`] for another kind; as [`Builder::add_record`].
    pub fn add_modifier(&mut self, kind: Kind, target: TypeId) -> Result<TypeId> {
        if !matches!(kind, Kind::Volatile | Kind::Const | Kind::Restrict) {
            return Err(Error::new(ErrorKind::UnknownKind(kind as u8), 0));
        }
        self.add_record(kind, Name::Off(StrOffset(0)), false, 0, target.0, &[])
    }

    /// `TYPE_TAG` `value` on `target`.
    ///
    /// # Errors
    /// As [`Builder::add_record`].
    pub fn add_type_tag<'n>(&mut self, value: impl Into<Name<'n>>, target: TypeId) -> Result<TypeId> {
        self.add_record(Kind::TypeTag, value.into(), false, 0, target.0, &[])
    }

    /// `FUNC` with `linkage` (`raw::BTF_FUNC_*`) and prototype `proto`.
    ///
    /// # Errors
    /// As [`Builder::add_record`].
    pub fn add_func<'n>(&mut self, name: impl Into<Name<'n>>, linkage: u32, proto: TypeId) -> Result<TypeId> {
        self.add_record(Kind::Func, name.into(), false, linkage, proto.0, &[])
    }

    /// `FUNC_PROTO` returning `ret`; add parameters with [`Builder::add_param`].
    ///
    /// # Errors
    /// As [`Builder::add_record`].
    pub fn add_func_proto(&mut self, ret: TypeId) -> Result<TypeId> {
        self.add_record(Kind::FuncProto, Name::Off(StrOffset(0)), false, 0, ret.0, &[])
    }

    /// A parameter of the last FUNC_PROTO (`""` and void for `...`).
    ///
    /// # Errors
    /// [`ErrorKind::NoOpenType`]; [`ErrorKind::VlenOverflow`]; the string
    /// table's errors.
    pub fn add_param<'n>(&mut self, name: impl Into<Name<'n>>, ty: TypeId) -> Result<()> {
        self.expect_open(&[Kind::FuncProto])?;
        let name = self.name(name.into())?;
        self.add_elem(&[Kind::FuncProto], &[name, ty.0], false)
    }

    /// `VAR` of type `ty` with `linkage` (`raw::BTF_VAR_*`).
    ///
    /// # Errors
    /// As [`Builder::add_record`].
    pub fn add_var<'n>(&mut self, name: impl Into<Name<'n>>, ty: TypeId, linkage: u32) -> Result<TypeId> {
        self.add_record(Kind::Var, name.into(), false, 0, ty.0, &[linkage])
    }

    /// `DATASEC` of `size` bytes; add entries with [`Builder::add_secinfo`].
    ///
    /// # Errors
    /// As [`Builder::add_record`].
    pub fn add_datasec<'n>(&mut self, name: impl Into<Name<'n>>, size: u32) -> Result<TypeId> {
        self.add_record(Kind::Datasec, name.into(), false, 0, size, &[])
    }

    /// An entry of the last DATASEC.
    ///
    /// # Errors
    /// [`ErrorKind::NoOpenType`]; [`ErrorKind::VlenOverflow`].
    pub fn add_secinfo(&mut self, ty: TypeId, offset: u32, size: u32) -> Result<()> {
        self.add_elem(&[Kind::Datasec], &[ty.0, offset, size], false)
    }

    /// `FLOAT` of `size` bytes.
    ///
    /// # Errors
    /// As [`Builder::add_record`].
    pub fn add_float<'n>(&mut self, name: impl Into<Name<'n>>, size: u32) -> Result<TypeId> {
        self.add_record(Kind::Float, name.into(), false, 0, size, &[])
    }

    /// `DECL_TAG` `value` on `target`, or on its member or parameter
    /// `component` (-1 for the target itself).
    ///
    /// # Errors
    /// As [`Builder::add_record`].
    pub fn add_decl_tag<'n>(&mut self, value: impl Into<Name<'n>>, target: TypeId, component: i32) -> Result<TypeId> {
        self.add_record(Kind::DeclTag, value.into(), false, 0, target.0, &[component as u32])
    }

    /// Copies a parsed record as it is: its name offset, ids and data
    /// unchanged, converted to the output's byte order. With a string table
    /// made by [`StrTable::from_section`] from the same blob, adding every
    /// type of a blob in order writes the blob again, byte for byte.
    ///
    /// A kind this crate does not know is copied only in the same byte
    /// order (its words cannot be told apart) and needs a layout section.
    ///
    /// # Errors
    /// [`ErrorKind::UnknownKind`]; [`ErrorKind::TooManyTypes`];
    /// [`ErrorKind::StorageFull`].
    pub fn add_type(&mut self, ty: &Type<'_>) -> Result<TypeId> {
        self.copy_type(ty, None::<(fn(u32) -> Result<u32>, fn(u32) -> Result<u32>)>)
    }

    /// Copies a parsed record with every type id passed through `map_type`
    /// and every string offset through `map_str` (for example to move it
    /// from one blob into another). A map's error is returned as is.
    ///
    /// # Errors
    /// As [`Builder::add_type`], and the maps' errors; a kind this crate
    /// does not know cannot be remapped ([`ErrorKind::UnknownKind`]).
    pub fn add_type_mapped(
        &mut self,
        ty: &Type<'_>,
        map_type: impl FnMut(u32) -> Result<u32>,
        map_str: impl FnMut(u32) -> Result<u32>,
    ) -> Result<TypeId> {
        self.copy_type(ty, Some((map_type, map_str)))
    }

    fn copy_type(
        &mut self,
        ty: &Type<'_>,
        maps: Option<(impl FnMut(u32) -> Result<u32>, impl FnMut(u32) -> Result<u32>)>,
    ) -> Result<TypeId> {
        let id = self.next_id();
        if self.count == u32::MAX || id.0 == u32::MAX {
            return Err(Error::at_type(ErrorKind::TooManyTypes, ty.offset, ty.id));
        }
        let kind = ty.kind();
        let same_order = ty.endian == self.opts.endian;
        let copyable = kind.is_some() || (same_order && maps.is_none() && self.layout_describes(ty.kind_raw()));
        if !copyable {
            return Err(Error::at_type(ErrorKind::UnknownKind(ty.kind_raw()), ty.offset, ty.id));
        }
        let vlen = ty.vlen();
        // The raw info word when it reads the same under the output's
        // vlen encoding, so that bits no field uses survive the copy;
        // else re-encoded.
        let same = self.opts.vlen.decode(ty.info()) == (ty.kind_raw(), vlen, ty.kind_flag());
        let info = if same { ty.info() } else { self.opts.vlen.encode(ty.kind_raw(), vlen, ty.kind_flag()) };
        let (got_kind, got_vlen, _) = self.opts.vlen.decode(info);
        if got_kind != ty.kind_raw() || got_vlen != vlen {
            return Err(Error::at_type(ErrorKind::VlenOverflow, ty.offset, ty.id));
        }
        let at = self.types.bytes().len();
        self.extend_words(&[ty.name_off, info, ty.size_type])?;
        if !self.types.try_extend(ty.trailing()) {
            self.types.truncate(at);
            return Err(Error::new(ErrorKind::StorageFull, 0));
        }
        let endian = self.opts.endian;
        let rec = self.types.bytes_mut().get_mut(at..).unwrap_or_default();
        if !same_order {
            // The head was written in the output's order; swap the rest,
            // which is all 4-byte words for every known kind.
            for w in rec.get_mut(12..).unwrap_or_default().chunks_exact_mut(4) {
                w.reverse();
            }
        }
        if let (Some(kind), Some((mut map_type, mut map_str))) = (kind, maps) {
            let remapped = with_endian!(endian, O => refs::patch::<O, Error>(rec, kind, &mut map_type, &mut map_str));
            if let Err(e) = remapped {
                self.types.truncate(at);
                return Err(e.or_type(ty.id));
            }
        }
        self.count = self.count.wrapping_add(1);
        self.open = kind.filter(|k| k.has_elems()).map(|k| (at, k));
        Ok(id)
    }

    fn layout_describes(&self, kind: u8) -> bool {
        let at = usize::from(kind).saturating_mul(4);
        self.layout.get(at..at.saturating_add(4)).is_some()
    }

    /// Writes the blob into the start of `out`: header, types, the layout
    /// section when there is one, strings. Returns the bytes written,
    /// [`Builder::len`].
    ///
    /// # Errors
    /// [`ErrorKind::BufferTooSmall`] with the size needed, before anything
    /// is written; [`ErrorKind::BlobTooLarge`] when a section passes 4 GiB.
    pub fn write(&self, out: &mut [u8]) -> Result<usize> {
        let len = self.len();
        let needed = u32::try_from(len).map_err(|_| Error::new(ErrorKind::BlobTooLarge, 0))?;
        let out = out.get_mut(..len).ok_or(Error::new(ErrorKind::BufferTooSmall { needed }, 0))?;
        let too_large = || Error::new(ErrorKind::BlobTooLarge, 0);
        let type_len = u32::try_from(self.types.bytes().len()).map_err(|_| too_large())?;
        let layout_len = u32::try_from(self.layout.len()).map_err(|_| too_large())?;
        let str_len = u32::try_from(self.strings.len()).map_err(|_| too_large())?;
        let str_off = type_len.checked_add(layout_len).ok_or_else(too_large)?;
        let head = Header { hdr_len: self.opts.header_len, type_len, str_off, str_len, layout_len };
        let (h, rest) = out.split_at_mut_checked(self.opts.header_len as usize).ok_or_else(too_large)?;
        with_endian!(self.opts.endian, O => head.write::<O>(h));
        let (t, rest) = rest.split_at_mut_checked(self.types.bytes().len()).ok_or_else(too_large)?;
        t.copy_from_slice(self.types.bytes());
        let (l, s) = rest.split_at_mut_checked(self.layout.len()).ok_or_else(too_large)?;
        l.copy_from_slice(self.layout);
        s.copy_from_slice(self.strings.as_bytes());
        Ok(len)
    }
}

/// The header fields a writer chooses; the rest are fixed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Header {
    pub hdr_len: u32,
    pub type_len: u32,
    /// Relative to the end of the header.
    pub str_off: u32,
    pub str_len: u32,
    /// The layout section, when non-empty, sits right after the types.
    pub layout_len: u32,
}

impl Header {
    /// Writes the header (24 or 32 bytes, as `hdr_len` says) into `h`,
    /// which must be exactly that long.
    pub(crate) fn write<O: ByteOrder>(&self, h: &mut [u8]) {
        let v1 = raw::btf_header::<O> {
            magic: U16::new(raw::BTF_MAGIC),
            version: raw::BTF_VERSION,
            flags: 0,
            hdr_len: U32::new(self.hdr_len),
            type_off: U32::new(0),
            type_len: U32::new(self.type_len),
            str_off: U32::new(self.str_off),
            str_len: U32::new(self.str_len),
        };
        if self.hdr_len == HEADER_LEN_LAYOUT {
            let layout_off = if self.layout_len == 0 { 0 } else { self.type_len };
            let full = raw::btf_header_layout::<O> {
                base: v1,
                layout_off: U32::new(layout_off),
                layout_len: U32::new(self.layout_len),
            };
            if let Some(d) = h.get_mut(..32) {
                d.copy_from_slice(full.as_bytes());
            }
        } else if let Some(d) = h.get_mut(..24) {
            d.copy_from_slice(v1.as_bytes());
        }
    }
}
