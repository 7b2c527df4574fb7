//! Where the plain identifiers of a string section start, found for
//! every byte in one linear pass, so that checking a name is one bit
//! instead of a walk over the string.
//!
//! One bit per string byte, 64 bytes to a block stored as two `u32` (low
//! half first): a plain identifier starts at the byte. That is, the byte
//! is an ASCII letter or `_` (or `.` where the kernel allows it), and the
//! first byte after it that is not an ASCII letter, digit, `_` (or `.`) is
//! its NUL, in the same block or the next. Such a name has fewer than 128
//! characters, within every kernel's KSYM_NAME_LEN, so it is valid.
//!
//! Anything else (a Latin-1 letter, which the kernel's ctype accepts, a
//! name of 128 characters or more, a name that breaks the rule) is left to
//! the exact byte-by-byte check: the bits only ever confirm.

use crate::swar::{H, L, zero_bytes_loose};

/// `u32` words per 64-byte block.
const WORDS_PER_BLOCK: usize = 2;

/// `u32` words of bits for `str_len` string bytes.
pub(super) fn words_for(str_len: usize) -> usize {
    str_len.div_ceil(64).saturating_mul(WORDS_PER_BLOCK)
}

/// Per byte of `x` (byte 0 the lowest), bit `i` of the result: byte `i`
/// ends a plain identifier.
#[inline(always)]
pub(super) fn ends8(x: u64, dot: bool) -> u64 {
    // Per byte b and n <= 0x80: (b | 0x80) - n keeps its top bit iff
    // (b & 0x7f) >= n, and never borrows from the next byte.
    let ge = |v: u64, n: u8| v.wrapping_sub(u64::from(n).wrapping_mul(L));
    let xh = x | H;
    let lower = xh | L.wrapping_mul(0x20);
    let alpha = ge(lower, b'a') & !ge(lower, b'z' + 1);
    let digit = ge(xh, b'0') & !ge(xh, b'9' + 1);
    let under = zero_bytes_loose(x ^ L.wrapping_mul(u64::from(b'_')));
    let dots = if dot { zero_bytes_loose(x ^ L.wrapping_mul(u64::from(b'.'))) } else { 0 };
    let ends = (!(alpha | digit | under | dots) | x) & H;
    // The top bits gathered into one byte, byte i's into bit i.
    (ends >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56
}

/// Three classes of each byte of one 64-byte block, byte `i` at bit `i`:
/// it ends a plain identifier (not an ASCII letter, digit, `_`, or `.` with
/// `DOT`), it is NUL, it may start a plain identifier (an ASCII letter,
/// `_`, or `.` with `DOT`).
///
/// SSE2, sixteen bytes at a time: range checks by a signed compare after a
/// bias, and sixteen marks gathered into bits by one `pmovmskb`.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[inline(always)]
fn block_classes_sse2<const DOT: bool>(block: &[u8; 64]) -> (u64, u64, u64) {
    use safe_arch::{
        add_i8_m128i, bitor_m128i, cmp_eq_mask_i8_m128i, cmp_lt_mask_i8_m128i, load_unaligned_m128i, m128i,
        move_mask_i8_m128i, set_splat_i8_m128i, zeroed_m128i,
    };
    #[allow(clippy::cast_possible_wrap)]
    let splat = |b: u8| set_splat_i8_m128i(b as i8);
    // Bytes in lo..lo+n: biased so that lo becomes i8::MIN, then below
    // i8::MIN + n (signed).
    let within = |v: m128i, lo: u8, n: u8| {
        cmp_lt_mask_i8_m128i(add_i8_m128i(v, splat(0x80u8.wrapping_sub(lo))), splat(0x80u8.wrapping_add(n)))
    };
    #[allow(clippy::cast_sign_loss)]
    let bits = |m: m128i| u64::from(move_mask_i8_m128i(m) as u32 & 0xffff);
    // Two masks a chunk: identifier bytes, and bytes that may start one or
    // are NUL (no NUL is an identifier byte, every starting byte is): the
    // three classes come apart once a block.
    let (mut ident, mut first_or_nul) = (0u64, 0u64);
    for (i, c) in block.as_chunks::<16>().0.iter().enumerate() {
        let x = load_unaligned_m128i(c);
        let at = (i as u32).wrapping_mul(16);
        let mut first =
            bitor_m128i(within(bitor_m128i(x, splat(0x20)), b'a', 26), cmp_eq_mask_i8_m128i(x, splat(b'_')));
        if DOT {
            first = bitor_m128i(first, cmp_eq_mask_i8_m128i(x, splat(b'.')));
        }
        ident |= bits(bitor_m128i(first, within(x, b'0', 10))).wrapping_shl(at);
        first_or_nul |= bits(bitor_m128i(first, cmp_eq_mask_i8_m128i(x, zeroed_m128i()))).wrapping_shl(at);
    }
    (!ident, first_or_nul & !ident, first_or_nul & ident)
}

/// [`block_classes_sse2`] a byte at a time (targets without SSE2, and the
/// reference for tests).
#[inline(always)]
#[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), allow(dead_code))]
fn block_classes_bytes<const DOT: bool>(block: &[u8; 64]) -> (u64, u64, u64) {
    let (mut ends, mut nuls, mut starts) = (0u64, 0u64, 0u64);
    for (i, &c) in block.iter().enumerate() {
        let first = (c | 0x20).wrapping_sub(b'a') < 26 || c == b'_' || (DOT && c == b'.');
        let ident = first || c.wrapping_sub(b'0') < 10;
        let bit = 1u64.wrapping_shl(i as u32);
        if !ident {
            ends |= bit;
        }
        if c == 0 {
            nuls |= bit;
        }
        if first {
            starts |= bit;
        }
    }
    (ends, nuls, starts)
}

#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
use block_classes_bytes as block_classes;
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
use block_classes_sse2 as block_classes;

/// Fills `out` (at least [`words_for`] words) with one bit per byte of
/// `strs`, set where a plain identifier of fewer than 128 characters
/// starts: the byte may start one, and the first byte after it that ends
/// one is its NUL, in the same 64-byte block or the next. Every such name
/// is valid for every kernel (KSYM_NAME_LEN is 128 or more), so a set bit
/// is the whole check ([`starts_at`]); a clear bit leaves the name to the
/// exact check. Words beyond the section hold no bits.
///
/// The blocks are visited from the last: a name that runs into the next
/// block ends at that block's first ending byte, already classified.
pub(super) fn classify_starts(strs: &[u8], dot: bool, out: &mut [u32]) {
    if dot {
        starts_blocks::<true>(strs, out);
    } else {
        starts_blocks::<false>(strs, out);
    }
}

fn starts_blocks<const DOT: bool>(strs: &[u8], out: &mut [u32]) {
    let blocks = strs.len().div_ceil(64);
    for w in out.iter_mut().skip(blocks.saturating_mul(WORDS_PER_BLOCK)) {
        *w = 0;
    }
    let (whole, tail) = strs.as_chunks::<64>();
    // Whether the first ending byte of the block after this one is a NUL.
    let mut carry = false;
    // The short last block first, apart: the loop over whole blocks then
    // makes no call (to copy), so the SSE2 constants stay in registers.
    if !tail.is_empty() {
        // Bytes past the section end names and are not NUL.
        let mut block = [0u8; 64];
        if let Some(to) = block.get_mut(..tail.len()) {
            to.copy_from_slice(tail);
        }
        let past = u64::MAX.wrapping_shl(tail.len() as u32);
        let (e, z, f) = block_classes::<DOT>(&block);
        carry = block_starts(e | past, z & !past, f & !past, carry, whole.len(), out);
    }
    for (b, block) in whole.iter().enumerate().rev() {
        let (ends, nuls, first) = block_classes::<DOT>(block);
        carry = block_starts(ends, nuls, first, carry, b, out);
    }
}

/// Stores block `b`'s start bits from its classes; returns the carry for
/// the block before it: whether this block's first end is a NUL.
#[inline(always)]
fn block_starts(ends: u64, nuls: u64, first: u64, carry: bool, b: usize, out: &mut [u32]) -> bool {
    let starts = first & next_end_is_nul(ends, nuls, carry);
    let at = b.wrapping_mul(WORDS_PER_BLOCK);
    if let Some(out) = out.get_mut(at..at.wrapping_add(WORDS_PER_BLOCK)) {
        store(out, starts);
    }
    ends & ends.wrapping_neg() & nuls != 0
}

/// Over a block's ending and NUL bits: bit `i` set when the first end
/// after bit `i` is a NUL, or, when no end is after it, `carry` (the next
/// block's first end is a NUL).
///
/// Usually every end of a block is a NUL: then every bit before the last
/// end qualifies. Otherwise the bits are mirrored, so that "after" is
/// "below": an addition of 1 just above each NUL end, into the complement
/// of the ends, carries through the run of non-ending bits above it and
/// stops at the next end, flipping exactly the bits whose nearest end
/// below is that NUL. The runs never meet, as each stops at an end, below
/// the next addend. `carry` is an addend at the bottom, for the bits below
/// every end.
#[inline(always)]
fn next_end_is_nul(ends: u64, nuls: u64, carry: bool) -> u64 {
    if ends & !nuls == 0 {
        // Bits below the last end (none without an end).
        let before_last = if ends == 0 { 0 } else { u64::MAX.wrapping_shr(ends.leading_zeros()).wrapping_shr(1) };
        return if carry { u64::MAX } else { before_last };
    }
    let open = !ends.reverse_bits();
    let adds = ((ends & nuls).reverse_bits() << 1) | u64::from(carry);
    (open.wrapping_add(adds) ^ open).reverse_bits()
}

/// Clears the bits of the bytes from `from` on: names that start there
/// have no valid offset (a split blob's strings, or a base's, can reach
/// past the largest name offset), so no bit may confirm them.
pub(super) fn clear_from(words: &mut [u32], from: usize) {
    let (word, bit) = (from / 32, from % 32);
    if let Some(w) = words.get_mut(word) {
        // Keep bits below `bit` (none when it is 0).
        *w &= (1u32 << bit).wrapping_sub(1);
    }
    for w in words.iter_mut().skip(word.saturating_add(1)) {
        *w = 0;
    }
}

/// Whether [`classify_starts`] found a plain identifier starting at byte
/// `p`.
#[inline(always)]
pub(super) fn starts_at(words: &[u32], p: usize) -> bool {
    words.get(p / 32).is_some_and(|w| w.wrapping_shr(p as u32 % 32) & 1 != 0)
}

#[allow(clippy::cast_possible_truncation)]
fn store(out: &mut [u32], e: u64) {
    if let [lo, hi] = out {
        (*lo, *hi) = (e as u32, (e >> 32) as u32);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The classes of every byte value at every position of a block, and
    /// `ends8` on each eight of them, are the byte's own.
    #[test]
    fn classes_match_bytes() {
        for dot in [false, true] {
            for v in 0..=255u8 {
                let mut block = [b'a'; 64];
                for (i, b) in block.iter_mut().enumerate() {
                    if i % 3 == 1 {
                        *b = v;
                    }
                }
                let (e, z, f) = if dot { block_classes::<true>(&block) } else { block_classes::<false>(&block) };
                let mut swar = 0u64;
                for (i, w) in block.chunks_exact(8).enumerate() {
                    swar |= ends8(u64::from_le_bytes(w.try_into().unwrap()), dot) << (8 * i);
                }
                assert_eq!(swar, e, "ends8, byte {v:#x} dot {dot}");
                for (i, &c) in block.iter().enumerate() {
                    let first = c.is_ascii_alphabetic() || c == b'_' || (dot && c == b'.');
                    let ident = first || c.is_ascii_digit();
                    assert_eq!(e >> i & 1 != 0, !ident, "ends, byte {v:#x} at {i}, dot {dot}");
                    assert_eq!(z >> i & 1 != 0, c == 0, "NUL, byte {v:#x} at {i}");
                    assert_eq!(f >> i & 1 != 0, first, "starts, byte {v:#x} at {i}, dot {dot}");
                }
            }
        }
    }

    /// SSE2 and the byte loop find the same three classes.
    #[test]
    fn block_classes_agree() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for round in 0..20_000u32 {
            let mut block = [0u8; 64];
            for b in &mut block {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *b = if round % 2 == 0 { b"a_.0\0Z9\x80\xe9 "[(x % 10) as usize] } else { x as u8 };
            }
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
            {
                assert_eq!(block_classes_bytes::<false>(&block), block_classes_sse2::<false>(&block), "{block:?}");
                assert_eq!(block_classes_bytes::<true>(&block), block_classes_sse2::<true>(&block), "{block:?}");
            }
        }
    }

    #[test]
    fn starts_confirm_or_defer() {
        let mut strs = [0u8; 512];
        let mut put = |p: usize, name: &[u8]| {
            strs[p..p + name.len()].copy_from_slice(name);
            p
        };
        let ok = put(1, b"task_struct");
        let long = put(13, &[b'x'; 200]);
        let digit = put(214, b"9lives");
        let latin = put(221, b"caf\xe9");
        let dotted = put(226, b"a.b");
        let spaced = put(230, b"a b");
        // 30 characters from byte 300: across the block boundary at 320.
        let across = put(300, &[b'z'; 30]);
        let len = 331;
        let strs = &strs[..len];
        let mut words = [0u32; 16];
        classify_starts(strs, false, &mut words);
        assert!(starts_at(&words, ok));
        assert!(starts_at(&words, ok + 5), "a suffix is a name too");
        assert!(starts_at(&words, across));
        assert!(!starts_at(&words, long), "longer than 127: the exact check decides");
        assert!(!starts_at(&words, long + 100), "ends two blocks on: the exact check decides");
        assert!(starts_at(&words, long + 150));
        for p in [digit, latin, dotted, spaced, 0, strs.len(), strs.len() + 64] {
            assert!(!starts_at(&words, p), "{p}");
        }
        assert!(starts_at(&words, dotted + 2), "the b of a.b");
        classify_starts(strs, true, &mut words);
        assert!(starts_at(&words, dotted));
    }

    /// The kernel's loop (`__btf_name_valid`), byte by byte with its
    /// Latin-1 classes: the reference `ident` must never contradict.
    fn kernel(s: &[u8], p: usize, limit: usize, dot: bool) -> bool {
        use super::super::{ALPHA, CTYPE, DIGIT, DOT, UNDERSCORE};
        let first_ok = ALPHA | UNDERSCORE | if dot { DOT } else { 0 };
        let class = |c: u8| CTYPE[usize::from(c)];
        match s.get(p) {
            Some(&c) if class(c) & first_ok != 0 => {}
            _ => return false,
        }
        let end = p + limit;
        let mut i = p + 1;
        while i < end {
            match s.get(i) {
                Some(0) => return true,
                Some(&c) if class(c) & (first_ok | DIGIT) != 0 => i += 1,
                _ => return false,
            }
        }
        s.get(end) == Some(&0)
    }

    /// Every offset of pseudo-random string sections: a start bit is set
    /// only where the kernel's loop accepts the name (at every limit from
    /// 128), and is set for every plain ASCII name that ends in its own
    /// block or the next. Words past the section hold nothing.
    #[test]
    fn starts_agree_with_the_kernel_loop() {
        const ALPHABET: &[u8] = b"abcxyzABZ_09.. \x00\x00\x00\xe9\xd7\xff\x80-";
        let mut x: u64 = 0x5851_f42d_4c95_7f2d;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut strs = [0u8; 1024];
        let mut words = [0u32; 40];
        for round in 0..96 {
            let mut i = 0;
            while i < strs.len() {
                let r = next();
                let run = match r % 11 {
                    0 => 50 + (r >> 8) as usize % 90,
                    1 | 2 => 2 + (r >> 8) as usize % 20,
                    _ => 1,
                };
                let c = ALPHABET[(r >> 16) as usize % ALPHABET.len()];
                let c = if run > 1 && c == 0 { b'q' } else { c };
                for b in strs.iter_mut().skip(i).take(run) {
                    *b = c;
                }
                i += run;
            }
            let len = strs.len() - round * 5;
            let s = &strs[..len];
            for dot in [false, true] {
                words.fill(u32::MAX);
                classify_starts(s, dot, &mut words);
                assert!(words[words_for(len)..].iter().all(|&w| w == 0), "bits past the section");
                for p in 0..len + 64 {
                    let set = starts_at(&words, p);
                    if set {
                        for limit in [128usize, 512] {
                            assert!(kernel(s, p, limit, dot), "offset {p} dot {dot}: {:?}", &s[p..]);
                        }
                    }
                    let Some(rest) = s.get(p..) else { continue };
                    let Some(nul) = rest.iter().position(|&c| c == 0) else { continue };
                    let n = &rest[..nul];
                    let plain = !n.is_empty()
                        && (n[0].is_ascii_alphabetic() || n[0] == b'_' || (dot && n[0] == b'.'))
                        && n.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'_' || (dot && c == b'.'));
                    if plain && (p + nul) / 64 <= p / 64 + 1 {
                        assert!(set, "offset {p} dot {dot}: plain name {:?} not found", n);
                    }
                }
            }
        }
    }
}
