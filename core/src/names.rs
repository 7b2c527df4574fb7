//! Lookups by name: a per-layer index in caller storage.
//!
//! The index holds one `u64` per named type: the 32-bit hash of the type's
//! *essential* name (its name without a `___flavor` suffix, as CO-RE
//! matches it) above its 32-bit id, sorted. A lookup binary-searches the
//! hash and checks each candidate against the real name, so collisions cost
//! a comparison, never a wrong answer. Building it reads each name once and
//! allocates nothing (8 bytes a named type, in storage the caller gives).

use crate::error::{Error, ErrorKind, Result};
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

/// FNV-1a, 32 bits: small, stable across builds and platforms.
fn hash(name: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for &b in name {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    h
}

/// `hash(essential(s))` for the NUL-terminated string at the start of
/// `tail`, in one pass: the hash is kept for the last four positions so
/// that the value at the last `X___Y` cut is at hand. `None` when `tail`
/// has no NUL.
fn essential_hash(tail: &[u8]) -> Option<u32> {
    let mut h: u32 = 0x811c_9dc5;
    // before[i % 4]: the hash of the bytes before position i.
    let mut before = [h; 4];
    let mut cut: Option<u32> = None;
    let mut last4 = [0u8; 4]; // the four bytes before position i, oldest first
    for (i, &c) in tail.iter().enumerate() {
        if c == 0 {
            return Some(cut.unwrap_or(h));
        }
        if let [x, b'_', b'_', b'_'] = last4
            && i >= 4
            && x != b'_'
            && c != b'_'
        {
            // Essential name: the bytes before the first '_' at i - 3.
            cut = before.get(i.wrapping_sub(3) % 4).copied();
        }
        if let Some(slot) = before.get_mut(i % 4) {
            *slot = h;
        }
        h = (h ^ u32::from(c)).wrapping_mul(0x0100_0193);
        last4 = [last4[1], last4[2], last4[3], c];
    }
    None
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
        self.candidates(name).filter_map(move |id| {
            let t = btf.type_by_id(id).ok()?;
            let n = btf.name(&t).ok()?;
            let n = if by_essential { essential(n) } else { n };
            (kind.is_none_or(|k| t.kind() == Some(k)) && n == want).then_some(t)
        })
    }
}

impl<'a> Btf<'a> {
    /// The essential-name hash of a named type, reading its name once.
    fn name_hash(&self, t: &Type<'_>) -> Result<u32> {
        let off = t.name_off();
        let tail = self.str_tail(off).map_err(|e| Error::at_type(e.kind(), t.offset(), t.id()))?;
        essential_hash(tail).ok_or(Error::at_type(ErrorKind::StringNotTerminated(off.0), t.offset(), t.id()))
    }

    /// Number of `u64` slots [`Btf::build_name_index`] needs: one per own
    /// named type. Walks the types once.
    ///
    /// # Errors
    /// A structural error from the walk.
    pub fn name_index_len(&self) -> Result<usize> {
        let mut n = 0usize;
        for t in self.types() {
            if t?.name_off().0 != 0 {
                n = n.saturating_add(1);
            }
        }
        Ok(n)
    }

    /// Fills caller storage with the name index of this blob's own types.
    ///
    /// # Errors
    /// [`ErrorKind::BufferTooSmall`] with the slots needed (nothing useful
    /// is written then), or a name that cannot be read.
    pub fn build_name_index<'s>(&self, storage: &'s mut [u64]) -> Result<NameIndex<'s>> {
        let mut n = 0usize;
        for t in self.types() {
            let t = t?;
            if t.name_off().0 == 0 {
                continue;
            }
            let h = u64::from(self.name_hash(&t)?) << 32;
            let slot = storage.get_mut(n).ok_or_else(|| {
                let needed = self.name_index_len().unwrap_or(usize::MAX);
                Error::new(ErrorKind::BufferTooSmall { needed: u32::try_from(needed).unwrap_or(u32::MAX) }, 0)
            })?;
            *slot = h | u64::from(t.id().0);
            n = n.saturating_add(1);
        }
        let entries = storage.get_mut(..n).unwrap_or(&mut []);
        entries.sort_unstable();
        Ok(NameIndex { entries })
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

#[cfg(test)]
mod tests {
    use super::{essential, essential_hash, hash};

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
    }
}
