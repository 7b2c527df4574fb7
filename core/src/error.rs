//! The error type: small, `Copy`, allocation-free, and located.

use core::fmt;

use crate::TypeId;

/// A section of a BTF blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Section {
    /// The header.
    Header,
    /// The type section.
    Types,
    /// The string section.
    Strings,
    /// The layout section (7.1+).
    Layout,
}

impl Section {
    fn name(self) -> &'static str {
        match self {
            Section::Header => "header",
            Section::Types => "type section",
            Section::Strings => "string section",
            Section::Layout => "layout section",
        }
    }
}

/// What went wrong.
///
/// Each variant is one rule that the input broke. Payloads are small so that
/// [`Error`] stays `Copy` and fits in registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ErrorKind {
    /// The blob ends before the header does.
    HeaderTruncated {
        /// Bytes the header needs.
        needed: u32,
    },
    /// The first two bytes are not `0xEB9F` in either byte order.
    BadMagic,
    /// `version` is not 1.
    UnsupportedVersion(u8),
    /// `hdr_len` is larger than the blob.
    HeaderLenTooLarge(u32),
    /// A section does not lie inside the blob.
    SectionOutOfBounds(Section),
    /// The blob is larger than 4 GiB, which BTF offsets cannot address.
    BlobTooLarge,
    /// A type record (its 12-byte head or its trailing data) runs past the
    /// end of the type section.
    TypeTruncated,
    /// The kind is unknown, and no layout section describes it.
    UnknownKind(u8),
    /// The layout section's length is not a multiple of 4.
    BadLayoutSection,
    /// There are more types than a 32-bit id can number.
    TooManyTypes,
    /// A type id does not exist in this blob or its bases.
    TypeIdOutOfRange(u32),
    /// A string offset lies beyond the string sections of the blob and its bases.
    StringOffsetOutOfRange(u32),
    /// The string at this offset runs to the end of its section without a NUL.
    StringNotTerminated(u32),
    /// A split blob and its base differ in byte order.
    EndianMismatch,
    /// Caller-provided storage is too small.
    BufferTooSmall {
        /// Elements (or bytes) the operation needs.
        needed: u32,
    },
    /// An id index was built for another blob.
    IndexMismatch,
    /// The sink refused a write.
    Sink,
    /// Caller storage given to a builder is full (or was not empty).
    StorageFull,
    /// A string to add contains a NUL byte.
    NulInString,
    /// Too many elements for the vlen encoding, or a value too wide for
    /// its field.
    VlenOverflow,
    /// An element was added, but the last record is not of a kind that
    /// takes it.
    NoOpenType,
    /// A split blob is not over the base it is merged or rebased with.
    NotOverBase,
    /// The output would have more types (this many, with `void`) than the
    /// kernel's `BTF_MAX_TYPE`.
    KernelLimitTypes(u32),
    /// The output's string space (this many bytes) would pass the kernel's
    /// `BTF_MAX_NAME_OFFSET`.
    KernelLimitStrings(u32),
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ErrorKind::HeaderTruncated { needed } => {
                write!(f, "blob too short for the BTF header ({needed} bytes needed)")
            }
            ErrorKind::BadMagic => f.write_str("invalid BTF magic (expected 0xeb9f)"),
            ErrorKind::UnsupportedVersion(v) => write!(f, "unsupported BTF version {v}"),
            ErrorKind::HeaderLenTooLarge(l) => write!(f, "hdr_len {l} exceeds the blob"),
            ErrorKind::SectionOutOfBounds(s) => write!(f, "{} lies outside the blob", s.name()),
            ErrorKind::BlobTooLarge => f.write_str("blob larger than 4 GiB"),
            ErrorKind::TypeTruncated => f.write_str("type record runs past the type section"),
            ErrorKind::UnknownKind(k) => {
                write!(f, "unknown kind {k} not described by a layout section")
            }
            ErrorKind::BadLayoutSection => f.write_str("layout section length is not a multiple of 4"),
            ErrorKind::TooManyTypes => f.write_str("too many types for 32-bit type ids"),
            ErrorKind::TypeIdOutOfRange(id) => write!(f, "type id {id} does not exist"),
            ErrorKind::StringOffsetOutOfRange(o) => {
                write!(f, "string offset {o:#x} is out of range")
            }
            ErrorKind::StringNotTerminated(o) => {
                write!(f, "string at offset {o:#x} is not NUL-terminated")
            }
            ErrorKind::EndianMismatch => f.write_str("split BTF and base differ in byte order"),
            ErrorKind::BufferTooSmall { needed } => {
                write!(f, "buffer too small ({needed} needed)")
            }
            ErrorKind::IndexMismatch => f.write_str("id index does not belong to this blob"),
            ErrorKind::Sink => f.write_str("output sink failed"),
            ErrorKind::StorageFull => f.write_str("builder storage is full"),
            ErrorKind::NulInString => f.write_str("string contains a NUL byte"),
            ErrorKind::VlenOverflow => f.write_str("too many elements, or a value too wide for its field"),
            ErrorKind::NoOpenType => f.write_str("element added after a record of another kind"),
            ErrorKind::NotOverBase => f.write_str("split BTF is not over the given base"),
            ErrorKind::KernelLimitTypes(n) => {
                write!(f, "{n} types (with void) exceed the kernel's limit of {:#x}", crate::raw::BTF_MAX_TYPE)
            }
            ErrorKind::KernelLimitStrings(n) => write!(
                f,
                "{n:#x} bytes of strings exceed the kernel's name offset limit of {:#x}",
                crate::raw::BTF_MAX_NAME_OFFSET
            ),
        }
    }
}

/// A BTF error: what rule was broken, at which byte of the blob, and for
/// which type when that is known.
///
/// `Error` is `Copy` and allocation-free. Offsets are byte offsets from the
/// start of the blob the error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Error {
    kind: ErrorKind,
    offset: u32,
    type_id: Option<TypeId>,
}

impl Error {
    #[cold]
    pub(crate) const fn new(kind: ErrorKind, offset: u32) -> Self {
        Error { kind, offset, type_id: None }
    }

    #[cold]
    pub(crate) const fn at_type(kind: ErrorKind, offset: u32, id: TypeId) -> Self {
        Error { kind, offset, type_id: Some(id) }
    }

    /// Attaches a type id unless one is already known.
    #[must_use]
    pub(crate) const fn or_type(mut self, id: TypeId) -> Self {
        if self.type_id.is_none() {
            self.type_id = Some(id);
        }
        self
    }

    /// The rule that was broken.
    #[must_use]
    pub const fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Byte offset in the blob where the problem was found.
    #[must_use]
    pub const fn offset(&self) -> u32 {
        self.offset
    }

    /// The type being read, when known.
    #[must_use]
    pub const fn type_id(&self) -> Option<TypeId> {
        self.type_id
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {:#x}", self.kind, self.offset)?;
        if let Some(id) = self.type_id {
            write!(f, " (type [{}])", id.0)?;
        }
        Ok(())
    }
}

impl core::error::Error for Error {}

/// Result alias for this crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;
