//! One variant per verifier rule, with the kernel's log message.

use core::fmt;

macro_rules! rules {
    ($( $(#[$doc:meta])* $variant:ident => $msg:literal, )*) => {
        /// A rule of the kernel's BTF verifier (or one of our tightenings).
        ///
        /// `Display` prints the message the kernel logs for the same failure.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[cfg_attr(feature = "defmt", derive(defmt::Format))]
        #[non_exhaustive]
        pub enum Rule {
            $( $(#[$doc])* $variant, )*
        }

        impl Rule {
            /// The kernel's log message for this rule.
            #[must_use]
            pub const fn message(self) -> &'static str {
                match self { $( Rule::$variant => $msg, )* }
            }
        }
    };
}

rules! {
    /// Blob shorter than 8 bytes.
    HdrLenNotFound => "hdr_len not found",
    /// `hdr_len` larger than the blob.
    HeaderNotFound => "btf_header not found",
    /// Non-zero bytes past the header this kernel knows.
    UnsupportedHeader => "Unsupported btf_header",
    /// (Strict) `hdr_len` below 24 bytes.
    HeaderTooShort => "hdr_len shorter than 24 bytes",
    /// (Strict) `hdr_len` not a multiple of 4.
    HeaderMisaligned => "hdr_len not a multiple of 4",
    /// Wrong magic (or the other byte order, which the kernel cannot read).
    InvalidMagic => "Invalid magic",
    /// `version` is not 1.
    UnsupportedVersion => "Unsupported version",
    /// `flags` is not 0.
    UnsupportedFlags => "Unsupported flags",
    /// A standalone blob with nothing after the header.
    NoData => "No data",
    /// A section starts beyond the data.
    InvalidSectionOffset => "Invalid section offset",
    /// A gap between sections, or bytes after the last one.
    UnsupportedSection => "Unsupported section found",
    /// Two sections overlap.
    SectionOverlap => "Section overlap found",
    /// A section runs past the data.
    SectionTooLong => "Total section length too long",
    /// User BTF larger than 16 MiB.
    TooLarge => "BTF larger than BTF_MAX_SIZE (16 MiB)",
    /// (7.1+) `layout_off` not 4-byte aligned.
    LayoutMisaligned => "Unaligned layout_off",
    /// (7.1+) layout section shorter than one entry or not a multiple of 4.
    InvalidLayoutLen => "Invalid layout section length",
    /// The string section does not end the blob.
    StringsNotAtEnd => "String section is not at the end",
    /// Empty, too long, or not NUL-delimited as required.
    InvalidStringSection => "Invalid string section",
    /// `type_off` not 4-byte aligned.
    UnalignedTypeOff => "Unaligned type_off",
    /// A standalone blob without types.
    NoTypeFound => "No type found",
    /// A split BTF given to a load path that takes standalone BTF only.
    SplitNotLoadable => "BPF_BTF_LOAD takes standalone BTF only",
    /// Module BTF validated without its base.
    BaseRequired => "split BTF needs its base",
    /// A base without its id index (`Btf::with_index`): every lookup of a
    /// base type would walk the base from its start.
    BaseNotIndexed => "the base BTF has no id index (Btf::with_index)",
    /// A record runs past the type section.
    MetaTruncated => "meta_left too small for the type",
    /// Reserved bits of `info` are set.
    InvalidInfo => "Invalid btf_info",
    /// Kind 0 or beyond the kernel's BTF_KIND_MAX.
    InvalidKind => "Invalid kind",
    /// A name offset beyond the string sections or BTF_MAX_NAME_OFFSET.
    InvalidNameOffset => "Invalid name_offset",
    /// `vlen` must be 0 for this kind.
    VlenNotZero => "vlen != 0",
    /// kind_flag not allowed for this kind (on this kernel).
    InvalidKindFlag => "Invalid btf_info kind_flag",
    /// INT: bits 28-31 of the int data are set.
    InvalidIntData => "Invalid int_data",
    /// INT: bits + offset beyond 128.
    IntBitsTooMany => "nr_bits exceeds 128",
    /// (Before 5.1) INT wider than 64 bits, offset included.
    IntBitsOver64 => "nr_bits exceeds 64",
    /// INT: bits + offset beyond the size.
    IntBitsExceedSize => "nr_bits exceeds type_size",
    /// INT: more than one encoding bit.
    UnsupportedEncoding => "Unsupported encoding",
    /// (Strict) INT: bits 8-15 of the int data set, or size above 16.
    IntReservedBits => "Invalid int_data reserved bits or size",
    /// A type id that is 0 where void is not allowed, too large, or of the
    /// wrong kind.
    InvalidTypeId => "Invalid type_id",
    /// A name that is missing, present where forbidden, or not an identifier.
    InvalidName => "Invalid name",
    /// ARRAY: `size` must be 0.
    SizeNotZero => "size != 0",
    /// ARRAY: invalid element type.
    InvalidElem => "Invalid elem",
    /// ARRAY: invalid index type.
    InvalidIndex => "Invalid index",
    /// Member name offset out of range.
    InvalidMemberNameOffset => "Invalid member name_offset",
    /// Member name not an identifier.
    InvalidMemberName => "Invalid member name",
    /// Member offsets decrease, or a union member is not at 0.
    InvalidMemberBitsOffset => "Invalid member bits_offset",
    /// Member offset beyond the struct size.
    MemberOffsetExceedsSize => "Member bits_offset exceeds its struct size",
    /// ENUM/ENUM64 size not 1, 2, 4 or 8.
    UnexpectedSize => "Unexpected size",
    /// (Before 5.4) ENUM of a size other than 4.
    EnumSizeNotInt => "Expected size:4",
    /// FWD: `type` must be 0.
    TypeNotZero => "type != 0",
    /// FUNC linkage beyond GLOBAL.
    InvalidFuncLinkage => "Invalid func linkage",
    /// VAR linkage not STATIC or GLOBAL_ALLOCATED.
    LinkageNotSupported => "Linkage not supported",
    /// DATASEC size 0.
    SizeZero => "size == 0",
    /// (Before 5.12) A DATASEC with no entries.
    DatasecEmpty => "vlen == 0",
    /// DATASEC entry offset unsorted or beyond the section.
    InvalidOffset => "Invalid offset",
    /// DATASEC entry size 0 or beyond the section.
    InvalidSize => "Invalid size",
    /// DATASEC entry end beyond the section.
    InvalidOffsetSize => "Invalid offset+size",
    /// DATASEC entries larger than the section in total.
    InvalidInfoSize => "Invalid btf_info size",
    /// FLOAT size not 2, 4, 8, 12 or 16.
    InvalidTypeSize => "Invalid type_size",
    /// DECL_TAG/TYPE_TAG value empty.
    InvalidValue => "Invalid value",
    /// DECL_TAG component index invalid.
    InvalidComponentIdx => "Invalid component_idx",
    /// More types than BTF_MAX_TYPE.
    TooManyTypes => "Exceeded max num of types",
    /// A reference loop.
    LoopDetected => "Loop detected",
    /// Resolution deeper than 32.
    MaxResolveDepth => "Exceeded max resolving depth",
    /// Resolution ended in an inconsistent state; or, before 6.1's fix, a
    /// struct member typed above 65535 whose id's low 16 bits name a type
    /// not resolved (the kernel warns in its own log and returns EINVAL,
    /// logging nothing for the load).
    InvalidResolveState => "Invalid resolve state",
    /// A member of a type without size, or of a source-only kind.
    InvalidMember => "Invalid member",
    /// ARRAY of an INT that is not a regular one.
    InvalidArrayOfInt => "Invalid array of int",
    /// ARRAY byte size beyond u32.
    ArraySizeOverflow => "Array size overflows U32_MAX",
    /// Member bit offset plus INT offset beyond u32.
    BitsOffsetOverflow => "bits_offset exceeds U32_MAX",
    /// Member copies more than 128 bits.
    NrCopyBitsTooMany => "nr_copy_bits exceeds 128",
    /// (Before 5.1) INT member copying more than 64 bits.
    NrCopyBitsOver64 => "nr_copy_bits exceeds 64",
    /// Member runs past the struct size.
    MemberExceedsStructSize => "Member exceeds struct_size",
    /// kind_flag INT member of a non-regular INT.
    InvalidMemberBaseType => "Invalid member base type",
    /// kind_flag non-bitfield member not byte aligned.
    InvalidMemberOffset => "Invalid member offset",
    /// Bitfield size invalid for the member's type.
    InvalidMemberBitfieldSize => "Invalid member bitfield_size",
    /// Member not byte aligned.
    MemberNotByteAligned => "Member is not byte aligned",
    /// FLOAT member misaligned.
    MemberNotAligned => "Member is not properly aligned",
    /// FUNC_PROTO parameter invalid (see the index).
    InvalidArg => "Invalid arg",
    /// FUNC_PROTO return type invalid.
    InvalidReturnType => "Invalid return type",
    /// DATASEC entry is not a VAR.
    NotAVar => "Not a VAR kind member",
    /// DATASEC entry's VAR has no sized type.
    InvalidType => "Invalid type",
    /// (Strict) PTR or modifier to a FUNC, accepted by the kernel only in some id orders.
    RefToFunc => "Reference to a FUNC",
    /// A TYPE_TAG after a non-tag modifier in a chain.
    TypeTagsAfterModifiers => "Type tags don't precede modifiers",
    /// A modifier chain longer than 32, or a modifier cycle.
    ModifierChainTooLong => "Max chain length or cycle detected",
    /// A modifier chain reaches an id that does not exist.
    DanglingModifier => "Modifier chain refers to a missing type",
    // The BPF special-field layer (kernel 6.2+, user loads): the kernel
    // logs nothing for these, so each message names the errno instead.
    /// A member of a struct with special fields (or nested in one) does not start on a byte.
    FieldMemberNotByteAligned => "Member of a special-field struct not byte aligned (EINVAL)",
    /// 32 levels of arrays in a member, or of struct nesting, below a struct with special fields.
    FieldsTooDeep => "Special-field struct nested too deep (E2BIG)",
    /// A second `bpf_spin_lock` (or `bpf_res_spin_lock`) at one struct level.
    DuplicateField => "Duplicate unique special field (E2BIG)",
    /// More than 11 special fields in one struct, arrays and nesting included.
    TooManyFields => "More than BTF_FIELDS_MAX special fields (E2BIG)",
    /// An array of a special field that cannot repeat (locks, nodes, refcounts).
    FieldInArray => "Special field in an array (EINVAL)",
    /// A kptr type tag followed by another type tag.
    KptrExtraTag => "kptr with an extra type tag (EINVAL)",
    /// A pointer in a special-field struct tagged with a type tag that is no kptr tag.
    PtrUnknownTag => "Pointer with an unknown type tag in a special-field struct (EINVAL)",
    /// A kptr whose pointee is no STRUCT.
    KptrNotStruct => "kptr does not point to a struct (EINVAL)",
    /// (7.2) The modifiers after a pointer carry type tags of two kptr kinds.
    KptrTagsConflict => "Pointer with type tags of two kptr kinds (EINVAL)",
    /// A graph root with no `contains:` declaration tag, or with two.
    GraphRootTag => "Graph root needs exactly one contains: decl tag (EINVAL)",
    /// A `contains:` value without `:node`, or with an empty node name.
    GraphRootTagValue => "Invalid contains: decl tag value (EINVAL)",
    /// The struct a `contains:` tag names does not exist.
    GraphRootValueMissing => "contains: value struct not found (ENOENT)",
    /// The value struct has no member of the node name.
    GraphRootNodeMissing => "contains: node member not found (ENOENT)",
    /// The node member is repeated, of the wrong type, or misaligned.
    GraphRootNodeInvalid => "Invalid contains: node member (EINVAL)",
    /// A special field runs past its struct.
    FieldPastSize => "Special field past the struct size (EFAULT)",
    /// Two special fields overlap.
    FieldsOverlap => "Special fields overlap (EEXIST)",
    /// A struct with a special-field member in which no field is found.
    NoSpecialFields => "No special field found in a struct that has one (EFAULT)",
    /// Both `bpf_spin_lock` and `bpf_res_spin_lock` in one struct.
    SpinLockAndResSpinLock => "Both bpf_spin_lock and bpf_res_spin_lock (EINVAL)",
    /// A graph root without a spin lock in its struct.
    GraphRootWithoutLock => "Graph root without a spin lock (EINVAL)",
    /// List and rb nodes in one struct without a `bpf_refcount`.
    NodesWithoutRefcount => "List and rb nodes without bpf_refcount (EINVAL)",
    /// A graph root's value struct has no special-field member of its own.
    GraphValueNotParsed => "Graph root value struct has no special fields (EFAULT)",
    /// A struct with a node owns, through a root, a struct with a root.
    GraphOwnershipLoop => "Graph root ownership cycle (ELOOP)",
    /// (6.12) The ownership graph (graph roots to their value structs, referenced and per-CPU
    /// kptrs to the program's own structs with special fields) has a cycle or a chain of more
    /// than 8 structs.
    OwnershipTooDeep => "Ownership chain deeper than 8 structs, or a cycle (ELOOP)",
    /// (btfkit's bound) The special fields need more work than a constant factor of the blob's
    /// size: the kernel's walks and scans are quadratic in graph roots and nested structs.
    SpecialFieldsTooComplex => "Special fields need more work than the blob's size allows",
    /// A referenced kptr (tag `kptr`) to a kernel struct that has no registered destructor.
    KptrNoDestructor => "Referenced kptr to a kernel struct without a destructor (ENOENT)",
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}
