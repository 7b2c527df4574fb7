//! BTF from files of any shape: raw BTF, ELF (vmlinux or a `.ko`, whose
//! `.BTF` section is read), and compressed modules (`.ko.xz`, `.ko.zst`,
//! `.ko.gz`), recognised by their magic bytes, not their names.

use std::io::Read;
use std::path::Path;

use object::{Object, ObjectSection};

use crate::Error;

/// What a file turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Raw BTF (`/sys/kernel/btf/*`, `bpftool btf dump ... format raw`).
    Raw,
    /// An ELF object; its `.BTF` section was read.
    Elf,
    /// XZ-compressed ELF.
    Xz,
    /// Zstandard-compressed ELF.
    Zstd,
    /// Gzip-compressed ELF.
    Gzip,
}

/// BTF taken from a file, with the distilled base of a module built
/// with one (`.BTF.base`, Linux 6.12+), when present.
#[derive(Debug, Clone)]
pub struct Extracted {
    /// What the file was.
    pub format: Format,
    /// The BTF bytes.
    pub btf: Vec<u8>,
    /// The `.BTF.base` section: the distilled base the module's BTF is
    /// split over instead of vmlinux (relocation onto vmlinux is not done
    /// here).
    pub distilled_base: Option<Vec<u8>>,
}

fn bad(path: &Path, what: impl Into<String>) -> Error {
    Error::Format { path: path.to_owned(), what: what.into() }
}

/// Whether `data` starts with the BTF magic, in either byte order: raw
/// BTF, which is used as is.
#[must_use]
pub fn is_raw_btf(data: &[u8]) -> bool {
    matches!(data, [0x9f, 0xeb, ..] | [0xeb, 0x9f, ..])
}

/// The BTF of a file's bytes: raw BTF as is (moved, not copied), anything
/// else through [`extract`].
///
/// # Errors
/// As [`extract`].
pub fn into_btf(path: &Path, data: Vec<u8>) -> Result<Vec<u8>, Error> {
    if is_raw_btf(&data) { Ok(data) } else { Ok(extract(path, &data)?.btf) }
}

/// Sniffs `data` and returns its BTF: as is for raw BTF, the `.BTF`
/// section of an ELF object, after decompression for xz, zstd and gzip.
///
/// # Errors
/// [`Error::Format`] naming the file: an unknown format, a corrupt
/// stream, or an ELF without `.BTF`.
pub fn extract(path: &Path, data: &[u8]) -> Result<Extracted, Error> {
    let magic = data.get(..6).unwrap_or(data);
    let (format, elf) = if is_raw_btf(magic) {
        return Ok(Extracted { format: Format::Raw, btf: data.to_vec(), distilled_base: None });
    } else if magic.starts_with(b"\x7fELF") {
        (Format::Elf, None)
    } else if magic.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        let mut out = Vec::new();
        lzma_rs::xz_decompress(&mut std::io::BufReader::new(data), &mut out)
            .map_err(|e| bad(path, format!("corrupt xz stream: {e}")))?;
        (Format::Xz, Some(out))
    } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        let mut out = Vec::new();
        ruzstd::decoding::StreamingDecoder::new(data)
            .map_err(|e| bad(path, format!("corrupt zstd stream: {e}")))?
            .read_to_end(&mut out)
            .map_err(|e| bad(path, format!("corrupt zstd stream: {e}")))?;
        (Format::Zstd, Some(out))
    } else if magic.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(data)
            .read_to_end(&mut out)
            .map_err(|e| bad(path, format!("corrupt gzip stream: {e}")))?;
        (Format::Gzip, Some(out))
    } else {
        return Err(bad(path, "neither BTF (magic 0xeb9f), ELF, xz, zstd nor gzip"));
    };
    let bytes = elf.as_deref().unwrap_or(data);
    if !bytes.starts_with(b"\x7fELF") {
        return Err(bad(path, "the decompressed data is not an ELF object"));
    }
    let obj = object::File::parse(bytes).map_err(|e| bad(path, format!("unreadable ELF: {e}")))?;
    let section = |name: &str| -> Result<Option<Vec<u8>>, Error> {
        match obj.section_by_name(name) {
            None => Ok(None),
            Some(s) => s
                .uncompressed_data()
                .map(|d| Some(d.into_owned()))
                .map_err(|e| bad(path, format!("unreadable {name} section: {e}"))),
        }
    };
    let btf = section(".BTF")?.ok_or_else(|| bad(path, "ELF object has no .BTF section (built without BTF?)"))?;
    Ok(Extracted { format, btf, distilled_base: section(".BTF.base")? })
}
