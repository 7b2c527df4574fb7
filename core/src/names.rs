//! Lookups by name: a per-layer index in caller storage.
//!
//! The index holds one `u64` per named type: the 32-bit hash of the type's
//! *essential* name (its name without a `___flavor` suffix, as CO-RE
//! matches it) above its 32-bit id, sorted. A lookup binary-searches the
//! hash and checks each candidate against the real name, so collisions cost
//! a comparison, never a wrong answer. Building it reads each name once and
//! allocates nothing (8 bytes a named type, in storage the caller gives).

use crate::error::{Error, ErrorKind, Result};
use crate::swar::{L, zero_bytes};
use crate::types::{Type, TypeId};
use crate::{Btf, Kind};

/// A name's essential part, as CO-RE matches names: the name up to the
/// last `X___Y` separator whose X and Y are not underscores
/// (`task_struct___old` → `task_struct`; `a____b` and `a___` stay whole).
#[must_use]
pub fn essential(name: &[u8]) -> &[u8] {
    let n = name.len();
    let mut i = n.saturating_sub(5);
    loop {
        if let Some(&[x, b'_', b'_', b'_', y]) =
            name.get(i..i.saturating_add(5)).and_then(|w| <&[u8; 5]>::try_from(w).ok())
            && x != b'_'
            && y != b'_'
        {
            return name.get(..i.saturating_add(1)).unwrap_or(name);
        }
        if i == 0 {
            return name;
        }
        i = i.saturating_sub(1);
    }
}

const SEED: u64 = 0x9e37_79b9_7f4a_7c15;

/// Eight bytes into the hash: one multiply of dependency per chunk (a step
/// per byte would make index building wait on every byte). Candidates are
/// always confirmed against the real name, so a collision costs only a
/// comparison.
#[inline(always)]
fn absorb(h: u64, w: u64) -> u64 {
    let h = (h ^ w).wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^ (h >> 29)
}

/// Mixes in the length and folds the state to 32 bits.
#[inline(always)]
fn finish(h: u64, len: usize) -> u32 {
    let h = (h ^ len as u64).wrapping_mul(0x94d0_49bb_1331_11eb);
    ((h ^ (h >> 31)) >> 32) as u32
}

/// The hash of a name: its bytes in 8-byte little-endian chunks, the last
/// one zero-padded (names hold no NUL, so padding is unambiguous); stable
/// across builds and platforms.
fn hash(name: &[u8]) -> u32 {
    let mut h = SEED;
    let mut chunks = name.chunks_exact(8);
    for c in chunks.by_ref() {
        h = absorb(h, c.try_into().map_or(0, u64::from_le_bytes));
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut b = [0u8; 8];
        if let Some(d) = b.get_mut(..rest.len()) {
            d.copy_from_slice(rest);
        }
        h = absorb(h, u64::from_le_bytes(b));
    }
    finish(h, name.len())
}

/// `hash(essential(s))` for the NUL-terminated string at the start of
/// `tail`, reading it once, eight bytes at a time: a name with no `___`
/// in it is its own essential name, and its hash is the running one; the
/// rare rest takes the exact path. `None` when `tail` has no NUL.
fn essential_hash(tail: &[u8]) -> Option<u32> {
    let mut h = SEED;
    // The previous chunk's underscores (top bit of each byte).
    let mut prev = 0u64;
    let mut at = 0usize;
    loop {
        let w = match tail.get(at..at.wrapping_add(8)).and_then(|c| <[u8; 8]>::try_from(c).ok()) {
            Some(c) => u64::from_le_bytes(c),
            None => {
                // The section's last bytes: padding zeros are no NUL.
                let rest = tail.get(at..).unwrap_or(&[]);
                if !rest.contains(&0) {
                    return None;
                }
                let mut b = [0u8; 8];
                if let Some(d) = b.get_mut(..rest.len()) {
                    d.copy_from_slice(rest);
                }
                u64::from_le_bytes(b)
            }
        };
        let z = zero_bytes(w);
        // The NUL's byte index, 8 when the chunk has none; bytes from it on
        // are masked out (zero padding, as `hash` pads).
        let n = z.trailing_zeros() / 8;
        let w = if n >= 8 { w } else { w & 1u64.wrapping_shl(n.wrapping_mul(8)).wrapping_sub(1) };
        let u = zero_bytes(w ^ L.wrapping_mul(u64::from(b'_')));
        // `___` anywhere, also across the chunk boundary: the exact path.
        if u & ((u << 8) | (prev >> 56)) & ((u << 16) | (prev >> 48)) != 0 {
            let end = tail.iter().position(|&c| c == 0)?;
            return Some(hash(essential(tail.get(..end).unwrap_or(&[]))));
        }
        if n > 0 {
            h = absorb(h, w);
        }
        if n < 8 {
            return Some(finish(h, at.wrapping_add(n as usize)));
        }
        prev = u;
        at = at.wrapping_add(8);
    }
}

/// Sorts index entries in place: one American-flag pass on the top byte
/// (the hash's, uniformly spread) puts each entry in its bucket, then each
/// small bucket is sorted while it is in cache. About twice as fast as one
/// sort of the whole slice for vmlinux's 100k names, with no extra memory.
fn sort_entries(entries: &mut [u64]) {
    if entries.len() < 1024 {
        entries.sort_unstable();
        return;
    }
    let bucket = |e: u64| (e >> 56) as usize;
    let mut count = [0usize; 256];
    for &e in entries.iter() {
        if let Some(c) = count.get_mut(bucket(e)) {
            *c = c.wrapping_add(1);
        }
    }
    // start[b]..end[b] is bucket b; next[b] is its first unplaced slot.
    let mut end = [0usize; 256];
    let mut acc = 0usize;
    for (e, c) in end.iter_mut().zip(count) {
        acc = acc.wrapping_add(c);
        *e = acc;
    }
    let mut next = [0usize; 256];
    for (n, (e, c)) in next.iter_mut().zip(end.iter().zip(count)) {
        *n = e.wrapping_sub(c);
    }
    let start = next;
    for b in 0..256usize {
        let stop = end.get(b).copied().unwrap_or(0);
        loop {
            let i = next.get(b).copied().unwrap_or(stop);
            if i >= stop {
                break;
            }
            // Follow the cycle from slot i until an entry of bucket b lands there.
            let mut e = entries.get(i).copied().unwrap_or(0);
            loop {
                let t = bucket(e);
                if t == b {
                    break;
                }
                let Some(slot) = next.get_mut(t) else { break };
                let j = *slot;
                *slot = j.wrapping_add(1);
                match entries.get_mut(j) {
                    Some(dst) => e = core::mem::replace(dst, e),
                    None => break,
                }
            }
            if let Some(dst) = entries.get_mut(i) {
                *dst = e;
            }
            if let Some(n) = next.get_mut(b) {
                *n = i.wrapping_add(1);
            }
        }
    }
    for (s, e) in start.iter().zip(end) {
        if let Some(run) = entries.get_mut(*s..e) {
            run.sort_unstable();
        }
    }
}

/// A hash candidate confirmed: the type `id` when its (essential) name is
/// `want` and its kind is `kind` (any when `None`). Both index forms use it.
fn confirm<'a>(btf: &Btf<'a>, id: TypeId, want: &[u8], kind: Option<Kind>, by_essential: bool) -> Option<Type<'a>> {
    let t = btf.type_by_id(id).ok()?;
    let n = btf.name(&t).ok()?;
    let n = if by_essential { essential(n) } else { n };
    (kind.is_none_or(|k| t.kind() == Some(k)) && n == want).then_some(t)
}

/// A sorted (hash, id) index of one layer's named types, over caller
/// storage; built by [`Btf::build_name_index`].
#[derive(Debug, Clone, Copy)]
pub struct NameIndex<'s> {
    entries: &'s [u64],
}

impl<'s> NameIndex<'s> {
    /// Re-wraps storage filled by [`Btf::build_name_index`] (for example an
    /// owned `Vec`). Wrong contents give wrong or no matches, never a panic.
    #[must_use]
    pub fn from_built(entries: &'s [u64]) -> Self {
        NameIndex { entries }
    }

    /// Number of indexed (named) types.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no type is indexed.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The ids whose essential name hashes like `essential(name)`, in id
    /// order; callers confirm the name.
    fn candidates(&self, name: &[u8]) -> impl Iterator<Item = TypeId> + 's {
        let h = u64::from(hash(essential(name))) << 32;
        let start = self.entries.partition_point(|&e| e < h);
        self.entries
            .get(start..)
            .unwrap_or(&[])
            .iter()
            .take_while(move |&&e| e & 0xffff_ffff_0000_0000 == h)
            .map(|&e| TypeId((e & 0xffff_ffff) as u32))
    }

    /// The types of `btf` (this layer only) named exactly `name`, of `kind`
    /// when given, in id order.
    pub fn find<'a, 'b>(
        &self,
        btf: &'b Btf<'a>,
        name: &'b [u8],
        kind: Option<Kind>,
    ) -> impl Iterator<Item = Type<'a>> + 'b
    where
        's: 'b,
    {
        self.matching(btf, name, kind, false)
    }

    /// As [`NameIndex::find`], matching essential names: `task_struct`
    /// finds `task_struct___v1` and the reverse.
    pub fn find_essential<'a, 'b>(
        &self,
        btf: &'b Btf<'a>,
        name: &'b [u8],
        kind: Option<Kind>,
    ) -> impl Iterator<Item = Type<'a>> + 'b
    where
        's: 'b,
    {
        self.matching(btf, name, kind, true)
    }

    fn matching<'a, 'b>(
        &self,
        btf: &'b Btf<'a>,
        name: &'b [u8],
        kind: Option<Kind>,
        by_essential: bool,
    ) -> impl Iterator<Item = Type<'a>> + 'b
    where
        's: 'b,
    {
        let want = if by_essential { essential(name) } else { name };
        self.candidates(name).filter_map(move |id| confirm(btf, id, want, kind, by_essential))
    }
}

impl<'a> Btf<'a> {
    /// Number of `u64` slots [`Btf::build_name_index`] needs: one per own
    /// named type. Walks the types once.
    ///
    /// # Errors
    /// A structural error from the walk.
    pub fn name_index_len(&self) -> Result<usize> {
        let mut n = 0usize;
        self.walk(|off| {
            if self.u32_at(off) != 0 {
                n = n.saturating_add(1);
            }
        })?;
        Ok(n)
    }

    /// Fills caller storage with the name index of this blob's own types.
    ///
    /// # Errors
    /// [`ErrorKind::BufferTooSmall`] with the slots needed (nothing useful
    /// is written then), or a name that cannot be read.
    pub fn build_name_index<'s>(&self, storage: &'s mut [u64]) -> Result<NameIndex<'s>> {
        let mut n = 0usize;
        let mut short = false;
        self.for_each_name_hash(|h, id| {
            match storage.get_mut(n) {
                Some(slot) => *slot = (u64::from(h) << 32) | u64::from(id.0),
                None => short = true,
            }
            n = n.saturating_add(1);
        })?;
        if short {
            let needed = u32::try_from(n).unwrap_or(u32::MAX);
            return Err(Error::new(ErrorKind::BufferTooSmall { needed }, 0));
        }
        let entries = storage.get_mut(..n).unwrap_or(&mut []);
        sort_entries(entries);
        Ok(NameIndex { entries })
    }

    /// Calls `f(essential-name hash, id)` for each named type of this
    /// layer, from the record walker (no type view is built).
    fn for_each_name_hash(&self, mut f: impl FnMut(u32, TypeId)) -> Result<()> {
        let mut id = self.start_id().0;
        let mut failed: Option<Error> = None;
        self.walk(|off| {
            let this = id;
            id = id.wrapping_add(1);
            if failed.is_some() {
                return;
            }
            let name_off = self.u32_at(off);
            if name_off == 0 {
                return;
            }
            match self.str_tail(crate::StrOffset(name_off)).map(essential_hash) {
                Ok(Some(h)) => f(h, TypeId(this)),
                Ok(None) => {
                    failed = Some(Error::at_type(ErrorKind::StringNotTerminated(name_off), off, TypeId(this)));
                }
                Err(e) => failed = Some(Error::at_type(e.kind(), off, TypeId(this))),
            }
        })?;
        failed.map_or(Ok(()), Err)
    }

    /// The name index in a `Vec`.
    ///
    /// # Errors
    /// As [`Btf::build_name_index`].
    #[cfg(feature = "alloc")]
    pub fn build_name_index_vec(&self) -> Result<alloc::vec::Vec<u64>> {
        let mut v = alloc::vec![0u64; self.name_index_len()?];
        let n = self.build_name_index(&mut v)?.len();
        v.truncate(n);
        Ok(v)
    }
}

/// The hashbrown form of [`NameIndex`] (feature `alloc`): the same
/// essential-name hashes in a `hashbrown::HashTable`, so building needs no
/// sort and a lookup no binary search. Results are the same, in id order.
#[cfg(feature = "alloc")]
#[derive(Debug, Clone, Default)]
pub struct HashNameIndex {
    table: hashbrown::HashTable<(u32, TypeId)>,
}

#[cfg(feature = "alloc")]
impl HashNameIndex {
    /// Spreads a 32-bit name hash over the table's 64-bit hash space.
    fn mix(h: u32) -> u64 {
        u64::from(h).wrapping_mul(0x9e37_79b9_7f4a_7c15)
    }

    /// Indexes the named types of `btf` (its own layer).
    ///
    /// # Errors
    /// A structural error, or a name that cannot be read.
    pub fn build(btf: &Btf<'_>) -> Result<Self> {
        let n = btf.name_index_len()?;
        let mut table = hashbrown::HashTable::with_capacity(n);
        btf.for_each_name_hash(|h, id| {
            table.insert_unique(Self::mix(h), (h, id), |&(h, _)| Self::mix(h));
        })?;
        Ok(HashNameIndex { table })
    }

    /// Number of indexed (named) types.
    #[must_use]
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether no type is indexed.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// As [`NameIndex::find`].
    #[must_use]
    pub fn find<'a>(&self, btf: &Btf<'a>, name: &[u8], kind: Option<Kind>) -> alloc::vec::Vec<Type<'a>> {
        self.matching(btf, name, kind, false)
    }

    /// As [`NameIndex::find_essential`].
    #[must_use]
    pub fn find_essential<'a>(&self, btf: &Btf<'a>, name: &[u8], kind: Option<Kind>) -> alloc::vec::Vec<Type<'a>> {
        self.matching(btf, name, kind, true)
    }

    fn matching<'a>(
        &self,
        btf: &Btf<'a>,
        name: &[u8],
        kind: Option<Kind>,
        by_essential: bool,
    ) -> alloc::vec::Vec<Type<'a>> {
        let h = hash(essential(name));
        let want = if by_essential { essential(name) } else { name };
        let mut out: alloc::vec::Vec<Type<'a>> = self
            .table
            .iter_hash(Self::mix(h))
            .filter(|&&(hh, _)| hh == h)
            .filter_map(|&(_, id)| confirm(btf, id, want, kind, by_essential))
            .collect();
        out.sort_unstable_by_key(Type::id);
        out
    }
}

#[cfg(test)]
mod tests {
    #[cfg(feature = "alloc")]
    extern crate alloc;
    extern crate std;
    use super::{essential, essential_hash, hash};

    #[test]
    fn flag_sort_sorts() {
        let mut x: u64 = 0x1234_5678_9abc_def1;
        for n in [0usize, 1, 5, 1023, 1024, 5000, 70_000] {
            let mut data = entries_like(n, &mut x);
            let mut want = data.clone();
            want.sort_unstable();
            super::sort_entries(&mut data);
            assert_eq!(data, want, "n = {n}");
        }
    }

    /// Pseudo-random entries, with runs of equal top bytes and duplicates.
    fn entries_like(n: usize, x: &mut u64) -> std::vec::Vec<u64> {
        (0..n)
            .map(|i| {
                *x ^= *x << 13;
                *x ^= *x >> 7;
                *x ^= *x << 17;
                if i % 7 == 0 { *x & 0x00ff_ffff_0000_ffff } else { *x }
            })
            .collect()
    }

    #[test]
    #[cfg(feature = "alloc")]
    fn hash_form_finds_what_the_sorted_form_finds() {
        use super::{HashNameIndex, NameIndex};
        let (b, sp) = crate::doc_example_split();
        let base = crate::Btf::parse(&b).unwrap();
        let split = crate::Btf::parse_split(&sp, &base).unwrap();
        for btf in [base, split] {
            let v = btf.build_name_index_vec().unwrap();
            let sorted = NameIndex::from_built(&v);
            let hashed = HashNameIndex::build(&btf).unwrap();
            assert_eq!(hashed.len(), sorted.len());
            for name in [&b"int"[..], b"point", b"line", b"x", b"nope"] {
                for kind in [None, Some(crate::Kind::Struct), Some(crate::Kind::Int)] {
                    let a: alloc::vec::Vec<_> = sorted.find(&btf, name, kind).map(|t| t.id()).collect();
                    let h: alloc::vec::Vec<_> = hashed.find(&btf, name, kind).iter().map(|t| t.id()).collect();
                    assert_eq!(a, h);
                }
            }
        }
    }

    #[test]
    fn one_pass_hash_equals_hash_of_essential_name() {
        for n in [
            &b"task_struct"[..],
            b"task_struct___old",
            b"a___b___c",
            b"a____b",
            b"a___",
            b"___a",
            b"ab",
            b"",
            b"x___y",
            b"_a___b",
            b"a___b_",
            b"a_b___c",
        ] {
            let mut z = n.to_vec();
            z.push(0);
            z.extend_from_slice(b"trailing");
            assert_eq!(essential_hash(&z), Some(hash(essential(n))), "{}", core::str::from_utf8(n).unwrap());
        }
        assert_eq!(essential_hash(b"no-nul"), None);
        assert_eq!(essential_hash(b"no-nul-in-sixteen"), None);
    }

    /// The one-pass hash agrees with the exact one on pseudo-random names
    /// of every length up to 40 around chunk boundaries, dense in `_` runs
    /// (flavors, `___` at either end, across chunks), with or without bytes
    /// after the NUL.
    #[test]
    fn one_pass_hash_agrees_on_random_names() {
        const ALPHABET: &[u8] = b"____ab_x9Z.";
        let mut x: u64 = 0x0123_4567_89ab_cdef;
        let mut buf = [0u8; 64];
        for round in 0..100_000u32 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 41) as usize;
            for (i, b) in buf.iter_mut().take(len).enumerate() {
                *b = ALPHABET[((x >> (i % 16 * 4)) as usize + i * 7 + round as usize) % ALPHABET.len()];
            }
            let name = &buf[..len];
            let want = hash(essential(name));
            let mut z = name.to_vec();
            z.push(0);
            assert_eq!(essential_hash(&z), Some(want), "{:?}", core::str::from_utf8(name));
            z.extend_from_slice(b"__after__");
            assert_eq!(essential_hash(&z), Some(want), "{:?}", core::str::from_utf8(name));
        }
    }
}
