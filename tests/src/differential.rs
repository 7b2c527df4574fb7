//! Kernel differential test: our `UserLoad` verdict for the running kernel's
//! version must equal the kernel's own `bpf(BPF_BTF_LOAD)` verdict, on
//! every input.
//!
//! Inputs are deterministic from a seed (`BTFKIT_DIFF_SEED`, decimal or
//! `0x` hex); their number is `BTFKIT_DIFF_N` (default 20,000; set millions
//! for long runs). Input `i` depends only on (seed, i). Sources, by `i % 20`:
//! - `gen-clean` / `gen-noisy`: random small type graphs, biased to valid
//!   shapes, with rare (clean) or frequent (noisy) faults of every kind;
//! - `rules`: one scenario per kernel rule, built so that each rule is hit
//!   from both sides: modifier chains pointing up around the depth limit of
//!   32, loops through embedding vs pointers, arrays of odd ints and u32
//!   overflow, member layout in both bitfield encodings, float alignment,
//!   enum bitfields, DATASEC entries, VAR and FUNC targets, parameters and
//!   varargs, DECL_TAG targets and components, TYPE_TAG order, the
//!   kernel's Latin-1 name classes and long names, the string section,
//!   `hdr_len` and section tiling, INT and ENUM records, reference kinds;
//! - `mut-fixture` / `mut-handmade` / `mut-generated`: 1–3 structure-aware
//!   mutations (the record layout comes from `btfkit::Btf`) of the committed
//!   fixtures, of hand-built valid blobs covering every kind and flag, and
//!   of generated graphs the kernel accepts: header fields, kind, vlen,
//!   kind_flag, reserved info bits, name offsets (0, middle of a string,
//!   out of range, new bad or long names), type ids (0, self, forward, out
//!   of range, 0xfffff, 0x100000), sizes, member offsets and bitfields, int
//!   data, linkage, DATASEC entries, component indexes, string bytes,
//!   removed NULs, duplicated, deleted and moved records, truncations;
//! - `layout`: a valid blob re-tiled: `hdr_len` 20–40 with zero or
//!   non-zero padding, strings before types, gaps, overlaps, trailing
//!   bytes, unaligned `type_off`, empty sections, version, flags, magic.
//!
//! On every input, `validate`'s fast paths must also give the verdict and
//! leave the scratch words of the plain passes (`validate_unoptimized`).

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use btfkit::Btf;
use btfkit::validate::{KernelVersion, Profile, ValidateOptions, validate_vec};
use btfkit_tests::kernel::{availability, btf_load, fast_paths_differ, release, validate_user};
use btfkit_tests::{unavailable, workspace};
use std::path::Path;

const INT: u32 = 1;
const PTR: u32 = 2;
const ARRAY: u32 = 3;
const STRUCT: u32 = 4;
const UNION: u32 = 5;
const ENUM: u32 = 6;
const FWD: u32 = 7;
const TYPEDEF: u32 = 8;
const VOLATILE: u32 = 9;
const CONST: u32 = 10;
const RESTRICT: u32 = 11;
const FUNC: u32 = 12;
const PROTO: u32 = 13;
const VAR: u32 = 14;
const DATASEC: u32 = 15;
const FLOAT: u32 = 16;
const DECL_TAG: u32 = 17;
const TYPE_TAG: u32 = 18;
const ENUM64: u32 = 19;

/// INT encodings.
const SIGNED: u32 = 1;
const CHAR: u32 = 2;
const BOOL: u32 = 4;

/// splitmix64: small, fast, deterministic. `noisy` off makes every
/// deliberate fault of the graph generator rare, so that clean graphs
/// (mostly accepted) and single-fault graphs (rejected by exactly one rule)
/// are both common.
struct Rng(u64, bool);

impl Rng {
    /// A deliberate fault: `percent` in noisy mode, 1/20 of it otherwise.
    fn fault(&mut self, percent: u64) -> bool {
        if self.1 { self.chance(percent) } else { self.below(2000) < percent }
    }
    /// A valid choice, or (as a fault) an invalid one.
    fn choose<T: Copy>(&mut self, valid: &[T], invalid: &[T]) -> T {
        if self.fault(12) { self.pick(invalid) } else { self.pick(valid) }
    }
    /// A valid choice, or an invalid one with probability `percent`
    /// (whatever the mode).
    fn either<T: Copy>(&mut self, percent: u64, valid: &[T], invalid: &[T]) -> T {
        if self.chance(percent) { self.pick(invalid) } else { self.pick(valid) }
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
    fn below32(&mut self, n: u32) -> u32 {
        self.below(u64::from(n)) as u32
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }
}

/// A host-order BTF builder: header, types, strings, in that order.
struct B {
    types: Vec<u8>,
    strs: Vec<u8>,
    n: u32,
}

impl B {
    fn new() -> Self {
        B { types: Vec::new(), strs: vec![0], n: 0 }
    }
    /// The id the next record gets.
    fn next(&self) -> u32 {
        self.n + 1
    }
    fn str(&mut self, s: &[u8]) -> u32 {
        if s.is_empty() {
            return 0;
        }
        let off = self.strs.len() as u32;
        self.strs.extend_from_slice(s);
        self.strs.push(0);
        off
    }
    fn w(&mut self, v: u32) {
        self.types.extend_from_slice(&v.to_ne_bytes());
    }
    /// Starts a record; returns its id.
    fn head(&mut self, name: u32, kind: u32, vlen: u32, kflag: bool, st: u32) -> u32 {
        self.w(name);
        self.w((u32::from(kflag) << 31) | (kind << 24) | (vlen & 0xffff));
        self.w(st);
        self.n += 1;
        self.n
    }
    fn int(&mut self, name: &[u8], size: u32, enc: u32, off: u32, bits: u32) -> u32 {
        let n = self.str(name);
        let id = self.head(n, INT, 0, false, size);
        self.w((enc << 24) | (off << 16) | bits);
        id
    }
    fn int32(&mut self) -> u32 {
        self.int(b"int", 4, SIGNED, 0, 32)
    }
    /// PTR, TYPEDEF, VOLATILE, CONST, RESTRICT, TYPE_TAG, FUNC (linkage 0)
    /// or FWD: a head only.
    fn rf(&mut self, kind: u32, name: &[u8], kflag: bool, t: u32) -> u32 {
        let n = self.str(name);
        self.head(n, kind, 0, kflag, t)
    }
    fn array(&mut self, elem: u32, index: u32, nelems: u32) -> u32 {
        let id = self.head(0, ARRAY, 0, false, 0);
        self.w(elem);
        self.w(index);
        self.w(nelems);
        id
    }
    /// STRUCT or UNION; members are (name, type, offset word).
    fn comp(&mut self, kind: u32, name: &[u8], kflag: bool, size: u32, members: &[(&[u8], u32, u32)]) -> u32 {
        let n = self.str(name);
        let id = self.head(n, kind, members.len() as u32, kflag, size);
        for &(mn, t, off) in members {
            let m = self.str(mn);
            self.w(m);
            self.w(t);
            self.w(off);
        }
        id
    }
    /// ENUM or ENUM64.
    fn enm(&mut self, kind: u32, name: &[u8], kflag: bool, size: u32, vals: &[(&[u8], i64)]) -> u32 {
        let n = self.str(name);
        let id = self.head(n, kind, vals.len() as u32, kflag, size);
        for &(vn, v) in vals {
            let s = self.str(vn);
            self.w(s);
            self.w(v as u32);
            if kind == ENUM64 {
                self.w((v >> 32) as u32);
            }
        }
        id
    }
    fn proto(&mut self, ret: u32, params: &[(&[u8], u32)]) -> u32 {
        let id = self.head(0, PROTO, params.len() as u32, false, ret);
        for &(pn, t) in params {
            let s = self.str(pn);
            self.w(s);
            self.w(t);
        }
        id
    }
    fn func(&mut self, name: &[u8], proto: u32, linkage: u32) -> u32 {
        let n = self.str(name);
        self.head(n, FUNC, linkage, false, proto)
    }
    fn var(&mut self, name: &[u8], t: u32, linkage: u32) -> u32 {
        let n = self.str(name);
        let id = self.head(n, VAR, 0, false, t);
        self.w(linkage);
        id
    }
    /// Entries are (var, offset, size).
    fn datasec(&mut self, name: &[u8], size: u32, entries: &[(u32, u32, u32)]) -> u32 {
        let n = self.str(name);
        let id = self.head(n, DATASEC, entries.len() as u32, false, size);
        for &(v, o, s) in entries {
            self.w(v);
            self.w(o);
            self.w(s);
        }
        id
    }
    fn float(&mut self, name: &[u8], size: u32) -> u32 {
        let n = self.str(name);
        self.head(n, FLOAT, 0, false, size)
    }
    fn decl_tag(&mut self, name: &[u8], kflag: bool, t: u32, idx: i32) -> u32 {
        let n = self.str(name);
        let id = self.head(n, DECL_TAG, 0, kflag, t);
        self.w(idx as u32);
        id
    }
    fn build(&self) -> Vec<u8> {
        join(&self.types, &self.strs)
    }
}

/// A standard blob: 24-byte header, types, then strings.
fn join(types: &[u8], strs: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(24 + types.len() + strs.len());
    out.extend_from_slice(&0xeb9fu16.to_ne_bytes());
    out.extend_from_slice(&[1, 0]);
    let tl = types.len() as u32;
    for f in [24, 0, tl, tl, strs.len() as u32] {
        out.extend_from_slice(&f.to_ne_bytes());
    }
    out.extend_from_slice(types);
    out.extend_from_slice(strs);
    out
}

/// The (types, strings) of a host-order blob in the standard layout.
fn split_std(d: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    if d.len() < 24 || d[..2] != 0xeb9fu16.to_ne_bytes() || get(d, 4) != 24 || get(d, 8) != 0 {
        return None;
    }
    let (tl, so, sl) = (get(d, 12) as usize, get(d, 16) as usize, get(d, 20) as usize);
    if so != tl || 24 + tl + sl != d.len() {
        return None;
    }
    Some((d[24..24 + tl].to_vec(), d[24 + tl..].to_vec()))
}

// ---------------------------------------------------------------------------
// Hand-built valid seeds.

/// Small valid standalone blobs covering every kind and flag; tags with
/// kind_flag only from 6.15, where the kernel accepts them.
fn handmade(kernel: KernelVersion) -> Vec<(&'static str, Vec<u8>)> {
    let tag_kflag = kernel.at_least(6, 15);
    let mut v = Vec::new();

    let mut b = B::new();
    b.int32();
    b.int(b"unsigned int", 4, 0, 0, 32);
    b.int(b"_Bool", 1, BOOL, 0, 8);
    b.int(b"char", 1, CHAR, 0, 8);
    b.int(b"signed char", 1, SIGNED, 0, 8);
    b.int(b"short", 2, SIGNED, 0, 16);
    b.int(b"long unsigned int", 8, 0, 0, 64);
    b.int(b"__int128", 16, SIGNED, 0, 128);
    b.int(b"bf3", 4, 0, 3, 5);
    b.int(b"bf33", 8, SIGNED, 0, 33);
    b.int(b"b1", 1, BOOL, 0, 1);
    b.int(b"", 4, 0, 0, 32);
    v.push(("ints", b.build()));

    let mut b = B::new();
    let int = b.int32();
    let pint = b.rf(PTR, b"", false, int);
    let pvoid = b.rf(PTR, b"", false, 0);
    let arr = b.array(int, int, 4);
    b.comp(STRUCT, b"s", false, 32, &[(b"a", int, 0), (b"p", pint, 64), (b"arr", arr, 128)]);
    b.comp(STRUCT, b"bf", true, 8, &[(b"a", int, 3 << 24), (b"b", int, (5 << 24) | 3), (b"c", int, 32)]);
    let bf3 = b.int(b"bf3", 4, 0, 0, 3);
    b.comp(STRUCT, b"bf0", false, 8, &[(b"x", bf3, 0), (b"y", bf3, 3), (b"", int, 32)]);
    b.comp(UNION, b"u", false, 8, &[(b"i", int, 0), (b"p", pvoid, 0)]);
    // self-reference and a forward reference through pointers
    let node = b.next();
    let pnode = node + 1;
    let list = node + 2;
    b.comp(STRUCT, b"node", false, 16, &[(b"next", pnode, 0), (b"l", pnode + 2, 64)]);
    b.rf(PTR, b"", false, node);
    b.comp(STRUCT, b"list", false, 8, &[(b"head", pnode, 0)]);
    b.rf(PTR, b"", false, list);
    let arr23 = b.array(arr, int, 2);
    let anon = b.comp(UNION, b"", false, 4, &[(b"f", int, 0)]);
    let flex = b.array(int, int, 0);
    b.comp(STRUCT, b"outer", false, 36, &[(b"m", arr23, 0), (b"", anon, 256), (b"flex", flex, 288)]);
    v.push(("ptrs-arrays-structs", b.build()));

    let mut b = B::new();
    let int = b.int32();
    let e1 = b.enm(ENUM, b"e1", false, 1, &[(b"A", 0), (b"B", 1)]);
    b.enm(ENUM, b"e2", true, 2, &[(b"C", -1), (b"D", 7)]);
    let e4 = b.enm(ENUM, b"e4", false, 4, &[(b"E", 5)]);
    b.enm(ENUM, b"e8", false, 8, &[(b"F", 0xffff_ffff)]);
    b.enm(ENUM, b"efwd", false, 4, &[]);
    let e64 = b.enm(ENUM64, b"e64", true, 8, &[(b"G", -1), (b"H", 1 << 40)]);
    b.enm(ENUM64, b"e64u", false, 8, &[(b"I", i64::MAX)]);
    b.comp(
        STRUCT,
        b"ebf",
        true,
        16,
        &[(b"a", e4, 3 << 24), (b"b", e1, (2 << 24) | 3), (b"d", int, 32), (b"c", e64, 64)],
    );
    v.push(("enums", b.build()));

    let mut b = B::new();
    let int = b.int32();
    let fs = b.rf(FWD, b"fs", false, 0);
    b.rf(FWD, b"fu", true, 0);
    b.rf(TYPEDEF, b"t_int", false, int);
    let vol = b.rf(VOLATILE, b"", false, int);
    let cv = b.rf(CONST, b"", false, vol);
    let p = b.rf(PTR, b"", false, cv);
    b.rf(RESTRICT, b"", false, p);
    let c = b.rf(CONST, b"", false, int);
    let tt = b.rf(TYPE_TAG, b"user", false, c);
    let ptt = b.rf(PTR, b"", false, tt);
    let pfs = b.rf(PTR, b"", false, fs);
    b.rf(TYPEDEF, b"fs_t", false, pfs);
    b.rf(TYPEDEF, b"vp", false, 0);
    b.comp(STRUCT, b"tagged", false, 16, &[(b"p", ptt, 0), (b"q", pfs, 64)]);
    if tag_kflag {
        let tk = b.rf(TYPE_TAG, b"attr", true, int);
        b.rf(PTR, b"", false, tk);
    }
    v.push(("fwd-typedef-modifiers-type_tag", b.build()));

    let mut b = B::new();
    let int = b.int32();
    let ch = b.int(b"char", 1, CHAR, 0, 8);
    let cch = b.rf(CONST, b"", false, ch);
    let pch = b.rf(PTR, b"", false, cch);
    // Global linkage from 5.6.
    let global = u32::from(kernel.at_least(5, 6));
    let pr = b.proto(int, &[(b"a", int), (b"b", pch)]);
    b.func(b"f", pr, global);
    let va = b.proto(0, &[(b"fmt", pch), (b"", 0)]);
    b.func(b"printk_like", va, global);
    let none = b.proto(int, &[]);
    b.func(b"st", none, 0);
    let anon = b.proto(0, &[(b"", int), (b"", pch)]);
    let fp = b.rf(PTR, b"", false, anon);
    b.comp(STRUCT, b"ops", false, 8, &[(b"cb", fp, 0)]);
    v.push(("func-proto", b.build()));

    let mut b = B::new();
    let int = b.int32();
    let ch = b.int(b"char", 1, CHAR, 0, 8);
    let a = b.var(b"a", int, 0);
    let bb = b.var(b"b", int, 1);
    let arr = b.array(ch, int, 8);
    let buf = b.var(b"buf", arr, 1);
    let c = b.var(b"c", int, 1);
    b.datasec(b".data", 16, &[(a, 0, 4), (bb, 4, 4), (buf, 8, 8)]);
    b.datasec(b".bss", 8, &[(c, 4, 4)]);
    v.push(("var-datasec", b.build()));

    let mut b = B::new();
    let f = b.float(b"float", 4);
    let d = b.float(b"double", 8);
    let ld = b.float(b"long double", 16);
    b.float(b"_Float16", 2);
    b.float(b"f96", 12);
    b.comp(STRUCT, b"fl", false, 32, &[(b"f", f, 0), (b"d", d, 64), (b"ld", ld, 128)]);
    b.comp(UNION, b"fu", false, 16, &[(b"f", f, 0), (b"ld", ld, 0)]);
    v.push(("float", b.build()));

    let mut b = B::new();
    let int = b.int32();
    let s = b.comp(STRUCT, b"s", false, 8, &[(b"a", int, 0), (b"b", int, 32)]);
    let u = b.comp(UNION, b"u", false, 4, &[(b"a", int, 0)]);
    let pr = b.proto(int, &[(b"x", int), (b"y", int)]);
    let f = b.func(b"f", pr, 1);
    let var = b.var(b"v", int, 1);
    let td = b.rf(TYPEDEF, b"td", false, int);
    b.datasec(b".data", 4, &[(var, 0, 4)]);
    b.decl_tag(b"tag1", false, s, -1);
    b.decl_tag(b"tag2", false, s, 1);
    b.decl_tag(b"tag3", false, f, -1);
    b.decl_tag(b"tag4", false, f, 0);
    b.decl_tag(b"tag5", false, var, -1);
    b.decl_tag(b"tag6", false, td, -1);
    b.decl_tag(b"any text", false, u, 0);
    if tag_kflag {
        b.decl_tag(b"attr", true, s, -1);
        b.decl_tag(b"attr2", true, f, 1);
    }
    v.push(("decl_tag", b.build()));
    // Only the kinds the kernel knows (ENUM64 6.0, TYPE_TAG 5.17, DECL_TAG
    // 5.16, FLOAT 5.13).
    let since = |what: &str| match what {
        "enums" => (6, 0),
        "fwd-typedef-modifiers-type_tag" => (5, 17),
        "decl_tag" => (5, 16),
        "float" => (5, 13),
        _ => (0, 0),
    };
    v.retain(|(what, _)| {
        let (major, minor) = since(what);
        kernel.at_least(major, minor)
    });
    v
}

// ---------------------------------------------------------------------------
// Random graphs.

const GOOD_NAMES: &[&[u8]] = &[b"a", b"int", b"x_1", b"_", b"s.t", b"node", b"\xc0\xe9", b".data"];
const BAD_NAMES: &[&[u8]] = &[b"1a", b"a-b", b"a b", b"\xd7x", b"\x80", b"a\xf7", b"?.x", b"-"];

fn name(r: &mut Rng, b: &mut B, required: bool) -> u32 {
    if r.fault(6) {
        let len = r.pick(&[127usize, 128, 511, 512, 513]);
        return b.str(&vec![b'n'; len]);
    }
    if r.fault(8) {
        let n = r.pick(BAD_NAMES);
        return b.str(n);
    }
    if !required && r.chance(30) {
        return 0;
    }
    let n = r.pick(GOOD_NAMES);
    b.str(n)
}

/// A random small type graph, biased towards valid shapes so that a good
/// share is accepted, with each rule's failure mode mixed in.
fn generate(r: &mut Rng) -> Vec<u8> {
    let mut b = B::new();
    let n = 1 + r.below(10) as u32;
    // [1] a regular int most of the time: a good index and member type.
    let int_name = b.str(b"int");
    b.head(int_name, 1, 0, false, 4);
    b.w(if !r.fault(10) { 0x0100_0020 } else { r.pick(&[0x0100_0003u32, 0x0008_0020, 0x0300_0020, 0x1000_0020]) });
    // Targets are earlier ids (later ones, self, void and huge ones are faults).
    let target = |r: &mut Rng, cur: u32| -> u32 {
        if r.fault(8) {
            return r.pick(&[0, cur, cur + 1, cur + 2, 0xfffff, 0x100000]);
        }
        1 + r.below(u64::from(cur.saturating_sub(1).max(1))) as u32
    };
    // Ids made so far, by kind, for kinds that must point at a given kind.
    let mut made: Vec<(u32, u32)> = vec![(1, 1)];
    let of_kind = |r: &mut Rng, made: &[(u32, u32)], kinds: &[u32], cur: u32| -> u32 {
        let c: Vec<u32> = made.iter().filter(|(k, _)| kinds.contains(k)).map(|&(_, id)| id).collect();
        if c.is_empty() || r.fault(10) { target(r, cur) } else { r.pick(&c) }
    };
    for _ in 0..n {
        let cur = b.n + 1;
        let mut kind = if r.fault(3) { r.pick(&[0u32, 20, 31]) } else { 1 + r.below(19) as u32 };
        // Clean graphs make a kind only once what it must point at exists.
        let needs: &[u32] = match kind {
            12 => &[13],
            15 => &[14],
            17 => &[4, 5, 8, 12, 14],
            _ => &[],
        };
        if !r.1 && !needs.is_empty() && !made.iter().any(|(k, _)| needs.contains(k)) {
            kind = needs[0];
        }
        let kflag = r.fault(12);
        match kind {
            1 => {
                let nm = name(r, &mut b, false);
                let size = r.choose(&[1u32, 2, 4, 8, 16], &[0, 3, 17]);
                let bits = r.choose(&[8u32, 16, 32, 64, 128], &[3, 7, 129]).min(size * 8 + u32::from(r.fault(10)));
                let enc = r.choose(&[0u32, 1, 2, 4], &[3, 6]);
                let off = if r.fault(10) { r.below(8) as u32 } else { 0 };
                b.head(nm, 1, u32::from(r.fault(3)), kflag, size);
                b.w((enc << 24) | (off << 16) | bits | if r.fault(5) { 0x100 } else { 0 });
            }
            2 | 9 | 10 | 11 | 8 | 18 => {
                let nm = match kind {
                    8 => name(r, &mut b, true),
                    18 => b.str(r.pick(&[&b"user"[..], b"rcu", b"kptr"])),
                    _ if r.fault(5) => b.str(b"p"),
                    _ => 0,
                };
                let t = target(r, cur);
                b.head(nm, kind, u32::from(r.fault(2)), kflag, t);
            }
            3 => {
                let elem = target(r, cur);
                let index = if !r.fault(15) { 1 } else { target(r, cur) };
                let nelems = r.choose(&[0u32, 1, 4, 16], &[0x4000_0000, 0xffff_ffff]);
                b.head(0, 3, 0, kflag && r.chance(30), if r.fault(5) { 4 } else { 0 });
                b.w(elem);
                b.w(index);
                b.w(nelems);
            }
            4 | 5 => {
                let nm = name(r, &mut b, false);
                let vlen = r.below(4) as u32;
                let size = r.choose(&[8u32, 16, 24, 64], &[0, 4]);
                b.head(nm, kind, vlen, kflag, size);
                let mut off = 0u32;
                for _ in 0..vlen {
                    let mn = name(r, &mut b, false);
                    let t = target(r, cur);
                    b.w(mn);
                    b.w(t);
                    let bits = if kflag && r.chance(40) { r.choose(&[1u32, 3, 8, 32], &[33, 64]) } else { 0 };
                    let o = if kind == 5 && !r.fault(10) { 0 } else { off };
                    b.w((bits << 24) | (o & 0x00ff_ffff));
                    off += r.choose(&[0u32, 32, 64], &[5, 8]);
                }
            }
            6 | 19 => {
                let nm = name(r, &mut b, false);
                let vlen = r.below(3) as u32;
                let size = r.choose(&[4u32, 1, 2, 8], &[3, 0]);
                b.head(nm, kind, vlen, kflag, size);
                for i in 0..vlen {
                    let vn = name(r, &mut b, true);
                    b.w(vn);
                    b.w(i.wrapping_sub(1));
                    if kind == 19 {
                        b.w(r.pick(&[0u32, 1, 0xffff_ffff])); // any value is fine
                    }
                }
            }
            7 => {
                let nm = name(r, &mut b, true);
                let t = u32::from(r.fault(5));
                b.head(nm, 7, 0, kflag, t);
            }
            12 => {
                let nm = name(r, &mut b, true);
                let t = of_kind(r, &made, &[13], cur);
                b.head(nm, 12, r.choose(&[0u32, 1], &[2]), kflag && r.chance(30), t);
            }
            13 => {
                let vlen = r.below(4) as u32;
                let ret = if r.chance(40) { 0 } else { target(r, cur) };
                b.head(0, 13, vlen, kflag && r.chance(30), ret);
                for i in 0..vlen {
                    let last = i + 1 == vlen;
                    let vararg = last && r.chance(25);
                    let named = !r.fault(20);
                    let pn = if vararg && !r.fault(20) { 0 } else { name(r, &mut b, named) };
                    b.w(pn);
                    b.w(if vararg { 0 } else { target(r, cur) });
                }
            }
            14 => {
                let nm = name(r, &mut b, true);
                let t = target(r, cur);
                b.head(nm, 14, 0, kflag && r.chance(30), t);
                b.w(r.choose(&[0u32, 1], &[2]));
            }
            15 => {
                let nm =
                    if !r.fault(20) { b.str(r.pick(&[&b".data"[..], b".bss", b"?.struct_ops", b"a b"])) } else { 0 };
                let vlen = r.below(3) as u32;
                let size = r.choose(&[8u32, 16], &[4, 0]);
                b.head(nm, 15, vlen, kflag && r.chance(30), size);
                let mut off = 0u32;
                for _ in 0..vlen {
                    let v = of_kind(r, &made, &[14], cur);
                    b.w(v);
                    b.w(off);
                    let sz = r.choose(&[4u32], &[8, 0, 2]);
                    b.w(sz);
                    off += r.choose(&[4u32], &[0, 2]);
                }
            }
            16 => {
                let nm = name(r, &mut b, false);
                b.head(nm, 16, 0, kflag, r.choose(&[4u32, 8, 2, 12, 16], &[3, 0]));
            }
            17 => {
                let nm = b.str(r.choose(&[&b"tag"[..], b"x y"], &[b""]));
                let t = of_kind(r, &made, &[4, 5, 8, 12, 14], cur);
                b.head(nm, 17, 0, kflag, t);
                b.w(r.choose(&[-1i32, 0], &[1, 3, -2]) as u32);
            }
            k => {
                b.head(0, k, 0, false, 0);
            }
        }
        made.push((kind, cur));
    }
    b.build()
}

// ---------------------------------------------------------------------------
// One scenario per rule, from both sides.

/// Identifiers by the kernel's Latin-1 ctype classes: letters 0xc0-0xd6,
/// 0xd8-0xf6, 0xf8-0xff; 0xd7 and 0xf7 are punctuation, 0x80-0xbf are not
/// letters.
const ID_OK: &[&[u8]] = &[b"a", b"_x", b"x9", b"Node_t", b"\xc0", b"a\xdf", b"\xf8\xff", b"s.t", b"_.x"];
const ID_BAD: &[&[u8]] = &[
    b"9a", b"a-b", b"a b", b"\xd7", b"a\xf7", b"\x80", b"a\xa0", b"\xaa", b"\xb5", b"\xbf", b"$x", b"a\x7f", b"a\x01",
    b"?x", b".x", b"a?",
];
const SEC_NAMES: &[&[u8]] = &[
    b".data",
    b".bss",
    b".rodata.str1.1",
    b"?.struct_ops",
    b".data..percpu",
    b"license",
    b"a b",
    b".x-y",
    b"\x80",
    b".d\xff",
    b"a\t",
    b"x\x7f",
    b"$",
    b"-",
    b"",
];

fn ident(r: &mut Rng, bad_pct: u64) -> &'static [u8] {
    r.either(bad_pct, ID_OK, ID_BAD)
}

/// A long name of `len` bytes.
fn long_name(r: &mut Rng, len: usize) -> Vec<u8> {
    let mut v = vec![b'n'; len];
    if r.chance(20) {
        v[len / 2] = r.pick(&[b'-', b' ', 0x80, b'.']);
    }
    v
}

const RULES: usize = 18;
const RULE_NAMES: [&str; RULES] = [
    "chain-depth",
    "embed-loop",
    "array-elem-index",
    "array-overflow",
    "member-layout",
    "float-member",
    "enum-bitfield",
    "datasec",
    "var-target",
    "func-proto",
    "decl-tag",
    "type-tag-order",
    "names",
    "strings",
    "header-layout",
    "int-record",
    "enum-record",
    "ref-kinds",
];

/// Scenario `which` of [`RULE_NAMES`].
fn rules(r: &mut Rng, which: usize) -> Vec<u8> {
    let mut b = B::new();
    match which {
        0 => {
            // Modifier/pointer chains of 24..40 links, mostly pointing to
            // higher ids (so resolution goes deep), ending at int, void, a
            // struct, or wrapped by a struct member, a VAR or an array.
            let int = b.int32();
            let len = 24 + r.below32(17);
            let up = r.chance(75);
            let first = b.next();
            let end = match r.below(4) {
                0 => 0,
                1 => first + len, // a struct made after the chain
                _ => int,
            };
            for k in 0..len {
                let kind = if r.chance(15) { PTR } else { r.pick(&[TYPEDEF, VOLATILE, CONST, RESTRICT]) };
                let nm: &[u8] = if kind == TYPEDEF { b"td" } else { b"" };
                let t = if up {
                    if k + 1 == len { end } else { first + k + 1 }
                } else if k == 0 {
                    end.min(int)
                } else {
                    first + k - 1
                };
                b.rf(kind, nm, false, t);
            }
            let top = if up { first } else { first + len - 1 };
            if end == first + len {
                b.comp(STRUCT, b"s", false, 4, &[(b"a", int, 0)]);
            }
            match r.below(4) {
                0 => {
                    b.comp(STRUCT, b"w", false, 8, &[(b"m", top, 0)]);
                }
                1 => {
                    b.var(b"v", top, 1);
                }
                2 => {
                    b.array(top, int, 2);
                }
                _ => {}
            }
        }
        1 => {
            // Loops through embedding (rejected) or pointers (fine).
            let int = b.int32();
            let (a, bb) = (2u32, 3u32);
            let members: Vec<u32> = vec![int, a, bb, 4, 5, 6, 7, 8, 9, 10];
            let ma = r.pick(&members);
            let mb = r.pick(&members);
            b.comp(STRUCT, b"A", false, 64, &[(b"m", ma, 0)]);
            b.comp(if r.chance(30) { UNION } else { STRUCT }, b"B", false, 64, &[(b"m", mb, 0)]);
            b.rf(PTR, b"", false, a); // 4
            b.rf(PTR, b"", false, bb); // 5
            b.rf(TYPEDEF, b"TA", false, a); // 6
            b.rf(TYPEDEF, b"TB", false, bb); // 7
            b.array(a, int, 1); // 8
            b.array(bb, int, r.pick(&[0, 1])); // 9
            b.rf(CONST, b"", false, r.pick(&[a, 4, 6])); // 10
        }
        2 => {
            // Array elements and indexes of every kind, odd ints included.
            let int = b.int32();
            let (size, enc, off, bits) = r.pick(&[
                (4u32, 0u32, 0u32, 32u32),
                (1, CHAR, 0, 8),
                (8, SIGNED, 0, 64),
                (4, 0, 0, 31),
                (4, 0, 1, 31),
                (4, BOOL, 0, 1),
                (16, 0, 0, 128),
                (2, 0, 8, 8),
                (8, 0, 0, 32),
            ]);
            let odd = b.int(b"odd", size, enc, off, bits);
            let fwd = b.rf(FWD, b"f", false, 0);
            let pr = b.proto(0, &[]);
            let en = b.enm(ENUM, b"e", false, 4, &[(b"A", 0)]);
            let td = b.rf(TYPEDEF, b"t", false, odd);
            let var = b.var(b"v", int, 0);
            let p = b.rf(PTR, b"", false, fwd);
            let fl = b.float(b"f", 4);
            let cst = b.rf(CONST, b"", false, odd);
            let elem = r.pick(&[int, odd, odd, fwd, pr, en, td, var, p, fl, cst, 0, 99]);
            let index = r.either(40, &[int], &[odd, en, td, p, fwd, 0, cst, fl, 99]);
            let arr = b.array(elem, index, r.pick(&[0, 1, 3]));
            if r.chance(50) {
                b.comp(STRUCT, b"s", false, 64, &[(b"a", arr, 0)]);
            }
        }
        3 => {
            // Element size times nelems around U32_MAX, nested arrays.
            let int = b.int32();
            let s = r.pick(&[1u32, 4, 0x1_0000, 0x1_0001, 0x8000_0000, 0xffff_ffff]);
            let st = b.comp(STRUCT, b"big", false, s, &[]);
            let elem = r.pick(&[int, st]);
            let n1 = r.pick(&[0u32, 1, 2, 0xffff, 0x1_0000, 0x4000_0000, 0x4000_0001, 0xffff_ffff]);
            let a1 = b.array(elem, int, n1);
            let n2 = r.pick(&[0u32, 1, 2, 0x1_0000, 0xffff_ffff]);
            let a2 = b.array(a1, int, n2);
            if r.chance(40) {
                let s2 = r.pick(&[4u32, 0x8000_0000, 0xffff_ffff]);
                b.comp(STRUCT, b"outer", false, s2, &[(b"m", r.pick(&[a1, a2]), 0)]);
            }
        }
        4 => {
            // Member layout, kind_flag 0 and 1, STRUCT and UNION.
            let int = b.int32();
            let i8 = b.int(b"c", 1, CHAR, 0, 8);
            let i64 = b.int(b"l", 8, SIGNED, 0, 64);
            let bf = b.int(b"bf", 4, 0, r.pick(&[0, 0, 3, 29]), r.pick(&[3, 3, 8, 32]));
            let p = b.rf(PTR, b"", false, 0);
            let arr = b.array(i8, int, 3);
            let en = b.enm(ENUM, b"e", false, 4, &[(b"A", 0)]);
            let inner = b.comp(STRUCT, b"in", false, 3, &[]);
            let td = b.rf(TYPEDEF, b"t", false, bf);
            let fwd = b.rf(FWD, b"f", false, 0);
            let kflag = r.chance(50);
            let kind = if r.chance(25) { UNION } else { STRUCT };
            let size = r.pick(&[1u32, 2, 4, 7, 8, 12, 16]);
            let nm = r.below(4);
            let mut members: Vec<(&[u8], u32, u32)> = Vec::new();
            let mut off = 0u32;
            let names: [&[u8]; 4] = [b"a", b"b", b"c", b"d"];
            for m in 0..nm {
                let t = r.either(10, &[int, i8, i64, bf, p, arr, en, inner, td], &[fwd, 0, 99, b.next()]);
                let bits =
                    if kflag && r.chance(50) { r.pick(&[0u32, 1, 3, 8, 31, 32, 33, 64, 65, 128, 129]) } else { 0 };
                off = match r.below(6) {
                    0 => off + r.pick(&[1, 3, 5, 7]),
                    1 => size * 8 - r.pick(&[8, 24, 31, 32, 33]).min(size * 8),
                    2 => off.saturating_sub(8),
                    3 if kind == UNION => 0,
                    _ => off + r.pick(&[0, 8, 32, 64]),
                };
                let nm = if r.chance(10) { r.pick(&[&b""[..], b"1x", b"a"]) } else { names[m as usize] };
                let word = if kflag { (bits << 24) | (off & 0xff_ffff) } else { off };
                members.push((nm, t, word));
            }
            b.comp(kind, r.pick(&[&b"s"[..], b""]), kflag, size, &members);
        }
        5 => {
            // FLOAT members: size, alignment, bitfield, struct end.
            let fs = r.either(15, &[2u32, 4, 8, 12, 16], &[1, 3, 6, 32, 0]);
            let fl = b.float(b"f", fs);
            let kflag = r.chance(30);
            let size = r.pick(&[4u32, 8, 12, 16, 24, 32]);
            let off = r.pick(&[0u32, 0, 8, 16, 32, 48, 64, 96, 128, 12]);
            let bits = if kflag { r.either(30, &[0u32], &[fs * 8, 3]) } else { 0 };
            let kind = if r.chance(20) { UNION } else { STRUCT };
            let t = if r.chance(20) { b.rf(TYPEDEF, b"t", false, fl) } else { fl };
            b.comp(kind, b"s", kflag, size, &[(b"x", t, if kflag { (bits << 24) | off } else { off })]);
        }
        6 => {
            // ENUM and ENUM64 members as bitfields.
            let int = b.int32();
            let ek = r.pick(&[ENUM, ENUM, ENUM64]);
            let es = r.pick(&[1u32, 2, 4, 8]);
            let en = b.enm(ek, b"e", r.chance(50), es, &[(b"A", 1)]);
            let kflag = r.chance(75);
            let bits = r.pick(&[0u32, 1, 8, 16, 31, 32, 33, 63, 64, 65]);
            let off = r.pick(&[0u32, 3, 8, 32, 64, 96]);
            let word = if kflag { (bits << 24) | off } else { off };
            b.comp(STRUCT, b"s", kflag, 16, &[(b"i", int, 0), (b"e", en, word)]);
        }
        7 => {
            // DATASEC: entry kinds, order, overlap, sizes, name.
            let int = b.int32();
            let ch = b.int(b"char", 1, CHAR, 0, 8);
            let arr = b.array(ch, int, 8);
            let st = b.comp(STRUCT, b"s", false, 12, &[(b"a", int, 0)]);
            let pr = b.proto(0, &[]);
            let f = b.func(b"fn", pr, 0);
            let vs = [b.var(b"a", int, 1), b.var(b"b", arr, 0), b.var(b"c", st, 1)];
            let sizes = [4u32, 8, 12];
            // a TYPEDEF of a VAR fails on its own: only sometimes
            let td = if r.chance(10) { b.rf(TYPEDEF, b"tv", false, vs[0]) } else { 99 };
            let n = r.below32(4);
            let mut entries = Vec::new();
            let mut off = 0u32;
            for _ in 0..n {
                let k = r.below(3) as usize;
                let v = r.either(12, &[vs[k]], &[int, f, td, 0, 99]);
                let sz = r.either(15, &[sizes[k]], &[sizes[k] - 1, sizes[k] + 4, 0]);
                let o = r.either(12, &[off], &[off.saturating_sub(2), off.wrapping_add(2), 0xffff_fff0]);
                entries.push((v, o, sz));
                off = o.wrapping_add(sz);
            }
            if r.chance(10) && entries.len() > 1 {
                entries.swap(0, 1);
            }
            let size = r.either(15, &[off.max(4), off.wrapping_add(8)], &[off.saturating_sub(1), 0]);
            let nm = r.either(20, &[&b".data"[..], b".bss", b"?.struct_ops", b".data.rel.ro"], SEC_NAMES);
            b.datasec(nm, size, &entries);
        }
        8 => {
            // VAR: target kinds, linkage, name, kind_flag.
            let int = b.int32();
            let st = b.comp(STRUCT, b"s", false, 4, &[(b"a", int, 0)]);
            let fwd = b.rf(FWD, b"f", r.chance(50), 0);
            let pr = b.proto(int, &[]);
            let func = b.func(b"fn", pr, 0);
            let pf = b.rf(PTR, b"", false, fwd);
            let arr = b.array(int, int, 2);
            let tdf = b.rf(TYPEDEF, b"tf", false, fwd);
            let cst = b.rf(CONST, b"", false, int);
            let fl = b.float(b"fl", 8);
            let en = b.enm(ENUM, b"e", false, 4, &[]);
            let tt = b.rf(TYPE_TAG, b"tt", false, int);
            let t = r.either(40, &[int, st, pf, arr, cst, fl, en, tt], &[fwd, pr, func, 0, tdf, 99, b.next() + 1]);
            let len = r.pick(&[511, 512]);
            let nm: Vec<u8> = if r.chance(5) { long_name(r, len) } else { ident(r, 15).to_vec() };
            let n = b.str(&nm);
            let kflag = r.chance(5);
            let v = b.head(n, VAR, 0, kflag, t);
            b.w(r.either(15, &[0u32, 1], &[2, 3, 0x100]));
            if r.chance(30) {
                b.datasec(b".data", 8, &[(v, 0, 8)]);
            }
            if r.chance(20) {
                b.var(b"v2", v, 0); // a VAR of a VAR
            }
        }
        9 => {
            // FUNC and FUNC_PROTO: return and parameter types, names,
            // varargs, FUNC target, linkage.
            let int = b.int32();
            let st = b.comp(STRUCT, b"s", false, 4, &[(b"a", int, 0)]);
            let fwd = b.rf(FWD, b"f", false, 0);
            let p = b.rf(PTR, b"", false, fwd);
            let arr = b.array(int, int, 2);
            let en = b.enm(ENUM, b"e", false, 4, &[]);
            let tdv = b.rf(TYPEDEF, b"tv", false, 0);
            let other = b.proto(0, &[]);
            let var = b.var(b"v", int, 0);
            let ret = r.either(30, &[0, int, st, p, en], &[fwd, arr, other, tdv, var, 99]);
            let np = r.below32(4);
            let mut params: Vec<(&[u8], u32)> = Vec::new();
            let pnames: [&[u8]; 3] = [b"a", b"b", b"c"];
            for i in 0..np {
                let last = i + 1 == np;
                if last && r.chance(30) {
                    params.push((r.either(20, &[&b""[..]], &[b"va"]), 0));
                    continue;
                }
                let t = r.either(15, &[int, st, p, en], &[0, fwd, arr, other, tdv, var, 99]);
                let nm = if r.chance(15) { r.pick(&[&b""[..], b"1x", b"a b"]) } else { pnames[i as usize] };
                params.push((nm, t));
            }
            let kflag = r.chance(5);
            let proto = b.next();
            b.head(0, PROTO, params.len() as u32, kflag, ret);
            for (pn, t) in params {
                let s = b.str(pn);
                b.w(s);
                b.w(t);
            }
            if r.chance(80) {
                let target = r.either(15, &[proto], &[int, p, other + 100, 0, tdv]);
                let n = b.str(ident(r, 10));
                let kflag = r.chance(5);
                let linkage = r.either(10, &[0u32, 1, 2], &[3, 4]);
                b.head(n, FUNC, linkage, kflag, target);
            } else {
                b.rf(PTR, b"", false, proto);
            }
        }
        10 => {
            // DECL_TAG: target kinds, component_idx, kind_flag, value.
            let int = b.int32();
            let s = b.comp(STRUCT, b"s", false, 8, &[(b"a", int, 0), (b"b", int, 32)]);
            let u = b.comp(UNION, b"u", false, 4, &[(b"a", int, 0)]);
            let pr = b.proto(int, &[(b"x", int), (b"y", int)]);
            let f = b.func(b"f", pr, 1);
            let var = b.var(b"v", int, 1);
            let td = b.rf(TYPEDEF, b"td", false, int);
            let p = b.rf(PTR, b"", false, int);
            let en = b.enm(ENUM, b"e", false, 4, &[(b"A", 0)]);
            let ds = b.datasec(b".data", 4, &[(var, 0, 4)]);
            let tt = b.rf(TYPE_TAG, b"tt", false, int);
            let fw = b.rf(FWD, b"fw", false, 0);
            let dt = b.decl_tag(b"inner", false, s, -1);
            let t = r.either(35, &[s, u, f, var, td], &[int, pr, p, en, ds, tt, fw, dt, 0, 99, b.next()]);
            let idx = r.either(35, &[-1i32, 0], &[1, 2, -2, i32::MAX, i32::MIN]);
            let kflag = r.chance(20);
            let value: &[u8] = r.either(10, &[&b"tag"[..], b"x y", b"\x80!", b"a\tb"], &[b""]);
            b.decl_tag(value, kflag, t, idx);
        }
        11 => {
            // TYPE_TAG order in modifier chains; tags with kind_flag.
            let int = b.int32();
            let st = b.comp(STRUCT, b"s", false, 4, &[(b"a", int, 0)]);
            let len = 1 + r.below32(4);
            let up = r.chance(50);
            let first = b.next();
            let end = r.pick(&[int, int, st, 0]);
            for k in 0..len {
                let kind = r.pick(&[TYPE_TAG, TYPE_TAG, CONST, VOLATILE, TYPEDEF, RESTRICT, PTR]);
                let nm: &[u8] = match kind {
                    TYPE_TAG => r.either(10, &[&b"user"[..], b"rcu"], &[b"", b"a b"]),
                    TYPEDEF => b"t",
                    _ => b"",
                };
                let t = if up {
                    if k + 1 == len { end } else { first + k + 1 }
                } else if k == 0 {
                    end
                } else {
                    first + k - 1
                };
                let kflag = kind == TYPE_TAG && r.chance(20);
                b.rf(kind, nm, kflag, t);
            }
            let top = if up { first } else { first + len - 1 };
            if r.chance(60) {
                let p = b.rf(PTR, b"", false, top);
                b.comp(STRUCT, b"w", false, 8, &[(b"p", p, 0)]);
            }
        }
        12 => {
            // Names of every named kind, by class; long names.
            let pct = 8;
            let int_name: Vec<u8> = r.pick(&[&b"int"[..], b"unsigned int", b"a-b", b"\x80", b"9"]).to_vec();
            let int = b.int(&int_name, 4, SIGNED, 0, 32);
            let len = r.pick(&[127, 128, 129, 255, 256, 510, 511, 512, 513, 600]);
            let long = r.chance(10).then(|| long_name(r, len));
            let nm = |r: &mut Rng| -> Vec<u8> {
                match &long {
                    Some(l) if r.chance(30) => l.clone(),
                    _ => ident(r, pct).to_vec(),
                }
            };
            let (n1, n2, n3, n4) = (nm(r), nm(r), nm(r), nm(r));
            let st = b.comp(r.pick(&[STRUCT, UNION]), &n1, false, 4, &[(n2.as_slice(), int, 0)]);
            let (n5, n6) = (nm(r), nm(r));
            b.enm(r.pick(&[ENUM, ENUM64]), &n5, false, 4, &[(n6.as_slice(), 1)]);
            let (n7, n8, n9, n10) = (nm(r), nm(r), nm(r), nm(r));
            b.rf(TYPEDEF, &n7, false, st);
            b.rf(FWD, &n8, false, 0);
            b.float(&n9, 8);
            let pr = b.proto(int, &[(n3.as_slice(), int)]);
            b.func(&n4, pr, 0);
            let var = b.var(&n10, int, 1);
            let sec: Vec<u8> = match &long {
                Some(l) if r.chance(30) => {
                    let mut s = b".".to_vec();
                    s.extend_from_slice(l);
                    s
                }
                _ => r.pick(SEC_NAMES).to_vec(),
            };
            b.datasec(&sec, 4, &[(var, 0, 4)]);
        }
        13 => {
            // The string section: first and last byte, empty, name offsets
            // at the final NUL, past it, in the middle of a string.
            let int = b.int32(); // "int" at 1
            let s = b.str(b"abc");
            let nm = r.pick(&[s, s + 1, s + 3, 0, s + 4, s + 5, 2]);
            b.head(nm, STRUCT, 1, false, 4);
            let mn = r.pick(&[0u32, s, s + 2, s + 4]);
            b.w(mn);
            b.w(int);
            b.w(0);
            match r.below(8) {
                0 => b.strs[0] = b'x',
                1 => {
                    let l = b.strs.len();
                    b.strs[l - 1] = b'z';
                }
                2 => b.strs.extend_from_slice(&[0, 0, 0]),
                3 => b.strs.truncate(b.strs.len() - 1),
                4 => b.strs.extend_from_slice(b"tail"),
                5 => b.strs.truncate(1),
                _ => {}
            }
        }
        14 => {
            // Header and section tiling of a valid blob.
            let int = b.int32();
            b.comp(STRUCT, b"s", false, 4, &[(b"a", int, 0)]);
            let d = b.build();
            return relayout(r, &d);
        }
        15 => {
            // INT records.
            let size = r.pick(&[0u32, 1, 2, 3, 4, 4, 5, 8, 8, 16, 17, 32]);
            let enc = r.either(20, &[0u32, SIGNED, CHAR, BOOL], &[3, 5, 6, 8]);
            let off = r.either(25, &[0u32], &[1, 7, 8, 64, 120, 127, 128]);
            let bits = r.pick(&[0u32, 1, 7, 8, 31, 32, 64, 127, 128, 129, 255]).min(size * 8 + r.below32(2));
            let reserved = if r.chance(10) { r.pick(&[0x100u32, 0x8000, 0x1000_0000, 0x8000_0000]) } else { 0 };
            let nm = r.pick(&[&b"i"[..], b"", b"a b"]);
            let n = b.str(nm);
            let vlen = u32::from(r.chance(5));
            let i = b.head(n, INT, vlen, r.chance(5), size);
            b.w((enc << 24) | (off << 16) | bits | reserved);
            match r.below(3) {
                0 => {
                    b.comp(STRUCT, b"s", false, 16, &[(b"m", i, r.pick(&[0, 3, 64]))]);
                }
                1 => {
                    let int = b.int32();
                    b.array(i, int, 2);
                }
                _ => {}
            }
        }
        16 => {
            // ENUM and ENUM64 records.
            let kind = r.pick(&[ENUM, ENUM64]);
            let size = r.either(25, &[1u32, 2, 4, 8], &[0, 3, 5, 16]);
            let vlen = r.below32(3);
            let nm = ident(r, 15);
            let n = b.str(nm);
            b.head(n, kind, vlen, r.chance(40), size);
            for i in 0..vlen {
                let vn = if r.chance(10) { r.pick(&[&b""[..], b"1", b"a-b"]) } else { r.pick(&[&b"A"[..], b"B"]) };
                let s = b.str(vn);
                b.w(s);
                b.w(r.pick(&[0u32, i, 0xffff_ffff, 0x8000_0000]));
                if kind == ENUM64 {
                    b.w(r.pick(&[0u32, 0xffff_ffff, 1]));
                }
            }
        }
        _ => {
            // Reference kinds and FWD: names, kind_flag, vlen, targets
            // (FUNC, VAR, DATASEC, FUNC_PROTO, void), FUNC before or after.
            let int = b.int32();
            let func_first = r.chance(50);
            let (pr, f) = if func_first {
                let pr = b.proto(0, &[]);
                (pr, b.func(b"fn", pr, 0))
            } else {
                (b.next() + 5, b.next() + 6)
            };
            let kind = r.pick(&[PTR, TYPEDEF, VOLATILE, CONST, RESTRICT, TYPE_TAG, FWD]);
            let t = if kind == FWD {
                r.either(10, &[0u32], &[1])
            } else {
                r.either(50, &[int, 0, pr], &[f, 99, b.next(), b.next() + 1])
            };
            let nm: &[u8] = match kind {
                TYPEDEF | TYPE_TAG | FWD => r.either(15, &[&b"t"[..]], &[b"", b"a-b"]),
                _ => r.either(10, &[&b""[..]], &[b"p"]),
            };
            let n = b.str(nm);
            let kflag = r.chance(15);
            let vlen = u32::from(r.chance(5));
            let me = b.head(n, kind, vlen, kflag, t);
            b.rf(PTR, b"", false, me);
            if r.chance(50) {
                b.rf(CONST, b"", false, me);
            } else {
                b.rf(TYPEDEF, b"c", false, me);
            }
            if !func_first {
                let p = b.proto(0, &[]);
                b.func(b"fn", p, 0);
                b.var(b"v", int, 0);
            } else {
                let v = b.var(b"v", int, 0);
                b.datasec(b".data", 4, &[(v, 0, 4)]);
            }
        }
    }
    b.build()
}

/// A standard host-order blob re-tiled: header length and padding,
/// section order, gaps, overlaps, trailing bytes, version, flags, magic.
fn relayout(r: &mut Rng, d: &[u8]) -> Vec<u8> {
    let Some((types, strs)) = split_std(d) else { return d.to_vec() };
    let pad = |r: &mut Rng, n: usize| -> Vec<u8> {
        if r.chance(60) { vec![0; n] } else { (0..n).map(|_| r.below(256) as u8).collect() }
    };
    // Below 24 the kernel copies only hdr_len bytes of the header (a field
    // cut short keeps its low bytes); above, the excess must be zero.
    let hdr_len = r.either(60, &[24u32], &[0, 4, 7, 8, 12, 16, 20, 21, 22, 23, 25, 26, 28, 31, 32, 36, 40]);
    let (mut type_off, mut str_off) = (0u32, types.len() as u32);
    let mut body: Vec<u8> = Vec::new();
    match r.below(9) {
        0 => {
            // strings first, then types, maybe padded to alignment
            let p = if r.chance(50) { (4 - strs.len() % 4) % 4 } else { 0 };
            str_off = 0;
            type_off = (strs.len() + p) as u32;
            body.extend_from_slice(&strs);
            body.extend(pad(r, p));
            body.extend_from_slice(&types);
        }
        1 => {
            // a gap between the sections
            let g = r.pick(&[1usize, 4]);
            body.extend_from_slice(&types);
            body.extend(pad(r, g));
            str_off += g as u32;
            body.extend_from_slice(&strs);
        }
        2 => {
            // leading bytes: type_off 4 or 1
            let g = r.pick(&[1usize, 4]);
            body.extend(pad(r, g));
            type_off = g as u32;
            str_off += g as u32;
            body.extend_from_slice(&types);
            body.extend_from_slice(&strs);
        }
        3 => {
            // trailing bytes
            body.extend_from_slice(&types);
            body.extend_from_slice(&strs);
            let g = r.pick(&[1, 4]);
            body.extend(pad(r, g));
        }
        4 => {
            // overlap: strings start inside the types
            body.extend_from_slice(&types);
            body.extend_from_slice(&strs);
            str_off = str_off.saturating_sub(r.pick(&[4, 1]));
        }
        _ => {
            body.extend_from_slice(&types);
            body.extend_from_slice(&strs);
        }
    }
    let mut type_len = types.len() as u32;
    let mut str_len = strs.len() as u32;
    match r.below(12) {
        0 => type_len = 0,
        1 => type_len = type_len.saturating_sub(4),
        2 => str_len = str_len.saturating_sub(1),
        3 => str_len += 1,
        4 => str_len = 0,
        _ => {}
    }
    let mut out = Vec::new();
    let magic: u16 = if r.chance(4) { 0x9feb } else { 0xeb9f };
    out.extend_from_slice(&magic.to_ne_bytes());
    out.push(r.either(4, &[1u8], &[0, 2]));
    out.push(r.either(4, &[0u8], &[1, 0x80]));
    for f in [hdr_len, type_off, type_len, str_off, str_len] {
        out.extend_from_slice(&f.to_ne_bytes());
    }
    // Header bytes past 24: zero, or (the 7.1 layout fields) not.
    if hdr_len > 24 {
        out.extend(pad(r, hdr_len as usize - 24));
    } else {
        out.truncate(hdr_len as usize); // the fields it does not cover are data
    }
    out.extend_from_slice(&body);
    out
}

// ---------------------------------------------------------------------------
// Structure-aware mutation.

/// A record of a blob that parses.
#[derive(Clone, Copy)]
struct Rec {
    off: usize,
    len: usize,
    kind: u32,
    vlen: usize,
}

fn records(data: &[u8]) -> Vec<Rec> {
    Btf::parse(data)
        .map(|btf| {
            btf.types()
                .flatten()
                .map(|t| Rec {
                    off: t.offset() as usize,
                    len: t.record_len(),
                    kind: u32::from(t.kind_raw()),
                    vlen: t.vlen() as usize,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Byte offsets of the type-id fields of a record.
fn type_slots(rec: Rec) -> Vec<usize> {
    let o = rec.off;
    let each = |first: usize, stride: usize| (0..rec.vlen).map(move |i| o + 12 + stride * i + first);
    match rec.kind {
        PTR | TYPEDEF | VOLATILE | CONST | RESTRICT | FUNC | VAR | DECL_TAG | TYPE_TAG => vec![o + 8],
        ARRAY => vec![o + 12, o + 16],
        STRUCT | UNION => each(4, 12).collect(),
        PROTO => std::iter::once(o + 8).chain(each(4, 8)).collect(),
        DATASEC => each(0, 12).collect(),
        _ => vec![],
    }
}

/// Byte offsets of the name-offset fields of a record.
fn name_slots(rec: Rec) -> Vec<usize> {
    let o = rec.off;
    let each = |stride: usize| (0..rec.vlen).map(move |i| o + 12 + stride * i);
    let mut v = vec![o];
    match rec.kind {
        STRUCT | UNION => v.extend(each(12)),
        ENUM | PROTO => v.extend(each(8)),
        ENUM64 => v.extend(each(12)),
        _ => {}
    }
    v
}

fn put(d: &mut [u8], at: usize, v: u32) {
    if let Some(s) = d.get_mut(at..at + 4) {
        s.copy_from_slice(&v.to_ne_bytes());
    }
}
fn get(d: &[u8], at: usize) -> u32 {
    d.get(at..at + 4).map_or(0, |s| u32::from_ne_bytes(s.try_into().unwrap()))
}

fn vary(r: &mut Rng, v: u32) -> u32 {
    match r.below(10) {
        0 => 0,
        1 => v.wrapping_add(1),
        2 => v.wrapping_sub(1),
        3 => v.wrapping_add(8),
        4 => u32::MAX,
        5 => r.pick(&[0xfffffu32, 0x100000, 0xffffff, 0x1000000]),
        6 => v ^ (1 << r.below(32)),
        7 => (r.pick(&[1u32, 3, 8, 32, 40]) << 24) | (v & 0x00ff_ffff),
        8 => r.below(12) as u32,
        _ => v.wrapping_mul(2),
    }
}

/// One field of a record, changed with knowledge of its kind.
fn mutate_field(r: &mut Rng, d: &mut [u8], rec: Rec) {
    let o = rec.off;
    let member = |r: &mut Rng, stride: usize| o + 12 + stride * r.below(rec.vlen as u64) as usize;
    match rec.kind {
        INT => {
            let v = get(d, o + 12);
            let nv = match r.below(4) {
                0 => (v & !0x0f00_0000) | (r.pick(&[0u32, 1, 2, 3, 4, 8]) << 24),
                1 => (v & !0x00ff_0000) | (r.pick(&[0u32, 1, 3, 8, 64, 127]) << 16),
                2 => (v & !0xff) | r.pick(&[0u32, 1, 3, 8, 16, 31, 33, 64, 128, 129]),
                _ => {
                    let s = r.pick(&[0u32, 1, 2, 3, 4, 8, 16, 17]);
                    put(d, o + 8, s);
                    v
                }
            };
            put(d, o + 12, nv);
        }
        STRUCT | UNION if rec.vlen > 0 => {
            let at = member(r, 12) + 8;
            let v = get(d, at);
            let kflag = get(d, o + 4) >> 31 == 1;
            let nv = match r.below(4) {
                0 if kflag => (v & 0xff_ffff) | (r.pick(&[0u32, 1, 3, 8, 32, 33, 64, 65]) << 24),
                0 | 1 => v.wrapping_add(r.pick(&[1u32, 3, 8, 32])),
                2 => v.wrapping_sub(r.pick(&[1u32, 8, 32])),
                _ => {
                    // the struct's size
                    let s = get(d, o + 8);
                    put(d, o + 8, r.pick(&[0, s.wrapping_sub(1), s.wrapping_sub(4), s.wrapping_add(4), 0xffff_ffff]));
                    v
                }
            };
            put(d, at, nv);
        }
        ENUM | ENUM64 => put(d, o + 8, r.pick(&[0u32, 1, 2, 3, 4, 8, 16])),
        FUNC => {
            let v = get(d, o + 4);
            put(d, o + 4, (v & !0xffff) | r.pick(&[0u32, 1, 2, 3]));
        }
        VAR => put(d, o + 12, r.pick(&[0u32, 1, 2, 3])),
        DECL_TAG => put(d, o + 12, r.pick(&[-1i32, 0, 1, 2, -2, i32::MAX]) as u32),
        DATASEC if rec.vlen > 0 => {
            let at = member(r, 12);
            match r.below(4) {
                0 if rec.vlen > 1 => {
                    // swap two entries: unsorted
                    let other = member(r, 12);
                    for k in 0..12 {
                        d.swap(at + k, other + k);
                    }
                }
                0 | 1 => {
                    let v = get(d, at + 4);
                    put(d, at + 4, r.pick(&[0, v.wrapping_sub(1), v.wrapping_add(1), v.wrapping_add(4), 0xffff_fff0]));
                }
                2 => {
                    let v = get(d, at + 8);
                    put(d, at + 8, r.pick(&[0, v.wrapping_sub(1), v.wrapping_add(1), v.wrapping_add(4)]));
                }
                _ => {
                    let v = get(d, o + 8);
                    put(d, o + 8, r.pick(&[0, v.wrapping_sub(1), v.wrapping_add(4)]));
                }
            }
        }
        ARRAY => put(d, o + 20, r.pick(&[0u32, 1, 0xffff, 0x1_0000, 0x4000_0000, 0xffff_ffff])),
        FLOAT => put(d, o + 8, r.pick(&[0u32, 1, 2, 3, 4, 8, 12, 16, 32])),
        _ => {
            // kind_flag
            let v = get(d, o + 4);
            put(d, o + 4, v ^ (1 << 31));
        }
    }
}

/// Appends a string to a standard blob's string section; returns its offset.
fn append_str(d: &mut Vec<u8>, s: &[u8]) -> Option<u32> {
    let (types, mut strs) = split_std(d)?;
    let off = strs.len() as u32;
    strs.extend_from_slice(s);
    strs.push(0);
    *d = join(&types, &strs);
    Some(off)
}

fn mutate(r: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut d = seed.to_vec();
    let rounds = r.pick(&[1, 1, 1, 1, 1, 2, 2, 2, 3, 3]);
    for _ in 0..rounds {
        // Re-read the layout: an earlier mutation may have moved records.
        let recs = records(&d);
        let nr = recs.len() as u32;
        let str_start = 24 + get(&d, 16) as usize;
        let str_end = (str_start + get(&d, 20) as usize).min(d.len());
        let rec = (!recs.is_empty()).then(|| recs[r.below(recs.len() as u64) as usize]);
        let id = |rec: &Rec| recs.iter().position(|x| x.off == rec.off).map_or(0, |p| p as u32 + 1);
        // Weighted: the ops that keep a blob loadable more often than those
        // that break its tiling.
        let op = r.pick(&[0, 1, 1, 1, 2, 2, 3, 3, 3, 4, 4, 5, 6, 7, 7, 7, 7, 8, 8, 8, 9, 9, 9, 9, 9, 10, 10, 11, 12]);
        match (op, rec) {
            (0, _) => {
                // header: version, flags, hdr_len, offsets and lengths
                let at = r.pick(&[2usize, 3, 4, 8, 12, 16, 20]);
                if at < 4 {
                    d[at] = r.pick(&[0u8, 1, 2, 0xff]);
                } else {
                    let v = vary(r, get(&d, at));
                    put(&mut d, at, v);
                }
            }
            (1, Some(rec)) => {
                // info: kind_flag, kind, vlen, reserved bits
                let v = get(&d, rec.off + 4);
                let nv = match r.below(6) {
                    0 => v ^ (1 << 31),
                    1 => (v & !(0x1f << 24)) | ((r.below(22) as u32) << 24),
                    2 => v.wrapping_add(1),
                    3 => v.wrapping_sub(1),
                    4 => v | (1 << r.pick(&[16u32, 20, 23, 29, 30])),
                    _ => v & 0xffff_0000,
                };
                put(&mut d, rec.off + 4, nv);
            }
            (2, Some(rec)) => {
                // head name_off or size/type, blindly
                let at = rec.off + 4 * r.pick(&[0, 2]);
                let v = vary(r, get(&d, at));
                put(&mut d, at, v);
            }
            (3, Some(rec)) if rec.len > 12 => {
                // a trailing word, blindly
                let at = rec.off + 12 + 4 * r.below(((rec.len - 12) / 4) as u64) as usize;
                let v = vary(r, get(&d, at));
                put(&mut d, at, v);
            }
            (4, _) if str_start < str_end => {
                // string bytes
                let at = str_start + r.below((str_end - str_start) as u64) as usize;
                d[at] = r.pick(&[b'.', b'-', b' ', 0x80, 0xc0, 0xd7, 0xf7, 0xff, 0, b'1', b'?', b'_']);
            }
            (5, _) => {
                let cut = r.below(d.len().min(16) as u64 + 1) as usize;
                d.truncate(d.len() - cut);
            }
            (6, Some(rec)) => {
                // a record's kind swapped, keeping its flag and vlen
                let info = get(&d, rec.off + 4);
                put(&mut d, rec.off + 4, (info & 0x8000_ffff) | ((1 + r.below(19) as u32) << 24));
            }
            (7, Some(rec)) => {
                // a type id: 0, self, forward, last, out of range, huge
                let slots = type_slots(rec);
                if !slots.is_empty() {
                    let at = r.pick(&slots);
                    let me = id(&rec);
                    let any = 1 + r.below32(nr.max(1));
                    let v = r.pick(&[0, me, me + 1, nr, nr + 1, any, 0xfffff, 0x100000, 0x7fff_ffff]);
                    put(&mut d, at, v);
                }
            }
            (8, Some(rec)) => {
                // a name offset: 0, another name, mid-string, final NUL,
                // out of range, or a new bad or long name
                let at = r.pick(&name_slots(rec));
                let sl = get(&d, 20);
                let v = match r.below(7) {
                    0 => Some(0),
                    1 => {
                        let other = recs[r.below(recs.len() as u64) as usize];
                        let slots = name_slots(other);
                        let at = r.pick(&slots);
                        Some(get(&d, at))
                    }
                    2 => Some(get(&d, at).wrapping_add(1)),
                    3 => Some(sl.wrapping_sub(1)),
                    4 => Some(sl.wrapping_add(r.below32(2))),
                    5 => {
                        let s = r.pick(ID_BAD).to_vec();
                        append_str(&mut d, &s)
                    }
                    _ => {
                        let len = r.pick(&[128, 129, 511, 512, 513]);
                        let s = long_name(r, len);
                        append_str(&mut d, &s)
                    }
                };
                if let Some(v) = v {
                    put(&mut d, at, v);
                }
            }
            (9, Some(rec)) => mutate_field(r, &mut d, rec),
            (10, Some(rec)) => {
                // records duplicated, deleted or moved to the front
                if let Some((mut types, strs)) = split_std(&d) {
                    let (a, b) = (rec.off - 24, rec.off - 24 + rec.len);
                    if b <= types.len() {
                        let bytes = types[a..b].to_vec();
                        match r.below(3) {
                            0 => {
                                types.splice(b..b, bytes);
                            }
                            1 => {
                                types.drain(a..b);
                            }
                            _ => {
                                types.drain(a..b);
                                types.splice(0..0, bytes);
                            }
                        }
                        d = join(&types, &strs);
                    }
                }
            }
            (11, _) => {
                // a NUL removed: replaced, or the final one dropped
                if let Some((types, mut strs)) = split_std(&d) {
                    if r.chance(30) {
                        strs.pop();
                    } else {
                        // An earlier mutation may have left no NUL at all.
                        let nuls: Vec<usize> = (0..strs.len()).filter(|&i| strs[i] == 0).collect();
                        if !nuls.is_empty() {
                            let i = r.pick(&nuls);
                            strs[i] = r.pick(b"a_.");
                        }
                    }
                    d = join(&types, &strs);
                }
            }
            (12, _) => d = relayout(r, &d),
            _ => {
                let v = vary(r, get(&d, 12));
                put(&mut d, 12, v);
            }
        }
    }
    d
}

// ---------------------------------------------------------------------------
// BPF special fields (btf_parse_struct_metas, 6.12+): spin locks, graph
// roots and nodes, refcounts and kptrs in the structs that hold them, mostly
// well formed, each with a chance of the mistakes the kernel refuses.

/// Member names: the value structs' nodes are named after their kind.
const MEMBER_NAMES: [&[u8]; 8] = [b"m0", b"m1", b"m2", b"m3", b"m4", b"m5", b"m6", b"m7"];
/// Program struct names (none is a struct of the kernel's own BTF: a kptr
/// to one of those takes the kernel's type, see the validate module docs).
const LOCAL_NAMES: [&[u8]; 5] = [b"btfkit_obj", b"btfkit_elem", b"btfkit_val", b"btfkit_a", b"btfkit_b"];

/// A blob of special-field structs.
fn special(r: &mut Rng) -> Vec<u8> {
    let mut b = B::new();
    let int = b.int32();
    let long = b.int(b"long", 8, SIGNED, 0, 64);
    // (name, size): the kernel's sizes, now and then another.
    let kinds: [(&[u8], u32); 8] = [
        (b"bpf_spin_lock", 4),
        (b"bpf_res_spin_lock", 4),
        (b"bpf_list_head", 16),
        (b"bpf_list_node", 24),
        (b"bpf_rb_root", 16),
        (b"bpf_rb_node", 32),
        (b"bpf_refcount", 4),
        (b"bpf_timer", 16),
    ];
    // (type, size, alignment) of what members may be.
    let mut pool: Vec<(u32, u32, u32)> = vec![(int, 4, 4), (long, 8, 8)];
    let mut special = [0u32; 8];
    // The size each got.
    let mut sizes = kinds.map(|k| k.1);
    for (k, &(name, size)) in kinds.iter().enumerate() {
        if r.chance(15) {
            continue;
        }
        // The nodes of kernels before 6.6 were 8 bytes smaller.
        let size = if r.chance(4) {
            r.pick(&[4, 8, 16, 24, 32])
        } else if matches!(k, 3 | 5) && r.chance(25) {
            size - 8
        } else {
            size
        };
        sizes[k] = size;
        let m: &[(&[u8], u32, u32)] = if size < 8 { &[(b"v", int, 0)] } else { &[(b"v", long, 0)] };
        special[k] = b.comp(STRUCT, name, false, size, m);
        // A root among plain members has no `contains:` tag: now and then.
        if !matches!(k, 2 | 4) || r.chance(10) {
            pool.push((special[k], size, size.min(8)));
        }
        if r.chance(5) {
            // A second struct of the name: not the one that triggers.
            let again = b.comp(STRUCT, name, false, size, m);
            pool.push((again, size, size.min(8)));
        }
    }
    if special[0] != 0 && r.chance(10) {
        let t = b.rf(TYPEDEF, b"bpf_spin_lock", false, special[0]);
        pool.push((t, 4, 4));
    }
    // Program structs, and pointers to them with type tags.
    let mut locals = Vec::new();
    for _ in 0..1 + r.below(3) {
        let name = if r.chance(10) { &b""[..] } else { r.pick(&LOCAL_NAMES) };
        locals.push(b.comp(STRUCT, name, false, 8, &[(b"x", long, 0)]));
    }
    for _ in 0..r.below(4) {
        let mut to = if r.chance(85) { r.pick(&locals) } else { int };
        if r.chance(15) {
            to = b.rf(CONST, b"", false, to);
        }
        let tag = r.pick(&[&b"kptr"[..], b"kptr", b"kptr_untrusted", b"percpu_kptr", b"uptr", b"user", b"rcu"]);
        let mut t = b.rf(TYPE_TAG, tag, r.chance(8), to);
        if r.chance(6) {
            t = b.rf(TYPE_TAG, b"kptr", false, t);
        }
        // Another tag, or a modifier, between the pointer and its tag
        // (7.2 finds a kptr's tag among all of them).
        if r.chance(6) {
            t = b.rf(TYPE_TAG, r.pick(&[&b"percpu_kptr"[..], b"kptr_untrusted", b"rcu", b"kptr"]), false, t);
        }
        if r.chance(6) {
            t = b.rf(r.pick(&[CONST, VOLATILE, TYPEDEF]), if r.chance(50) { b"" } else { b"btfkit_t" }, false, t);
        }
        let mut p = b.rf(PTR, b"", false, t);
        if r.chance(10) {
            p = b.rf(VOLATILE, b"", false, p);
        }
        pool.push((p, 8, 8));
    }
    pool.push((b.rf(PTR, b"", false, int), 8, 8));
    // Lays members out in order, aligned but for the odd fault; kind_flag
    // structs now and then get a bitfield.
    let lay = |r: &mut Rng, kflag: bool, ms: &[(&'static [u8], u32, u32, u32)]| {
        let (mut out, mut off) = (Vec::new(), 0u32);
        for &(name, t, size, align) in ms {
            if r.chance(95) {
                off = off.div_ceil(align) * align;
            } else if r.chance(50) {
                off = off.saturating_sub(r.pick(&[4, 8]));
            } else {
                off += r.pick(&[1, 2, 4]);
            }
            let mut word = off * 8;
            if kflag && t == int && r.chance(30) {
                word |= 3 << 24;
            }
            out.push((name, t, word));
            off += size;
        }
        (out, off.div_ceil(8) * 8)
    };
    // Value structs: a node or two, a refcount, now and then a lock or a
    // root of their own.
    // (id, name, member names)
    type Value = (u32, &'static [u8], Vec<&'static [u8]>);
    let mut values: Vec<Value> = Vec::new();
    let value_names: [&'static [u8]; 3] = [b"btfkit_v0", b"btfkit_v1", b"btfkit_v2"];
    for vname in value_names.iter().take(1 + r.below(3) as usize) {
        let mut ms = vec![(&b"data"[..], long, 8, 8)];
        for (k, name, pct) in
            [(3, &b"lnode"[..], 70), (5, b"rnode", 20), (6, b"ref", 20), (2, b"head", 15), (0, b"lock", 25)]
        {
            // Both node kinds want a refcount.
            let pct = if name == b"ref" && ms.len() >= 3 { 90 } else { pct };
            if special[k] != 0 && r.chance(pct) {
                let size = sizes[k];
                ms.push((name, special[k], size, size.min(8)));
            }
        }
        if r.chance(70) {
            let n = ms.len();
            ms.swap(0, r.below(n as u64) as usize);
        }
        let (m, size) = lay(r, false, &ms);
        let v = b.comp(STRUCT, vname, false, size, &m);
        values.push((v, vname, m.iter().map(|x| x.0).collect()));
        for (i, &(name, ..)) in m.iter().enumerate() {
            if name == b"head" && r.chance(95) {
                // A value struct with a list node, this one too (a loop).
                let fit: Vec<_> = values.iter().filter(|v| v.2.contains(&&b"lnode"[..])).collect();
                let (_, tn, tm) = if !fit.is_empty() && r.chance(90) {
                    fit[r.below(fit.len() as u64) as usize]
                } else {
                    &values[r.below(values.len() as u64) as usize]
                };
                let node = tm.iter().find(|n| **n == b"lnode").copied().unwrap_or(b"data");
                b.decl_tag(&[b"contains:", *tn, b":", node].concat(), false, v, i as i32);
            }
        }
    }
    // Holders: a lock, roots (arrays now and then), kptrs, plain members,
    // earlier holders nested.
    let mut holders: Vec<(u32, u32)> = Vec::new();
    for h in 0..1 + r.below(3) as usize {
        let mut ms: Vec<(&'static [u8], u32, u32, u32)> = Vec::new();
        if special[0] != 0 && r.chance(90) {
            ms.push((b"lock", special[0], 4, 4));
        }
        if special[1] != 0 && r.chance(8) {
            ms.push((b"rlock", special[1], 4, 4));
        }
        for _ in 0..r.below(3) {
            let k = r.pick(&[2usize, 4]);
            if special[k] == 0 {
                continue;
            }
            let n = if r.chance(20) { r.pick(&[0, 1, 2, 3, 12]) } else { 1 };
            let t = if n == 1 && r.chance(80) { special[k] } else { b.array(special[k], int, n) };
            ms.push((if k == 2 { b"list" } else { b"rb" }, t, 16 * n, 8));
        }
        for _ in 0..r.below(4) {
            let (t, size, align) = if !holders.is_empty() && r.chance(20) {
                let (t, size) = holders[r.below(holders.len() as u64) as usize];
                (t, size, 8)
            } else {
                r.pick(&pool)
            };
            if r.chance(10) {
                let n = r.pick(&[0, 2, 3, 11]);
                ms.push((b"arr", b.array(t, int, n), size * n, align));
            } else {
                ms.push((b"x", t, size, align));
            }
        }
        if ms.is_empty() {
            continue;
        }
        let n = ms.len();
        ms.swap(0, r.below(n as u64) as usize);
        let named: Vec<_> = ms.iter().enumerate().map(|(i, &(_, t, s, a))| (MEMBER_NAMES[i % 8], t, s, a)).collect();
        let kflag = r.chance(10);
        let (m, size) = lay(r, kflag, &named);
        let id = b.comp(STRUCT, [b"btfkit_h0", b"btfkit_h1", b"btfkit_h2"][h % 3], kflag, size.max(4), &m);
        for (i, &(root, ..)) in ms.iter().enumerate() {
            let is_root = root == b"list" || root == b"rb";
            // Roots get their tag, now and then another member gets one.
            let tagged = if is_root { r.chance(97) } else { r.chance(2) };
            if !tagged {
                continue;
            }
            // A value struct with the root's kind of node, mostly.
            let want: &[u8] = if root == b"rb" { b"rnode" } else { b"lnode" };
            let fit: Vec<_> = values.iter().filter(|v| v.2.contains(&want)).collect();
            let (_, vn, vm) = if !fit.is_empty() && r.chance(90) {
                fit[r.below(fit.len() as u64) as usize]
            } else {
                &values[r.below(values.len() as u64) as usize]
            };
            let node = if r.chance(92) {
                vm.iter().find(|n| **n == want).copied().unwrap_or(b"data")
            } else {
                r.pick(&[&b"data"[..], b"nosuch", b"lnode", b"rnode"])
            };
            let value = if r.chance(94) { vn } else { r.pick(&[&b"nosuch"[..], b""]) };
            let tag = match r.below(40) {
                0 => [b"contains:", value].concat(),
                1 => [b"contains:", value, b":"].concat(),
                _ => [b"contains:", value, b":", node].concat(),
            };
            let copies = if r.chance(3) { 2 } else { 1 };
            for _ in 0..copies {
                b.decl_tag(&tag, false, id, i as i32);
            }
        }
        holders.push((id, size.max(4)));
    }
    // An ownership chain: structs that each hold a kptr to the next, the
    // last to a program struct or back to the first (a cycle), around the
    // bound of 8 records some kernels set.
    if r.chance(12) {
        let k = r.pick(&[2, 7, 8, 9, 10]);
        let cycle = r.chance(25);
        let tags = [&b"kptr"[..], b"percpu_kptr", b"kptr", b"kptr_untrusted"];
        // Built from the last link back: tag, pointer, struct, 3 ids a link.
        let first = b.next() + 3 * k - 1;
        let mut target = if cycle { first } else { r.pick(&locals) };
        for _ in 0..k {
            let tag = if r.chance(90) { tags[0] } else { r.pick(&tags) };
            let t = b.rf(TYPE_TAG, tag, false, target);
            let p = b.rf(PTR, b"", false, t);
            target = b.comp(STRUCT, b"btfkit_own", false, 8, &[(b"p", p, 0)]);
        }
        debug_assert_eq!(target, first);
    }
    // A chain of nested structs around a lock or an int.
    if r.chance(8) {
        let depth = r.pick(&[3, 30, 31, 32]);
        let inner_t = if special[0] != 0 && r.chance(50) { special[0] } else { int };
        let mut inner = b.comp(STRUCT, b"btfkit_in", false, 4, &[(b"x", inner_t, 0)]);
        for _ in 0..depth {
            inner = b.comp(STRUCT, b"", false, 4, &[(b"x", inner, 0)]);
        }
        if special[0] != 0 {
            b.comp(STRUCT, b"btfkit_outer", false, 8, &[(b"n", inner, 0), (b"l", special[0], 32)]);
        }
    }
    b.build()
}

// ---------------------------------------------------------------------------
// The test.

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    GenClean,
    GenNoisy,
    Rules,
    MutFixture,
    MutHandmade,
    MutGenerated,
    Layout,
    Special,
    MutSpecial,
}

pub(crate) const SOURCES: [&str; 9] = [
    "gen-clean",
    "gen-noisy",
    "rules",
    "mut-fixture",
    "mut-handmade",
    "mut-generated",
    "layout",
    "special",
    "mut-special",
];

fn source(i: usize) -> Source {
    match i % 24 {
        0..=2 => Source::GenClean,
        3..=4 => Source::GenNoisy,
        5..=9 => Source::Rules,
        10..=11 => Source::MutFixture,
        12..=14 => Source::MutHandmade,
        15..=17 => Source::MutGenerated,
        18..=19 => Source::Layout,
        20..=21 => Source::Special,
        _ => Source::MutSpecial,
    }
}

pub(crate) struct Seeds {
    fixtures: Vec<Vec<u8>>,
    handmade: Vec<Vec<u8>>,
    generated: Vec<Vec<u8>>,
    /// Special-field blobs the kernel accepts.
    special: Vec<Vec<u8>>,
}

/// The seed pools, with the running kernel's verdicts.
fn seeds(kernel: KernelVersion, seed: u64) -> Seeds {
    seeds_by(kernel, seed, &mut |blobs| blobs.iter().map(|b| btf_load(b).is_ok()).collect())
}

/// The seed pools for `kernel`: the fixtures, and the hand-built,
/// generated and special-field blobs that `accepts` (a kernel's verdicts
/// on a batch, in order) takes. Generated candidates go in rounds of 200
/// until 40 are accepted or 5,000 were tried.
pub(crate) fn seeds_by(kernel: KernelVersion, seed: u64, accepts: &mut dyn FnMut(&[Vec<u8>]) -> Vec<bool>) -> Seeds {
    let dir = workspace().join("tests/fixtures");
    // The loadable ones twice: big-endian and split BTF are always refused.
    let fixtures: Vec<Vec<u8>> = ["standalone.btf", "bpfel.btf", "split_base.btf", "bpfeb.btf", "split.btf"]
        .iter()
        .filter_map(|f| std::fs::read(dir.join(f)).ok())
        .flat_map(|d| {
            let n =
                if Btf::parse(&d).is_ok_and(|b| !b.is_split() && d[..2] == 0xeb9fu16.to_ne_bytes()) { 2 } else { 1 };
            std::iter::repeat_n(d, n)
        })
        .collect();
    let (what, blobs): (Vec<&str>, Vec<Vec<u8>>) = handmade(kernel).into_iter().unzip();
    let verdicts = accepts(&blobs);
    let mut handmade = Vec::new();
    for ((what, d), ok) in what.into_iter().zip(blobs).zip(verdicts) {
        if ok {
            handmade.push(d);
        } else {
            eprintln!(
                "WARNING: Linux {kernel} rejects hand-built seed {what} (handmade_seeds_are_accepted has its log)"
            );
        }
    }
    let mut r = Rng(seed, false);
    let mut pool = |make: fn(&mut Rng) -> Vec<u8>, r: &mut Rng| {
        let (mut kept, mut tries) = (Vec::new(), 0);
        while kept.len() < 40 && tries < 5000 {
            let batch: Vec<Vec<u8>> = (0..200).map(|_| make(r)).collect();
            tries += batch.len();
            let verdicts = accepts(&batch);
            kept.extend(batch.into_iter().zip(verdicts).filter(|(_, ok)| *ok).map(|(g, _)| g).take(40 - kept.len()));
        }
        kept
    };
    // generated graphs, and special-field blobs, that the kernel accepts
    let generated = pool(generate, &mut r);
    let special = pool(special, &mut r);
    Seeds { fixtures, handmade, generated, special }
}

/// Input `i`: depends only on (seed, i) and the seed blobs.
pub(crate) fn input(seed: u64, i: usize, seeds: &Seeds) -> (Source, Vec<u8>) {
    let src = source(i);
    let mut r = Rng(seed ^ (i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15), src == Source::GenNoisy);
    let from = |r: &mut Rng, v: &[Vec<u8>]| -> Vec<u8> {
        if v.is_empty() { Vec::new() } else { v[r.below(v.len() as u64) as usize].clone() }
    };
    let d = match src {
        Source::GenClean | Source::GenNoisy => generate(&mut r),
        Source::Rules => {
            let which = r.below(RULES as u64) as usize;
            rules(&mut r, which)
        }
        Source::MutFixture => {
            let s = from(&mut r, &seeds.fixtures);
            mutate(&mut r, &s)
        }
        Source::MutHandmade => {
            let s = from(&mut r, &seeds.handmade);
            mutate(&mut r, &s)
        }
        Source::MutGenerated => {
            let s = from(&mut r, &seeds.generated);
            mutate(&mut r, &s)
        }
        Source::Layout => {
            let pool = r.pick(&[&seeds.handmade, &seeds.generated, &seeds.fixtures]);
            let s = from(&mut r, pool);
            relayout(&mut r, &s)
        }
        Source::Special => special(&mut r),
        Source::MutSpecial => {
            // Near the valid ones: mutants of blobs the kernel accepts.
            let s = if r.chance(75) { from(&mut r, &seeds.special) } else { special(&mut r) };
            mutate(&mut r, &s)
        }
    };
    (src, d)
}

pub(crate) fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// The last 10 lines of a verifier log.
pub(crate) fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(10)..].join("\n    ")
}

pub(crate) fn env_num(var: &str, default: u64) -> u64 {
    std::env::var(var)
        .ok()
        .and_then(|v| {
            let v = v.trim().replace('_', "");
            match v.strip_prefix("0x") {
                Some(h) => u64::from_str_radix(h, 16).ok(),
                None => v.parse().ok(),
            }
        })
        .unwrap_or(default)
}

/// The errno a rule of the special-field layer names (the kernel logs
/// nothing there, so the errno is what can be compared); `None` for the
/// other rules, all EINVAL but for a few.
pub(crate) fn named_errno(e: &btfkit::validate::ValidationError) -> Option<i32> {
    let m = e.rule().message();
    let name = m.strip_suffix(')')?.rsplit_once("(E")?.1;
    Some(match name {
        "INVAL" => 22,
        "2BIG" => 7,
        "NOENT" => 2,
        "EXIST" => 17,
        "FAULT" => 14,
        "LOOP" => 40,
        _ => return None,
    })
}

/// Whether the verdicts differ: accept against reject, or two rejections
/// where ours names an errno that is not the kernel's.
pub(crate) fn verdicts_differ(
    theirs: &Result<(), btfkit_tests::kernel::Rejected>,
    ours: &Result<(), btfkit::validate::ValidationError>,
) -> bool {
    match (theirs, ours) {
        (Err(rj), Err(e)) => named_errno(e).is_some_and(|n| n != rj.errno),
        _ => theirs.is_ok() != ours.is_ok(),
    }
}

/// The running kernel's release and version, when its BTF verifier can be
/// asked (`bpf(BPF_BTF_LOAD)`); otherwise says so loudly (and fails under
/// `CI=true`, see [`unavailable`]) and gives `None`.
fn running_kernel() -> Option<(String, KernelVersion)> {
    if let Err(why) = availability() {
        eprintln!("KERNEL ORACLE UNAVAILABLE: {why}");
        let _ = unavailable("the kernel BTF verifier (bpf(BPF_BTF_LOAD))", &why);
        return None;
    }
    let rel = release();
    let kernel = btfkit_sysfs::kernel::running_kernel();
    Some((rel, kernel))
}

/// The kernel's verdict on a blob, for a report: ACCEPTS, or its errno and
/// the tail of its log.
pub(crate) fn kernel_verdict(theirs: &Result<(), btfkit_tests::kernel::Rejected>) -> String {
    match theirs {
        Ok(()) => "ACCEPTS".to_owned(),
        Err(rj) => format!("rejects (errno {}); log tail:\n    {}", rj.errno, tail(&rj.log)),
    }
}

#[test]
fn userload_verdict_equals_running_kernel() {
    let Some((rel, kernel)) = running_kernel() else { return };
    let opts = ValidateOptions::new(Profile::UserLoad, kernel);
    let n = env_num("BTFKIT_DIFF_N", 20_000) as usize;
    let seed = env_num("BTFKIT_DIFF_SEED", 0x00b7_f417);
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        assert!(n >= 20_000, "BTFKIT_DIFF_N={n}: CI runs at least 20,000 inputs");
    }
    let show = env_num("BTFKIT_DIFF_SHOW", 5) as usize;
    let started = std::time::Instant::now();
    let seeds = seeds(kernel, seed);

    let next = AtomicUsize::new(0);
    // per source: kernel accepted, kernel rejected
    let counts: [[AtomicUsize; 2]; SOURCES.len()] = Default::default();
    let bad: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let bad_count = AtomicUsize::new(0);
    // Inputs we reject by a rule of the special-field layer.
    let special_n = AtomicUsize::new(0);
    // Inputs where the fast paths part from the plain passes.
    let parted: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let parted_count = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism().map_or(2, |p| p.get()).min(8);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    let (src, data) = input(seed, i, &seeds);
                    let theirs = btf_load(&data);
                    let ours = validate_user(&data, &opts);
                    counts[src as usize][usize::from(theirs.is_err())].fetch_add(1, Ordering::Relaxed);
                    if let Some(why) = fast_paths_differ(&data, None, &opts) {
                        parted_count.fetch_add(1, Ordering::Relaxed);
                        let mut p = parted.lock().unwrap();
                        if p.len() < show {
                            p.push(format!("input #{i} ({}): {why}\n  hex: {}", SOURCES[src as usize], hex(&data)));
                        }
                    }
                    if let Err(e) = &ours
                        && named_errno(e).is_some()
                    {
                        special_n.fetch_add(1, Ordering::Relaxed);
                    }
                    if !verdicts_differ(&theirs, &ours) {
                        continue;
                    }
                    bad_count.fetch_add(1, Ordering::Relaxed);
                    let mut b = bad.lock().unwrap();
                    if b.len() < show {
                        let kernel = kernel_verdict(&theirs);
                        let ours = match ours {
                            Ok(()) => "accept".to_owned(),
                            Err(e) => format!("reject: {e} ({e:?})"),
                        };
                        // Also on disk, for `kernel_verdict_of_file`.
                        let dir = workspace().join("target/differential");
                        let file = dir.join(format!("{seed:#x}-{i}.btf"));
                        let saved = std::fs::create_dir_all(&dir)
                            .and_then(|()| std::fs::write(&file, &data))
                            .map_or(String::new(), |()| format!("; saved as {}", file.display()));
                        b.push(format!(
                            "input #{i} ({}, {} bytes{saved})\n  ours: {ours}\n  kernel: {kernel}\n  hex: {}",
                            SOURCES[src as usize],
                            data.len(),
                            hex(&data)
                        ));
                    }
                }
            });
        }
    });
    let c: Vec<[usize; 2]> =
        counts.iter().map(|x| [x[0].load(Ordering::Relaxed), x[1].load(Ordering::Relaxed)]).collect();
    let acc: usize = c.iter().map(|x| x[0]).sum();
    let rej: usize = c.iter().map(|x| x[1]).sum();
    eprintln!(
        "differential on Linux {rel}: {n} inputs (seed {seed:#x}, {workers} threads, {:.1} s): kernel accepted {acc} ({:.1}%), rejected {rej}",
        started.elapsed().as_secs_f64(),
        100.0 * acc as f64 / n.max(1) as f64
    );
    eprintln!(
        "  seeds: {} fixture entries (loadable ones twice), {} hand-built, {} generated, {} special",
        seeds.fixtures.len(),
        seeds.handmade.len(),
        seeds.generated.len(),
        seeds.special.len()
    );
    for (name, [a, r]) in SOURCES.iter().zip(&c) {
        eprintln!("  {name:14} {:7} inputs: {a:7} accepted, {r:7} rejected", a + r);
    }
    let special_n = special_n.into_inner();
    eprintln!("  {special_n} rejected by the special-field layer, each with the kernel's errno");
    // The layer must be reached, or the comparison proves nothing of it.
    assert!(special_n >= n / 100, "only {special_n} of {n} inputs reached the special-field layer's rejections");
    let parted_n = parted_count.into_inner();
    eprintln!("  fast paths = plain passes (verdict and scratch) on {} of {n} inputs", n - parted_n);
    let parted = parted.into_inner().unwrap();
    assert!(
        parted_n == 0,
        "on {parted_n} of {n} inputs the fast paths part from the plain passes; the first {}:\n\n{}",
        parted.len(),
        parted.join("\n\n")
    );
    let bad_n = bad_count.into_inner();
    let bad = bad.into_inner().unwrap();
    assert!(
        bad_n == 0,
        "{bad_n} of {n} verdicts differ from the kernel's; the first {}:\n\n{}",
        bad.len(),
        bad.join("\n\n")
    );
    // A test where the kernel accepts nothing (or everything) proves little.
    assert!(acc >= n / 5, "too few inputs accepted by the kernel: {acc} of {n}");
    assert!(rej >= n / 5, "too few inputs rejected by the kernel: {rej} of {n}");
}

/// Kptrs to structs named like the running kernel's own: a referenced one
/// needs the destructor the kernel registered (`task_struct` has one on
/// every kernel with BPF; `file` none), an unreferenced one does not, and a
/// name the kernel does not know is the program's own.
#[test]
fn kptrs_to_kernel_structs_get_the_kernels_verdict() {
    let Some((rel, kernel)) = running_kernel() else { return };
    let opts = ValidateOptions::new(Profile::UserLoad, kernel);
    let mut bad = Vec::new();
    let mut rejected = 0;
    let blobs = kernel_kptr_blobs();
    for (what, d) in &blobs {
        let theirs = btf_load(d);
        let ours = validate_user(d, &opts);
        rejected += usize::from(theirs.is_err());
        if verdicts_differ(&theirs, &ours) {
            bad.push(format!("{what}: ours {:?}, kernel {}", ours.map_err(|e| e.rule()), kernel_verdict(&theirs)));
        }
    }
    eprintln!("kptrs to kernel structs on Linux {rel}: {} blobs, kernel rejected {rejected}", blobs.len());
    assert!(bad.is_empty(), "verdicts differ:\n{}", bad.join("\n"));
    // `file` has no destructor: its referenced kptr is refused.
    assert!(rejected >= 1, "the kernel refused no referenced kptr to a destructor-less struct");
}

/// A lock beside a kptr (each tag) to a struct named like a kernel's
/// own (with and without a destructor), a module's (`veth_priv`, when
/// `veth` is loaded), a program's, and `bpf_timer`.
pub(crate) fn kernel_kptr_blobs() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let names = [
        &b"task_struct"[..],
        b"cgroup",
        b"file",
        b"bpf_cpumask",
        b"sk_buff",
        b"veth_priv",
        b"btfkit_obj",
        b"bpf_timer",
    ];
    for name in names {
        for tag in [&b"kptr"[..], b"kptr_untrusted", b"percpu_kptr"] {
            let mut b = B::new();
            let int = b.int32();
            let lock = b.comp(STRUCT, b"bpf_spin_lock", false, 4, &[(b"v", int, 0)]);
            let pointee = b.comp(STRUCT, name, false, 8, &[(b"x", int, 0)]);
            let t = b.rf(TYPE_TAG, tag, false, pointee);
            let p = b.rf(PTR, b"", false, t);
            b.comp(STRUCT, b"btfkit_v", false, 16, &[(b"l", lock, 0), (b"p", p, 64)]);
            out.push((format!("{} {}", String::from_utf8_lossy(tag), String::from_utf8_lossy(name)), b.build()));
        }
    }
    out
}

/// `btfkit validate --profile user` takes the struct names of the kernel
/// in `--sysfs`, vmlinux's and then its modules', as the kernel searches
/// them: over the corpus (6.1, which registers no destructor), a
/// referenced kptr to `file`, `task_struct` or `veth_priv` (the `veth`
/// module's) is refused on 6.18's rules, one to a program struct is not,
/// and only a pointee that vmlinux lacks makes it read the modules; a
/// module it cannot read fails the command (exit 2) unless `--tolerant`,
/// which names the module it skipped; without kernel BTF every pointee is
/// the program's own, and `-v` says so.
/// `--backport` adds a distribution's changes to the version's rules: two
/// refcounts in a struct pass on 6.8, and fail where `bpf_refcount` is
/// unique (Ubuntu's 6.8.0-151, booted, refuses them with E2BIG); an unknown
/// name is a usage error that lists the known ones.
#[test]
fn cli_backports_add_a_distributions_changes() {
    let mut b = B::new();
    let int = b.int32();
    let refcount = b.comp(STRUCT, b"bpf_refcount", false, 4, &[(b"v", int, 0)]);
    b.comp(STRUCT, b"btfkit_v", false, 8, &[(b"a", refcount, 0), (b"b", refcount, 32)]);
    let file = std::env::temp_dir().join(format!("btfkit-backport-cli-{}.btf", std::process::id()));
    std::fs::write(&file, b.build()).unwrap();
    let run = |extra: &[&str]| {
        let args = ["validate", "--profile", "user", "--kernel", "6.8"];
        std::process::Command::new(btfkit_tests::cli()).args(args).args(extra).arg(&file).output().unwrap()
    };
    let o = run(&[]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stdout));
    let o = run(&["--backport", "ownership-depth,refcount-unique"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("(E2BIG)"), "{out}");
    let o = run(&["--backport", "refcount"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("no change named \"refcount\"") && err.contains("refcount-unique"), "{err}");
    std::fs::remove_file(&file).unwrap();
}

#[test]
fn cli_user_profile_takes_the_kernels_struct_names() {
    let Some(dir) = btfkit_tests::corpus() else { return };
    let tmp = std::env::temp_dir().join(format!("btfkit-kptr-cli-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let run = |pointee: &[u8], sysfs: &Path, extra: &[&str]| {
        let mut b = B::new();
        let int = b.int32();
        let lock = b.comp(STRUCT, b"bpf_spin_lock", false, 4, &[(b"v", int, 0)]);
        let p = b.comp(STRUCT, pointee, false, 8, &[(b"x", int, 0)]);
        let t = b.rf(TYPE_TAG, b"kptr", false, p);
        let ptr = b.rf(PTR, b"", false, t);
        b.comp(STRUCT, b"btfkit_v", false, 16, &[(b"l", lock, 0), (b"p", ptr, 64)]);
        let file = tmp.join(format!("{}.btf", String::from_utf8_lossy(pointee)));
        std::fs::write(&file, b.build()).unwrap();
        let sysfs = sysfs.to_str().unwrap();
        let args = ["--sysfs", sysfs, "-v", "validate", "--profile", "user", "--kernel", "6.18"];
        std::process::Command::new(btfkit_tests::cli()).args(extra).args(args).arg(&file).output().unwrap()
    };
    let searched = "is not in vmlinux: reading the";
    for (pointee, refused) in
        [(&b"file"[..], true), (b"task_struct", true), (b"veth_priv", true), (b"btfkit_obj", false)]
    {
        let o = run(pointee, &dir, &[]);
        let (out, err) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
        let what = String::from_utf8_lossy(pointee);
        assert_eq!(o.status.code(), Some(if refused { 1 } else { 0 }), "{what}: {out}{err}");
        if refused {
            assert!(out.contains("Referenced kptr to a kernel struct without a destructor (ENOENT)"), "{out}");
        }
        // vmlinux names `file` and `task_struct`: no module is read.
        assert_eq!(err.contains(searched), matches!(pointee, b"veth_priv" | b"btfkit_obj"), "{what}: {err}");
    }
    // A copy of the corpus with one module's BTF cut short: strict fails,
    // tolerant names the module and judges without it.
    let broken = tmp.join("sysfs");
    std::fs::create_dir_all(&broken).unwrap();
    for f in ["vmlinux", "veth", "dummy"] {
        std::fs::copy(dir.join(f), broken.join(f)).unwrap();
    }
    std::fs::write(broken.join("dummy"), &std::fs::read(dir.join("dummy")).unwrap()[..30]).unwrap();
    let o = run(b"veth_priv", &broken, &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("dummy") && err.contains("read for the kptr pointees"), "{err}");
    let o = run(b"veth_priv", &broken, &["--tolerant"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("skipped module dummy"), "{err}");
    let o = run(b"file", &tmp.join("no-such-dir"), &[]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stdout));
    assert!(String::from_utf8_lossy(&o.stderr).contains("kptr pointees taken as the program's own"));
    let _ = std::fs::remove_dir_all(&tmp);
}

/// Every hand-built seed is valid: the kernel and we accept it.
#[test]
fn handmade_seeds_are_accepted() {
    let Some((_, kernel)) = running_kernel() else { return };
    let opts = ValidateOptions::new(Profile::UserLoad, kernel);
    let mut bad = Vec::new();
    for (what, d) in handmade(kernel) {
        if let Err(rj) = btf_load(&d) {
            bad.push(format!(
                "{what}: kernel rejects (errno {}):\n    {}\n  hex: {}",
                rj.errno,
                tail(&rj.log),
                hex(&d)
            ));
        }
        if let Err(e) = validate_user(&d, &opts) {
            bad.push(format!("{what}: we reject: {e}"));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// The blob of every unit case of core's validator (one accepting and one
/// rejecting case per rule and per quirk decision): the running kernel's
/// verdict must be our `UserLoad` verdict for its version. The cases hold
/// their expected verdicts for the kernel each names; this is what ties
/// those expectations to the kernel itself. The core test writes the blobs
/// (`BTFKIT_EXPORT_CASES`); its own debug build runs here.
#[test]
fn unit_case_blobs_get_the_running_kernels_verdict() {
    let Some((rel, kernel)) = running_kernel() else { return };
    let opts = ValidateOptions::new(Profile::UserLoad, kernel);
    let files = unit_case_blobs();
    let (mut accepted, mut bad) = (0, Vec::new());
    for (f, d) in files {
        let theirs = btf_load(d);
        let ours = validate_user(d, &opts);
        accepted += usize::from(theirs.is_ok());
        if verdicts_differ(&theirs, &ours) {
            let kernel = kernel_verdict(&theirs);
            let ours = ours.map_or_else(|e| format!("rejects: {e}"), |()| "accepts".to_owned());
            bad.push(format!("{}\n  ours: {ours}\n  kernel: {kernel}\n  hex: {}", f.display(), hex(d)));
        }
    }
    eprintln!("unit case blobs on Linux {rel}: {} loaded, kernel accepted {accepted}", files.len());
    assert!(bad.is_empty(), "{} of {} unit case blobs disagree:\n{}", bad.len(), files.len(), bad.join("\n"));
}

/// The blob of every unit case of core's validator, by file name. Core's
/// test writes them (`BTFKIT_EXPORT_CASES`); its own debug build runs here,
/// once a process.
pub(crate) fn unit_case_blobs() -> &'static [(std::path::PathBuf, Vec<u8>)] {
    static BLOBS: std::sync::OnceLock<Vec<(std::path::PathBuf, Vec<u8>)>> = std::sync::OnceLock::new();
    BLOBS.get_or_init(|| {
        let dir = workspace().join(format!("target/unit-cases-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let test = "validate::tests::every_rule_accepts_and_rejects_as_expected";
        let out = std::process::Command::new(env!("CARGO"))
            .args(["test", "-q", "-p", "btfkit", "--lib", "--", "--exact", test])
            .env("BTFKIT_EXPORT_CASES", &dir)
            .current_dir(workspace())
            .output()
            .expect("cargo runs");
        assert!(out.status.success(), "{test} failed:\n{}", String::from_utf8_lossy(&out.stdout));
        let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        assert!(files.len() >= 100, "only {} case blobs in {}", files.len(), dir.display());
        let blobs = files
            .into_iter()
            .map(|f| {
                let d = std::fs::read(&f).unwrap();
                (std::path::PathBuf::from(f.file_name().unwrap()), d)
            })
            .collect();
        let _ = std::fs::remove_dir_all(&dir);
        blobs
    })
}

/// Prints the kernel's verdict and full log for `BTFKIT_BTF_FILE` (raw
/// bytes, or hex as printed by the differential test), and ours.
#[test]
#[ignore = "a debugging aid: BTFKIT_BTF_FILE=path cargo test -p btfkit-tests --test integration -- --ignored kernel_verdict_of_file --nocapture"]
fn kernel_verdict_of_file() {
    let path = std::env::var("BTFKIT_BTF_FILE").expect("set BTFKIT_BTF_FILE");
    // Tests run in tests/: a relative path may mean the workspace root.
    let mut data = std::fs::read(&path)
        .or_else(|_| std::fs::read(workspace().join(&path)))
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    let text = String::from_utf8_lossy(&data);
    let t = text.trim();
    if !t.is_empty() && t.len().is_multiple_of(2) && t.bytes().all(|b| b.is_ascii_hexdigit()) {
        data = (0..t.len()).step_by(2).map(|i| u8::from_str_radix(&t[i..i + 2], 16).unwrap()).collect();
    }
    match btf_load(&data) {
        Ok(()) => eprintln!("{path}: kernel accepts"),
        Err(r) => eprintln!("{path}: kernel rejects, errno {}\n{}", r.errno, r.log),
    }
    let kernel = btfkit_sysfs::kernel::running_kernel();
    eprintln!("ours ({kernel}): {:?}", validate_vec(&data, None, &ValidateOptions::new(Profile::UserLoad, kernel)));
}

/// Per source and per rule scenario: how many inputs the kernel accepts,
/// and the commonest last log lines of its rejections.
#[test]
#[ignore = "tuning aid: BTFKIT_DIFF_N=20000 cargo test ... -- --ignored input_histogram --nocapture"]
fn input_histogram() {
    let kernel = btfkit_sysfs::kernel::running_kernel();
    let n = env_num("BTFKIT_DIFF_N", 20_000) as usize;
    let seed = env_num("BTFKIT_DIFF_SEED", 0x00b7_f417);
    let seeds = seeds(kernel, seed);
    let mut per_rule = [[0usize; 2]; RULES];
    let mut hist = std::collections::BTreeMap::<(usize, String), usize>::new();
    for i in 0..n {
        let (src, d) = input(seed, i, &seeds);
        let res = btf_load(&d);
        if src == Source::Rules {
            // recompute which scenario this was
            let mut r = Rng(seed ^ (i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15), false);
            per_rule[r.below(RULES as u64) as usize][usize::from(res.is_err())] += 1;
        }
        if let Err(rj) = res {
            let last = rj.log.lines().last().unwrap_or("").to_owned();
            let mut key: String =
                last.split(']').next_back().unwrap_or("").chars().filter(|c| !c.is_ascii_digit()).collect();
            // The special-field layer logs nothing (the last line is the
            // last type pass 2 logged): name its rule, as ours.
            if let Err(e) = validate_user(&d, &ValidateOptions::new(Profile::UserLoad, kernel))
                && named_errno(&e).is_some()
            {
                key = format!("(errno {}, no log) {}", rj.errno, e.rule());
            }
            *hist.entry((src as usize, key)).or_default() += 1;
        }
    }
    for (name, [a, r]) in RULE_NAMES.iter().zip(per_rule) {
        eprintln!("rule {name:18} accepted {a:5} rejected {r:5}");
    }
    for (s, name) in SOURCES.iter().enumerate() {
        let mut v: Vec<_> = hist.iter().filter(|((src, _), _)| *src == s).collect();
        v.sort_by_key(|x| std::cmp::Reverse(*x.1));
        eprintln!("{name}:");
        for ((_, k), n) in v.iter().take(12) {
            eprintln!("  {n:6} {k}");
        }
    }
}
