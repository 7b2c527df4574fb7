//! [`Btf`]: a parsed blob, standalone or split over a borrowed base.

use zerocopy::FromBytes;

use crate::endian::with_endian;
use crate::error::{Error, ErrorKind, Result};
use crate::header::{Header, Sections};
use crate::log::btf_debug;
use crate::types::{StrOffset, Type, TypeId};
use crate::{Endian, Kind, VlenEncoding, raw};

/// (info size, element size) per kind number; `u8::MAX` marks a kind
/// that is not in the table. Derived from [`Kind`], the single source.
// Evaluated at compile time: an out-of-range index here fails the build,
// it cannot panic at run time.
#[allow(clippy::indexing_slicing, clippy::cast_possible_truncation, clippy::arithmetic_side_effects)]
pub(crate) const KIND_SIZES: [(u8, u8); 20] = {
    let mut t = [(u8::MAX, 0u8); 20];
    let mut i = 0u8;
    while i < 20 {
        if let Some(k) = Kind::from_u8(i) {
            t[i as usize] = (k.info_size() as u8, k.elem_size() as u8);
        }
        i += 1;
    }
    t
};

/// Options for [`Btf::parse_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct ParseOptions {
    /// How `info` splits into vlen and kind. A blob cannot tell; the caller
    /// chooses (16 bits for every kernel up to 7.1).
    pub vlen: VlenEncoding,
}

impl ParseOptions {
    /// Options with the given vlen encoding.
    #[must_use]
    pub const fn with_vlen(vlen: VlenEncoding) -> Self {
        ParseOptions { vlen }
    }
}

/// A parsed BTF blob over borrowed bytes, optionally split over a borrowed
/// base.
///
/// Parsing checks the structure that reading relies on: the header, that
/// every section lies inside the blob, and that the type section is tiled
/// exactly by records of known (or layout-described) kinds. It reads every
/// record head once and allocates nothing. Semantic rules are the
/// validator's.
///
/// A split blob's ids continue after its base's (void included) and its
/// string offsets continue after the base's string section; lookups below
/// those thresholds go to the base, which is never copied or changed.
#[derive(Debug, Clone, Copy)]
pub struct Btf<'a> {
    data: &'a [u8],
    header: Header,
    sections: Sections,
    base: Option<&'a Btf<'a>>,
    start_id: u32,
    nr_types: u32,
    start_str_off: u32,
    opts: ParseOptions,
    index: Option<&'a [u32]>,
}

impl<'a> Btf<'a> {
    /// Parses a standalone blob with the default options.
    ///
    /// # Errors
    /// Any structural problem, located by byte offset and type id.
    pub fn parse(data: &'a [u8]) -> Result<Self> {
        Self::parse_with(data, None, ParseOptions::default())
    }

    /// Parses a split blob over `base`.
    ///
    /// # Errors
    /// As [`Btf::parse`], and [`ErrorKind::EndianMismatch`] when the byte
    /// orders differ.
    pub fn parse_split(data: &'a [u8], base: &'a Btf<'a>) -> Result<Self> {
        Self::parse_with(data, Some(base), base.opts)
    }

    /// Parses a blob, split over `base` when given.
    ///
    /// # Errors
    /// As [`Btf::parse_split`].
    pub fn parse_with(data: &'a [u8], base: Option<&'a Btf<'a>>, opts: ParseOptions) -> Result<Self> {
        let mut btf = Self::unwalked(data, base, opts)?;
        btf.nr_types = btf.count_types()?;
        btf_debug!("parsed BTF: {} types from id {}", btf.nr_types, btf.start_id);
        Ok(btf)
    }

    /// Slots of storage [`Btf::parse_indexed`] may need for `data`: an
    /// upper bound from the header alone (every record is at least 12
    /// bytes).
    #[must_use]
    pub fn index_len_bound(data: &[u8]) -> usize {
        Header::parse(data).map_or(0, |h| (h.type_len / 12) as usize)
    }

    /// Parses a blob and builds its id index in the same walk over the
    /// records (one walk instead of [`Btf::parse_with`]'s and
    /// [`Btf::build_index`]'s two).
    ///
    /// `storage` needs [`Btf::index_len_bound`] slots; the index uses the
    /// first [`Btf::index_len`] of them.
    ///
    /// # Errors
    /// As [`Btf::parse_split`]; [`ErrorKind::BufferTooSmall`] (with the
    /// slots needed) when the blob has more types than `storage` slots.
    pub fn parse_indexed(
        data: &'a [u8],
        base: Option<&'a Btf<'a>>,
        opts: ParseOptions,
        storage: &'a mut [u32],
    ) -> Result<Self> {
        let mut btf = Self::unwalked(data, base, opts)?;
        let mut n: u32 = 0;
        let mut slots = storage.iter_mut();
        btf.walk(|off| {
            if let Some(slot) = slots.next() {
                *slot = off;
            }
            n = n.wrapping_add(1);
        })?;
        btf.nr_types = n;
        let offsets = storage.get(..n as usize).ok_or(Error::new(ErrorKind::BufferTooSmall { needed: n }, 0))?;
        btf.index = Some(offsets);
        btf_debug!("parsed and indexed BTF: {} types from id {}", n, btf.start_id);
        Ok(btf)
    }

    /// Reopens a blob that [`Btf::parse_indexed`] (or [`Btf::parse_with`]
    /// and [`Btf::build_index`]) has walked, from that walk's index,
    /// without walking it again: O(1), where a parse is O(types). For
    /// callers that keep the bytes and the index and make the view again
    /// at each use, since a view borrows the bytes and so cannot be kept
    /// beside them (a cache of loaded modules).
    ///
    /// `offsets` must be the index of these bytes over this base. Its ends
    /// and length are checked (it starts the type section, its last record
    /// ends it, and it is no longer than the section and the id space
    /// allow); an index of other bytes that passes gives wrong lookups,
    /// never a panic or a read out of bounds.
    ///
    /// # Errors
    /// As [`Btf::parse_split`] for the header; [`ErrorKind::IndexMismatch`]
    /// when the index does not fit the type section.
    pub fn reopen_indexed(
        data: &'a [u8],
        base: Option<&'a Btf<'a>>,
        opts: ParseOptions,
        offsets: &'a [u32],
    ) -> Result<Self> {
        let mut btf = Self::unwalked(data, base, opts)?;
        let (start, end) = btf.sections.types;
        // As many types as the section holds, and ids that the walk would
        // not have refused (TooManyTypes).
        let fits = offsets.len() <= Self::index_len_bound(data)
            && (offsets.len() as u64) < u64::from(u32::MAX.wrapping_sub(btf.start_id))
            && match (offsets.first(), offsets.last()) {
                (Some(&first), Some(&last)) => {
                    first == start
                        && with_endian!(btf.header.endian, O => btf.record_len::<O>(last, end))
                            .is_ok_and(|len| u64::from(last).wrapping_add(u64::from(len)) == u64::from(end))
                }
                _ => start == end,
            };
        let n = u32::try_from(offsets.len()).ok().filter(|_| fits).ok_or(Error::new(ErrorKind::IndexMismatch, 0))?;
        btf.nr_types = n;
        btf.index = Some(offsets);
        Ok(btf)
    }

    /// The header, its sections and the numbering after `base`, with no
    /// type counted yet: what both parses start from.
    fn unwalked(data: &'a [u8], base: Option<&'a Btf<'a>>, opts: ParseOptions) -> Result<Self> {
        let len = u32::try_from(data.len()).map_err(|_| Error::new(ErrorKind::BlobTooLarge, 0))?;
        let header = Header::parse(data)?;
        let sections = header.sections(len)?;
        let (start_id, start_str_off) = match base {
            None => (1, 0),
            Some(b) => {
                if b.header.endian != header.endian {
                    return Err(Error::new(ErrorKind::EndianMismatch, 0));
                }
                (b.type_count(), b.str_end())
            }
        };
        Ok(Btf { data, header, sections, base, start_id, nr_types: 0, start_str_off, opts, index: None })
    }

    /// One pass over the record heads: checks the tiling and counts.
    fn count_types(&self) -> Result<u32> {
        let mut n: u32 = 0;
        self.walk(|_| n = n.wrapping_add(1))?;
        Ok(n)
    }

    /// Walks the record heads of the type section in order, calling `f`
    /// with each record's absolute offset. Checks that every record is
    /// inside the section, that its kind can be sized, and that the records
    /// tile the section exactly. This is the hot loop of parsing and
    /// indexing, so it is monomorphized per byte order and keeps the
    /// common case (a known kind) free of calls.
    #[inline]
    pub(crate) fn walk(&self, mut f: impl FnMut(u32)) -> Result<()> {
        let (start, end) = self.sections.types;
        let section = self.own_types_section();
        let max_types = u32::MAX.wrapping_sub(self.start_id);
        with_endian!(self.header.endian, O => {
            let mut pos: usize = 0;
            let mut n: u32 = 0;
            while let Some(rest) = section.get(pos..).filter(|r| !r.is_empty()) {
                // pos < section.len() <= u32::MAX, so the absolute offset fits.
                let off = start.wrapping_add(pos as u32);
                let id = TypeId(self.start_id.wrapping_add(n));
                let (head, _) = raw::btf_type::<O>::ref_from_prefix(rest)
                    .map_err(|_| Error::at_type(ErrorKind::TypeTruncated, off, id))?;
                let (kind, vlen, _) = self.opts.vlen.decode(head.info.get());
                let (info_sz, elem_sz) =
                    self.kind_sizes(kind).ok_or(Error::at_type(ErrorKind::UnknownKind(kind), off, id))?;
                // 12 + u8 + u32 * u8 cannot wrap a u64.
                let len = 12u64
                    .wrapping_add(u64::from(info_sz))
                    .wrapping_add(u64::from(vlen).wrapping_mul(u64::from(elem_sz)));
                if len > rest.len() as u64 {
                    return Err(Error::at_type(ErrorKind::TypeTruncated, off, id));
                }
                if n >= max_types {
                    return Err(Error::at_type(ErrorKind::TooManyTypes, off, id));
                }
                f(off);
                n = n.wrapping_add(1);
                // len <= rest.len(), so pos stays within the section.
                pos = pos.wrapping_add(len as usize);
            }
            debug_assert_eq!(start.wrapping_add(pos as u32), end);
            Ok(())
        })
    }

    /// Length of the record at absolute offset `off`, which must end by `end`.
    #[inline]
    fn record_len<O: zerocopy::byteorder::ByteOrder>(&self, off: u32, end: u32) -> Result<u32> {
        let head = self
            .data
            .get(off as usize..end as usize)
            .and_then(|b| raw::btf_type::<O>::ref_from_prefix(b).ok())
            .map(|(h, _)| h)
            .ok_or(Error::new(ErrorKind::TypeTruncated, off))?;
        let (kind, vlen, _) = self.opts.vlen.decode(head.info.get());
        let (info_sz, elem_sz) = self.kind_sizes(kind).ok_or(Error::new(ErrorKind::UnknownKind(kind), off))?;
        // Every term comes from a u32 (or u8), so the u64 sums cannot wrap.
        let len = 12u64.wrapping_add(u64::from(info_sz)).wrapping_add(u64::from(vlen).wrapping_mul(u64::from(elem_sz)));
        if u64::from(off).wrapping_add(len) > u64::from(end) {
            return Err(Error::new(ErrorKind::TypeTruncated, off));
        }
        Ok(u32::try_from(len).unwrap_or(u32::MAX))
    }

    /// (info size, element size) of a kind: from the kind table, else from
    /// a layout section.
    #[inline]
    fn kind_sizes(&self, kind: u8) -> Option<(u32, u32)> {
        match KIND_SIZES.get(usize::from(kind)) {
            Some(&(i, e)) if i != u8::MAX => Some((u32::from(i), u32::from(e))),
            _ => self.layout_sizes(kind),
        }
    }

    /// Sizes of a kind this crate does not know, from the layout section of
    /// this blob or else of the nearest base that has one.
    #[cold]
    fn layout_sizes(&self, kind: u8) -> Option<(u32, u32)> {
        let (start, end) = self.sections.layout;
        if start < end {
            let at = u32::from(kind).checked_mul(4)?.checked_add(start)?;
            let entry = self.data.get(at as usize..end as usize)?;
            let (l, _) = with_endian!(self.header.endian, O => {
                raw::btf_layout::<O>::ref_from_prefix(entry).ok().map(|(l, r)| ((l.info_sz, l.elem_sz), r))
            })?;
            return Some((u32::from(l.0), u32::from(l.1)));
        }
        self.base.and_then(|b| b.layout_sizes(kind))
    }

    /// The header.
    #[must_use]
    pub fn header(&self) -> &Header {
        &self.header
    }
    /// The byte order.
    #[must_use]
    pub fn endian(&self) -> Endian {
        self.header.endian
    }
    /// The whole blob.
    #[must_use]
    pub fn data(&self) -> &'a [u8] {
        self.data
    }
    /// The options it was parsed with.
    #[must_use]
    pub fn options(&self) -> ParseOptions {
        self.opts
    }
    /// The base, for a split blob.
    #[must_use]
    pub fn base(&self) -> Option<&'a Btf<'a>> {
        self.base
    }
    /// Whether this blob is split over a base.
    #[must_use]
    pub fn is_split(&self) -> bool {
        self.base.is_some()
    }
    /// The first id of this blob's own types (1 for a standalone blob).
    #[must_use]
    pub fn start_id(&self) -> TypeId {
        TypeId(self.start_id)
    }
    /// Number of this blob's own types.
    #[must_use]
    pub fn own_type_count(&self) -> u32 {
        self.nr_types
    }
    /// Number of ids in this blob and its bases, void included: one more
    /// than the last id (libbpf's `btf__type_cnt`).
    #[must_use]
    pub fn type_count(&self) -> u32 {
        // parse_with checked that this cannot overflow.
        self.start_id.saturating_add(self.nr_types)
    }
    /// The first string offset that belongs to this blob.
    #[must_use]
    pub fn start_str_off(&self) -> StrOffset {
        StrOffset(self.start_str_off)
    }
    /// The string offset just past this blob's strings: where the strings
    /// of a split blob over this one start.
    #[must_use]
    pub fn str_end(&self) -> u32 {
        self.start_str_off.saturating_add(self.header.str_len)
    }
    /// This blob's own string section.
    #[must_use]
    pub fn own_strings(&self) -> &'a [u8] {
        self.data.get(self.sections.strings.0 as usize..self.sections.strings.1 as usize).unwrap_or(&[])
    }
    /// This blob's own type section.
    #[must_use]
    pub fn own_types_section(&self) -> &'a [u8] {
        self.data.get(self.sections.types.0 as usize..self.sections.types.1 as usize).unwrap_or(&[])
    }
    /// This blob's layout section (empty when absent).
    #[must_use]
    pub fn layout_section(&self) -> &'a [u8] {
        self.data.get(self.sections.layout.0 as usize..self.sections.layout.1 as usize).unwrap_or(&[])
    }

    /// The NUL-terminated string at `off` (without the NUL), from this blob
    /// or its bases.
    ///
    /// Names are bytes: BTF does not promise UTF-8. See [`crate::DisplayName`].
    ///
    /// # Errors
    /// [`ErrorKind::StringOffsetOutOfRange`] or
    /// [`ErrorKind::StringNotTerminated`], located at the string section.
    pub fn str_at(&self, off: StrOffset) -> Result<&'a [u8]> {
        if let (true, Some(b)) = (off.0 < self.start_str_off, self.base) {
            return b.str_at(off);
        }
        let tail = self.str_tail(off)?;
        match tail.iter().position(|&b| b == 0) {
            Some(n) => Ok(tail.get(..n).unwrap_or(&[])),
            None => {
                // off >= start_str_off here: locate the string in our section.
                let at = self.sections.strings.0.saturating_add(off.0.wrapping_sub(self.start_str_off));
                Err(Error::new(ErrorKind::StringNotTerminated(off.0), at))
            }
        }
    }

    /// The bytes from string offset `off` to the end of its string section
    /// (the string and whatever follows), from this blob or its bases.
    pub(crate) fn str_tail(&self, off: StrOffset) -> Result<&'a [u8]> {
        if off.0 < self.start_str_off {
            return match self.base {
                Some(b) => b.str_tail(off),
                None => Err(Error::new(ErrorKind::StringOffsetOutOfRange(off.0), self.sections.strings.0)),
            };
        }
        let rel = off.0.wrapping_sub(self.start_str_off); // off >= start_str_off here
        self.own_strings()
            .get(rel as usize..)
            .filter(|t| !t.is_empty())
            .ok_or(Error::new(ErrorKind::StringOffsetOutOfRange(off.0), self.sections.strings.0))
    }

    /// The name of a type of this blob or its bases.
    ///
    /// # Errors
    /// As [`Btf::str_at`], located at the type's record.
    pub fn name(&self, ty: &Type<'_>) -> Result<&'a [u8]> {
        self.str_at(ty.name_off()).map_err(|e| Error::at_type(e.kind(), ty.offset, ty.id))
    }

    /// Iterates over this blob's own types in id order. Needs no index and
    /// allocates nothing; stops after the first error.
    #[must_use]
    pub fn types(&self) -> Types<'a> {
        Types { btf: *self, off: self.sections.types.0, next_id: self.start_id, failed: false }
    }

    /// Decodes the record at absolute offset `off`, which is type `id`.
    fn type_at(&self, off: u32, id: TypeId) -> Result<(Type<'a>, u32)> {
        let end = self.sections.types.1;
        if off < self.sections.types.0 {
            return Err(Error::at_type(ErrorKind::TypeTruncated, off, id));
        }
        with_endian!(self.header.endian, O => {
            let len = self.record_len::<O>(off, end).map_err(|e| e.or_type(id))?;
            let rec = self
                .data
                .get(off as usize..(off as usize).saturating_add(len as usize))
                .ok_or(Error::at_type(ErrorKind::TypeTruncated, off, id))?;
            let (head, trailing) =
                raw::btf_type::<O>::ref_from_prefix(rec).map_err(|_| Error::at_type(ErrorKind::TypeTruncated, off, id))?;
            let ty = Type::from_head(head, id, off, self.header.endian, self.opts.vlen, trailing);
            Ok((ty, len))
        })
    }

    /// Number of `u32` slots [`Btf::build_index`] needs: one per own type.
    #[must_use]
    pub fn index_len(&self) -> usize {
        self.nr_types as usize
    }

    /// Fills caller storage with the id → record offset index of this
    /// blob's own types (4 bytes per type).
    ///
    /// # Errors
    /// [`ErrorKind::BufferTooSmall`] (with the slots needed) when `storage`
    /// is shorter than [`Btf::index_len`]; nothing is written then.
    pub fn build_index<'s>(&self, storage: &'s mut [u32]) -> Result<IdIndex<'s>> {
        let storage = storage
            .get_mut(..self.index_len())
            .ok_or(Error::new(ErrorKind::BufferTooSmall { needed: self.nr_types }, 0))?;
        let mut slots = storage.iter_mut();
        self.walk(|off| {
            if let Some(slot) = slots.next() {
                *slot = off;
            }
        })?;
        Ok(IdIndex { offsets: storage, owner: self.fingerprint() })
    }

    /// Returns this view with `index` attached, so that
    /// [`Btf::type_by_id`] is O(1).
    ///
    /// # Errors
    /// [`ErrorKind::IndexMismatch`] when the index was built for another blob.
    pub fn with_index(mut self, index: IdIndex<'a>) -> Result<Self> {
        if index.owner != self.fingerprint() || index.offsets.len() != self.index_len() {
            return Err(Error::new(ErrorKind::IndexMismatch, 0));
        }
        self.index = Some(index.offsets);
        Ok(self)
    }

    /// Identifies this blob (its address, length and first id) so that an
    /// index cannot be attached to another one.
    fn fingerprint(&self) -> (usize, usize, u32) {
        (self.data.as_ptr() as usize, self.data.len(), self.start_id)
    }

    /// The u32 at absolute offset `off` in the blob's byte order (0 past
    /// the end); used on offsets the walker produced.
    pub(crate) fn u32_at(&self, off: u32) -> u32 {
        let b: [u8; 4] = self
            .data
            .get(off as usize..(off as usize).saturating_add(4))
            .and_then(|b| b.try_into().ok())
            .unwrap_or([0; 4]);
        match self.header.endian {
            Endian::Little => u32::from_le_bytes(b),
            Endian::Big => u32::from_be_bytes(b),
        }
    }

    /// Whether an id index is attached.
    #[must_use]
    pub fn has_index(&self) -> bool {
        self.index.is_some()
    }

    /// The type with this id, from this blob or its bases.
    ///
    /// O(1) on every layer that has an index attached
    /// ([`Btf::with_index`]); a layer without one is scanned.
    ///
    /// # Errors
    /// [`ErrorKind::TypeIdOutOfRange`] for void (0, which has no record) and
    /// for ids past [`Btf::type_count`].
    pub fn type_by_id(&self, id: TypeId) -> Result<Type<'a>> {
        if id.0 < self.start_id {
            return match self.base {
                Some(b) if id.0 != 0 => b.type_by_id(id),
                _ => Err(Error::new(ErrorKind::TypeIdOutOfRange(id.0), 0)),
            };
        }
        let rel = id.0.wrapping_sub(self.start_id); // id >= start_id here
        if rel >= self.nr_types {
            return Err(Error::new(ErrorKind::TypeIdOutOfRange(id.0), 0));
        }
        match self.index {
            Some(ix) => {
                let off = *ix.get(rel as usize).ok_or(Error::new(ErrorKind::TypeIdOutOfRange(id.0), 0))?;
                self.type_at(off, id).map(|(t, _)| t)
            }
            None => self.types().nth(rel as usize).unwrap_or(Err(Error::new(ErrorKind::TypeIdOutOfRange(id.0), 0))),
        }
    }

    /// Builds the id index in a `Vec`.
    ///
    /// # Errors
    /// As [`Btf::build_index`].
    #[cfg(feature = "alloc")]
    pub fn build_index_vec(&self) -> Result<alloc::vec::Vec<u32>> {
        let mut v = alloc::vec![0u32; self.index_len()];
        self.build_index(&mut v)?;
        Ok(v)
    }
}

/// An id → record offset index over caller storage, built by
/// [`Btf::build_index`].
#[derive(Debug)]
pub struct IdIndex<'s> {
    offsets: &'s [u32],
    owner: (usize, usize, u32),
}

impl<'s> IdIndex<'s> {
    /// Re-wraps storage previously filled by [`Btf::build_index`] for `btf`,
    /// for example an owned `Vec` from `build_index_vec`.
    ///
    /// The offsets are re-checked lazily: a wrong entry yields an error from
    /// [`Btf::type_by_id`], never a panic.
    #[must_use]
    pub fn from_built(btf: &Btf<'_>, offsets: &'s [u32]) -> Self {
        IdIndex { offsets, owner: btf.fingerprint() }
    }
}

/// Iterator over a blob's own types; see [`Btf::types`].
#[derive(Debug, Clone)]
pub struct Types<'a> {
    btf: Btf<'a>,
    off: u32,
    next_id: u32,
    failed: bool,
}

impl<'a> Iterator for Types<'a> {
    type Item = Result<Type<'a>>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.off >= self.btf.sections.types.1 {
            return None;
        }
        let id = TypeId(self.next_id);
        match self.btf.type_at(self.off, id) {
            Ok((t, len)) => {
                self.off = self.off.saturating_add(len);
                self.next_id = self.next_id.saturating_add(1);
                Some(Ok(t))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.btf.type_count().saturating_sub(self.next_id) as usize;
        if self.failed { (0, Some(0)) } else { (left, Some(left)) }
    }
}
