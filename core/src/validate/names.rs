//! Where the plain identifiers of a string section end, found for every
//! byte in one linear pass, so that each identifier check is a few bit
//! operations instead of a walk over the string.
//!
//! One bit per string byte, 64 bytes to a block stored as two `u32` (low
//! half first): the byte ends a plain identifier, i.e. it is not an ASCII
//! letter, digit, `_` (or `.` where the kernel allows it). NUL, bytes
//! >= 0x80 and every other byte end one.
//!
//! A name at `p` is a valid identifier when its first byte may start one
//! and the first ending byte after `p` is its NUL, within KSYM_NAME_LEN
//! characters. Anything else (Latin-1 letters after the first byte, which
//! the kernel's ctype accepts, or a name that breaks the rule) is left to
//! the exact byte-by-byte check: the bits only ever confirm, or refuse a
//! name that is too long.

use super::{ALPHA, CTYPE, DOT, UNDERSCORE};
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

/// The end bits of one 64-byte block, byte `i` at bit `i`: a byte at a
/// time into marks (a loop the compiler turns into vector compares), then
/// eight marks at a time into bits. Used on aarch64; x86_64 gathers the
/// marks with SSE2 ([`block_ends_sse2`]), and on targets without vectors,
/// where the loop stays a byte at a time, [`block_ends_swar`] is faster.
#[inline(always)]
#[cfg_attr(not(target_arch = "aarch64"), allow(dead_code))]
fn block_ends_bytes<const DOT: bool>(block: &[u8; 64]) -> u64 {
    let mut marks = [0u8; 64];
    for (m, &c) in marks.iter_mut().zip(block) {
        let ident = (c | 0x20).wrapping_sub(b'a') < 26 || c.wrapping_sub(b'0') < 10 || c == b'_' || (DOT && c == b'.');
        *m = u8::from(!ident);
    }
    let mut e = 0u64;
    for (i, w) in marks.chunks_exact(8).enumerate() {
        let x = w.try_into().map_or(0, u64::from_le_bytes);
        // Bytes of 0 or 1 gathered into one byte, byte i's into bit i.
        e |= (x.wrapping_mul(0x0102_0408_1020_4080) >> 56).wrapping_shl((i as u32).wrapping_mul(8));
    }
    e
}

/// [`block_ends_bytes`], eight bytes at a time in a `u64`.
#[inline(always)]
#[cfg_attr(any(target_arch = "aarch64", all(target_arch = "x86_64", target_feature = "sse2")), allow(dead_code))]
fn block_ends_swar<const DOT: bool>(block: &[u8; 64]) -> u64 {
    let mut e = 0u64;
    for (i, w) in block.chunks_exact(8).enumerate() {
        let x = w.try_into().map_or(0, u64::from_le_bytes);
        e |= ends8(x, DOT).wrapping_shl((i as u32).wrapping_mul(8));
    }
    e
}

/// [`block_ends_bytes`] with SSE2, sixteen bytes at a time: range checks
/// by a signed compare after a bias, and the sixteen marks gathered into
/// bits by one `pmovmskb` (the byte loop leaves that gathering to
/// multiplies).
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[inline(always)]
fn block_ends_sse2<const DOT: bool>(block: &[u8; 64]) -> u64 {
    use safe_arch::{
        add_i8_m128i, bitor_m128i, cmp_eq_mask_i8_m128i, cmp_lt_mask_i8_m128i, load_unaligned_m128i, m128i,
        move_mask_i8_m128i, set_splat_i8_m128i,
    };
    #[allow(clippy::cast_possible_wrap)]
    let splat = |b: u8| set_splat_i8_m128i(b as i8);
    // Bytes in lo..lo+n: biased so that lo becomes i8::MIN, then below
    // i8::MIN + n (signed).
    let within = |v: m128i, lo: u8, n: u8| {
        cmp_lt_mask_i8_m128i(add_i8_m128i(v, splat(0x80u8.wrapping_sub(lo))), splat(0x80u8.wrapping_add(n)))
    };
    let mut e = 0u64;
    for (i, c) in block.as_chunks::<16>().0.iter().enumerate() {
        let x = load_unaligned_m128i(c);
        let alpha = within(bitor_m128i(x, splat(0x20)), b'a', 26);
        let digit = within(x, b'0', 10);
        let mut ident = bitor_m128i(bitor_m128i(alpha, digit), cmp_eq_mask_i8_m128i(x, splat(b'_')));
        if DOT {
            ident = bitor_m128i(ident, cmp_eq_mask_i8_m128i(x, splat(b'.')));
        }
        #[allow(clippy::cast_sign_loss)]
        let ends = !(move_mask_i8_m128i(ident) as u32) & 0xffff;
        e |= u64::from(ends).wrapping_shl((i as u32).wrapping_mul(16));
    }
    e
}

#[cfg(target_arch = "aarch64")]
use block_ends_bytes as block_ends;
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
use block_ends_sse2 as block_ends;
#[cfg(not(any(target_arch = "aarch64", all(target_arch = "x86_64", target_feature = "sse2"))))]
use block_ends_swar as block_ends;

fn classify_blocks<const DOT: bool>(strs: &[u8], out: &mut [u32]) {
    let mut blocks = out.chunks_exact_mut(WORDS_PER_BLOCK);
    let mut chunks = strs.chunks_exact(64);
    for (block, out) in chunks.by_ref().zip(blocks.by_ref()) {
        if let Ok(block) = block.try_into() {
            store(out, block_ends::<DOT>(block));
        }
    }
    let tail = chunks.remainder();
    if !tail.is_empty()
        && let Some(out) = blocks.next()
    {
        let mut block = [0u8; 64];
        if let Some(b) = block.get_mut(..tail.len()) {
            b.copy_from_slice(tail);
        }
        // tail.len() < 64
        store(out, block_ends::<DOT>(&block) | u64::MAX.wrapping_shl(tail.len() as u32));
    }
    // Words beyond the section (a larger `out`) hold nothing from before.
    for out in blocks {
        store(out, u64::MAX);
    }
}

/// Fills `out` (at least [`words_for`] words) with the bits of `strs`.
/// Bytes past the end of `strs` (in its last block, and in any further
/// words of `out`) end names, so that a scan running off the section stops
/// there (and goes to the exact check, as they are not NUL).
pub(super) fn classify(strs: &[u8], dot: bool, out: &mut [u32]) {
    if dot {
        classify_blocks::<true>(strs, out);
    } else {
        classify_blocks::<false>(strs, out);
    }
}

#[allow(clippy::cast_possible_truncation)]
fn store(out: &mut [u32], e: u64) {
    if let [lo, hi] = out {
        (*lo, *hi) = (e as u32, (e >> 32) as u32);
    }
}

#[inline(always)]
fn block(words: &[u32], b: usize) -> Option<u64> {
    let at = b.wrapping_mul(WORDS_PER_BLOCK);
    match words.get(at..at.wrapping_add(WORDS_PER_BLOCK)) {
        Some(&[lo, hi]) => Some(u64::from(lo) | (u64::from(hi) << 32)),
        _ => None,
    }
}

/// Whether the name at byte `p` of `strs` (classified into `words`) is an
/// identifier of at most `limit` characters whose first byte may start one
/// (the kernel's classes) and whose rest is plain ASCII: `Some(true)`
/// confirms it, `Some(false)` refuses a name longer than `limit`; `None`
/// means the bits cannot tell (the exact check decides).
#[inline(always)]
pub(super) fn ident(strs: &[u8], words: &[u32], p: usize, limit: usize, dot: bool) -> Option<bool> {
    let c = *strs.get(p)?;
    // The kernel's classes for the first byte (a Latin-1 letter may start
    // a name); the bits confirm what follows as plain ASCII.
    let first = ALPHA | UNDERSCORE | if dot { DOT } else { 0 };
    if CTYPE.get(usize::from(c)).is_none_or(|&k| k & first == 0) {
        return None;
    }
    // The first byte after p that ends the name: usually in p's block.
    let (mut b, bit) = (p / 64, (p % 64) as u32);
    let mut e = (block(words, b)? >> bit) >> 1;
    let mut from = p.wrapping_add(1);
    loop {
        if e != 0 {
            let q = from.wrapping_add(e.trailing_zeros() as usize);
            return (*strs.get(q)? == 0).then_some(q.wrapping_sub(p) <= limit);
        }
        b = b.wrapping_add(1);
        from = b.wrapping_mul(64);
        if from.wrapping_sub(p) > limit {
            // More than KSYM_NAME_LEN identifier bytes.
            return Some(false);
        }
        e = block(words, b)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bits agree with a byte-by-byte reading on every byte value at
    /// every position of a block, and past a short tail.
    #[test]
    fn ends_match_bytes() {
        let mut buf = [0u8; 130];
        let mut out = [0u32; 6];
        for dot in [false, true] {
            for v in 0..=255u8 {
                for len in [1usize, 7, 8, 63, 64, 65, 130] {
                    let strs = &mut buf[..len];
                    for (i, b) in strs.iter_mut().enumerate() {
                        *b = if i % 3 == 1 { v } else { b'a' };
                    }
                    let words = words_for(len);
                    classify(strs, dot, &mut out[..words]);
                    for i in 0..words * 32 {
                        let bit = out[i / 32] >> (i % 32) & 1 != 0;
                        let want = match strs.get(i) {
                            Some(&c) => !(c.is_ascii_alphanumeric() || c == b'_' || (dot && c == b'.')),
                            None => true,
                        };
                        assert_eq!(bit, want, "byte {v:#x} at {i} of {len}, dot {dot}");
                    }
                }
            }
        }
    }

    /// Both ways of finding a block's end bits agree, whichever one the
    /// target uses.
    #[test]
    fn block_ends_agree() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for round in 0..20_000u32 {
            let mut block = [0u8; 64];
            for b in &mut block {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *b = if round % 2 == 0 { b"a_.0\0Z9\x80\xe9 "[(x % 10) as usize] } else { x as u8 };
            }
            assert_eq!(block_ends_bytes::<false>(&block), block_ends_swar::<false>(&block), "{block:?}");
            assert_eq!(block_ends_bytes::<true>(&block), block_ends_swar::<true>(&block), "{block:?}");
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
            {
                assert_eq!(block_ends_bytes::<false>(&block), block_ends_sse2::<false>(&block), "{block:?}");
                assert_eq!(block_ends_bytes::<true>(&block), block_ends_sse2::<true>(&block), "{block:?}");
            }
        }
    }

    #[test]
    fn ident_confirms_refuses_or_defers() {
        let mut strs = [0u8; 512];
        let mut len = 1;
        let mut at = |name: &[u8]| {
            let p = len;
            strs[p..p + name.len()].copy_from_slice(name);
            len += name.len() + 1;
            p
        };
        let ok = at(b"task_struct");
        let long = at(&[b'x'; 200]);
        let exact = at(&[b'y'; 128]);
        let digit = at(b"9lives");
        let latin = at(b"caf\xe9");
        let dotted = at(b"a.b");
        let strs = &strs[..len];
        let mut words = [0u32; 16];
        classify(strs, false, &mut words);
        assert_eq!(ident(strs, &words, ok, 128, false), Some(true));
        assert_eq!(ident(strs, &words, ok + 5, 128, false), Some(true), "a suffix is a name too");
        assert_eq!(ident(strs, &words, long, 128, false), Some(false));
        assert_eq!(ident(strs, &words, exact, 128, false), Some(true));
        assert_eq!(ident(strs, &words, exact, 127, false), Some(false));
        assert_eq!(ident(strs, &words, digit, 128, false), None);
        assert_eq!(ident(strs, &words, latin, 128, false), None);
        assert_eq!(ident(strs, &words, dotted, 128, false), None);
        assert_eq!(ident(strs, &words, 0, 128, false), None, "the empty name");
        assert_eq!(ident(strs, &words, strs.len(), 128, false), None, "past the end");
        classify(strs, true, &mut words);
        assert_eq!(ident(strs, &words, dotted, 128, true), Some(true));
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

    /// Every offset of pseudo-random string sections (identifier bytes,
    /// NULs, dots, digits, spaces, Latin-1 letters and other high bytes,
    /// names near the length limits): a verdict of `ident` is the kernel's,
    /// and every plain ASCII name gets one.
    #[test]
    fn ident_agrees_with_the_kernel_loop() {
        const ALPHABET: &[u8] = b"abcxyzABZ_09.. \x00\x00\x00\xe9\xd7\xff\x80-";
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut strs = [0u8; 1024];
        let mut words = [0u32; 32];
        for round in 0..64 {
            // Runs of one byte class make long names; single bytes short ones.
            let mut i = 0;
            while i < strs.len() {
                let r = next();
                let run = if r % 7 == 0 { 100 + (r >> 8) as usize % 60 } else { 1 };
                let c = ALPHABET[(r >> 16) as usize % ALPHABET.len()];
                let c = if run > 1 && c == 0 { b'q' } else { c };
                for b in strs.iter_mut().skip(i).take(run) {
                    *b = c;
                }
                i += run;
            }
            let len = strs.len() - round;
            let s = &strs[..len];
            for dot in [false, true] {
                classify(s, dot, &mut words);
                for limit in [1usize, 2, 63, 64, 65, 127, 128, 512] {
                    for p in 0..=len {
                        let want = kernel(s, p, limit, dot);
                        match ident(s, &words, p, limit, dot) {
                            Some(got) => assert_eq!(got, want, "offset {p} limit {limit} dot {dot}: {:?}", &s[p..]),
                            None => {
                                let plain = s.get(p..).and_then(|t| t.split(|&c| c == 0).next()).is_some_and(|n| {
                                    !n.is_empty()
                                        && (n[0].is_ascii_alphabetic() || n[0] == b'_' || (dot && n[0] == b'.'))
                                        && n.iter()
                                            .all(|&c| c.is_ascii_alphanumeric() || c == b'_' || (dot && c == b'.'))
                                });
                                let ended = s[p..].contains(&0);
                                assert!(!(plain && ended), "offset {p}: a plain name left to the slow check");
                            }
                        }
                    }
                }
            }
        }
    }
}
