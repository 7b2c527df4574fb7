//! A composite of one base and N split layers (vmlinux + modules), none of
//! them copied or changed.
//!
//! Module ids overlap (every module's first id is the base's type count),
//! so a type is addressed as a [`Loc`]: layer and id. Layer 0 is the base.
//! The layers live in storage the caller owns: a slice, a
//! `heapless::Vec<Layer, N>`, or a `Vec`.
//!
//! ```
//! # fn main() -> Result<(), btfkit::Error> {
//! # let blob = btfkit::doc_example_blob();
//! use btfkit::composite::{Composite, Layer, Order};
//! use btfkit::{Btf, Kind};
//!
//! let base = Btf::parse(&blob)?;
//! let mut ids = [0u32; 2];
//! let mut names = [0u64; 2];
//! let base = base.with_index(base.build_index(&mut ids)?)?;
//! let layers = [Layer::new(base, base.build_name_index(&mut names)?)];
//! let all = Composite::new(&layers)?;
//! let point = all.find(b"point", Some(Kind::Struct), Order::BaseFirst).next().unwrap();
//! assert_eq!((point.layer, point.id.0), (0, 2));
//! assert!(all.type_exists(Kind::Struct, b"point"));
//! # Ok(()) }
//! ```

use crate::names::NameIndex;
use crate::types::{Type, TypeId, TypeView};
use crate::{Btf, Error, ErrorKind, Kind, Result};

/// Where a type lives: its layer (0 is the base) and its id there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Loc {
    /// Layer index: 0 for the base, then the modules in the caller's order.
    pub layer: u16,
    /// Type id, as numbered in that layer (ids below its first id are the base's).
    pub id: TypeId,
}

/// One layer: a parsed blob (with its id index attached) and its name index.
#[derive(Debug, Clone, Copy)]
pub struct Layer<'a> {
    /// The blob; split layers are split over the composite's base.
    pub btf: Btf<'a>,
    /// Its own named types.
    pub names: NameIndex<'a>,
}

impl<'a> Layer<'a> {
    /// A layer from a blob and its name index.
    #[must_use]
    pub fn new(btf: Btf<'a>, names: NameIndex<'a>) -> Self {
        Layer { btf, names }
    }
}

/// Lookup order across layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Order {
    /// The base first, then the modules in order (libbpf's order: the base
    /// shadows the modules).
    BaseFirst,
    /// One layer's own types only (attach targets).
    Own(u16),
    /// Every layer, base first: all matches.
    All,
}

/// Why a FWD could not be resolved to one definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum FwdError {
    /// The location is not a FWD (or does not exist).
    NotAFwd,
    /// Two layers define the name differently; both are given.
    Ambiguous(Loc, Loc),
}

/// Base + modules, borrowed.
#[derive(Debug, Clone, Copy)]
pub struct Composite<'l, 'a> {
    layers: &'l [Layer<'a>],
}

impl<'l, 'a> Composite<'l, 'a> {
    /// Checks that every layer after the first is split directly over the
    /// first, with the same byte order.
    ///
    /// # Errors
    /// [`ErrorKind::IndexMismatch`] for a layer over another base, or an
    /// empty list.
    pub fn new(layers: &'l [Layer<'a>]) -> Result<Self> {
        let base = layers.first().ok_or(Error::new(ErrorKind::IndexMismatch, 0))?;
        for l in layers.get(1..).unwrap_or(&[]) {
            let over_base = l.btf.base().is_some_and(|b| core::ptr::eq(b.data(), base.btf.data()));
            if !over_base || l.btf.start_id().0 != base.btf.type_count() {
                return Err(Error::new(ErrorKind::IndexMismatch, 0));
            }
        }
        Ok(Composite { layers })
    }

    /// The layers, base first.
    #[must_use]
    pub fn layers(&self) -> &'l [Layer<'a>] {
        self.layers
    }

    fn layer(&self, i: u16) -> Option<&'l Layer<'a>> {
        self.layers.get(usize::from(i))
    }

    /// The type at `loc`. Ids below a module's first id are the base's.
    ///
    /// # Errors
    /// [`ErrorKind::TypeIdOutOfRange`] for a missing layer or id.
    pub fn get(&self, loc: Loc) -> Result<Type<'a>> {
        let l = self.layer(loc.layer).ok_or(Error::new(ErrorKind::TypeIdOutOfRange(loc.id.0), 0))?;
        l.btf.type_by_id(loc.id)
    }

    /// The name of the type at `loc`.
    ///
    /// # Errors
    /// As [`Composite::get`], or an unreadable name.
    pub fn name(&self, loc: Loc) -> Result<&'a [u8]> {
        let l = self.layer(loc.layer).ok_or(Error::new(ErrorKind::TypeIdOutOfRange(loc.id.0), 0))?;
        let t = l.btf.type_by_id(loc.id)?;
        l.btf.name(&t)
    }

    /// The layers an order visits, in order.
    fn visit(&self, order: Order) -> impl Iterator<Item = (u16, &'l Layer<'a>)> + 'l {
        let layers = self.layers;
        let (lo, hi) = match order {
            Order::BaseFirst | Order::All => (0usize, layers.len()),
            Order::Own(i) => (usize::from(i), usize::from(i).saturating_add(1).min(layers.len())),
        };
        layers
            .get(lo..hi)
            .unwrap_or(&[])
            .iter()
            .enumerate()
            .map(move |(i, l)| (u16::try_from(i.saturating_add(lo)).unwrap_or(u16::MAX), l))
    }

    /// Types named exactly `name` (of `kind` when given), in `order`. For
    /// [`Order::BaseFirst`] take the first item: the base shadows modules.
    pub fn find<'q>(&self, name: &'q [u8], kind: Option<Kind>, order: Order) -> impl Iterator<Item = Loc> + 'q
    where
        'l: 'q,
    {
        self.visit(order)
            .flat_map(move |(li, l)| l.names.find(&l.btf, name, kind).map(move |t| Loc { layer: li, id: t.id() }))
    }

    /// As [`Composite::find`], by essential name (`___flavor` ignored).
    pub fn find_essential<'q>(&self, name: &'q [u8], kind: Option<Kind>, order: Order) -> impl Iterator<Item = Loc> + 'q
    where
        'l: 'q,
    {
        self.visit(order).flat_map(move |(li, l)| {
            l.names.find_essential(&l.btf, name, kind).map(move |t| Loc { layer: li, id: t.id() })
        })
    }

    /// Whether a `kind` named `name` is *defined* anywhere in the composite.
    /// A FWD does not define a STRUCT or UNION; it counts only when `kind`
    /// is [`Kind::Fwd`].
    #[must_use]
    pub fn type_exists(&self, kind: Kind, name: &[u8]) -> bool {
        self.find(name, Some(kind), Order::All).next().is_some()
    }

    /// The STRUCT or UNION that the FWD at `fwd` declares, found by
    /// scope: the FWD's own layer, else the base (every module is built
    /// against it), else the other modules, which must then agree.
    /// `Ok(None)` when nothing defines it.
    ///
    /// # Errors
    /// [`FwdError::Ambiguous`] with two locations when definitions in the
    /// deciding scope differ (same name, different size or members; a
    /// repeated identical shape is not ambiguous); [`FwdError::NotAFwd`].
    pub fn resolve_fwd(&self, fwd: Loc) -> core::result::Result<Option<Loc>, FwdError> {
        let t = self.get(fwd).map_err(|_| FwdError::NotAFwd)?;
        let TypeView::Fwd(f) = t.view() else { return Err(FwdError::NotAFwd) };
        let name = self.name(fwd).map_err(|_| FwdError::NotAFwd)?;
        let kind = if f.union { Kind::Union } else { Kind::Struct };
        let own = self.agree(self.find(name, Some(kind), Order::Own(fwd.layer)))?;
        if own.is_some() {
            return Ok(own);
        }
        let base = if fwd.layer == 0 { None } else { self.agree(self.find(name, Some(kind), Order::Own(0)))? };
        if base.is_some() {
            return Ok(base);
        }
        self.agree(self.find(name, Some(kind), Order::All).filter(move |l| l.layer != 0 && l.layer != fwd.layer))
    }

    /// The first candidate, when all candidates have its shape.
    fn agree(&self, cands: impl Iterator<Item = Loc>) -> core::result::Result<Option<Loc>, FwdError> {
        let mut first: Option<Loc> = None;
        for c in cands {
            match first {
                None => first = Some(c),
                Some(f) if !self.same_shape(f, c) => return Err(FwdError::Ambiguous(f, c)),
                Some(_) => {}
            }
        }
        Ok(first)
    }

    /// Same kind, size, member count, and member names and offsets.
    fn same_shape(&self, a: Loc, b: Loc) -> bool {
        let (Ok(ta), Ok(tb)) = (self.get(a), self.get(b)) else { return false };
        let (TypeView::Struct(ca) | TypeView::Union(ca), TypeView::Struct(cb) | TypeView::Union(cb)) =
            (ta.view(), tb.view())
        else {
            return false;
        };
        if ta.kind() != tb.kind() || ca.size != cb.size || ca.members().len() != cb.members().len() {
            return false;
        }
        let (Some(la), Some(lb)) = (self.layer(a.layer), self.layer(b.layer)) else { return false };
        ca.members().zip(cb.members()).all(|(ma, mb)| {
            ma.offset_raw == mb.offset_raw && la.btf.str_at(ma.name_off).ok() == lb.btf.str_at(mb.name_off).ok()
        })
    }
}

// The composite of a `heapless::Vec` of layers.
impl<'l, 'a, const N: usize> TryFrom<&'l heapless::Vec<Layer<'a>, N>> for Composite<'l, 'a> {
    type Error = Error;
    fn try_from(v: &'l heapless::Vec<Layer<'a>, N>) -> Result<Self> {
        Composite::new(v.as_slice())
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::{Composite, FwdError, Layer, Loc, Order};
    use crate::test_util::Builder;
    use crate::{Btf, Endian, Kind, TypeId};
    use std::vec::Vec;

    /// base: [1] int, [2] struct dup { int a; }, [3] fwd union u
    /// mod A: [4] struct dup___v2, [5] union u { int x; }
    /// mod B: [4] union u { int y; } (differs from A's), [5] fwd union u
    #[test]
    fn lookups_orders_flavors_and_fwd_ambiguity() {
        let mut b = Builder::new(Endian::Little);
        b.int("int", 4, 32, 1);
        b.head("dup", Kind::Struct as u8, 1, false, 4).member("a", 1, 0);
        b.head("u", Kind::Fwd as u8, 0, true, 0);
        let base_blob = b.build();
        let base = Btf::parse(&base_blob).unwrap();
        let sl = base.header().str_len;
        let mut a = Builder::split(Endian::Little, sl);
        a.head("dup___v2", Kind::Struct as u8, 0, false, 8);
        a.head("u", Kind::Union as u8, 1, false, 4).member("x", 1, 0);
        let a_blob = a.build();
        let mut m = Builder::split(Endian::Little, sl);
        m.head("u", Kind::Union as u8, 1, false, 4).member("y", 1, 0);
        m.head("u", Kind::Fwd as u8, 0, true, 0);
        let m_blob = m.build();
        let ma = Btf::parse_split(&a_blob, &base).unwrap();
        let mb = Btf::parse_split(&m_blob, &base).unwrap();
        let (mut s0, mut s1, mut s2) = ([0u64; 4], [0u64; 4], [0u64; 4]);
        let layers = [
            Layer::new(base, base.build_name_index(&mut s0).unwrap()),
            Layer::new(ma, ma.build_name_index(&mut s1).unwrap()),
            Layer::new(mb, mb.build_name_index(&mut s2).unwrap()),
        ];
        let all = Composite::new(&layers).unwrap();
        let loc = |layer, id| Loc { layer, id: TypeId(id) };

        // Exact and essential names.
        let exact: Vec<Loc> = all.find(b"dup", Some(Kind::Struct), Order::All).collect();
        assert_eq!(exact, [loc(0, 2)]);
        let flav: Vec<Loc> = all.find_essential(b"dup", Some(Kind::Struct), Order::All).collect();
        assert_eq!(flav, [loc(0, 2), loc(1, 4)]);
        let rev: Vec<Loc> = all.find_essential(b"dup___v9", None, Order::Own(1)).collect();
        assert_eq!(rev, [loc(1, 4)]);
        // Base-first shadows; own layer does not look elsewhere.
        assert_eq!(all.find(b"u", None, Order::BaseFirst).next(), Some(loc(0, 3)));
        assert_eq!(all.find(b"u", Some(Kind::Union), Order::Own(2)).collect::<Vec<_>>(), [loc(2, 4)]);
        assert!(all.type_exists(Kind::Union, b"u"));
        assert!(!all.type_exists(Kind::Struct, b"u"));
        // B's FWD resolves in its own layer first; the base FWD sees two
        // different definitions and says so.
        assert_eq!(all.resolve_fwd(loc(2, 5)), Ok(Some(loc(2, 4))));
        assert_eq!(all.resolve_fwd(loc(0, 3)), Err(FwdError::Ambiguous(loc(1, 5), loc(2, 4))));
        assert_eq!(all.resolve_fwd(loc(0, 1)), Err(FwdError::NotAFwd));
        // A layer over another base is refused.
        let copy = base_blob.clone(); // equal bytes, another blob
        let other = Btf::parse(&copy).unwrap();
        let stray = Btf::parse_split(&m_blob, &other).unwrap();
        let bad = [layers[0], Layer::new(stray, layers[2].names)];
        assert!(Composite::new(&bad).is_err());
    }

    use crate::names::essential;

    #[test]
    fn essential_names_follow_libbpf() {
        assert_eq!(essential(b"task_struct___old"), b"task_struct");
        assert_eq!(essential(b"a___b___c"), b"a___b");
        assert_eq!(essential(b"a____b"), b"a____b");
        assert_eq!(essential(b"a___"), b"a___");
        assert_eq!(essential(b"___a"), b"___a");
        assert_eq!(essential(b"ab"), b"ab");
    }
}
