//! Byte order, detected from the magic and dispatched at run time.

/// The byte order of a BTF blob.
///
/// BTF is written in the byte order of the machine that produced it. The
/// magic (`0xEB9F`) tells which one a blob uses; nothing is ever swapped in
/// place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Endian {
    /// Little-endian (x86, arm64, bpfel).
    Little,
    /// Big-endian (s390x, bpfeb).
    Big,
}

impl Endian {
    /// The byte order of the machine this code runs on.
    pub const NATIVE: Endian = if cfg!(target_endian = "big") { Endian::Big } else { Endian::Little };

    /// Detects the byte order from the first two bytes of a blob.
    #[must_use]
    pub fn from_magic(magic: [u8; 2]) -> Option<Endian> {
        match magic {
            [0x9f, 0xeb] => Some(Endian::Little),
            [0xeb, 0x9f] => Some(Endian::Big),
            _ => None,
        }
    }
}

/// Runs `$body` with the type alias `$O` bound to zerocopy's byte order for
/// `$e`, so record views are monomorphized once per byte order.
macro_rules! with_endian {
    ($e:expr, $O:ident => $body:expr) => {
        match $e {
            $crate::Endian::Little => {
                #[allow(dead_code)]
                type $O = ::zerocopy::byteorder::LittleEndian;
                $body
            }
            $crate::Endian::Big => {
                #[allow(dead_code)]
                type $O = ::zerocopy::byteorder::BigEndian;
                $body
            }
        }
    };
}
pub(crate) use with_endian;
