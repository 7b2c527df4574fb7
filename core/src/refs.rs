//! Which words of a record hold type ids and string offsets.
//!
//! Every record of every known kind is a sequence of 4-byte words: the
//! 12-byte head, the kind's fixed data, then `vlen` elements. This table
//! says, per kind, what each word is. Rebasing, merging, byte swapping and
//! the writer's copy all derive from it, so a kind is described once.

use zerocopy::FromBytes;
use zerocopy::byteorder::{ByteOrder, U32};

use crate::Kind;

/// The role of one word of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Word {
    /// Plain data (sizes, offsets, values, flags).
    #[cfg_attr(not(test), allow(dead_code))]
    Data,
    /// A type id.
    Type,
    /// A string offset.
    Str,
}

use Word::{Data, Str, Type as Ty};

/// A kind's record, word by word. The table form, kept as the test oracle
/// of [`visit`] (after the head's name and info words).
#[cfg(test)]
#[derive(Debug, Clone, Copy)]
pub(crate) struct Schema {
    /// Word 2 of the head: a type id or a size.
    pub size_type: Word,
    /// The fixed words after the head.
    pub fixed: &'static [Word],
    /// The words of each element.
    pub elem: &'static [Word],
}

/// The schema of a known kind.
#[cfg(test)]
pub(crate) const fn schema(kind: Kind) -> Schema {
    let size_type = if kind.refers_to_type() { Ty } else { Data };
    let (fixed, elem): (&'static [Word], &'static [Word]) = match kind {
        Kind::Int | Kind::Var | Kind::DeclTag => (&[Data], &[]),
        Kind::Array => (&[Ty, Ty, Data], &[]),
        Kind::Struct | Kind::Union => (&[], &[Str, Ty, Data]),
        Kind::Enum => (&[], &[Str, Data]),
        Kind::Enum64 => (&[], &[Str, Data, Data]),
        Kind::FuncProto => (&[], &[Str, Ty]),
        Kind::Datasec => (&[], &[Ty, Data, Data]),
        Kind::Ptr
        | Kind::Fwd
        | Kind::Typedef
        | Kind::Volatile
        | Kind::Const
        | Kind::Restrict
        | Kind::Func
        | Kind::Float
        | Kind::TypeTag => (&[], &[]),
    };
    Schema { size_type, fixed, elem }
}

/// The role of each word of a record of `kind`, in order; zip it with the
/// record's words (the elements' roles repeat without end).
#[cfg(test)]
pub(crate) fn roles(kind: Kind) -> impl Iterator<Item = Word> {
    let s = schema(kind);
    [Str, Data, s.size_type].into_iter().chain(s.fixed.iter().copied()).chain(s.elem.iter().copied().cycle())
}

/// Calls `f(byte position, role)` for each type-id and string word of a
/// record of `kind` that is `len` bytes long: the fast form of `schema`
/// (a unit test holds the two equal), with the data words skipped.
#[inline(always)]
pub(crate) fn visit<E>(kind: Kind, len: usize, mut f: impl FnMut(usize, Word) -> Result<(), E>) -> Result<(), E> {
    f(0, Str)?;
    if kind.refers_to_type() {
        f(8, Ty)?;
    }
    let mut p: usize = 12;
    let step = kind.elem_size() as usize;
    match kind {
        Kind::Array => {
            f(12, Ty)?;
            f(16, Ty)?;
        }
        Kind::Struct | Kind::Union | Kind::FuncProto => {
            while p.wrapping_add(step) <= len {
                f(p, Str)?;
                f(p.wrapping_add(4), Ty)?;
                p = p.wrapping_add(step);
            }
        }
        Kind::Enum | Kind::Enum64 => {
            while p.wrapping_add(step) <= len {
                f(p, Str)?;
                p = p.wrapping_add(step);
            }
        }
        Kind::Datasec => {
            while p.wrapping_add(step) <= len {
                f(p, Ty)?;
                p = p.wrapping_add(step);
            }
        }
        _ => {}
    }
    Ok(())
}

/// Rewrites, in place, every type id and string offset of one record of
/// `kind`, stored in byte order `O`. `rec` must be exactly the record (as
/// the parser checked). Stops at the first error of a callback, leaving
/// the record partly rewritten.
#[inline]
pub(crate) fn patch<O: ByteOrder, E>(
    rec: &mut [u8],
    kind: Kind,
    mut ty: impl FnMut(u32) -> Result<u32, E>,
    mut st: impl FnMut(u32) -> Result<u32, E>,
) -> Result<(), E> {
    visit(kind, rec.len(), |pos, role| {
        let Some(v) = rec.get_mut(pos..pos.wrapping_add(4)).and_then(|w| U32::<O>::mut_from_bytes(w).ok()) else {
            return Ok(());
        };
        match role {
            Data => {}
            Ty => v.set(ty(v.get())?),
            Str => v.set(st(v.get())?),
        }
        Ok(())
    })
}

/// Checks every type id and string offset of one record with `ty` and
/// `st`, without writing.
#[inline]
pub(crate) fn check<O: ByteOrder, E>(
    rec: &[u8],
    kind: Kind,
    mut ty: impl FnMut(u32) -> Result<(), E>,
    mut st: impl FnMut(u32) -> Result<(), E>,
) -> Result<(), E> {
    visit(kind, rec.len(), |pos, role| {
        let Some(v) = rec.get(pos..pos.wrapping_add(4)).and_then(|w| U32::<O>::read_from_bytes(w).ok()) else {
            return Ok(());
        };
        match role {
            Data => Ok(()),
            Ty => ty(v.get()),
            Str => st(v.get()),
        }
    })
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use zerocopy::byteorder::{BigEndian, LittleEndian};

    #[test]
    fn every_kind_has_a_schema_matching_its_sizes() {
        for &k in Kind::ALL {
            let s = schema(k);
            assert_eq!(s.fixed.len() as u32 * 4, k.info_size(), "{k}");
            assert_eq!(s.elem.len() as u32 * 4, k.elem_size(), "{k}");
        }
    }

    #[test]
    fn visit_agrees_with_the_schema() {
        for &k in Kind::ALL {
            for vlen in 0..4usize {
                let len = 12 + k.info_size() as usize + vlen * k.elem_size() as usize;
                let want: std::vec::Vec<(usize, Word)> =
                    roles(k).take(len / 4).enumerate().filter(|(_, r)| *r != Data).map(|(i, r)| (i * 4, r)).collect();
                let mut got = std::vec::Vec::new();
                visit::<()>(k, len, |p, r| {
                    got.push((p, r));
                    Ok(())
                })
                .unwrap();
                assert_eq!(got, want, "{k} vlen {vlen}");
            }
        }
    }

    #[test]
    fn patch_struct_rewrites_names_and_types_only() {
        // STRUCT head + 2 members, little-endian.
        let words: [u32; 9] = [5, 0x0400_0002, 8, 7, 3, 0, 9, 4, 32];
        let mut rec: [u8; 36] = [0; 36];
        for (w, c) in words.iter().zip(rec.chunks_mut(4)) {
            c.copy_from_slice(&w.to_le_bytes());
        }
        patch::<LittleEndian, ()>(&mut rec, Kind::Struct, |t| Ok(t + 100), |s| Ok(s + 1000)).unwrap();
        let got: [u32; 9] = core::array::from_fn(|i| u32::from_le_bytes(rec[i * 4..i * 4 + 4].try_into().unwrap()));
        assert_eq!(got, [1005, 0x0400_0002, 8, 1007, 103, 0, 1009, 104, 32]);
    }

    #[test]
    fn patch_array_and_datasec() {
        let mut rec = [0u8; 24];
        for (i, c) in rec.chunks_mut(4).enumerate() {
            c.copy_from_slice(&(i as u32).to_be_bytes());
        }
        patch::<BigEndian, ()>(&mut rec, Kind::Array, |t| Ok(t + 10), |s| Ok(s + 20)).unwrap();
        let got: [u32; 6] = core::array::from_fn(|i| u32::from_be_bytes(rec[i * 4..i * 4 + 4].try_into().unwrap()));
        assert_eq!(got, [20, 1, 2, 13, 14, 5]);
        let mut rec = [0u8; 24];
        patch::<BigEndian, ()>(&mut rec, Kind::Datasec, |t| Ok(t + 10), |s| Ok(s + 20)).unwrap();
        let got: [u32; 6] = core::array::from_fn(|i| u32::from_be_bytes(rec[i * 4..i * 4 + 4].try_into().unwrap()));
        assert_eq!(got, [20, 0, 0, 10, 0, 0]);
    }
}
