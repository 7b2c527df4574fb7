//! On-disk records, mirroring `include/uapi/linux/btf.h`.
//!
//! This module is the equivalent of the C header: field names are the C
//! names, every record is generic over its byte order, and there is no logic
//! here. Every record is `Unaligned`, so it can be viewed in place over any
//! borrowed byte slice, in either byte order, without copying or swapping.
//!
//! Typed, checked accessors are [`crate::Type`] and [`crate::TypeView`].
#![allow(non_camel_case_types)]

use zerocopy::byteorder::{ByteOrder, I32, U16, U32};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

/// `BTF_MAGIC`: the first two bytes of every BTF blob, in the blob's byte order.
pub const BTF_MAGIC: u16 = 0xEB9F;
/// `BTF_VERSION`: the only version defined so far.
pub const BTF_VERSION: u8 = 1;

/// `struct btf_header` as it was until Linux 7.0: 24 bytes.
///
/// All offsets are relative to the end of the header (`hdr_len`).
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct btf_header<O: ByteOrder> {
    /// `BTF_MAGIC`.
    pub magic: U16<O>,
    /// `BTF_VERSION`.
    pub version: u8,
    /// Reserved, zero.
    pub flags: u8,
    /// Length of the header in bytes.
    pub hdr_len: U32<O>,
    /// Offset of the type section.
    pub type_off: U32<O>,
    /// Length of the type section.
    pub type_len: U32<O>,
    /// Offset of the string section.
    pub str_off: U32<O>,
    /// Length of the string section.
    pub str_len: U32<O>,
}

/// `struct btf_header` from Linux 7.1 on: 32 bytes, with the layout section.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct btf_header_layout<O: ByteOrder> {
    /// The 24-byte header.
    pub base: btf_header<O>,
    /// Offset of the layout section.
    pub layout_off: U32<O>,
    /// Length of the layout section.
    pub layout_len: U32<O>,
}

/// `struct btf_type`: the 12-byte head of every type record.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct btf_type<O: ByteOrder> {
    /// Offset of the name in the string section.
    pub name_off: U32<O>,
    /// vlen (bits 0-15, or 0-23 from 7.2), kind (bits 24-28, or 24-30), kind_flag (bit 31).
    pub info: U32<O>,
    /// `size` or `type`, depending on the kind.
    pub size_type: U32<O>,
}

/// `struct btf_array`: trails a `BTF_KIND_ARRAY`.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct btf_array<O: ByteOrder> {
    /// Element type.
    pub r#type: U32<O>,
    /// Index type.
    pub index_type: U32<O>,
    /// Number of elements.
    pub nelems: U32<O>,
}

/// `struct btf_member`: `vlen` of these trail a STRUCT or UNION.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct btf_member<O: ByteOrder> {
    /// Member name.
    pub name_off: U32<O>,
    /// Member type.
    pub r#type: U32<O>,
    /// Bit offset, or `bitfield_size << 24 | bit_offset` when the kind_flag is set.
    pub offset: U32<O>,
}

/// `struct btf_param`: `vlen` of these trail a FUNC_PROTO.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct btf_param<O: ByteOrder> {
    /// Parameter name.
    pub name_off: U32<O>,
    /// Parameter type; 0 in a trailing vararg.
    pub r#type: U32<O>,
}

/// `struct btf_enum`: `vlen` of these trail an ENUM.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct btf_enum<O: ByteOrder> {
    /// Enumerator name.
    pub name_off: U32<O>,
    /// Value (signed in the C header; the kind_flag says how to read it).
    pub val: I32<O>,
}

/// `struct btf_enum64`: `vlen` of these trail an ENUM64.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct btf_enum64<O: ByteOrder> {
    /// Enumerator name.
    pub name_off: U32<O>,
    /// Low 32 bits of the value.
    pub val_lo32: U32<O>,
    /// High 32 bits of the value.
    pub val_hi32: U32<O>,
}

/// `struct btf_var`: trails a VAR.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct btf_var<O: ByteOrder> {
    /// `BTF_VAR_*` linkage.
    pub linkage: U32<O>,
}

/// `struct btf_var_secinfo`: `vlen` of these trail a DATASEC.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct btf_var_secinfo<O: ByteOrder> {
    /// The VAR (or FUNC) placed in the section.
    pub r#type: U32<O>,
    /// Byte offset in the section.
    pub offset: U32<O>,
    /// Byte size in the section.
    pub size: U32<O>,
}

/// `struct btf_decl_tag`: trails a DECL_TAG.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct btf_decl_tag<O: ByteOrder> {
    /// -1 for the tagged type itself, else the member or parameter index.
    pub component_idx: I32<O>,
}

/// `struct btf_layout` (7.1+): one entry per kind in the layout section.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct btf_layout<O: ByteOrder> {
    /// Bytes of fixed data after `struct btf_type`.
    pub info_sz: u8,
    /// Bytes of each of the `vlen` trailing elements.
    pub elem_sz: u8,
    /// Flags, none defined yet.
    pub flags: U16<O>,
}

/// INT encoding bit: signed.
pub const BTF_INT_SIGNED: u8 = 1 << 0;
/// INT encoding bit: char.
pub const BTF_INT_CHAR: u8 = 1 << 1;
/// INT encoding bit: bool.
pub const BTF_INT_BOOL: u8 = 1 << 2;

/// FUNC / VAR linkage: static.
pub const BTF_FUNC_STATIC: u32 = 0;
/// FUNC linkage: global.
pub const BTF_FUNC_GLOBAL: u32 = 1;
/// FUNC linkage: extern.
pub const BTF_FUNC_EXTERN: u32 = 2;
/// VAR linkage: static.
pub const BTF_VAR_STATIC: u32 = 0;
/// VAR linkage: global, allocated.
pub const BTF_VAR_GLOBAL_ALLOCATED: u32 = 1;
/// VAR linkage: global, extern.
pub const BTF_VAR_GLOBAL_EXTERN: u32 = 2;

/// `BTF_MAX_TYPE`: the largest type id the kernel accepts.
pub const BTF_MAX_TYPE: u32 = 0x000f_ffff;
/// `BTF_MAX_NAME_OFFSET`: the largest string offset the kernel accepts.
pub const BTF_MAX_NAME_OFFSET: u32 = 0x00ff_ffff;
/// `BTF_MAX_VLEN` with the 16-bit vlen encoding.
pub const BTF_MAX_VLEN: u32 = 0xffff;
/// `BTF_MAX_VLEN` with the 7.2 24-bit vlen encoding.
pub const BTF_MAX_VLEN_24: u32 = 0x00ff_ffff;
