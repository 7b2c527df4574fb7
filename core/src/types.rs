//! Typed views of type records, for all 19 kinds, with their flags decoded.
//!
//! A [`Type`] is a cheap `Copy` handle on one record of a parsed blob. Its
//! trailing data has already been checked to be exactly as long as the kind
//! and `vlen` say, so every accessor here is infallible.

use core::fmt;
use core::marker::PhantomData;

use zerocopy::FromBytes;

use crate::endian::with_endian;
use crate::{Endian, Kind, raw};

/// A type id. Id 0 is `void`; it has no record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TypeId(pub u32);

impl TypeId {
    /// `void`.
    pub const VOID: TypeId = TypeId(0);
}

impl fmt::Display for TypeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}]", self.0)
    }
}

/// An offset into the string section. In split BTF, offsets below the
/// base's total string length refer to the base.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct StrOffset(pub u32);

/// One type record.
#[derive(Debug, Clone, Copy)]
pub struct Type<'a> {
    pub(crate) id: TypeId,
    pub(crate) offset: u32,
    pub(crate) endian: Endian,
    pub(crate) kind: u8,
    pub(crate) kflag: bool,
    pub(crate) vlen: u32,
    pub(crate) info: u32,
    pub(crate) name_off: u32,
    pub(crate) size_type: u32,
    /// Everything after the 12-byte head: fixed data, then the elements.
    pub(crate) trailing: &'a [u8],
}

impl<'a> Type<'a> {
    /// The view of a record from its decoded head; `trailing` must be
    /// exactly the bytes the kind and vlen own.
    pub(crate) fn from_head<O: zerocopy::byteorder::ByteOrder>(
        head: &raw::btf_type<O>,
        id: TypeId,
        offset: u32,
        endian: Endian,
        vlen_encoding: crate::VlenEncoding,
        trailing: &'a [u8],
    ) -> Self {
        let info = head.info.get();
        let (kind, vlen, kflag) = vlen_encoding.decode(info);
        Type {
            id,
            offset,
            endian,
            kind,
            kflag,
            vlen,
            info,
            name_off: head.name_off.get(),
            size_type: head.size_type.get(),
            trailing,
        }
    }

    /// The type's id.
    #[must_use]
    pub fn id(&self) -> TypeId {
        self.id
    }
    /// Byte offset of the record in its blob.
    #[must_use]
    pub fn offset(&self) -> u32 {
        self.offset
    }
    /// The kind, or `None` for a kind this crate does not know (skipped
    /// through the blob's layout section).
    #[must_use]
    pub fn kind(&self) -> Option<Kind> {
        Kind::from_u8(self.kind)
    }
    /// The raw kind number.
    #[must_use]
    pub fn kind_raw(&self) -> u8 {
        self.kind
    }
    /// The kind_flag bit.
    #[must_use]
    pub fn kind_flag(&self) -> bool {
        self.kflag
    }
    /// The vlen field.
    #[must_use]
    pub fn vlen(&self) -> u32 {
        self.vlen
    }
    /// The raw `info` word.
    #[must_use]
    pub fn info(&self) -> u32 {
        self.info
    }
    /// The name's offset in the string section.
    #[must_use]
    pub fn name_off(&self) -> StrOffset {
        StrOffset(self.name_off)
    }
    /// The raw `size`/`type` field.
    #[must_use]
    pub fn size_or_type(&self) -> u32 {
        self.size_type
    }
    /// The bytes after the 12-byte head.
    #[must_use]
    pub fn trailing(&self) -> &'a [u8] {
        self.trailing
    }
    /// Total length of the record in bytes.
    #[must_use]
    pub fn record_len(&self) -> usize {
        self.trailing.len().saturating_add(12)
    }

    fn fixed<T: FromBytes + zerocopy::KnownLayout + zerocopy::Immutable>(&self) -> Option<&'a T> {
        T::ref_from_prefix(self.trailing).ok().map(|(t, _)| t)
    }

    fn elems<T: Record>(&self, ctx: bool) -> Records<'a, T> {
        let fixed = Kind::from_u8(self.kind).map_or(0, Kind::info_size);
        let bytes = self.trailing.get(fixed as usize..).unwrap_or(&[]);
        Records::new(bytes, self.endian, ctx)
    }

    /// The kind-specific view.
    #[must_use]
    pub fn view(&self) -> TypeView<'a> {
        let Some(kind) = self.kind() else {
            return TypeView::Unknown(self.kind);
        };
        let t = TypeId(self.size_type);
        match kind {
            Kind::Int => {
                let data = with_endian!(self.endian, O => {
                    self.fixed::<zerocopy::byteorder::U32<O>>().map_or(0, |v| v.get())
                });
                TypeView::Int(Int { size: self.size_type, data })
            }
            Kind::Ptr => TypeView::Ptr(t),
            Kind::Array => {
                let a = with_endian!(self.endian, O => {
                    self.fixed::<raw::btf_array<O>>().map(|a| Array {
                        elem: TypeId(a.r#type.get()),
                        index: TypeId(a.index_type.get()),
                        nelems: a.nelems.get(),
                    })
                });
                TypeView::Array(a.unwrap_or(Array { elem: TypeId(0), index: TypeId(0), nelems: 0 }))
            }
            Kind::Struct | Kind::Union => {
                let c = Composite { size: self.size_type, kflag: self.kflag, members: self.elems(self.kflag) };
                if kind == Kind::Struct { TypeView::Struct(c) } else { TypeView::Union(c) }
            }
            Kind::Enum => TypeView::Enum(Enum {
                size: self.size_type,
                signed: self.kflag,
                values: EnumValues::Enum32(self.elems(self.kflag)),
            }),
            Kind::Enum64 => TypeView::Enum64(Enum {
                size: self.size_type,
                signed: self.kflag,
                values: EnumValues::Enum64(self.elems(self.kflag)),
            }),
            Kind::Fwd => TypeView::Fwd(Fwd { union: self.kflag }),
            Kind::Typedef => TypeView::Typedef(t),
            Kind::Volatile => TypeView::Volatile(t),
            Kind::Const => TypeView::Const(t),
            Kind::Restrict => TypeView::Restrict(t),
            Kind::Func => TypeView::Func(Func { proto: t, linkage: Linkage(self.vlen) }),
            Kind::FuncProto => TypeView::FuncProto(FuncProto { ret: t, params: self.elems(false) }),
            Kind::Var => {
                let linkage = with_endian!(self.endian, O => {
                    self.fixed::<raw::btf_var<O>>().map_or(0, |v| v.linkage.get())
                });
                TypeView::Var(Var { ty: t, linkage: Linkage(linkage) })
            }
            Kind::Datasec => TypeView::Datasec(Datasec { size: self.size_type, entries: self.elems(false) }),
            Kind::Float => TypeView::Float(Float { size: self.size_type }),
            Kind::DeclTag => {
                let component_idx = with_endian!(self.endian, O => {
                    self.fixed::<raw::btf_decl_tag<O>>().map_or(0, |v| v.component_idx.get())
                });
                TypeView::DeclTag(DeclTag { target: t, component_idx, attr: self.kflag })
            }
            Kind::TypeTag => TypeView::TypeTag(TypeTag { target: t, attr: self.kflag }),
        }
    }
}

/// The kind-specific view of a [`Type`].
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum TypeView<'a> {
    /// INT.
    Int(Int),
    /// PTR to this type.
    Ptr(TypeId),
    /// ARRAY.
    Array(Array),
    /// STRUCT.
    Struct(Composite<'a>),
    /// UNION.
    Union(Composite<'a>),
    /// ENUM.
    Enum(Enum<'a>),
    /// FWD.
    Fwd(Fwd),
    /// TYPEDEF of this type.
    Typedef(TypeId),
    /// VOLATILE of this type.
    Volatile(TypeId),
    /// CONST of this type.
    Const(TypeId),
    /// RESTRICT of this type.
    Restrict(TypeId),
    /// FUNC.
    Func(Func),
    /// FUNC_PROTO.
    FuncProto(FuncProto<'a>),
    /// VAR.
    Var(Var),
    /// DATASEC.
    Datasec(Datasec<'a>),
    /// FLOAT.
    Float(Float),
    /// DECL_TAG.
    DeclTag(DeclTag),
    /// TYPE_TAG.
    TypeTag(TypeTag),
    /// ENUM64.
    Enum64(Enum<'a>),
    /// A kind this crate does not know; its raw number.
    Unknown(u8),
}

/// INT: size, encoding, bit offset and bit count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Int {
    /// Byte size.
    pub size: u32,
    /// The raw trailing word: encoding (bits 24-27), offset (16-23), bits (0-7).
    pub data: u32,
}

impl Int {
    /// Encoding bits (`BTF_INT_SIGNED`, `_CHAR`, `_BOOL`).
    #[must_use]
    pub fn encoding(&self) -> u8 {
        ((self.data >> 24) & 0x0f) as u8
    }
    /// Whether the SIGNED bit is set.
    #[must_use]
    pub fn is_signed(&self) -> bool {
        self.encoding() & raw::BTF_INT_SIGNED != 0
    }
    /// Whether the CHAR bit is set.
    #[must_use]
    pub fn is_char(&self) -> bool {
        self.encoding() & raw::BTF_INT_CHAR != 0
    }
    /// Whether the BOOL bit is set.
    #[must_use]
    pub fn is_bool(&self) -> bool {
        self.encoding() & raw::BTF_INT_BOOL != 0
    }
    /// Bit offset of the value (legacy bitfields).
    #[must_use]
    pub fn offset(&self) -> u8 {
        ((self.data >> 16) & 0xff) as u8
    }
    /// Number of value bits.
    #[must_use]
    pub fn bits(&self) -> u8 {
        (self.data & 0xff) as u8
    }
}

/// ARRAY.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Array {
    /// Element type.
    pub elem: TypeId,
    /// Index type.
    pub index: TypeId,
    /// Number of elements.
    pub nelems: u32,
}

/// STRUCT or UNION.
#[derive(Debug, Clone, Copy)]
pub struct Composite<'a> {
    /// Byte size.
    pub size: u32,
    /// kind_flag: member offsets carry bitfield sizes.
    pub kflag: bool,
    members: Records<'a, Member>,
}

impl<'a> Composite<'a> {
    /// The members, in order.
    #[must_use]
    pub fn members(&self) -> Records<'a, Member> {
        self.members
    }
}

/// A struct or union member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member {
    /// Name.
    pub name_off: StrOffset,
    /// Type.
    pub ty: TypeId,
    /// The raw `offset` word.
    pub offset_raw: u32,
    /// Whether the owning type has kind_flag set.
    pub kflag: bool,
}

impl Member {
    /// Bit offset from the start of the struct.
    #[must_use]
    pub fn bit_offset(&self) -> u32 {
        if self.kflag { self.offset_raw & 0x00ff_ffff } else { self.offset_raw }
    }
    /// Bitfield width in bits, 0 when not a bitfield (only encoded with kind_flag).
    #[must_use]
    pub fn bitfield_size(&self) -> u32 {
        if self.kflag { self.offset_raw >> 24 } else { 0 }
    }
}

/// ENUM or ENUM64.
#[derive(Debug, Clone, Copy)]
pub struct Enum<'a> {
    /// Byte size.
    pub size: u32,
    /// kind_flag: values are signed.
    pub signed: bool,
    values: EnumValues<'a>,
}

#[derive(Debug, Clone, Copy)]
enum EnumValues<'a> {
    Enum32(Records<'a, EnumValue32>),
    Enum64(Records<'a, EnumValue>),
}

impl<'a> Enum<'a> {
    /// The enumerators, in order, with values widened to 64 bits according
    /// to the signedness.
    pub fn values(&self) -> impl ExactSizeIterator<Item = EnumValue> + 'a {
        let (a, b) = match self.values {
            EnumValues::Enum32(r) => (Some(r.map(|v| v.0)), None),
            EnumValues::Enum64(r) => (None, Some(r)),
        };
        EitherIter { a, b }
    }
    /// Number of enumerators.
    #[must_use]
    pub fn len(&self) -> usize {
        match self.values {
            EnumValues::Enum32(r) => r.len(),
            EnumValues::Enum64(r) => r.len(),
        }
    }
    /// Whether there are no enumerators.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

struct EitherIter<A, B> {
    a: Option<A>,
    b: Option<B>,
}

impl<T, A: Iterator<Item = T>, B: Iterator<Item = T>> Iterator for EitherIter<A, B> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        match (&mut self.a, &mut self.b) {
            (Some(a), _) => a.next(),
            (_, Some(b)) => b.next(),
            _ => None,
        }
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        match (&self.a, &self.b) {
            (Some(a), _) => a.size_hint(),
            (_, Some(b)) => b.size_hint(),
            _ => (0, Some(0)),
        }
    }
}
impl<T, A: ExactSizeIterator<Item = T>, B: ExactSizeIterator<Item = T>> ExactSizeIterator for EitherIter<A, B> {}

/// One enumerator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnumValue {
    /// Name.
    pub name_off: StrOffset,
    /// The value's bits, zero-extended (ENUM: the low 32 bits hold the value).
    pub raw: u64,
    /// Whether the owning enum is 64-bit.
    pub wide: bool,
    /// Whether the owning enum is signed.
    pub signed: bool,
}

impl EnumValue {
    /// The value, sign-extended from 32 or 64 bits when the enum is signed.
    #[must_use]
    pub fn value(&self) -> i128 {
        match (self.signed, self.wide) {
            (true, false) => i128::from(self.raw as u32 as i32),
            (true, true) => i128::from(self.raw as i64),
            (false, _) => i128::from(self.raw),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct EnumValue32(EnumValue);

/// FWD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fwd {
    /// Forward declaration of a union (kind_flag) rather than a struct.
    pub union: bool,
}

/// FUNC or VAR linkage (`BTF_FUNC_*`, `BTF_VAR_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Linkage(pub u32);

/// FUNC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Func {
    /// The FUNC_PROTO.
    pub proto: TypeId,
    /// Linkage (the record's vlen): static, global or extern.
    pub linkage: Linkage,
}

/// FUNC_PROTO.
#[derive(Debug, Clone, Copy)]
pub struct FuncProto<'a> {
    /// Return type; void is 0.
    pub ret: TypeId,
    params: Records<'a, Param>,
}

impl<'a> FuncProto<'a> {
    /// The parameters; a trailing one with type 0 means `...`.
    #[must_use]
    pub fn params(&self) -> Records<'a, Param> {
        self.params
    }
}

/// A FUNC_PROTO parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param {
    /// Name, 0 when anonymous.
    pub name_off: StrOffset,
    /// Type; 0 for a vararg.
    pub ty: TypeId,
}

/// VAR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Var {
    /// The variable's type.
    pub ty: TypeId,
    /// Linkage: static, global allocated or extern.
    pub linkage: Linkage,
}

/// DATASEC.
#[derive(Debug, Clone, Copy)]
pub struct Datasec<'a> {
    /// Byte size of the section.
    pub size: u32,
    entries: Records<'a, SecInfo>,
}

impl<'a> Datasec<'a> {
    /// The variables (or functions) placed in the section.
    #[must_use]
    pub fn entries(&self) -> Records<'a, SecInfo> {
        self.entries
    }
}

/// A DATASEC entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecInfo {
    /// The VAR.
    pub ty: TypeId,
    /// Byte offset in the section.
    pub offset: u32,
    /// Byte size.
    pub size: u32,
}

/// FLOAT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Float {
    /// Byte size.
    pub size: u32,
}

/// DECL_TAG.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeclTag {
    /// The tagged type.
    pub target: TypeId,
    /// -1 for the type itself, else the member or parameter index.
    pub component_idx: i32,
    /// kind_flag: the tag is a raw `__attribute__` (6.15+).
    pub attr: bool,
}

/// TYPE_TAG.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeTag {
    /// The tagged type.
    pub target: TypeId,
    /// kind_flag: the tag is a raw `__attribute__` (6.15+).
    pub attr: bool,
}

/// A trailing element type that can be decoded from its bytes.
pub trait Record: Sized + Copy + sealed::Sealed {
    /// Bytes per element.
    const SIZE: usize;
    #[doc(hidden)]
    fn decode(bytes: &[u8], endian: Endian, ctx: bool) -> Option<Self>;
}

mod sealed {
    pub trait Sealed {}
}

macro_rules! record {
    ($t:ty, $raw:ident, $size:literal, |$r:ident, $ctx:ident| $body:expr) => {
        impl sealed::Sealed for $t {}
        impl Record for $t {
            const SIZE: usize = $size;
            #[inline]
            fn decode(bytes: &[u8], endian: Endian, $ctx: bool) -> Option<Self> {
                with_endian!(endian, O => {
                    raw::$raw::<O>::ref_from_prefix(bytes).ok().map(|($r, _)| $body)
                })
            }
        }
    };
}

record!(Member, btf_member, 12, |r, kflag| Member {
    name_off: StrOffset(r.name_off.get()),
    ty: TypeId(r.r#type.get()),
    offset_raw: r.offset.get(),
    kflag,
});
record!(Param, btf_param, 8, |r, _c| Param { name_off: StrOffset(r.name_off.get()), ty: TypeId(r.r#type.get()) });
record!(SecInfo, btf_var_secinfo, 12, |r, _c| SecInfo {
    ty: TypeId(r.r#type.get()),
    offset: r.offset.get(),
    size: r.size.get(),
});
record!(EnumValue32, btf_enum, 8, |r, signed| EnumValue32(EnumValue {
    name_off: StrOffset(r.name_off.get()),
    raw: u64::from(r.val.get() as u32),
    wide: false,
    signed,
}));
record!(EnumValue, btf_enum64, 12, |r, signed| EnumValue {
    name_off: StrOffset(r.name_off.get()),
    raw: (u64::from(r.val_hi32.get()) << 32) | u64::from(r.val_lo32.get()),
    wide: true,
    signed,
});

/// The trailing elements of a record: members, parameters, enumerators or
/// section entries. Exact-size, infallible, `Copy`.
#[derive(Clone, Copy)]
pub struct Records<'a, T> {
    bytes: &'a [u8],
    endian: Endian,
    ctx: bool,
    _t: PhantomData<T>,
}

impl<T> fmt::Debug for Records<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Records").field("bytes", &self.bytes.len()).finish()
    }
}

impl<'a, T: Record> Records<'a, T> {
    fn new(bytes: &'a [u8], endian: Endian, ctx: bool) -> Self {
        Records { bytes, endian, ctx, _t: PhantomData }
    }
}

impl<T: Record> Iterator for Records<'_, T> {
    type Item = T;
    #[inline]
    fn next(&mut self) -> Option<T> {
        let (head, rest) = self.bytes.split_at_checked(T::SIZE)?;
        self.bytes = rest;
        T::decode(head, self.endian, self.ctx)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.bytes.len().checked_div(T::SIZE).unwrap_or(0);
        (n, Some(n))
    }
}

impl<T: Record> ExactSizeIterator for Records<'_, T> {}
