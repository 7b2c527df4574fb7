//! The header, and the structural bounds of the sections it describes.

use zerocopy::FromBytes;

use crate::endian::with_endian;
use crate::error::{Error, ErrorKind, Result, Section};
use crate::{Endian, raw};

/// Size of the header up to Linux 7.0.
pub const HEADER_LEN_V1: u32 = 24;
/// Size of the header with the 7.1 layout section.
pub const HEADER_LEN_LAYOUT: u32 = 32;

/// A decoded BTF header.
///
/// Offsets are relative to the end of the header, as on disk. When
/// `hdr_len` is shorter than 32 bytes the layout fields read as 0, as the
/// kernel reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[allow(missing_docs)] // the fields are the C header's
pub struct Header {
    pub endian: Endian,
    pub magic: u16,
    pub version: u8,
    pub flags: u8,
    pub hdr_len: u32,
    pub type_off: u32,
    pub type_len: u32,
    pub str_off: u32,
    pub str_len: u32,
    pub layout_off: u32,
    pub layout_len: u32,
}

/// Absolute byte ranges of the sections, checked to lie inside the blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sections {
    pub types: (u32, u32),
    pub strings: (u32, u32),
    /// Empty when there is no layout section.
    pub layout: (u32, u32),
}

impl Header {
    /// Reads the header at the start of `data`.
    ///
    /// # Errors
    /// [`ErrorKind::HeaderTruncated`], [`ErrorKind::BadMagic`],
    /// [`ErrorKind::UnsupportedVersion`] or [`ErrorKind::HeaderLenTooLarge`].
    /// `hdr_len` below 24 is refused: the fields the format needs would be
    /// missing.
    pub fn parse(data: &[u8]) -> Result<Header> {
        let magic: [u8; 2] = data
            .get(..2)
            .and_then(|b| b.try_into().ok())
            .ok_or(Error::new(ErrorKind::HeaderTruncated { needed: HEADER_LEN_V1 }, 0))?;
        let endian = Endian::from_magic(magic).ok_or(Error::new(ErrorKind::BadMagic, 0))?;
        let h = with_endian!(endian, O => {
            let (h, rest) = raw::btf_header::<O>::ref_from_prefix(data)
                .map_err(|_| Error::new(ErrorKind::HeaderTruncated { needed: HEADER_LEN_V1 }, 0))?;
            let hdr_len = h.hdr_len.get();
            // The layout fields exist only when hdr_len covers them.
            let (layout_off, layout_len) = if hdr_len >= HEADER_LEN_LAYOUT {
                match <[zerocopy::byteorder::U32<O>; 2]>::ref_from_prefix(rest) {
                    Ok((l, _)) => (l[0].get(), l[1].get()),
                    Err(_) => (0, 0),
                }
            } else {
                (0, 0)
            };
            Header {
                endian,
                magic: h.magic.get(),
                version: h.version,
                flags: h.flags,
                hdr_len,
                type_off: h.type_off.get(),
                type_len: h.type_len.get(),
                str_off: h.str_off.get(),
                str_len: h.str_len.get(),
                layout_off,
                layout_len,
            }
        });
        if h.version != raw::BTF_VERSION {
            return Err(Error::new(ErrorKind::UnsupportedVersion(h.version), 2));
        }
        if h.hdr_len < HEADER_LEN_V1 {
            return Err(Error::new(ErrorKind::HeaderTruncated { needed: HEADER_LEN_V1 }, 4));
        }
        if u64::from(h.hdr_len) > data.len() as u64 {
            return Err(Error::new(ErrorKind::HeaderLenTooLarge(h.hdr_len), 4));
        }
        Ok(h)
    }

    /// Whether the blob has a layout section.
    #[must_use]
    pub fn has_layout(&self) -> bool {
        self.hdr_len >= HEADER_LEN_LAYOUT && self.layout_len != 0
    }

    /// The string section of `data`, the blob this header was read from,
    /// checked to lie inside it (without parsing the types).
    ///
    /// # Errors
    /// [`ErrorKind::SectionOutOfBounds`] and the other section errors.
    pub fn strings<'a>(&self, data: &'a [u8]) -> Result<&'a [u8]> {
        let len = u32::try_from(data.len()).map_err(|_| Error::new(ErrorKind::BlobTooLarge, 0))?;
        let (start, end) = self.sections(len)?.strings;
        Ok(data.get(start as usize..end as usize).unwrap_or(&[]))
    }

    /// Checks that every section lies within a blob of `len` bytes and
    /// returns their absolute ranges.
    pub(crate) fn sections(&self, len: u32) -> Result<Sections> {
        let within = |off: u32, sec_len: u32, sec: Section, at: u32| -> Result<(u32, u32)> {
            // u32 + u32 + u32 cannot wrap a u64.
            let start = u64::from(self.hdr_len).wrapping_add(u64::from(off));
            let end = start.wrapping_add(u64::from(sec_len));
            if end > u64::from(len) {
                return Err(Error::new(ErrorKind::SectionOutOfBounds(sec), at));
            }
            // end <= len <= u32::MAX, so both fit.
            Ok((u32::try_from(start).unwrap_or(u32::MAX), u32::try_from(end).unwrap_or(u32::MAX)))
        };
        let types = within(self.type_off, self.type_len, Section::Types, 8)?;
        let strings = within(self.str_off, self.str_len, Section::Strings, 16)?;
        let layout = if self.has_layout() {
            if !self.layout_len.is_multiple_of(4) {
                return Err(Error::new(ErrorKind::BadLayoutSection, 28));
            }
            within(self.layout_off, self.layout_len, Section::Layout, 24)?
        } else {
            (0, 0)
        };
        Ok(Sections { types, strings, layout })
    }
}
