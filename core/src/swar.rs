//! Bytewise tests on eight bytes at once ("SIMD within a register"), for
//! the name scans: portable, and safe code.

/// `0x01` in every byte.
pub(crate) const L: u64 = 0x0101_0101_0101_0101;
/// `0x80` in every byte.
pub(crate) const H: u64 = 0x8080_8080_8080_8080;

/// Per byte of `v`: the top bit set iff the byte is zero (and no other
/// bit).
#[inline(always)]
pub(crate) fn zero_bytes(v: u64) -> u64 {
    !(((v & !H).wrapping_add(!H)) | v) & H
}

/// As [`zero_bytes`] without the final mask: each byte's top bit is the
/// same, its other bits are noise. For callers that mask once at the end.
#[inline(always)]
pub(crate) fn zero_bytes_loose(v: u64) -> u64 {
    !(((v & !H).wrapping_add(!H)) | v)
}
