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

    /// The STRUCT or UNION that the FWD at `fwd` declares, in whichever
    /// layer defines it: the FWD's own layer first, then the base, then the
    /// other modules. `Ok(None)` when nothing defines it.
    ///
    /// # Errors
    /// [`FwdError::Ambiguous`] when layers define the name differently (a
    /// module repeating the base's or another module's definition with the
    /// same shape is not ambiguous); [`FwdError::NotAFwd`].
    pub fn resolve_fwd(&self, fwd: Loc) -> core::result::Result<Option<Loc>, FwdError> {
        let t = self.get(fwd).map_err(|_| FwdError::NotAFwd)?;
        let TypeView::Fwd(f) = t.view() else { return Err(FwdError::NotAFwd) };
        let name = self.name(fwd).map_err(|_| FwdError::NotAFwd)?;
        let kind = if f.union { Kind::Union } else { Kind::Struct };
        let mut found: Option<Loc> = None;
        // Own layer, then base, then the rest.
        let own = self.find(name, Some(kind), Order::Own(fwd.layer));
        let base = self.find(name, Some(kind), Order::Own(0));
        let rest = self.find(name, Some(kind), Order::All).filter(move |l| l.layer != 0 && l.layer != fwd.layer);
        for cand in own.chain(base).chain(rest) {
            match found {
                None => found = Some(cand),
                Some(first) if first == cand => {}
                Some(first) => {
                    if !self.same_shape(first, cand) {
                        return Err(FwdError::Ambiguous(first, cand));
                    }
                }
            }
        }
        Ok(found)
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
