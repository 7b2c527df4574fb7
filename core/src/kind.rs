//! The kinds: one table from which parsing, validation, writing and display
//! all derive.

use core::fmt;

macro_rules! kinds {
    ($( $(#[$doc:meta])* $value:literal $variant:ident $name:literal info $info:literal elem $elem:literal; )*) => {
        /// A BTF kind known to this crate (`BTF_KIND_*`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[cfg_attr(feature = "defmt", derive(defmt::Format))]
        #[repr(u8)]
        pub enum Kind {
            $( $(#[$doc])* $variant = $value, )*
        }

        impl Kind {
            /// Every known kind, in numeric order.
            pub const ALL: &'static [Kind] = &[$(Kind::$variant),*];

            /// The kind with this number, if known.
            #[must_use]
            pub const fn from_u8(v: u8) -> Option<Kind> {
                match v {
                    $( $value => Some(Kind::$variant), )*
                    _ => None,
                }
            }

            /// The kernel's spelling, as bpftool prints it (`"STRUCT"`).
            #[must_use]
            pub const fn name(self) -> &'static str {
                match self { $( Kind::$variant => $name, )* }
            }

            /// Bytes of fixed data after `struct btf_type`.
            #[must_use]
            pub const fn info_size(self) -> u32 {
                match self { $( Kind::$variant => $info, )* }
            }

            /// Bytes of each of the `vlen` trailing elements; 0 when the kind
            /// has none (its `vlen` then has another meaning or none).
            #[must_use]
            pub const fn elem_size(self) -> u32 {
                match self { $( Kind::$variant => $elem, )* }
            }
        }
    };
}

kinds! {
    /// Integer.
    1 Int "INT" info 4 elem 0;
    /// Pointer.
    2 Ptr "PTR" info 0 elem 0;
    /// Array.
    3 Array "ARRAY" info 12 elem 0;
    /// Struct.
    4 Struct "STRUCT" info 0 elem 12;
    /// Union.
    5 Union "UNION" info 0 elem 12;
    /// 32-bit enumeration.
    6 Enum "ENUM" info 0 elem 8;
    /// Forward declaration of a struct or union.
    7 Fwd "FWD" info 0 elem 0;
    /// Typedef.
    8 Typedef "TYPEDEF" info 0 elem 0;
    /// `volatile` modifier.
    9 Volatile "VOLATILE" info 0 elem 0;
    /// `const` modifier.
    10 Const "CONST" info 0 elem 0;
    /// `restrict` modifier.
    11 Restrict "RESTRICT" info 0 elem 0;
    /// Function (its vlen is the linkage).
    12 Func "FUNC" info 0 elem 0;
    /// Function prototype.
    13 FuncProto "FUNC_PROTO" info 0 elem 8;
    /// Variable.
    14 Var "VAR" info 4 elem 0;
    /// Data section.
    15 Datasec "DATASEC" info 0 elem 12;
    /// Floating point.
    16 Float "FLOAT" info 0 elem 0;
    /// Declaration tag.
    17 DeclTag "DECL_TAG" info 4 elem 0;
    /// Type tag.
    18 TypeTag "TYPE_TAG" info 0 elem 0;
    /// 64-bit enumeration.
    19 Enum64 "ENUM64" info 0 elem 12;
}

impl Kind {
    /// Whether `size_type` holds a type id (rather than a size) for this kind.
    #[must_use]
    pub const fn refers_to_type(self) -> bool {
        matches!(
            self,
            Kind::Ptr
                | Kind::Typedef
                | Kind::Volatile
                | Kind::Const
                | Kind::Restrict
                | Kind::Func
                | Kind::FuncProto
                | Kind::Var
                | Kind::DeclTag
                | Kind::TypeTag
        )
    }

    /// Whether the kind's `vlen` counts trailing elements.
    #[must_use]
    pub const fn has_elems(self) -> bool {
        self.elem_size() != 0
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How the `info` word is split into vlen and kind.
///
/// The encoding is chosen by the caller, never guessed: a blob cannot say
/// which one it uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum VlenEncoding {
    /// vlen in bits 0-15, kind in bits 24-28 (every kernel up to 7.1).
    #[default]
    Bits16,
    /// vlen in bits 0-23, kind in bits 24-30 (7.2 on).
    Bits24,
}

impl VlenEncoding {
    /// Splits `info` into (kind number, vlen, kind_flag).
    #[must_use]
    #[inline]
    pub const fn decode(self, info: u32) -> (u8, u32, bool) {
        let kflag = info >> 31 != 0;
        // The masks keep both values within u8/u32 range, so the casts are exact.
        #[allow(clippy::cast_possible_truncation)]
        match self {
            VlenEncoding::Bits16 => (((info >> 24) & 0x1f) as u8, info & 0xffff, kflag),
            VlenEncoding::Bits24 => (((info >> 24) & 0x7f) as u8, info & 0x00ff_ffff, kflag),
        }
    }

    /// Builds `info` from its parts; bits that do not fit are dropped.
    #[must_use]
    pub const fn encode(self, kind: u8, vlen: u32, kflag: bool) -> u32 {
        let k = kind as u32;
        let f = (kflag as u32) << 31;
        match self {
            VlenEncoding::Bits16 => f | ((k & 0x1f) << 24) | (vlen & 0xffff),
            VlenEncoding::Bits24 => f | ((k & 0x7f) << 24) | (vlen & 0x00ff_ffff),
        }
    }
}
