//! One accepting and one rejecting case per rule, and each quirk decision.
//!
//! The running kernel checks every case's blob too: with
//! `BTFKIT_EXPORT_CASES=DIR` set, [`every_rule_accepts_and_rejects_as_expected`]
//! writes each standalone blob to `DIR`, and the tests crate's
//! `unit_case_blobs_get_the_running_kernels_verdict` loads them all with
//! `bpf(BPF_BTF_LOAD)` and holds our `UserLoad` verdict for the running
//! kernel to the kernel's.
extern crate std;
use std::string::String;
use std::vec::Vec;

use super::{KernelVersion, Profile, Rule, ValidateOptions, validate};
use crate::test_util::Builder;
use crate::{Endian, Kind, VlenEncoding};

/// The release the tests' host runs, whose `bpf(BPF_BTF_LOAD)` judges every
/// case's blob (the 6.18 series took parts of the special-field hardening
/// at 6.18.52).
const K618: KernelVersion = KernelVersion::release(6, 18, 44);
/// 6.12 as its 2026 stable updates have it (6.12.117): the hardened
/// special-field layer.
const K612: KernelVersion = KernelVersion::new(6, 12);
/// 7.2 as its stable updates have it: no type-tag order, kptr tags among
/// all modifiers, the hardened special-field layer.
const K72: KernelVersion = KernelVersion::new(7, 2);
/// 6.12 releases on either side of the hardening's backports.
const R612_113: KernelVersion = KernelVersion::release(6, 12, 113);
const R612_115: KernelVersion = KernelVersion::release(6, 12, 115);
/// 5.10 as its latest stable (5.10.223): no empty DATASEC, FUNC never
/// resolved, a VAR may be returned, `.` in identifiers.
const K510: KernelVersion = KernelVersion::new(5, 10);
/// The special-field layer's older shapes: no kptrs (before 6.12), and no
/// arrays or nested structs either (before 6.11); none before 6.4.
const K611: KernelVersion = KernelVersion::new(6, 11);
const K610: KernelVersion = KernelVersion::new(6, 10);
const K64: KernelVersion = KernelVersion::new(6, 4);
const K63: KernelVersion = KernelVersion::new(6, 3);
/// The nodes grew by 8 bytes in 6.6; a second `contains:` tag is refused
/// from 6.7.
const K65: KernelVersion = KernelVersion::new(6, 5);
const K66: KernelVersion = KernelVersion::new(6, 6);
const K67: KernelVersion = KernelVersion::new(6, 7);
const INT: u8 = Kind::Int as u8;
const PTR: u8 = Kind::Ptr as u8;
const ARRAY: u8 = Kind::Array as u8;
const STRUCT: u8 = Kind::Struct as u8;
const UNION: u8 = Kind::Union as u8;
const ENUM: u8 = Kind::Enum as u8;
const FWD: u8 = Kind::Fwd as u8;
const TYPEDEF: u8 = Kind::Typedef as u8;
const CONST: u8 = Kind::Const as u8;
const FUNC: u8 = Kind::Func as u8;
const PROTO: u8 = Kind::FuncProto as u8;
const VAR: u8 = Kind::Var as u8;
const DATASEC: u8 = Kind::Datasec as u8;
const FLOAT: u8 = Kind::Float as u8;
const DECL_TAG: u8 = Kind::DeclTag as u8;
const TYPE_TAG: u8 = Kind::TypeTag as u8;
const ENUM64: u8 = Kind::Enum64 as u8;

fn blob(f: impl FnOnce(&mut Builder)) -> Vec<u8> {
    let mut b = Builder::new(Endian::Little);
    f(&mut b);
    b.build()
}

/// `[1] int`, then whatever `f` adds.
fn with_int(f: impl FnOnce(&mut Builder)) -> Vec<u8> {
    blob(|b| {
        b.int("int", 4, 32, 1);
        f(b);
    })
}

fn run(data: &[u8], profile: Profile, k: KernelVersion) -> Result<(), Rule> {
    let opts = ValidateOptions::new(profile, k);
    let mut scratch = std::vec![0u32; super::scratch_len(data, None, &opts)];
    validate(data, None, &opts, &mut scratch).map_err(|e| e.rule())
}

struct Case {
    name: &'static str,
    data: Vec<u8>,
    profile: Profile,
    kernel: KernelVersion,
    expect: Result<(), Rule>,
}

fn user(name: &'static str, data: Vec<u8>, expect: Result<(), Rule>) -> Case {
    Case { name, data, profile: Profile::UserLoad, kernel: K618, expect }
}

fn on(name: &'static str, data: Vec<u8>, profile: Profile, kernel: KernelVersion, expect: Result<(), Rule>) -> Case {
    Case { name, data, profile, kernel, expect }
}

/// `[1] int`, `[2]` what `two` adds, `[3] s { m }` of 4 bytes whose `m`
/// is `[target]`, an array of one int, after PTRs to int: the walk pushes
/// the array and comes back to `m`, whose id is above 65535 (an old
/// kernel then looks at `[target & 0xffff]`).
fn member_above_u16(target: u32, two: impl FnOnce(&mut Builder)) -> Vec<u8> {
    blob(|b| {
        b.int("int", 4, 32, 1);
        two(b);
        b.head("s", STRUCT, 1, false, 4).member("m", target, 0);
        for _ in 4..target {
            b.head("", PTR, 0, false, 1);
        }
        b.head("", ARRAY, 0, false, 0).u32(1).u32(1).u32(1);
    })
}

fn typedef_chain(n: u32) -> Vec<u8> {
    // [1] typedef t0 -> [2] ... -> [n] typedef -> [n+1] int: each points up.
    blob(|b| {
        for i in 0..n {
            b.head("t", TYPEDEF, 0, false, i + 2);
        }
        b.int("int", 4, 32, 0);
    })
}

/// `with_int` with its header cut to `len` bytes (< 24): str_len's first
/// bytes survive, as the kernel copies the header byte by byte.
fn cut_header(len: usize) -> Vec<u8> {
    let full = with_int(|_| {});
    let mut d = full[..len].to_vec();
    d[4] = len as u8;
    d.extend_from_slice(&full[24..]);
    d
}

fn name_of_len(n: usize) -> String {
    core::iter::repeat_n('a', n).collect()
}

#[allow(clippy::too_many_lines)]
/// The special structs at fixed ids, then whatever `f` adds (from id 10):
/// `[1] int`, `[2] long`, `[3] bpf_spin_lock`, `[4] bpf_list_head`,
/// `[5] bpf_list_node`, `[6] bpf_rb_root`, `[7] bpf_rb_node`,
/// `[8] bpf_refcount`, `[9] bpf_res_spin_lock`, each of the kernel's size.
fn specials(f: impl FnOnce(&mut Builder)) -> Vec<u8> {
    specials_of(0, f)
}

/// [`specials`] with both nodes `shrink` bytes smaller (8: the sizes
/// before 6.6).
fn specials_of(shrink: u32, f: impl FnOnce(&mut Builder)) -> Vec<u8> {
    blob(|b| {
        b.int("int", 4, 32, 1).int("long", 8, 64, 1);
        b.head("bpf_spin_lock", STRUCT, 1, false, 4).member("v", 1, 0);
        b.head("bpf_list_head", STRUCT, 2, false, 16).member("a", 2, 0).member("b", 2, 64);
        // One 8-byte member fewer for each 8 bytes shrunk.
        let (ln, rn) = (3 - shrink / 8, 4 - shrink / 8);
        b.head("bpf_list_node", STRUCT, ln, false, 24 - shrink);
        for (name, off) in [("a", 0), ("b", 64), ("c", 128)].into_iter().take(ln as usize) {
            b.member(name, 2, off);
        }
        b.head("bpf_rb_root", STRUCT, 2, false, 16).member("a", 2, 0).member("b", 2, 64);
        b.head("bpf_rb_node", STRUCT, rn, false, 32 - shrink);
        for (name, off) in [("a", 0), ("b", 64), ("c", 128), ("d", 192)].into_iter().take(rn as usize) {
            b.member(name, 2, off);
        }
        b.head("bpf_refcount", STRUCT, 1, false, 4).member("v", 1, 0);
        b.head("bpf_res_spin_lock", STRUCT, 1, false, 4).member("v", 1, 0);
        f(b);
    })
}
const LOCK: u32 = 3;
const HEAD: u32 = 4;
const NODE: u32 = 5;
const ROOT: u32 = 6;
const RB_NODE: u32 = 7;
const REFCOUNT: u32 = 8;
const RES_LOCK: u32 = 9;

/// [`specials`] with `[10] struct foo { long x; }`, `[11]` a type tag
/// `tag` (kind_flag `kflag`) to it and `[12]` a pointer to the tag, then
/// `f`'s types (from id 13).
fn tagged_ptr(tag: &'static str, kflag: bool, f: impl FnOnce(&mut Builder)) -> Vec<u8> {
    specials(|b| {
        b.head("foo", STRUCT, 1, false, 8).member("x", 2, 0);
        b.head(tag, TYPE_TAG, 0, kflag, 10).ptr(11);
        f(b);
    })
}

/// A lock beside `depth` nested structs, the innermost holding an int.
fn nested_structs(depth: u32) -> Vec<u8> {
    specials(|b| {
        b.head("in", STRUCT, 1, false, 4).member("x", 1, 0); // 10
        for d in 1..depth {
            b.head("", STRUCT, 1, false, 4).member("x", 9 + d, 0);
        }
        b.head("v", STRUCT, 2, false, 8).member("l", LOCK, 0).member("n", 9 + depth, 32);
    })
}

/// A lock beside a struct `X` that sits `depth` struct levels above an int
/// (`[10] in0 { int }`, then `in_k { in_(k-1) }`), and beside `w { X }`:
/// the walk meets `X` clean at level 1, then again at level 2.
fn reused_struct(depth: u32) -> Vec<u8> {
    specials(|b| {
        b.head("in0", STRUCT, 1, false, 4).member("x", 1, 0);
        for d in 1..=depth {
            b.head("", STRUCT, 1, false, 4).member("x", 9 + d, 0);
        }
        let x = 10 + depth;
        b.head("w", STRUCT, 1, false, 4).member("x", x, 0);
        b.head("v", STRUCT, 3, false, 12).member("l", LOCK, 0).member("a", x, 32).member("w", x + 1, 64);
    })
}

/// A lock beside a member of `levels` nested arrays of one int.
fn nested_arrays(levels: u32) -> Vec<u8> {
    specials(|b| {
        for l in 0..levels {
            b.head("", ARRAY, 0, false, 0).u32(if l == 0 { 1 } else { 9 + l }).u32(1).u32(1);
        }
        b.head("v", STRUCT, 2, false, 8).member("l", LOCK, 0).member("a", 9 + levels, 32);
    })
}

/// `[10] node_data { long d; struct bpf_list_node n; }`, `[11] h { lock;
/// head }` and a `contains:` tag with value `tag` on the head (none when
/// empty), `copies` times.
fn list(tag: &str, copies: u32) -> Vec<u8> {
    specials(|b| {
        b.head("node_data", STRUCT, 2, false, 32).member("d", 2, 0).member("n", NODE, 64);
        b.head("h", STRUCT, 2, false, 24).member("l", LOCK, 0).member("head", HEAD, 64);
        for _ in 0..copies {
            b.head(tag, DECL_TAG, 0, false, 11).u32(1);
        }
    })
}

/// [`list`] with the nodes of kernels before 6.6: `[5] bpf_list_node` of
/// 16 bytes (and `[1] int`, `[2] long`, `[3] bpf_spin_lock`, `[4]
/// bpf_list_head`, then `[6] node_data`, `[7] h` and its tag).
fn list_of_16_byte_nodes() -> Vec<u8> {
    blob(|b| {
        b.int("int", 4, 32, 1).int("long", 8, 64, 1);
        b.head("bpf_spin_lock", STRUCT, 1, false, 4).member("v", 1, 0);
        b.head("bpf_list_head", STRUCT, 2, false, 16).member("a", 2, 0).member("b", 2, 64);
        b.head("bpf_list_node", STRUCT, 2, false, 16).member("a", 2, 0).member("b", 2, 64);
        b.head("node_data", STRUCT, 2, false, 24).member("d", 2, 0).member("n", 5, 64);
        b.head("h", STRUCT, 2, false, 24).member("l", 3, 0).member("head", 4, 64);
        b.head("contains:node_data:n", DECL_TAG, 0, false, 7).u32(1);
    })
}

/// [`specials`] with `[10] foo`, a pointer to tag `outer` on tag `inner`
/// on `foo`, and `v { lock; that pointer }`.
fn two_tags(outer: &'static str, inner: &'static str) -> Vec<u8> {
    specials(|b| {
        b.head("foo", STRUCT, 1, false, 8).member("x", 2, 0);
        b.head(inner, TYPE_TAG, 0, false, 10).head(outer, TYPE_TAG, 0, false, 11).ptr(12);
        b.head("v", STRUCT, 2, false, 16).member("l", LOCK, 0).member("p", 13, 64);
    })
}

/// [`tagged_ptr`] with tag `tag`, beside a lock in `v`.
fn beside_lock(tag: &'static str) -> Vec<u8> {
    tagged_ptr(tag, false, |b| {
        b.head("v", STRUCT, 2, false, 16).member("l", LOCK, 0).member("p", 12, 64);
    })
}

/// A list node and an rb node in `v`, no refcount (nodes `shrink` bytes
/// smaller).
fn both_nodes(shrink: u32) -> Vec<u8> {
    specials_of(shrink, |b| {
        b.head("v", STRUCT, 2, false, 56).member("ln", NODE, 0).member("rn", RB_NODE, 192);
    })
}

/// An rb root (with its tag and value struct) and no lock, in `h`; the
/// nodes of kernels before 6.6.
fn rb_root_alone() -> Vec<u8> {
    specials_of(8, |b| {
        b.head("rbv", STRUCT, 2, false, 40).member("d", 2, 0).member("n", RB_NODE, 64);
        b.head("h", STRUCT, 2, false, 24).member("x", 1, 0).member("root", ROOT, 64);
        b.head("contains:rbv:n", DECL_TAG, 0, false, 11).u32(1);
    })
}

/// Two spin locks in `v`.
fn two_locks() -> Vec<u8> {
    specials(|b| {
        b.head("v", STRUCT, 2, false, 8).member("a", LOCK, 0).member("b", LOCK, 32);
    })
}

/// A lock, then an int at bit 33.
fn bitfield_beside_lock() -> Vec<u8> {
    specials(|b| {
        b.head("v", STRUCT, 2, false, 12).member("l", LOCK, 0).member("x", 1, 33);
    })
}

/// A refcount beside an array of two list nodes.
fn array_of_nodes() -> Vec<u8> {
    specials(|b| {
        b.head("", ARRAY, 0, false, 0).u32(NODE).u32(1).u32(2);
        b.head("v", STRUCT, 2, false, 56).member("r", REFCOUNT, 0).member("n", 10, 64);
    })
}

/// A lock beside a pointer to a `kptr` tag on an int.
fn kptr_to_int() -> Vec<u8> {
    specials(|b| {
        b.head("kptr", TYPE_TAG, 0, false, 1).ptr(10);
        b.head("v", STRUCT, 2, false, 16).member("l", LOCK, 0).member("p", 11, 64);
    })
}

/// A list head in `h`, its lock in the struct `in` beside it.
fn lock_nested_beside_head() -> Vec<u8> {
    specials(|b| {
        b.head("node_data", STRUCT, 2, false, 32).member("d", 2, 0).member("n", NODE, 64);
        b.head("in", STRUCT, 1, false, 4).member("l", LOCK, 0);
        b.head("h", STRUCT, 2, false, 24).member("i", 11, 0).member("head", HEAD, 64);
        b.head("contains:node_data:n", DECL_TAG, 0, false, 12).u32(1);
    })
}

/// A lock beside a pointer to a CONST of a `kptr` tag on an int.
fn kptr_int_behind_const() -> Vec<u8> {
    specials(|b| {
        b.head("kptr", TYPE_TAG, 0, false, 1).head("", CONST, 0, false, 10).ptr(11);
        b.head("v", STRUCT, 2, false, 16).member("l", LOCK, 0).member("p", 12, 64);
    })
}

/// `v { refcount a; refcount b; }`.
fn two_refcounts() -> Vec<u8> {
    specials(|b| {
        b.head("v", STRUCT, 2, false, 8).member("a", REFCOUNT, 0).member("b", REFCOUNT, 32);
    })
}

/// `[10]` an INT named `bpf_spin_lock`, `in { it }`, and `v { in a; in b;
/// refcount }`.
fn lock_named_int_twice() -> Vec<u8> {
    specials(|b| {
        b.int("bpf_spin_lock", 4, 32, 1);
        b.head("in", STRUCT, 1, false, 4).member("x", 10, 0);
        b.head("v", STRUCT, 3, false, 12).member("a", 11, 0).member("b", 11, 32).member("r", REFCOUNT, 64);
    })
}

/// `[10] a { kptr -> b }`, `[11]` tag on 10, `[12]` ptr, `[13] b { kptr ->
/// a }`, `[14]` tag on 13, `[15]` ptr.
fn kptr_cycle() -> Vec<u8> {
    specials(|b| {
        b.head("a", STRUCT, 1, false, 8).member("p", 15, 0);
        b.head("kptr", TYPE_TAG, 0, false, 10).ptr(11);
        b.head("b", STRUCT, 1, false, 8).member("p", 12, 0);
        b.head("kptr", TYPE_TAG, 0, false, 13).ptr(14);
    })
}

/// `a { lock; list head of a; list node }`: a node that owns itself.
fn node_owning_root() -> Vec<u8> {
    specials(|b| {
        b.head("a", STRUCT, 3, false, 48).member("l", LOCK, 0).member("head", HEAD, 64).member("n", NODE, 192);
        b.head("contains:a:n", DECL_TAG, 0, false, 10).u32(1);
    })
}

/// `[10] c { d; rb node }`, `[11] b { lock; rb root of c; list node }`,
/// `[12] a { lock; list of b; list node }`.
fn node_owning_rb_root() -> Vec<u8> {
    specials(|b| {
        b.head("c", STRUCT, 2, false, 40).member("d", 2, 0).member("r", RB_NODE, 64);
        b.head("b", STRUCT, 3, false, 48).member("l", LOCK, 0).member("root", ROOT, 64).member("n", NODE, 192);
        b.head("a", STRUCT, 3, false, 48).member("l", LOCK, 0).member("head", HEAD, 64).member("n", NODE, 192);
        b.head("contains:c:r", DECL_TAG, 0, false, 11).u32(1);
        b.head("contains:b:n", DECL_TAG, 0, false, 12).u32(1);
    })
}

/// A lock in `v` and another in the struct `in` beside it.
fn locks_at_two_levels() -> Vec<u8> {
    specials(|b| {
        b.head("in", STRUCT, 1, false, 4).member("l", LOCK, 0);
        b.head("v", STRUCT, 2, false, 8).member("l", LOCK, 0).member("i", 10, 32);
    })
}

/// `n` structs, each with a `tag` kptr to the next, the last to a plain
/// struct: an ownership chain of `n` records.
fn kptr_chain(n: u32, tag: &'static str) -> Vec<u8> {
    specials(|b| {
        b.head("plain", STRUCT, 1, false, 8).member("x", 2, 0); // 10
        // chain k (from n down to 1): [tag, ptr, struct] at 11 + 3 * (n - k)
        for k in 0..n {
            let target = if k == 0 { 10 } else { 10 + 3 * k };
            let at = 11 + 3 * k;
            b.head(tag, TYPE_TAG, 0, false, target).ptr(at);
            b.head("chain", STRUCT, 1, false, 8).member("p", at + 1, 0);
        }
    })
}

fn empty_datasec() -> Vec<u8> {
    with_int(|b| {
        b.head(".data", DATASEC, 0, false, 4);
    })
}

fn ptr_to_func() -> Vec<u8> {
    with_int(|b| {
        b.head("", PROTO, 0, false, 1).head("f", FUNC, 0, false, 2).ptr(3);
    })
}

fn dotted() -> Vec<u8> {
    with_int(|b| {
        b.head("a.b", TYPEDEF, 0, false, 1);
    })
}

fn returns_var() -> Vec<u8> {
    with_int(|b| {
        b.head("v", VAR, 0, false, 1).u32(0).head("", PROTO, 0, false, 2);
    })
}

fn takes_var() -> Vec<u8> {
    with_int(|b| {
        b.head("v", VAR, 0, false, 1).u32(0).head("", PROTO, 1, false, 1).u32(0).u32(2);
    })
}

fn takes_datasec() -> Vec<u8> {
    with_int(|b| {
        b.head("v", VAR, 0, false, 1).u32(1);
        b.head(".data", DATASEC, 1, false, 4).u32(2).u32(0).u32(4);
        b.head("", PROTO, 1, false, 1).u32(0).u32(3);
    })
}

fn cases() -> Vec<Case> {
    let ok = Ok(());
    let e = Err;
    let (dup, deep, eloop) = (e(Rule::DuplicateField), e(Rule::OwnershipTooDeep), e(Rule::GraphOwnershipLoop));
    let (new, release) = (KernelVersion::new, KernelVersion::release);
    let bad_id = e(Rule::InvalidTypeId);
    // A user load on one kernel release.
    let at = |name, data, kernel, expect| on(name, data, Profile::UserLoad, kernel, expect);
    let big_struct = |b: &mut Builder| {
        b.head("big", STRUCT, 1, false, 64).member("x", 1, 0);
    };
    let enum_of = |size| {
        with_int(|b| {
            b.head("e", ENUM, 1, false, size);
            let n = b.str("A");
            b.u32(n).u32(1);
        })
    };
    let int_of = |size, bits| {
        with_int(|b| {
            b.int("wide", size, bits, 0);
        })
    };
    // A 64-bit int member at bit 1 of a 16-byte struct: 65 bits to copy.
    let copies_65_bits = || {
        with_int(|b| {
            b.int("long", 8, 64, 0).head("s", STRUCT, 1, false, 16).member("m", 2, 1);
        })
    };
    let const_then_tag = || {
        with_int(|b| {
            b.head("", CONST, 0, false, 3).head("t", TYPE_TAG, 0, false, 1);
        })
    };
    let dangling_const = || {
        with_int(|b| {
            b.head("", CONST, 0, false, 7);
        })
    };
    let low_int = || member_above_u16(65537, big_struct);
    let low_big = || member_above_u16(65538, big_struct);
    let too_big = e(Rule::MemberExceedsStructSize);
    let int_array = |b: &mut Builder| {
        b.head("", ARRAY, 0, false, 0).u32(1).u32(1).u32(1);
    };
    let mut v = std::vec![
        // ---- header and sections ----
        user("valid minimal", with_int(|_| {}), ok),
        user(
            "magic",
            {
                let mut d = with_int(|_| {});
                d[0] = 0;
                d
            },
            e(Rule::InvalidMagic)
        ),
        user(
            "version",
            {
                let mut d = with_int(|_| {});
                d[2] = 2;
                d
            },
            e(Rule::UnsupportedVersion)
        ),
        user(
            "flags",
            {
                let mut d = with_int(|_| {});
                d[3] = 1;
                d
            },
            e(Rule::UnsupportedFlags)
        ),
        user(
            "hdr_len past blob",
            {
                let mut d = with_int(|_| {});
                d[4] = 0xff;
                d
            },
            e(Rule::HeaderNotFound)
        ),
        user(
            "no data",
            {
                let mut d = with_int(|_| {});
                d.truncate(24);
                d
            },
            e(Rule::NoData)
        ),
        user("short blob", std::vec![0x9f, 0xeb, 1, 0], e(Rule::HdrLenNotFound)),
        user(
            "type section overlaps strings",
            {
                let mut d = with_int(|_| {});
                d[12] = 17;
                d
            },
            e(Rule::SectionOverlap)
        ),
        user(
            "gap before strings",
            {
                let mut d = with_int(|_| {});
                d[12] = 12;
                d
            },
            e(Rule::UnsupportedSection)
        ),
        user("no types", blob(|_| {}), e(Rule::NoTypeFound)),
        user(
            "string section not NUL-led",
            {
                let mut d = with_int(|_| {});
                let n = 24 + 16;
                d[n] = b'x';
                d
            },
            e(Rule::InvalidStringSection)
        ),
        user(
            "string section not NUL-ended",
            {
                let mut d = with_int(|_| {});
                let n = d.len() - 1;
                d[n] = b'x';
                d
            },
            e(Rule::InvalidStringSection)
        ),
        user(
            "hdr_len 28, zero tail",
            {
                let mut d = with_int(|_| {});
                d.splice(24..24, [0u8; 4]);
                d[4] = 28;
                d
            },
            ok
        ),
        user(
            "hdr_len 28, non-zero tail on 6.18",
            {
                let mut d = with_int(|_| {});
                d.splice(24..24, [1u8, 0, 0, 0]);
                d[4] = 28;
                d
            },
            e(Rule::UnsupportedHeader)
        ),
        user("hdr_len 21 keeps str_len's first byte", cut_header(21), ok),
        on("hdr_len 21 (Strict)", cut_header(21), Profile::Strict, K618, e(Rule::HeaderTooShort)),
        user(
            "hdr_len 26, zero tail (kernel has no alignment rule)",
            {
                let mut d = with_int(|_| {});
                d.splice(24..24, [0u8; 2]);
                d[4] = 26;
                d
            },
            ok
        ),
        on(
            "hdr_len 26 misaligned (Strict)",
            {
                let mut d = with_int(|_| {});
                d.splice(24..24, [0u8; 2]);
                d[4] = 26;
                d
            },
            Profile::Strict,
            K618,
            e(Rule::HeaderMisaligned)
        ),
        // ---- INT ----
        user(
            "int fits",
            with_int(|b| {
                b.int("u16", 2, 16, 0);
            }),
            ok
        ),
        user(
            "int bits exceed size",
            with_int(|b| {
                b.int("u16", 1, 16, 0);
            }),
            e(Rule::IntBitsExceedSize)
        ),
        // Before "bpf: btf: support 128 bit integer type" (5.1): 64 bits,
        // for the int and for a member's copy.
        at("int of 128 bits (5.0)", int_of(16, 128), new(5, 0), e(Rule::IntBitsOver64)),
        at("int of 128 bits (5.1)", int_of(16, 128), new(5, 1), ok),
        at("int of 64 bits (5.0)", int_of(8, 64), new(5, 0), ok),
        at("member copies 65 bits (5.0)", copies_65_bits(), new(5, 0), e(Rule::NrCopyBitsOver64)),
        at("member copies 65 bits (5.1)", copies_65_bits(), new(5, 1), ok),
        user(
            "int over 128 bits",
            with_int(|b| {
                b.int("big", 32, 129, 0);
            }),
            e(Rule::IntBitsTooMany)
        ),
        user(
            "int two encodings",
            with_int(|b| {
                b.int("x", 4, 32, 3);
            }),
            e(Rule::UnsupportedEncoding)
        ),
        user(
            "int bool",
            with_int(|b| {
                b.int("_Bool", 1, 8, 4);
            }),
            ok
        ),
        user(
            "int data bit 28",
            with_int(|b| {
                b.int("x", 4, 32, 0x10);
            }),
            e(Rule::InvalidIntData)
        ),
        user(
            "int kflag",
            with_int(|b| {
                b.head("x", INT, 0, true, 4).u32(32);
            }),
            e(Rule::InvalidKindFlag)
        ),
        user(
            "int vlen",
            with_int(|b| {
                b.head("x", INT, 1, false, 4).u32(32);
            }),
            e(Rule::VlenNotZero)
        ),
        user(
            "int reserved bits (kernel ignores)",
            with_int(|b| {
                b.head("x", INT, 0, false, 4).u32(0x100 | 32);
            }),
            ok
        ),
        on(
            "int reserved bits (Strict)",
            with_int(|b| {
                b.head("x", INT, 0, false, 4).u32(0x100 | 32);
            }),
            Profile::Strict,
            K618,
            e(Rule::IntReservedBits)
        ),
        user(
            "bad kind",
            with_int(|b| {
                b.head("", 20, 0, false, 0);
            }),
            e(Rule::InvalidKind)
        ),
        user(
            "reserved info bits",
            with_int(|b| {
                b.u32(0).u32(0x0201_0000).u32(1);
            }),
            e(Rule::InvalidInfo)
        ),
        user(
            "name offset out of range",
            with_int(|b| {
                b.u32(0xffff).u32(0x0200_0000).u32(1);
            }),
            e(Rule::InvalidNameOffset)
        ),
        user(
            "record truncated",
            with_int(|b| {
                b.head("s", STRUCT, 1, false, 4);
            }),
            e(Rule::MetaTruncated)
        ),
        // ---- names ----
        user("typedef name with dot", dotted(), ok),
        at("typedef name with dot on 6.0", dotted(), new(6, 0), e(Rule::InvalidName)),
        // The stable releases that took the dots back (and 5.4, which did not).
        at("typedef name with dot (5.10.185)", dotted(), release(5, 10, 185), e(Rule::InvalidName)),
        at("typedef name with dot (5.10.186)", dotted(), release(5, 10, 186), ok),
        at("typedef name with dot (6.1.35)", dotted(), release(6, 1, 35), e(Rule::InvalidName)),
        at("typedef name with dot (6.1.36)", dotted(), release(6, 1, 36), ok),
        at("typedef name with dot (5.15 series)", dotted(), new(5, 15), ok),
        at("typedef name with dot (5.4 series)", dotted(), new(5, 4), e(Rule::InvalidName)),
        user(
            "typedef name starts with digit",
            with_int(|b| {
                b.head("1a", TYPEDEF, 0, false, 1);
            }),
            e(Rule::InvalidName)
        ),
        user(
            "typedef Latin-1 letter",
            with_int(|b| {
                b.head("\u{c0}", TYPEDEF, 0, false, 1);
            }),
            e(Rule::InvalidName)
        ),
        user(
            "typedef no name",
            with_int(|b| {
                b.head("", TYPEDEF, 0, false, 1);
            }),
            e(Rule::InvalidName)
        ),
        user(
            "typedef 512 chars",
            {
                let n = name_of_len(512);
                with_int(|b| {
                    b.head(&n, TYPEDEF, 0, false, 1);
                })
            },
            ok
        ),
        user(
            "typedef 513 chars",
            {
                let n = name_of_len(513);
                with_int(|b| {
                    b.head(&n, TYPEDEF, 0, false, 1);
                })
            },
            e(Rule::InvalidName)
        ),
        on(
            "typedef 129 chars on 6.0",
            {
                let n = name_of_len(129);
                with_int(|b| {
                    b.head(&n, TYPEDEF, 0, false, 1);
                })
            },
            Profile::UserLoad,
            KernelVersion::new(6, 0),
            e(Rule::InvalidName)
        ),
        user(
            "ptr with name",
            with_int(|b| {
                b.head("p", PTR, 0, false, 1);
            }),
            e(Rule::InvalidName)
        ),
        user(
            "ptr to void",
            with_int(|b| {
                b.ptr(0);
            }),
            ok
        ),
        user(
            "ptr id past max",
            with_int(|b| {
                b.ptr(0x10_0000);
            }),
            e(Rule::InvalidTypeId)
        ),
        user(
            "ptr to missing type",
            with_int(|b| {
                b.ptr(9);
            }),
            e(Rule::InvalidTypeId)
        ),
        // ---- ARRAY ----
        user(
            "array",
            with_int(|b| {
                b.head("", ARRAY, 0, false, 0).u32(1).u32(1).u32(4);
            }),
            ok
        ),
        user(
            "array named",
            with_int(|b| {
                b.head("a", ARRAY, 0, false, 0).u32(1).u32(1).u32(4);
            }),
            e(Rule::InvalidName)
        ),
        user(
            "array size",
            with_int(|b| {
                b.head("", ARRAY, 0, false, 4).u32(1).u32(1).u32(4);
            }),
            e(Rule::SizeNotZero)
        ),
        user(
            "array elem void",
            with_int(|b| {
                b.head("", ARRAY, 0, false, 0).u32(0).u32(1).u32(4);
            }),
            e(Rule::InvalidElem)
        ),
        user(
            "array index void",
            with_int(|b| {
                b.head("", ARRAY, 0, false, 0).u32(1).u32(0).u32(4);
            }),
            e(Rule::InvalidIndex)
        ),
        user(
            // Pass 1 refuses it, before the broken record after it.
            "array index void, then a named PTR",
            with_int(|b| {
                b.head("", ARRAY, 0, false, 0).u32(1).u32(0).u32(4).head("p", PTR, 0, false, 1);
            }),
            e(Rule::InvalidIndex)
        ),
        user(
            "array index 3-bit int",
            with_int(|b| {
                b.int("i3", 1, 3, 0).head("", ARRAY, 0, false, 0).u32(1).u32(2).u32(4);
            }),
            e(Rule::InvalidIndex)
        ),
        user(
            "array of 3-bit int",
            with_int(|b| {
                b.int("i3", 1, 3, 0).head("", ARRAY, 0, false, 0).u32(2).u32(1).u32(4);
            }),
            e(Rule::InvalidArrayOfInt)
        ),
        user(
            "array overflows u32",
            with_int(|b| {
                b.head("", ARRAY, 0, false, 0).u32(1).u32(1).u32(0x4000_0000);
            }),
            e(Rule::ArraySizeOverflow)
        ),
        // ---- STRUCT / UNION ----
        user(
            "struct",
            with_int(|b| {
                b.head("s", STRUCT, 2, false, 8).member("a", 1, 0).member("b", 1, 32);
            }),
            ok
        ),
        user(
            "struct member void",
            with_int(|b| {
                b.head("s", STRUCT, 1, false, 4).member("a", 0, 0);
            }),
            e(Rule::InvalidTypeId)
        ),
        user(
            "struct member name",
            with_int(|b| {
                b.head("s", STRUCT, 1, false, 4).member("-", 1, 0);
            }),
            e(Rule::InvalidMemberName)
        ),
        user(
            "union member offset",
            with_int(|b| {
                b.head("u", UNION, 1, false, 8).member("a", 1, 8);
            }),
            e(Rule::InvalidMemberBitsOffset)
        ),
        user(
            "struct offsets decrease",
            with_int(|b| {
                b.head("s", STRUCT, 2, false, 8).member("a", 1, 32).member("b", 1, 0);
            }),
            e(Rule::InvalidMemberBitsOffset)
        ),
        user(
            "member offset past size",
            with_int(|b| {
                b.head("s", STRUCT, 1, false, 4).member("a", 1, 40);
            }),
            e(Rule::MemberOffsetExceedsSize)
        ),
        user(
            // Without kind_flag all 32 bits are the offset.
            "member offset of 2^24 bits past size",
            with_int(|b| {
                b.head("s", STRUCT, 1, false, 4).member("a", 1, 1 << 24);
            }),
            e(Rule::MemberOffsetExceedsSize)
        ),
        user(
            "member exceeds size",
            with_int(|b| {
                b.head("s", STRUCT, 1, false, 4).member("a", 1, 8);
            }),
            e(Rule::MemberExceedsStructSize)
        ),
        user(
            "legacy int bitfield",
            with_int(|b| {
                b.int("i3", 4, 3, 0).head("s", STRUCT, 1, false, 4).member("a", 2, 5);
            }),
            ok
        ),
        user(
            "member of fwd",
            with_int(|b| {
                b.head("f", FWD, 0, false, 0).head("s", STRUCT, 1, false, 4).member("a", 2, 0);
            }),
            e(Rule::InvalidMember)
        ),
        user(
            "kflag bitfield",
            with_int(|b| {
                b.head("s", STRUCT, 1, true, 4).member("a", 1, (3 << 24) | 5);
            }),
            ok
        ),
        user(
            "kflag bitfield too wide",
            with_int(|b| {
                b.head("s", STRUCT, 1, true, 8).member("a", 1, 40 << 24);
            }),
            e(Rule::InvalidMemberBitfieldSize)
        ),
        user(
            "kflag member misaligned",
            with_int(|b| {
                b.head("s", STRUCT, 1, true, 8).member("a", 1, 4);
            }),
            e(Rule::InvalidMemberOffset)
        ),
        user(
            "kflag ptr bitfield",
            with_int(|b| {
                b.ptr(1).head("s", STRUCT, 1, true, 8).member("p", 2, 1 << 24);
            }),
            e(Rule::InvalidMemberBitfieldSize)
        ),
        user(
            "ptr member misaligned",
            with_int(|b| {
                b.ptr(1).head("s", STRUCT, 1, false, 16).member("p", 2, 4);
            }),
            e(Rule::MemberNotByteAligned)
        ),
        user(
            "ptr member too big",
            with_int(|b| {
                b.ptr(1).head("s", STRUCT, 1, false, 4).member("p", 2, 0);
            }),
            e(Rule::MemberExceedsStructSize)
        ),
        // Through a modifier, and arrays and structs: checked as their
        // resolved, sized targets.
        user(
            "typedef int member exceeds size",
            with_int(|b| {
                b.head("t", TYPEDEF, 0, false, 1).head("s", STRUCT, 1, false, 4).member("a", 2, 8);
            }),
            e(Rule::MemberExceedsStructSize)
        ),
        user(
            "typedef legacy int bitfield",
            with_int(|b| {
                b.int("i3", 4, 3, 0).head("t", TYPEDEF, 0, false, 2).head("s", STRUCT, 1, false, 4).member("a", 3, 5);
            }),
            ok
        ),
        user(
            "array member too big",
            with_int(|b| {
                b.head("", ARRAY, 0, false, 0).u32(1).u32(1).u32(4).head("s", STRUCT, 1, false, 8).member("a", 2, 0);
            }),
            e(Rule::MemberExceedsStructSize)
        ),
        user(
            "typedef array member fits",
            with_int(|b| {
                b.head("", ARRAY, 0, false, 0).u32(1).u32(1).u32(4);
                b.head("t", TYPEDEF, 0, false, 2).head("s", STRUCT, 1, false, 16).member("a", 3, 0);
            }),
            ok
        ),
        user(
            "typedef of a later struct member exceeds size",
            with_int(|b| {
                b.head("t", TYPEDEF, 0, false, 4).head("s", STRUCT, 1, false, 4).member("a", 2, 0);
                b.head("big", STRUCT, 2, false, 8).member("x", 1, 0).member("y", 1, 32);
            }),
            e(Rule::MemberExceedsStructSize)
        ),
        user(
            "float member misaligned",
            with_int(|b| {
                b.head("double", FLOAT, 0, false, 8).head("s", STRUCT, 1, false, 16).member("d", 2, 32);
            }),
            e(Rule::MemberNotAligned)
        ),
        user(
            "float member aligned",
            with_int(|b| {
                b.head("double", FLOAT, 0, false, 8).head("s", STRUCT, 1, false, 16).member("d", 2, 64);
            }),
            ok
        ),
        user(
            "self pointer",
            with_int(|b| {
                b.head("a", STRUCT, 1, false, 8).member("p", 3, 0).ptr(2);
            }),
            ok
        ),
        user(
            "embedding loop",
            with_int(|b| {
                b.head("a", STRUCT, 1, false, 4).member("b", 3, 0).head("b", STRUCT, 1, false, 4).member("a", 2, 0);
            }),
            e(Rule::LoopDetected)
        ),
        user(
            "pointer loop",
            blob(|b| {
                b.ptr(2).head("", CONST, 0, false, 1);
            }),
            e(Rule::LoopDetected)
        ),
        user(
            // The struct resolves the typedef to the PTR without resolving
            // it (a PTR is a sink of a struct walk). The walk from the
            // first PTR goes on past the typedef to that PTR, which points
            // back at it.
            "pointer loop past a typedef",
            with_int(|b| {
                b.head("s", STRUCT, 1, false, 8).member("m", 3, 0).head("t", TYPEDEF, 0, false, 5).ptr(3).ptr(4);
            }),
            e(Rule::LoopDetected)
        ),
        user(
            "pointer past a typedef",
            with_int(|b| {
                b.head("s", STRUCT, 1, false, 8).member("m", 3, 0).head("t", TYPEDEF, 0, false, 5).ptr(3).ptr(1);
            }),
            ok
        ),
        user(
            // Pass 2 first: the loop, not the tag after a modifier before it.
            "tag after a modifier, then a pointer loop",
            with_int(|b| {
                b.head("", CONST, 0, false, 3).head("t", TYPE_TAG, 0, false, 1);
                b.ptr(5).head("", CONST, 0, false, 4);
            }),
            e(Rule::LoopDetected)
        ),
        user(
            "tag after a modifier",
            with_int(|b| {
                b.head("", CONST, 0, false, 3).head("t", TYPE_TAG, 0, false, 1);
            }),
            e(Rule::TypeTagsAfterModifiers)
        ),
        // `btf_check_type_tags` came with 5.18; 5.17 has TYPE_TAG and no
        // order (nor its chain and dangling checks: under Vmlinux, no pass
        // 2 finds a modifier pointing past the last type).
        at("tag after a modifier (5.17)", const_then_tag(), new(5, 17), ok),
        at("tag after a modifier (5.18)", const_then_tag(), new(5, 18), e(Rule::TypeTagsAfterModifiers)),
        on("dangling modifier (vmlinux, 5.17)", dangling_const(), Profile::Vmlinux, new(5, 17), ok),
        on(
            "dangling modifier (vmlinux, 5.18)",
            dangling_const(),
            Profile::Vmlinux,
            new(5, 18),
            e(Rule::DanglingModifier)
        ),
        on(
            "tag after a modifier (7.2: any order)",
            with_int(|b| {
                b.head("", CONST, 0, false, 3).head("t", TYPE_TAG, 0, false, 1);
            }),
            Profile::UserLoad,
            K72,
            ok
        ),
        user("chain of 31", typedef_chain(31), ok),
        user("chain of 33", typedef_chain(33), e(Rule::MaxResolveDepth)),
        // ---- ENUM / ENUM64 ----
        user(
            "enum",
            with_int(|b| {
                b.head("e", ENUM, 1, false, 4);
                let n = b.str("A");
                b.u32(n).u32(1);
            }),
            ok
        ),
        // Before "bpf: fix BTF verification of enums" (5.4): 4 bytes only.
        at("enum of 1 byte (5.3)", enum_of(1), new(5, 3), e(Rule::EnumSizeNotInt)),
        at("enum of 4 bytes (5.3)", enum_of(4), new(5, 3), ok),
        at("enum of 1 byte (5.4.0)", enum_of(1), release(5, 4, 0), ok),
        user(
            "enum size 3",
            with_int(|b| {
                b.head("e", ENUM, 0, false, 3);
            }),
            e(Rule::UnexpectedSize)
        ),
        user(
            "enum value unnamed",
            with_int(|b| {
                b.head("e", ENUM, 1, false, 4).u32(0).u32(1);
            }),
            e(Rule::InvalidName)
        ),
        user(
            "signed enum",
            with_int(|b| {
                b.head("e", ENUM, 0, true, 4);
            }),
            ok
        ),
        on(
            "signed enum on 5.19",
            with_int(|b| {
                b.head("e", ENUM, 0, true, 4);
            }),
            Profile::UserLoad,
            KernelVersion::new(5, 19),
            e(Rule::InvalidKindFlag)
        ),
        user(
            "enum64",
            with_int(|b| {
                b.head("e", ENUM64, 1, false, 8);
                let n = b.str("A");
                b.u32(n).u32(1).u32(2);
            }),
            ok
        ),
        user(
            "kflag enum bitfield 33",
            with_int(|b| {
                b.head("e", ENUM, 0, false, 4).head("s", STRUCT, 1, true, 8).member("e", 2, 33 << 24);
            }),
            e(Rule::InvalidMemberBitfieldSize)
        ),
        user(
            "kflag enum64 member checked as 32 bits",
            with_int(|b| {
                b.head("e", ENUM64, 0, false, 8).head("s", STRUCT, 1, true, 4).member("e", 2, 0);
            }),
            ok
        ),
        on(
            "kflag enum64 member at real width (Strict)",
            with_int(|b| {
                b.head("e", ENUM64, 0, false, 8).head("s", STRUCT, 1, true, 4).member("e", 2, 0);
            }),
            Profile::Strict,
            K618,
            e(Rule::MemberExceedsStructSize)
        ),
        // ---- FWD, FUNC, FUNC_PROTO ----
        user(
            "fwd",
            with_int(|b| {
                b.head("f", FWD, 0, true, 0);
            }),
            ok
        ),
        user(
            "fwd type",
            with_int(|b| {
                b.head("f", FWD, 0, false, 1);
            }),
            e(Rule::TypeNotZero)
        ),
        user(
            "fwd unnamed",
            with_int(|b| {
                b.head("", FWD, 0, false, 0);
            }),
            e(Rule::InvalidName)
        ),
        user(
            "func",
            with_int(|b| {
                b.head("", PROTO, 1, false, 1);
                let n = b.str("x");
                b.u32(n).u32(1);
                b.head("f", FUNC, 1, false, 2);
            }),
            ok
        ),
        user(
            "func extern",
            with_int(|b| {
                b.head("", PROTO, 0, false, 1).head("f", FUNC, 2, false, 2);
            }),
            e(Rule::InvalidFuncLinkage)
        ),
        user(
            "func of int",
            with_int(|b| {
                b.head("f", FUNC, 0, false, 1);
            }),
            e(Rule::InvalidTypeId)
        ),
        user(
            "func unnamed arg",
            with_int(|b| {
                b.head("", PROTO, 1, false, 1).u32(0).u32(1).head("f", FUNC, 0, false, 2);
            }),
            e(Rule::InvalidArg)
        ),
        user(
            "proto named",
            with_int(|b| {
                b.head("p", PROTO, 0, false, 1);
            }),
            e(Rule::InvalidName)
        ),
        user(
            "proto vararg",
            with_int(|b| {
                b.head("", PROTO, 2, false, 0).u32(0).u32(1).u32(0).u32(0);
            }),
            ok
        ),
        user(
            "proto vararg named",
            with_int(|b| {
                b.head("", PROTO, 1, false, 0);
                let n = b.str("x");
                b.u32(n).u32(0);
            }),
            e(Rule::InvalidArg)
        ),
        user(
            // Checked in pass 2 (btf_func_proto_check), not pass 1.
            "proto arg name invalid",
            with_int(|b| {
                b.head("", PROTO, 1, false, 0);
                let n = b.str("1x");
                b.u32(n).u32(1);
            }),
            e(Rule::InvalidArg)
        ),
        user(
            // The kernel's ctype counts Latin-1 letters: only the exact
            // check knows.
            "proto arg name Latin-1",
            with_int(|b| {
                b.head("", PROTO, 1, false, 0);
                // "été" in Latin-1 bytes.
                let n = b.str_base + b.strs.len() as u32;
                b.strs.extend_from_slice(b"\xe9t\xe9\0");
                b.u32(n).u32(1);
            }),
            ok
        ),
        user(
            "proto void arg first",
            with_int(|b| {
                b.head("", PROTO, 2, false, 0).u32(0).u32(0).u32(0).u32(1);
            }),
            e(Rule::InvalidArg)
        ),
        user(
            "proto returns fwd",
            with_int(|b| {
                b.head("f", FWD, 0, false, 0).head("", PROTO, 0, false, 2);
            }),
            e(Rule::InvalidReturnType)
        ),
        user(
            "proto returns const void",
            with_int(|b| {
                b.head("", CONST, 0, false, 0).head("", PROTO, 0, false, 2);
            }),
            e(Rule::InvalidReturnType)
        ),
        user(
            "ptr to func proto",
            with_int(|b| {
                b.head("", PROTO, 0, false, 1).ptr(2);
            }),
            ok
        ),
        // ---- VAR, DATASEC ----
        user(
            "var and datasec",
            with_int(|b| {
                b.head("v", VAR, 0, false, 1).u32(1).head(".data", DATASEC, 1, false, 4).u32(2).u32(0).u32(4);
            }),
            ok
        ),
        user(
            "var extern",
            with_int(|b| {
                b.head("v", VAR, 0, false, 1).u32(2);
            }),
            e(Rule::LinkageNotSupported)
        ),
        user(
            "var void",
            with_int(|b| {
                b.head("v", VAR, 0, false, 0).u32(0);
            }),
            e(Rule::InvalidTypeId)
        ),
        user(
            "var of fwd",
            with_int(|b| {
                b.head("f", FWD, 0, false, 0).head("v", VAR, 0, false, 2).u32(0);
            }),
            e(Rule::InvalidTypeId)
        ),
        user("empty datasec", empty_datasec(), ok),
        on("empty datasec (5.10)", empty_datasec(), Profile::UserLoad, K510, e(Rule::DatasecEmpty)),
        user("proto returns a var", returns_var(), e(Rule::InvalidReturnType)),
        at("proto returns a var (6.0.6)", returns_var(), release(6, 0, 6), ok),
        at("proto returns a var (6.0.7)", returns_var(), release(6, 0, 7), e(Rule::InvalidReturnType)),
        user("proto takes a var", takes_var(), e(Rule::InvalidArg)),
        user("proto takes a datasec", takes_datasec(), e(Rule::InvalidArg)),
        // Before "Prevent decl_tag from being referenced in func_proto arg"
        // a VAR or DATASEC parameter is resolved and sized like any other.
        at("proto takes a var (6.1.1)", takes_var(), release(6, 1, 1), ok),
        at("proto takes a var (6.1.2)", takes_var(), release(6, 1, 2), e(Rule::InvalidArg)),
        at("proto takes a datasec (5.10.162)", takes_datasec(), release(5, 10, 162), ok),
        at("proto takes a datasec (5.10.163)", takes_datasec(), release(5, 10, 163), e(Rule::InvalidArg)),
        at("proto takes a var (5.4 series)", takes_var(), new(5, 4), e(Rule::InvalidArg)),
        on("proto returns a var (5.10)", returns_var(), Profile::UserLoad, K510, ok),
        // A member typed above 65535, seen again by its low 16 bits before
        // "fix truncated last_member_type_id": an int, never resolved (the
        // kernel warns), a resolved struct too big for the member, and a
        // resolved array (whose check reads the real member again).
        user("member above 65535, low bits an int", low_int(), ok),
        at("member above 65535, low bits an int (5.13)", low_int(), new(5, 13), e(Rule::InvalidResolveState)),
        user("member above 65535, low bits a big struct", low_big(), ok),
        at("member above 65535, low bits a big struct (5.13)", low_big(), new(5, 13), too_big),
        at("member above 65535, low bits a big struct (5.10.149)", low_big(), release(5, 10, 149), too_big),
        at("member above 65535, low bits a big struct (5.10.150)", low_big(), release(5, 10, 150), ok),
        at("member above 65535, low bits a big struct (5.4.219)", low_big(), release(5, 4, 219), too_big),
        at("member above 65535, low bits a big struct (5.4.220)", low_big(), release(5, 4, 220), ok),
        at("member above 65535, low bits a big struct (6.0.2)", low_big(), release(6, 0, 2), too_big),
        at("member above 65535, low bits a big struct (6.0.3)", low_big(), release(6, 0, 3), ok),
        on("member above 65535, low bits a big struct (strict, 5.13)", low_big(), Profile::Strict, new(5, 13), ok),
        at("member above 65535, low bits an array (5.13)", member_above_u16(65538, int_array), new(5, 13), ok),
        user(
            "datasec size 0",
            with_int(|b| {
                b.head(".data", DATASEC, 0, false, 0);
            }),
            e(Rule::SizeZero)
        ),
        user(
            "datasec overlap",
            with_int(|b| {
                b.head("v", VAR, 0, false, 1)
                    .u32(1)
                    .head(".data", DATASEC, 2, false, 8)
                    .u32(2)
                    .u32(0)
                    .u32(4)
                    .u32(2)
                    .u32(2)
                    .u32(4);
            }),
            e(Rule::InvalidOffset)
        ),
        user(
            "datasec entry size 0",
            with_int(|b| {
                b.head("v", VAR, 0, false, 1).u32(1).head(".data", DATASEC, 1, false, 8).u32(2).u32(0).u32(0);
            }),
            e(Rule::InvalidSize)
        ),
        user(
            "datasec entry past end",
            with_int(|b| {
                b.head("v", VAR, 0, false, 1).u32(1).head(".data", DATASEC, 1, false, 8).u32(2).u32(6).u32(4);
            }),
            e(Rule::InvalidOffsetSize)
        ),
        user(
            "datasec of int",
            with_int(|b| {
                b.head(".data", DATASEC, 1, false, 4).u32(1).u32(0).u32(4);
            }),
            e(Rule::NotAVar)
        ),
        user(
            "datasec var too big",
            with_int(|b| {
                b.head("v", VAR, 0, false, 1).u32(1).head(".data", DATASEC, 1, false, 8).u32(2).u32(0).u32(2);
            }),
            e(Rule::InvalidSize)
        ),
        user(
            "datasec name with space",
            with_int(|b| {
                b.head("v", VAR, 0, false, 1).u32(1).head("a b", DATASEC, 1, false, 4).u32(2).u32(0).u32(4);
            }),
            ok
        ),
        on(
            "datasec name with space on 6.6",
            with_int(|b| {
                b.head("v", VAR, 0, false, 1).u32(1).head("a b", DATASEC, 1, false, 4).u32(2).u32(0).u32(4);
            }),
            Profile::UserLoad,
            KernelVersion::new(6, 6),
            e(Rule::InvalidName)
        ),
        user(
            "datasec before its var skips the size check",
            blob(|b| {
                b.head(".data", DATASEC, 1, false, 4).u32(3).u32(0).u32(2);
                b.int("long", 8, 64, 1);
                b.head("v", VAR, 0, false, 2).u32(1);
            }),
            ok
        ),
        on(
            "datasec before its var (Strict checks)",
            blob(|b| {
                b.head(".data", DATASEC, 1, false, 4).u32(3).u32(0).u32(2);
                b.int("long", 8, 64, 1);
                b.head("v", VAR, 0, false, 2).u32(1);
            }),
            Profile::Strict,
            K618,
            e(Rule::InvalidSize)
        ),
        // ---- FLOAT ----
        user(
            "float",
            with_int(|b| {
                b.head("float", FLOAT, 0, false, 4);
            }),
            ok
        ),
        user(
            "float size 3",
            with_int(|b| {
                b.head("f", FLOAT, 0, false, 3);
            }),
            e(Rule::InvalidTypeSize)
        ),
        // ---- DECL_TAG, TYPE_TAG ----
        user(
            "decl tag on struct member",
            with_int(|b| {
                b.head("s", STRUCT, 1, false, 4).member("a", 1, 0).head("tag", DECL_TAG, 0, false, 2).u32(0);
            }),
            ok
        ),
        user(
            "decl tag component out of range",
            with_int(|b| {
                b.head("s", STRUCT, 1, false, 4).member("a", 1, 0).head("tag", DECL_TAG, 0, false, 2).u32(1);
            }),
            e(Rule::InvalidComponentIdx)
        ),
        user(
            "decl tag component -2",
            with_int(|b| {
                b.head("s", STRUCT, 0, false, 4).head("tag", DECL_TAG, 0, false, 2).u32(-2i32 as u32);
            }),
            e(Rule::InvalidComponentIdx)
        ),
        user(
            "decl tag on int",
            with_int(|b| {
                b.head("tag", DECL_TAG, 0, false, 1).u32(-1i32 as u32);
            }),
            e(Rule::InvalidTypeId)
        ),
        user(
            "decl tag empty value",
            with_int(|b| {
                b.head("s", STRUCT, 0, false, 4).head("", DECL_TAG, 0, false, 2).u32(-1i32 as u32);
            }),
            e(Rule::InvalidValue)
        ),
        user(
            "decl tag attr kflag",
            with_int(|b| {
                b.head("s", STRUCT, 0, false, 4).head("tag", DECL_TAG, 0, true, 2).u32(-1i32 as u32);
            }),
            ok
        ),
        on(
            "decl tag attr kflag on 6.14",
            with_int(|b| {
                b.head("s", STRUCT, 0, false, 4).head("tag", DECL_TAG, 0, true, 2).u32(-1i32 as u32);
            }),
            Profile::UserLoad,
            KernelVersion::new(6, 14),
            e(Rule::InvalidKindFlag)
        ),
        user(
            "type tag before const",
            with_int(|b| {
                b.head("", CONST, 0, false, 1).head("tag", TYPE_TAG, 0, false, 2).ptr(3);
            }),
            ok
        ),
        user(
            "type tag after const",
            with_int(|b| {
                b.head("tag", TYPE_TAG, 0, false, 1).head("", CONST, 0, false, 2).ptr(3);
            }),
            e(Rule::TypeTagsAfterModifiers)
        ),
        on(
            "modifier cycle (Vmlinux)",
            blob(|b| {
                b.head("", CONST, 0, false, 1);
            }),
            Profile::Vmlinux,
            K618,
            e(Rule::ModifierChainTooLong)
        ),
        // ---- quirk: PTR → FUNC ----
        user("ptr to earlier func", ptr_to_func(), ok),
        on("ptr to earlier func (Strict)", ptr_to_func(), Profile::Strict, K618, e(Rule::RefToFunc)),
        on("ptr to earlier func (5.10: a FUNC is never resolved)", ptr_to_func(), Profile::UserLoad, K510, bad_id),
        at("ptr to earlier func (5.16.18)", ptr_to_func(), release(5, 16, 18), bad_id),
        at("ptr to earlier func (5.16.19)", ptr_to_func(), release(5, 16, 19), ok),
        at("ptr to earlier func (5.17.1)", ptr_to_func(), release(5, 17, 1), bad_id),
        at("ptr to earlier func (5.17 series)", ptr_to_func(), new(5, 17), ok),
        on(
            "func with an unnamed param (5.10: at its turn)",
            with_int(|b| {
                b.head("", PROTO, 1, false, 1).u32(0).u32(1).head("f", FUNC, 0, false, 2);
            }),
            Profile::UserLoad,
            K510,
            e(Rule::InvalidArg)
        ),
        user(
            "ptr to later func",
            with_int(|b| {
                b.ptr(4).head("", PROTO, 0, false, 1).head("f", FUNC, 0, false, 3);
            }),
            e(Rule::InvalidTypeId)
        ),
        // ---- the BPF special-field layer (6.12+, standalone user loads) ----
        user(
            "special: one spin lock",
            specials(|b| {
                b.head("v", STRUCT, 2, false, 8).member("l", LOCK, 0).member("x", 1, 32);
            }),
            ok
        ),
        user("special: two spin locks", two_locks(), e(Rule::DuplicateField)),
        on("special: two spin locks (Strict)", two_locks(), Profile::Strict, K618, e(Rule::DuplicateField)),
        at("special: two spin locks (6.11)", two_locks(), K611, e(Rule::DuplicateField)),
        at("special: two spin locks (6.4)", two_locks(), K64, e(Rule::DuplicateField)),
        at("special: two spin locks (6.2)", two_locks(), KernelVersion::new(6, 2), e(Rule::DuplicateField)),
        at("special: two spin locks (6.1: no layer)", two_locks(), KernelVersion::new(6, 1), ok),
        user("special: spin locks at two levels", locks_at_two_levels(), ok),
        on(
            "special: spin locks at two levels (Strict)",
            locks_at_two_levels(),
            Profile::Strict,
            K618,
            e(Rule::DuplicateField)
        ),
        user(
            "special: typedef of a spin lock triggers nothing",
            specials(|b| {
                b.head("bpf_spin_lock", TYPEDEF, 0, false, LOCK);
                b.head("v", STRUCT, 2, false, 8).member("a", 10, 0).member("b", 10, 32);
            }),
            ok
        ),
        user("special: bitfield beside a lock", bitfield_beside_lock(), e(Rule::FieldMemberNotByteAligned)),
        at("special: bitfield beside a lock (6.11)", bitfield_beside_lock(), K611, e(Rule::FieldMemberNotByteAligned)),
        at("special: bitfield beside a lock (6.10: only special members count)", bitfield_beside_lock(), K610, ok),
        // A typedef named like a special struct is matched by its name,
        // and must then start on a byte (pass 2 takes an int at any bit).
        at(
            "special: refcount-named typedef off a byte (6.10)",
            specials(|b| {
                b.head("bpf_refcount", TYPEDEF, 0, false, 1);
                b.head("v", STRUCT, 2, false, 12).member("l", LOCK, 0).member("x", 10, 36);
            }),
            K610,
            e(Rule::FieldMemberNotByteAligned)
        ),
        user(
            "special: misaligned lock is no field",
            specials(|b| {
                b.head("v", STRUCT, 1, false, 8).member("l", LOCK, 16);
            }),
            e(Rule::NoSpecialFields)
        ),
        user("special: array of nodes", array_of_nodes(), e(Rule::FieldInArray)),
        at("special: array of nodes (6.11)", array_of_nodes(), K611, e(Rule::FieldInArray)),
        at("special: array of nodes (6.10: arrays are not walked)", array_of_nodes(), K610, ok),
        user(
            "special: array of one node",
            specials(|b| {
                b.head("", ARRAY, 0, false, 0).u32(NODE).u32(1).u32(1);
                b.head("v", STRUCT, 2, false, 32).member("r", REFCOUNT, 0).member("n", 10, 64);
            }),
            ok
        ),
        user(
            "special: overlapping fields",
            specials(|b| {
                b.head("v", STRUCT, 2, false, 4).member("l", LOCK, 0).member("r", REFCOUNT, 0);
            }),
            e(Rule::FieldsOverlap)
        ),
        user(
            "special: union beside a lock is not walked",
            specials(|b| {
                b.head("u", UNION, 2, false, 4).member("a", LOCK, 0).member("b", LOCK, 0);
                b.head("v", STRUCT, 2, false, 8).member("l", LOCK, 0).member("u", 10, 32);
            }),
            ok
        ),
        user(
            "special: spin lock and res spin lock",
            specials(|b| {
                b.head("v", STRUCT, 2, false, 8).member("l", LOCK, 0).member("r", RES_LOCK, 32);
            }),
            e(Rule::SpinLockAndResSpinLock)
        ),
        on(
            "special: spin lock and res spin lock (6.14)",
            specials(|b| {
                b.head("v", STRUCT, 2, false, 8).member("l", LOCK, 0).member("r", RES_LOCK, 32);
            }),
            Profile::UserLoad,
            KernelVersion::new(6, 14),
            ok
        ),
        user("special: a clean struct used again one level deeper", reused_struct(30), e(Rule::FieldsTooDeep)),
        user("special: a clean struct used again at the same depth", reused_struct(29), ok),
        user("special: doubling nested structs", doubling_structs(16), ok),
        user("special: 500 list heads", many_list_heads(500), ok),
        user("special: 31 nested structs", nested_structs(31), ok),
        user("special: 32 nested structs", nested_structs(32), e(Rule::FieldsTooDeep)),
        user("special: 31 nested arrays", nested_arrays(31), ok),
        user("special: 32 nested arrays", nested_arrays(32), e(Rule::FieldsTooDeep)),
        // kptrs: [12] is a pointer to a tag on struct foo.
        user(
            "special: kptr",
            tagged_ptr("kptr", false, |b| {
                b.head("v", STRUCT, 1, false, 8).member("p", 12, 0);
            }),
            ok
        ),
        user(
            "special: volatile kptr beside a lock",
            tagged_ptr("kptr_untrusted", false, |b| {
                b.head("", Kind::Volatile as u8, 0, false, 12);
                b.head("v", STRUCT, 2, false, 16).member("l", LOCK, 0).member("p", 13, 64);
            }),
            ok
        ),
        user(
            "special: misaligned kptr is no field",
            tagged_ptr("percpu_kptr", false, |b| {
                b.head("v", STRUCT, 2, false, 16).member("l", LOCK, 0).member("p", 12, 32);
            }),
            ok
        ),
        user("special: kptr to an int", kptr_to_int(), e(Rule::KptrNotStruct)),
        at("special: kptr to an int (6.12)", kptr_to_int(), K612, e(Rule::KptrNotStruct)),
        at("special: kptr to an int (6.11: no kptrs)", kptr_to_int(), K611, ok),
        user("special: kptr with two tags", two_tags("kptr", "other"), e(Rule::KptrExtraTag)),
        user("special: user-tagged pointer beside a lock", beside_lock("user"), e(Rule::PtrUnknownTag)),
        at("special: user-tagged pointer beside a lock (6.11: no kptrs)", beside_lock("user"), K611, ok),
        user(
            "special: user-tagged pointer alone",
            tagged_ptr("user", false, |b| {
                b.head("v", STRUCT, 1, false, 8).member("p", 12, 0);
            }),
            ok
        ),
        user(
            "special: attribute-tagged pointer beside a lock",
            tagged_ptr("user", true, |b| {
                b.head("v", STRUCT, 2, false, 16).member("l", LOCK, 0).member("p", 12, 64);
            }),
            ok
        ),
        user(
            "special: lock and ten kptrs",
            tagged_ptr("kptr", false, |b| {
                b.head("", ARRAY, 0, false, 0).u32(12).u32(1).u32(10);
                b.head("v", STRUCT, 2, false, 88).member("l", LOCK, 0).member("a", 13, 64);
            }),
            ok
        ),
        user(
            "special: lock and eleven kptrs",
            tagged_ptr("kptr", false, |b| {
                b.head("", ARRAY, 0, false, 0).u32(12).u32(1).u32(11);
                b.head("v", STRUCT, 2, false, 96).member("l", LOCK, 0).member("a", 13, 64);
            }),
            e(Rule::TooManyFields)
        ),
        user(
            "special: lock and ten nested kptrs",
            tagged_ptr("kptr", false, |b| {
                b.head("one", STRUCT, 1, false, 8).member("p", 12, 0); // 13
                b.head("", ARRAY, 0, false, 0).u32(13).u32(1).u32(10); // 14
                b.head("v", STRUCT, 2, false, 88).member("l", LOCK, 0).member("a", 14, 64);
            }),
            ok
        ),
        user(
            "special: lock and eleven nested kptrs",
            tagged_ptr("kptr", false, |b| {
                b.head("one", STRUCT, 1, false, 8).member("p", 12, 0); // 13
                b.head("", ARRAY, 0, false, 0).u32(13).u32(1).u32(11); // 14
                b.head("v", STRUCT, 2, false, 96).member("l", LOCK, 0).member("a", 14, 64);
            }),
            e(Rule::TooManyFields)
        ),
        // graph roots: [10] node_data { d; n }, [11] h { l; head }.
        user("special: list head and its value", list("contains:node_data:n", 1), ok),
        user("special: list head without a tag", list("", 0), e(Rule::GraphRootTag)),
        user("special: list head with two tags", list("contains:node_data:n", 2), e(Rule::GraphRootTag)),
        at("special: list head with two tags (6.7)", list("contains:node_data:n", 2), K67, e(Rule::GraphRootTag)),
        at("special: list head with two tags (6.6: the first is taken)", list("contains:node_data:n", 2), K66, ok),
        // The node's size: 24 bytes from 6.6, 16 before; a member of the
        // other size is no field, and a struct parsed with none is refused
        // (EFAULT).
        at("special: list head and its value (6.6)", list("contains:node_data:n", 1), K66, ok),
        at(
            "special: list head and its value (6.5: a 24-byte node is none)",
            list("contains:node_data:n", 1),
            K65,
            e(Rule::NoSpecialFields)
        ),
        at("special: 16-byte list nodes (6.5)", list_of_16_byte_nodes(), K65, ok),
        at("special: 16-byte list nodes (6.6)", list_of_16_byte_nodes(), K66, e(Rule::NoSpecialFields)),
        user("special: contains without a node", list("contains:node_data", 1), e(Rule::GraphRootTagValue)),
        user("special: contains with an empty node", list("contains:node_data:", 1), e(Rule::GraphRootTagValue)),
        user("special: contains of a missing struct", list("contains:nosuch:n", 1), e(Rule::GraphRootValueMissing)),
        user("special: contains of a missing node", list("contains:node_data:m", 1), e(Rule::GraphRootNodeMissing)),
        user("special: contains of a member no node", list("contains:node_data:d", 1), e(Rule::GraphRootNodeInvalid)),
        user(
            "special: list head without a lock",
            specials(|b| {
                b.head("node_data", STRUCT, 2, false, 32).member("d", 2, 0).member("n", NODE, 64);
                b.head("h", STRUCT, 2, false, 24).member("x", 1, 0).member("head", HEAD, 64);
                b.head("contains:node_data:n", DECL_TAG, 0, false, 11).u32(1);
            }),
            e(Rule::GraphRootWithoutLock)
        ),
        user("special: list head with its lock nested", lock_nested_beside_head(), ok),
        at("special: list head with its lock nested (6.11)", lock_nested_beside_head(), K611, ok),
        at(
            "special: list head with its lock nested (6.10: not found)",
            lock_nested_beside_head(),
            K610,
            e(Rule::GraphRootWithoutLock)
        ),
        user(
            "special: value struct not parsed",
            specials(|b| {
                b.head("bpf_list_node", STRUCT, 3, false, 24).member("a", 2, 0).member("b", 2, 64).member("c", 2, 128);
                b.head("node_data", STRUCT, 2, false, 32).member("d", 2, 0).member("n", 10, 64);
                b.head("h", STRUCT, 2, false, 24).member("l", LOCK, 0).member("head", HEAD, 64);
                b.head("contains:node_data:n", DECL_TAG, 0, false, 12).u32(1);
            }),
            e(Rule::GraphValueNotParsed)
        ),
        user("special: a node that owns a root", node_owning_root(), e(Rule::GraphOwnershipLoop)),
        user("special: a node that owns an rb root", node_owning_rb_root(), e(Rule::GraphOwnershipLoop)),
        // 6.12's stable updates of 2026 bound the ownership graph instead.
        on(
            "special: a node that owns a root (6.12: a cycle)",
            node_owning_root(),
            Profile::UserLoad,
            K612,
            e(Rule::OwnershipTooDeep)
        ),
        on(
            "special: a node that owns an rb root (6.12: three deep)",
            node_owning_rb_root(),
            Profile::UserLoad,
            K612,
            ok
        ),
        on("special: kptr chain of 8 (6.12)", kptr_chain(8, "kptr"), Profile::UserLoad, K612, ok),
        on(
            "special: kptr chain of 9 (6.12)",
            kptr_chain(9, "kptr"),
            Profile::UserLoad,
            K612,
            e(Rule::OwnershipTooDeep)
        ),
        on(
            "special: per-CPU kptr chain of 9 (6.12)",
            kptr_chain(9, "percpu_kptr"),
            Profile::UserLoad,
            K612,
            e(Rule::OwnershipTooDeep)
        ),
        on("special: untrusted kptrs own nothing (6.12)", kptr_chain(9, "kptr_untrusted"), Profile::UserLoad, K612, ok),
        user("special: kptr chain of 9", kptr_chain(9, "kptr"), ok),
        on(
            "special: two structs that own each other by kptrs (6.12)",
            kptr_cycle(),
            Profile::UserLoad,
            K612,
            e(Rule::OwnershipTooDeep)
        ),
        user("special: two structs that own each other by kptrs", kptr_cycle(), ok),
        user("special: two refcounts", two_refcounts(), ok),
        on("special: two refcounts (6.12: unique)", two_refcounts(), Profile::UserLoad, K612, e(Rule::DuplicateField)),
        // The hardening's stable backports, release by release.
        at("special: two refcounts (6.12.113)", two_refcounts(), R612_113, ok),
        at("special: two refcounts (6.12.115)", two_refcounts(), R612_115, e(Rule::DuplicateField)),
        at("special: two refcounts (6.18.51)", two_refcounts(), release(6, 18, 51), ok),
        at("special: two refcounts (6.18.52)", two_refcounts(), release(6, 18, 52), dup),
        at("special: two refcounts (7.2.5)", two_refcounts(), release(7, 2, 5), ok),
        at("special: two refcounts (7.2.6)", two_refcounts(), release(7, 2, 6), dup),
        at("special: locks at two levels (6.12.109)", locks_at_two_levels(), release(6, 12, 109), ok),
        at("special: locks at two levels (6.12.110)", locks_at_two_levels(), release(6, 12, 110), dup),
        at("special: locks at two levels (6.18.52)", locks_at_two_levels(), release(6, 18, 52), dup),
        at("special: locks at two levels (6.18 series)", locks_at_two_levels(), new(6, 18), dup),
        at("special: locks at two levels (7.2.6)", locks_at_two_levels(), release(7, 2, 6), dup),
        at("special: kptr chain of 9 (6.12.111)", kptr_chain(9, "kptr"), release(6, 12, 111), ok),
        at("special: kptr chain of 9 (6.12.113)", kptr_chain(9, "kptr"), R612_113, deep),
        at("special: kptr chain of 9 (6.18 series)", kptr_chain(9, "kptr"), new(6, 18), ok),
        at("special: kptr chain of 9 (7.2.6)", kptr_chain(9, "kptr"), release(7, 2, 6), ok),
        at("special: kptr chain of 9 (7.2.9)", kptr_chain(9, "kptr"), release(7, 2, 9), deep),
        at("special: a node that owns a root (6.12.111)", node_owning_root(), release(6, 12, 111), eloop),
        at("special: a node that owns a root (6.12.113)", node_owning_root(), R612_113, deep),
        on(
            "special: spin locks at two levels (6.12: one set a walk)",
            locks_at_two_levels(),
            Profile::UserLoad,
            K612,
            e(Rule::DuplicateField)
        ),
        // An INT named like the lock: its name is seen, then the INT is
        // ignored; on 6.12 the walk of the second `in` finds it seen (so
        // `in` must not be taken as clean after the first).
        user("special: a struct with a lock-named int, twice", lock_named_int_twice(), ok),
        on(
            "special: a struct with a lock-named int, twice (6.12)",
            lock_named_int_twice(),
            Profile::UserLoad,
            K612,
            e(Rule::DuplicateField)
        ),
        // 7.2: a kptr's tag among all the modifiers after the pointer.
        on("special: kptr with two tags (7.2: one kptr kind)", two_tags("kptr", "other"), Profile::UserLoad, K72, ok),
        on(
            "special: user-tagged pointer beside a lock (7.2: other tags ignored)",
            beside_lock("user"),
            Profile::UserLoad,
            K72,
            ok
        ),
        user("special: kptr and per-CPU kptr tags", two_tags("kptr", "percpu_kptr"), e(Rule::KptrExtraTag)),
        on(
            "special: kptr and per-CPU kptr tags (7.2)",
            two_tags("kptr", "percpu_kptr"),
            Profile::UserLoad,
            K72,
            e(Rule::KptrTagsConflict)
        ),
        // Before 7.2 a tag may not follow a CONST at all.
        user("special: kptr to an int behind a const", kptr_int_behind_const(), e(Rule::TypeTagsAfterModifiers)),
        on(
            "special: kptr to an int behind a const (7.2)",
            kptr_int_behind_const(),
            Profile::UserLoad,
            K72,
            e(Rule::KptrNotStruct)
        ),
        on("special: twice the same kptr tag (7.2)", two_tags("kptr", "kptr"), Profile::UserLoad, K72, ok),
        // 7.2 hardened the layer as 6.12's stable series did.
        on("special: two refcounts (7.2: unique)", two_refcounts(), Profile::UserLoad, K72, e(Rule::DuplicateField)),
        on("special: kptr chain of 9 (7.2)", kptr_chain(9, "kptr"), Profile::UserLoad, K72, e(Rule::OwnershipTooDeep)),
        on("special: uptr beside a lock (7.2: a known tag, no field)", beside_lock("uptr"), Profile::UserLoad, K72, ok),
        user("special: uptr beside a lock is no field", beside_lock("uptr"), ok),
        on(
            "special: uptr beside a lock (6.12: unknown tag)",
            beside_lock("uptr"),
            Profile::UserLoad,
            K612,
            e(Rule::PtrUnknownTag)
        ),
        user(
            "special: rb root and its value",
            specials(|b| {
                b.head("rbv", STRUCT, 2, false, 40).member("d", 2, 0).member("n", RB_NODE, 64);
                b.head("h", STRUCT, 2, false, 24).member("l", LOCK, 0).member("root", ROOT, 64);
                b.head("contains:rbv:n", DECL_TAG, 0, false, 11).u32(1);
            }),
            ok
        ),
        user("special: list and rb nodes without a refcount", both_nodes(0), e(Rule::NodesWithoutRefcount)),
        at("special: list and rb nodes without a refcount (6.4)", both_nodes(8), K64, e(Rule::NodesWithoutRefcount)),
        at("special: list and rb nodes without a refcount (6.3: no refcounts)", both_nodes(8), K63, ok),
        at("special: rb root without a lock (6.3)", rb_root_alone(), K63, e(Rule::GraphRootWithoutLock)),
        at("special: rb root without a lock (6.2: no rb-trees)", rb_root_alone(), KernelVersion::new(6, 2), ok),
        user(
            "special: list and rb nodes with a refcount",
            specials(|b| {
                b.head("v", STRUCT, 3, false, 64)
                    .member("ln", NODE, 0)
                    .member("rn", RB_NODE, 192)
                    .member("r", REFCOUNT, 448);
            }),
            ok
        ),
    ];
    // Every kind in one blob, valid in every profile.
    v.push(on(
        "all kinds (Strict)",
        with_int(|b| {
            b.ptr(1); // 2
            b.head("", ARRAY, 0, false, 0).u32(1).u32(1).u32(2); // 3
            b.head("s", STRUCT, 1, false, 8).member("a", 3, 0); // 4
            b.head("u", UNION, 1, false, 4).member("i", 1, 0); // 5
            b.head("e", ENUM, 0, false, 4); // 6
            b.head("f", FWD, 0, false, 0); // 7
            b.head("t", TYPEDEF, 0, false, 4); // 8
            b.head("", Kind::Volatile as u8, 0, false, 1); // 9
            b.head("", CONST, 0, false, 1); // 10
            b.head("", Kind::Restrict as u8, 0, false, 2); // 11
            b.head("", PROTO, 0, false, 1); // 12
            b.head("fn", FUNC, 0, false, 12); // 13
            b.head("v", VAR, 0, false, 1).u32(1); // 14
            b.head(".bss", DATASEC, 1, false, 4).u32(14).u32(0).u32(4); // 15
            b.head("float", FLOAT, 0, false, 4); // 16
            b.head("tag", DECL_TAG, 0, false, 4).u32(0); // 17
            b.head("tt", TYPE_TAG, 0, false, 1); // 18
            b.head("e64", ENUM64, 0, true, 8); // 19
        }),
        Profile::Strict,
        K618,
        Ok(()),
    ));
    v
}

#[test]
fn every_rule_accepts_and_rejects_as_expected() {
    let export = std::env::var_os("BTFKIT_EXPORT_CASES").map(std::path::PathBuf::from);
    let mut failures = Vec::new();
    for (i, c) in cases().into_iter().enumerate() {
        let got = run(&c.data, c.profile, c.kernel);
        if got != c.expect {
            failures.push(std::format!("{}: expected {:?}, got {:?}", c.name, c.expect, got));
        }
        if let Some(dir) = &export {
            std::fs::create_dir_all(dir).unwrap();
            let slug: String = c.name.chars().map(|ch| if ch.is_ascii_alphanumeric() { ch } else { '-' }).collect();
            std::fs::write(dir.join(std::format!("{i:03}-{slug}.btf")), &c.data).unwrap();
        }
    }
    assert!(failures.is_empty(), "{} cases failed:\n{}", failures.len(), failures.join("\n"));
}

/// `Rule::FieldPastSize`, the kernel's "verifier bug" warning: pass 2
/// keeps every member inside its struct, at the kernel's pointer size,
/// while a kptr field is a `u64` on every kernel. With 4-byte pointers (a
/// 32-bit kernel) a kptr alone in a 4-byte struct passes pass 2 and ends
/// past the struct; with 8-byte pointers pass 2 refuses it first, and an
/// 8-byte struct holds it either way.
#[test]
fn a_kptr_past_its_struct_needs_four_byte_pointers() {
    let kptr_in = |size| {
        tagged_ptr("kptr", false, |b| {
            b.head("v", STRUCT, 1, false, size).member("p", 12, 0);
        })
    };
    let on = |d: &[u8], ptr_size| {
        let opts = ValidateOptions { ptr_size, ..ValidateOptions::new(Profile::UserLoad, K618) };
        let mut scratch = std::vec![0u32; super::scratch_len(d, None, &opts)];
        validate(d, None, &opts, &mut scratch).map_err(|e| (e.rule(), e.type_id()))
    };
    let (small, big) = (kptr_in(4), kptr_in(8));
    assert_eq!(on(&small, 4), Err((Rule::FieldPastSize, Some(crate::TypeId(13)))));
    assert_eq!(on(&small, 8).map_err(|e| e.0), Err(Rule::MemberExceedsStructSize));
    assert_eq!(on(&big, 4), Ok(()));
    assert_eq!(on(&big, 8), Ok(()));
}

/// A backport turns its change on for a version without it, and only
/// that change: Ubuntu's 6.8.0-151 (booted) carries two of the 2026
/// special-field changes, whose verdicts it gives.
#[test]
fn backports_add_their_change_and_no_other() {
    use super::{Backport, Backports};
    let k68 = KernelVersion::new(6, 8);
    let with = |d: &[u8], k, backports| {
        let opts = ValidateOptions { backports, ..ValidateOptions::new(Profile::UserLoad, k) };
        let mut scratch = std::vec![0u32; super::scratch_len(d, None, &opts)];
        validate(d, None, &opts, &mut scratch).map_err(|e| e.rule())
    };
    let ubuntu = Backports::NONE.with(Backport::RefcountUnique).with(Backport::OwnershipDepth);
    assert_eq!(with(&two_refcounts(), k68, Backports::NONE), Ok(()));
    assert_eq!(with(&two_refcounts(), k68, ubuntu), Err(Rule::DuplicateField));
    assert_eq!(with(&node_owning_rb_root(), k68, Backports::NONE), Err(Rule::GraphOwnershipLoop));
    assert_eq!(with(&node_owning_rb_root(), k68, ubuntu), Ok(()));
    assert_eq!(with(&node_owning_root(), k68, ubuntu), Err(Rule::OwnershipTooDeep));
    // Not the third part: there is no nested walk on 6.8 to share a set.
    assert_eq!(with(&locks_at_two_levels(), KernelVersion::new(6, 11), ubuntu), Ok(()));
    let one_set = ubuntu.with(Backport::OneSeenSet);
    assert_eq!(with(&locks_at_two_levels(), KernelVersion::new(6, 11), one_set), Err(Rule::DuplicateField));
    // Ubuntu's 6.2 has 6.3's rb-trees.
    let k62 = KernelVersion::new(6, 2);
    assert_eq!(with(&rb_root_alone(), k62, Backports::NONE), Ok(()));
    assert_eq!(with(&rb_root_alone(), k62, Backports::NONE.with(Backport::RbTree)), Err(Rule::GraphRootWithoutLock));
    // Outside the special fields: dots in a name before 6.4.
    let dotted = with_int(|b| {
        b.head("", PROTO, 0, false, 1).head("f.isra.0", FUNC, 0, false, 2);
    });
    assert_eq!(with(&dotted, KernelVersion::new(5, 4), Backports::NONE), Err(Rule::InvalidName));
    assert_eq!(with(&dotted, KernelVersion::new(5, 4), Backports::NONE.with(Backport::Dots)), Ok(()));
    for b in Backport::ALL {
        assert_eq!(Backport::from_name(b.name()), Some(b));
        assert!(Backports::NONE.with(b).contains(b));
        assert!(Backport::ALL.iter().filter(|&&o| o != b).all(|&o| !Backports::NONE.with(b).contains(o)));
    }
    assert_eq!(Backport::from_name("nosuch"), None);
    assert_eq!(ubuntu.union(Backports::NONE.with(Backport::Dots)), ubuntu.with(Backport::Dots));
}

#[test]
fn big_endian_validates_like_little_endian_off_the_userload_path() {
    let mut b = Builder::new(Endian::Big);
    b.int("int", 4, 32, 1);
    b.head("s", STRUCT, 1, false, 4).member("a", 1, 0);
    let be = b.build();
    assert_eq!(run(&be, Profile::Strict, K618), Ok(()));
    // The kernel reads the host's byte order only.
    let host_is_le = Endian::NATIVE == Endian::Little;
    assert_eq!(run(&be, Profile::UserLoad, K618).is_ok(), !host_is_le);
}

#[test]
fn errors_name_type_offset_and_index() {
    let d = with_int(|b| {
        b.head("s", STRUCT, 2, false, 8).member("a", 1, 0).member("-", 1, 32);
    });
    let opts = ValidateOptions::new(Profile::UserLoad, K618);
    let mut scratch = std::vec![0u32; super::scratch_len(&d, None, &opts)];
    let e = validate(&d, None, &opts, &mut scratch).unwrap_err();
    assert_eq!((e.rule(), e.type_id(), e.index()), (Rule::InvalidMemberName, Some(crate::TypeId(2)), Some(1)));
    // member 1 of the record at 24 + 16: head 12 + 12 bytes per member
    assert_eq!(e.offset(), 24 + 16 + 12 + 12);
    assert_eq!(std::format!("{e}"), "[2] Invalid member name (member/entry 1) at byte 0x40");
}

/// A type-tag error names the modifier whose chain it is found in, the
/// first in id order: here the tag that starts the chain, not the CONST
/// after it (whose own chain breaks the rule too).
#[test]
fn type_tag_errors_name_the_first_chain() {
    let d = with_int(|b| {
        b.head("t", TYPE_TAG, 0, false, 3).head("", CONST, 0, false, 4).head("u", TYPE_TAG, 0, false, 1);
    });
    for profile in [Profile::UserLoad, Profile::Vmlinux, Profile::Strict] {
        let opts = ValidateOptions::new(profile, K618);
        let mut scratch = std::vec![0u32; super::scratch_len(&d, None, &opts)];
        let e = validate(&d, None, &opts, &mut scratch).unwrap_err();
        assert_eq!((e.rule(), e.type_id()), (Rule::TypeTagsAfterModifiers, Some(crate::TypeId(2))), "{profile:?}");
    }
}

/// Quirk 1: past BTF_MAX_TYPE types (the 16 MiB of a user load hold a
/// million PTRs), the kernel drops the rest silently, after their meta
/// check; `UserLoad` emulates that, `Strict` refuses the first one over.
/// The 12.6 MB blob (`BTFKIT_EXPORT_QUIRK1=FILE` writes it) loads into a
/// 6.18 kernel.
#[test]
fn types_past_btf_max_type_are_dropped_by_userload_refused_by_strict() {
    let max = crate::raw::BTF_MAX_TYPE;
    // [1] int, [2..=max-1] PTR -> int, then three more: ids max..=max+2.
    let over = |last: &dyn Fn(&mut Builder)| {
        with_int(|b| {
            for _ in 2..max + 2 {
                b.ptr(1);
            }
            last(b);
        })
    };
    let ok = over(&|b: &mut Builder| {
        b.ptr(1);
    });
    if let Some(f) = std::env::var_os("BTFKIT_EXPORT_QUIRK1") {
        std::fs::write(f, &ok).unwrap();
    }
    assert!(ok.len() < 16 << 20);
    assert_eq!(run(&ok, Profile::UserLoad, K618), Ok(()));
    let opts = ValidateOptions::new(Profile::Strict, K618);
    let mut scratch = std::vec![0u32; super::scratch_len(&ok, None, &opts)];
    let e = validate(&ok, None, &opts, &mut scratch).unwrap_err();
    assert_eq!((e.rule(), e.type_id()), (Rule::TooManyTypes, Some(crate::TypeId(max))));
    // 24-byte header, 16-byte int, 12-byte PTRs from id 2.
    assert_eq!(e.offset(), 24 + 16 + (max - 2) * 12);
    // A dropped record still gets its meta check.
    let bad = over(&|b: &mut Builder| {
        b.head("", PTR, 1, false, 1);
    });
    assert_eq!(run(&bad, Profile::UserLoad, K618), Err(Rule::VlenNotZero));
}

#[test]
fn scratch_too_small_is_an_error_not_a_panic() {
    let d = with_int(|b| {
        b.ptr(1);
    });
    let opts = ValidateOptions::new(Profile::UserLoad, K618);
    let mut scratch = [0u32; 2];
    let e = validate(&d, None, &opts, &mut scratch).unwrap_err();
    assert_eq!(e.rule(), Rule::TooManyTypes);
}

#[test]
fn ends8_agrees_with_the_byte_classes() {
    let byte_ok = |c: u8, dot: bool| {
        let want = super::ALPHA | super::DIGIT | super::UNDERSCORE | if dot { super::DOT } else { 0 };
        c < 0x80 && super::CTYPE[usize::from(c)] & want != 0
    };
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let interesting = [
        0u8, b'.', b'_', b'a', b'z', b'A', b'Z', b'0', b'9', b'@', b'[', b'`', b'{', b'/', b':', 0x7f, 0x80, 0xc0, b' ',
    ];
    for round in 0..200_000u32 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let mut b = [b'a'; 8];
        for (i, slot) in b.iter_mut().enumerate() {
            let r = (x >> (i * 8)) as u8;
            *slot = if round % 2 == 0 { interesting[usize::from(r) % interesting.len()] } else { r };
        }
        if round % 3 == 0 {
            let i = (x >> 60) as usize % 8;
            b = [b'_'; 8];
            b[i] = (x >> 40) as u8;
        }
        for dot in [false, true] {
            let want = b.iter().enumerate().fold(0u64, |m, (i, &c)| if byte_ok(c, dot) { m } else { m | 1 << i });
            assert_eq!(super::names::ends8(u64::from_le_bytes(b), dot), want, "{b:?} dot={dot}");
        }
    }
    for c in 0..=255u8 {
        for dot in [false, true] {
            let b = [c; 8];
            let want = if byte_ok(c, dot) { 0 } else { 0xff };
            assert_eq!(super::names::ends8(u64::from_le_bytes(b), dot), want, "{c:#x}");
        }
    }
}

#[test]
fn reused_scratch_does_not_carry_name_verdicts_over() {
    // Same layout, same string offsets: "abc" is a valid identifier, "ab-"
    // is not. A scratch reused from the first blob must not vouch for the
    // second one's name.
    let good = with_int(|b| {
        b.head("abc", STRUCT, 0, false, 4);
    });
    let bad = with_int(|b| {
        b.head("ab-", STRUCT, 0, false, 4);
    });
    assert_eq!(good.len(), bad.len());
    let opts = ValidateOptions::new(Profile::UserLoad, K618);
    let mut scratch = std::vec![0u32; super::scratch_len(&good, None, &opts)];
    assert!(validate(&good, None, &opts, &mut scratch).is_ok());
    let e = validate(&bad, None, &opts, &mut scratch).unwrap_err();
    assert_eq!(e.rule(), Rule::InvalidName);
    // And across kernels: `.` in a STRUCT name is an identifier only from
    // 6.4 (and in the stable series that took the change, 5.15 among them).
    let dotted = with_int(|b| {
        b.head("a.b", STRUCT, 0, false, 4);
    });
    let new = ValidateOptions::new(Profile::UserLoad, K618);
    let old = ValidateOptions::new(Profile::UserLoad, KernelVersion::new(5, 16));
    let mut scratch = std::vec![0u32; super::scratch_len(&dotted, None, &new)];
    assert!(validate(&dotted, None, &new, &mut scratch).is_ok());
    assert_eq!(validate(&dotted, None, &old, &mut scratch).unwrap_err().rule(), Rule::InvalidName);
}

/// Pass 1's fast path finds what `check_meta` finds: on random records of
/// every kind (mostly the fast ones, with their fields now and then just
/// past a limit), standalone and split over a base with classified names,
/// under each profile that applies and three kernels, the verdict (rule,
/// offset, type, index) and every scratch word are those of validation
/// without it.
/// The fast paths' verdict and scratch words must be the plain passes';
/// `tally` counts the verdicts (accepted, refused).
fn agree(
    fast: &Result<(), super::ValidationError>,
    slow: &Result<(), super::ValidationError>,
    fast_words: &[u32],
    slow_words: &[u32],
    data: &[u8],
    what: &str,
    tally: &mut [u32; 2],
) {
    assert_eq!(fast, slow, "{what}: {data:02x?}");
    assert_eq!(fast_words, slow_words, "{what}: scratch differs");
    if let Some(n) = tally.get_mut(usize::from(fast.is_err())) {
        *n += 1;
    }
}

/// `validate` and `validate_unoptimized` of a standalone `data`, each from
/// zeroed scratch, held to each other by [`agree`]; the verdict.
fn fast_and_plain(
    data: &[u8],
    opts: ValidateOptions,
    what: &str,
    tally: &mut [u32; 2],
) -> Result<(), super::ValidationError> {
    let len = super::scratch_len(data, None, &opts);
    let (mut s1, mut s2) = (std::vec![0u32; len], std::vec![0u32; len]);
    let fast = validate(data, None, &opts, &mut s1);
    let slow = super::validate_unoptimized(data, None, &opts, &mut s2);
    agree(&fast, &slow, &s1, &s2, data, what, tally);
    fast
}

#[test]
fn fast_meta_agrees_with_check_meta() {
    use super::{BaseNames, validate_split, validate_unoptimized};
    use crate::{Btf, ParseOptions};
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut rnd = move |n: u32| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed >> 32) as u32 % n.max(1)
    };
    // Strings: identifiers (one with a dot), broken names, Latin-1
    // letters, a name too long for any kernel, an empty one. Returns the
    // offsets of the plain identifiers.
    let pieces: [&[u8]; 9] = [b"abc", b"_x1", b"a.b", b"1ab", b"a-b", b"\xe9t\xe9", b"", b"q", &[b'n'; 600]];
    let fill = |b: &mut Builder, rnd: &mut dyn FnMut(u32) -> u32| {
        let mut good = Vec::new();
        for _ in 0..12 {
            let i = rnd(pieces.len() as u32) as usize;
            if matches!(i, 0 | 1 | 7) {
                good.push(b.str_base + b.strs.len() as u32);
            }
            b.strs.extend_from_slice(pieces[i]);
            b.strs.push(0);
        }
        good.push(b.str("ok"));
        good
    };
    // A base: `[1] int`, its strings classified once per kernel.
    let mut base_b = Builder::new(Endian::Little);
    base_b.int("int", 4, 32, 1);
    let base_good = fill(&mut base_b, &mut rnd);
    let base_blob = base_b.build();
    let mut index = std::vec![0u32; Btf::index_len_bound(&base_blob)];
    let base = Btf::parse_indexed(&base_blob, None, ParseOptions::default(), &mut index).unwrap();
    let base_len = base.header().str_len;
    let kinds = [PTR, CONST, TYPEDEF, FUNC, PROTO, 9, 11, INT, STRUCT, TYPE_TAG, ENUM, ARRAY, UNION, ENUM64];
    let mut tally = [0u32; 2];
    for round in 0..6000 {
        let split = round % 2 == 1;
        // One field in `odds` is broken: often, or rarely.
        let odds = if round % 4 < 2 { 50 } else { 5 };
        let mut b = if split { Builder::split(Endian::Little, base_len) } else { Builder::new(Endian::Little) };
        let mut good = fill(&mut b, &mut rnd);
        if split {
            good.extend_from_slice(&base_good);
        }
        let str_end = b.str_base + b.strs.len() as u32;
        let n = 1 + rnd(6);
        let bad = |rnd: &mut dyn FnMut(u32) -> u32| rnd(odds) == 0;
        for id in 1..=n {
            let id = id + u32::from(split);
            let kind = if bad(&mut rnd) { rnd(32) as u8 } else { kinds[rnd(kinds.len() as u32) as usize] };
            let named = !matches!(kind, PTR | CONST | 9 | 11 | PROTO | ARRAY);
            let name = if bad(&mut rnd) {
                [0, rnd(str_end + 2), 0x00ff_ffff + rnd(3)][rnd(3) as usize]
            } else if named {
                good[rnd(good.len() as u32) as usize]
            } else {
                0
            };
            let members = matches!(kind, PROTO | STRUCT | UNION | ENUM | ENUM64);
            let vlen = if bad(&mut rnd) {
                [1 + rnd(3), 1 << (16 + rnd(8)), rnd(0x1_0000)][rnd(3) as usize]
            } else if members || kind == FUNC {
                rnd(3)
            } else {
                0
            }
            .min(if members { 4 } else { u32::MAX });
            let kflag = bad(&mut rnd);
            // Types refer to earlier ones (void, `int`), or not.
            let st = if bad(&mut rnd) {
                [rnd(n + 3), 0x000f_ffff + rnd(3)][rnd(2) as usize]
            } else if kind == FUNC {
                id + 1
            } else if matches!(kind, STRUCT | UNION | ENUM | ENUM64 | INT) {
                4
            } else if kind == ARRAY {
                0
            } else {
                rnd(id)
            };
            let extra = if bad(&mut rnd) { 1 << (16 + rnd(15)) } else { 0 };
            b.u32(name).u32(VlenEncoding::Bits16.encode(kind, vlen, kflag) | extra).u32(st);
            let some_name = |rnd: &mut dyn FnMut(u32) -> u32| good[rnd(good.len() as u32) as usize];
            match kind {
                INT => {
                    b.u32(32);
                }
                PROTO => {
                    for _ in 0..vlen {
                        let pname = if rnd(4) == 0 { 0 } else { some_name(&mut rnd) };
                        b.u32(pname).u32(if pname == 0 { 0 } else { rnd(id) });
                    }
                }
                STRUCT | UNION => {
                    // Offsets in order within the size, or not; a bitfield
                    // size (or a high offset) in the top byte.
                    for i in 0..vlen {
                        let mname = if rnd(4) == 0 { 0 } else { some_name(&mut rnd) };
                        let off = if bad(&mut rnd) { [40, 1 << 24, 0][rnd(3) as usize] } else { 8 * i };
                        b.u32(mname).u32(if bad(&mut rnd) { 0 } else { 1 }).u32(off);
                    }
                }
                ENUM | ENUM64 => {
                    for i in 0..vlen {
                        b.u32(some_name(&mut rnd)).u32(i);
                        if kind == ENUM64 {
                            b.u32(0);
                        }
                    }
                }
                ARRAY => {
                    let (elem, index) =
                        if bad(&mut rnd) { ([0, 0x10_0000, 1][rnd(3) as usize], rnd(2)) } else { (1, 1) };
                    b.u32(elem).u32(index).u32(rnd(4));
                }
                _ => {}
            }
        }
        if bad(&mut rnd) {
            let cut = rnd(b.types.len() as u32) as usize;
            b.types.truncate(cut);
        }
        let data = b.build();
        for profile in [Profile::UserLoad, Profile::Vmlinux, Profile::Strict, Profile::Module] {
            // Standalone: all but Module; split: Strict and Module.
            if split == matches!(profile, Profile::UserLoad | Profile::Vmlinux) && profile != Profile::Strict {
                continue;
            }
            let on_base = split.then_some(&base);
            for k in [K618, KernelVersion::new(5, 4), KernelVersion::new(7, 2)] {
                let opts = ValidateOptions::new(profile, k);
                let len = super::scratch_len(&data, on_base, &opts);
                let (mut s1, mut s2) = (std::vec![0u32; len], std::vec![0u32; len]);
                let fast = match on_base {
                    Some(base) => {
                        let mut words = std::vec![0u32; BaseNames::words_needed(base)];
                        let names = BaseNames::new(base, k, &mut words).unwrap();
                        validate_split(&data, base, &names, &opts, &mut s1)
                    }
                    None => validate(&data, None, &opts, &mut s1),
                };
                let slow = validate_unoptimized(&data, on_base, &opts, &mut s2);
                agree(&fast, &slow, &s1, &s2, &data, &std::format!("round {round} {profile:?} {k}"), &mut tally);
            }
        }
    }
    // Both directions, many times.
    let [accepted, refused] = tally;
    assert!(accepted > 3000 && refused > 3000, "{accepted} accepted, {refused} refused");
}

/// Pass 2's fast paths against the plain passes, on small blobs built for
/// pass 2: every kind that resolves,
/// targets before and after the referring type (and itself, and void),
/// structs with and without kind_flag and bitfields, arrays of every
/// size, prototypes with and without a trailing void. The verdict (rule,
/// offset, type, index) and every scratch word must be the same.
#[test]
fn pass_2_fast_paths_agree_with_the_plain_walk() {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut rnd = move |n: u32| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed >> 32) as u32 % n.max(1)
    };
    let kinds = [
        INT, INT, PTR, PTR, ARRAY, ARRAY, STRUCT, STRUCT, UNION, ENUM, ENUM64, FWD, TYPEDEF, TYPEDEF, CONST, 9, 11,
        FUNC, PROTO, PROTO, VAR, FLOAT, TYPE_TAG, DECL_TAG,
    ];
    let mut tally = [0u32; 2];
    for round in 0..20000 {
        let mut b = Builder::new(Endian::Little);
        let names = [b.str("a"), b.str("b_1"), b.str("c")];
        let bad_name = b.str("1x");
        let n = 2 + rnd(12);
        // Mostly earlier types, sometimes later ones, itself, or void.
        let target = |rnd: &mut dyn FnMut(u32) -> u32, id: u32| match rnd(16) {
            0 => rnd(n + 2),
            1 => 0,
            // Strictly earlier: 1..id (void for the first type).
            _ if id > 1 => 1 + rnd(id - 1),
            _ => 0,
        };
        let mut kind_of = std::vec::Vec::new();
        for id in 1..=n {
            // Type 1 is an int more often than not: an index type.
            let kind = if id == 1 && rnd(4) != 0 { INT } else { kinds[rnd(kinds.len() as u32) as usize] };
            kind_of.push(kind);
            let name = names[rnd(3) as usize];
            match kind {
                INT => {
                    let (size, bits, off) =
                        [(4, 32, 0), (1, 8, 0), (8, 64, 0), (4, 5, 0), (4, 3, 2), (2, 16, 0)][rnd(6) as usize];
                    b.u32(name).u32(VlenEncoding::Bits16.encode(INT, 0, false)).u32(size);
                    b.u32((off << 16) | bits);
                }
                PTR | CONST | 9 | 11 | TYPE_TAG | TYPEDEF => {
                    let nm = if matches!(kind, TYPEDEF | TYPE_TAG) { name } else { 0 };
                    b.u32(nm).u32(VlenEncoding::Bits16.encode(kind, 0, false)).u32(target(&mut rnd, id));
                }
                ARRAY => {
                    b.u32(0).u32(VlenEncoding::Bits16.encode(ARRAY, 0, false)).u32(0);
                    let nelems = [0, 1, 3, 7, 0x4000_0000, u32::MAX][rnd(6) as usize];
                    let index = if rnd(4) == 0 { target(&mut rnd, id) } else { 1 };
                    b.u32(target(&mut rnd, id).max(1)).u32(index.max(1)).u32(nelems);
                }
                STRUCT | UNION => {
                    let vlen = rnd(4);
                    let kflag = rnd(3) == 0;
                    let mut off = 0;
                    let mut members = std::vec::Vec::new();
                    for _ in 0..vlen {
                        let bits = if kflag && rnd(3) == 0 { (1 + rnd(40)) << 24 } else { 0 };
                        let bo = if kind == UNION { 0 } else { off };
                        members.push((names[rnd(3) as usize], target(&mut rnd, id).max(1), bits | bo));
                        off += [0, 1, 3, 8, 32, 64, 64, 64][rnd(8) as usize];
                    }
                    // Big enough for most members, or not.
                    let size = if rnd(4) == 0 { [0, 4, 8, 16][rnd(4) as usize] } else { off / 8 + 16 };
                    b.u32(name).u32(VlenEncoding::Bits16.encode(kind, vlen, kflag)).u32(size);
                    for (mname, mty, moff) in members {
                        b.u32(mname).u32(mty).u32(moff);
                    }
                }
                ENUM | ENUM64 => {
                    let size = [1, 2, 4, 8][rnd(4) as usize];
                    b.u32(name).u32(VlenEncoding::Bits16.encode(kind, 1, false)).u32(size);
                    b.u32(names[0]).u32(1);
                    if kind == ENUM64 {
                        b.u32(0);
                    }
                }
                FWD => {
                    b.u32(name).u32(VlenEncoding::Bits16.encode(FWD, 0, false)).u32(0);
                }
                FUNC => {
                    b.u32(name).u32(VlenEncoding::Bits16.encode(FUNC, rnd(2), false)).u32(target(&mut rnd, id));
                }
                PROTO => {
                    let vlen = rnd(4);
                    b.u32(0).u32(VlenEncoding::Bits16.encode(PROTO, vlen, false)).u32(target(&mut rnd, id));
                    for i in 0..vlen {
                        let last = i + 1 == vlen;
                        if last && rnd(3) == 0 {
                            b.u32(0).u32(0);
                        } else {
                            let pname = match rnd(16) {
                                0 | 1 => 0,
                                2 => bad_name,
                                _ => names[rnd(3) as usize],
                            };
                            b.u32(pname).u32(target(&mut rnd, id));
                        }
                    }
                }
                VAR => {
                    b.u32(name).u32(VlenEncoding::Bits16.encode(VAR, 0, false)).u32(target(&mut rnd, id));
                    b.u32(rnd(2));
                }
                FLOAT => {
                    b.u32(name).u32(VlenEncoding::Bits16.encode(FLOAT, 0, false)).u32([4, 8][rnd(2) as usize]);
                }
                _ => {
                    // DECL_TAG on a member, the whole type, or a parameter.
                    b.u32(name).u32(VlenEncoding::Bits16.encode(DECL_TAG, 0, false)).u32(target(&mut rnd, id));
                    b.u32([u32::MAX, 0, 1][rnd(3) as usize]);
                }
            }
        }
        let data = b.build();
        for profile in [Profile::UserLoad, Profile::Strict] {
            for k in [K618, KernelVersion::new(5, 4)] {
                let what = std::format!("round {round} {profile:?} {k} kinds {kind_of:?}");
                let _ = fast_and_plain(&data, ValidateOptions::new(profile, k), &what, &mut tally);
            }
        }
    }
    let [accepted, refused] = tally;
    assert!(accepted > 10000 && refused > 10000, "{accepted} accepted, {refused} refused");
}

/// The walk-free paths through types that come later (a struct walk
/// resolving a member's struct or array in place, a modifier resolved
/// through its struct, array or PTR target) leave the verdict and every
/// scratch word as the walk does: at the resolve depth limit, around
/// loops, and where the target itself needs a walk.
#[test]
fn walk_free_paths_through_later_types_agree_with_the_walk() {
    let enc = |kind: u8, vlen: u32| VlenEncoding::Bits16.encode(kind, vlen, false);
    let mut cases: Vec<(String, Vec<u8>, Option<Rule>)> = Vec::new();
    // Structs 2..=d+1, each one member of the next; the last one an int.
    for d in [30, 31, 32, 33, 34] {
        let mut b = Builder::new(Endian::Little);
        let x = b.str("x");
        b.u32(0).u32(enc(INT, 0)).u32(4).u32(32);
        for i in 0..d {
            let next = if i + 1 == d { 1 } else { i + 3 };
            b.u32(0).u32(enc(STRUCT, 1)).u32(4).u32(x).u32(next).u32(0);
        }
        // The kernel's stack holds 32: a chain of 33 overflows it.
        let expect = (d > 32).then_some(Rule::MaxResolveDepth);
        cases.push((std::format!("struct chain of {d}"), b.build(), expect));
    }
    let mut b = Builder::new(Endian::Little);
    let (t, x) = (b.str("t"), b.str("x"));
    b.u32(0).u32(enc(INT, 0)).u32(4).u32(32); // 1
    b.u32(t).u32(enc(TYPEDEF, 0)).u32(4); // 2 -> struct 4
    b.u32(t).u32(enc(TYPEDEF, 0)).u32(5); // 3 -> ptr 5
    b.u32(0).u32(enc(STRUCT, 2)).u32(16).u32(x).u32(1).u32(0).u32(x).u32(6).u32(64); // 4: int, array 6
    b.u32(0).u32(enc(PTR, 0)).u32(2); // 5 -> typedef 2
    b.u32(0).u32(enc(ARRAY, 0)).u32(0).u32(1).u32(1).u32(2); // 6: int[2]
    cases.push(("typedefs of a later struct and a later pointer".into(), b.build(), None));
    let mut b = Builder::new(Endian::Little);
    let (t, x) = (b.str("t"), b.str("x"));
    b.u32(t).u32(enc(TYPEDEF, 0)).u32(2); // 1 -> ptr 2
    b.u32(0).u32(enc(PTR, 0)).u32(1); // 2 -> typedef 1: a loop
    b.u32(0).u32(enc(STRUCT, 1)).u32(8).u32(x).u32(1).u32(0);
    cases.push(("typedef of a pointer to itself".into(), b.build(), Some(Rule::LoopDetected)));
    let mut b = Builder::new(Endian::Little);
    let x = b.str("x");
    b.u32(0).u32(enc(INT, 0)).u32(4).u32(32); // 1
    b.u32(0).u32(enc(CONST, 0)).u32(3); // 2 -> array 3
    b.u32(0).u32(enc(ARRAY, 0)).u32(0).u32(4).u32(1).u32(3); // 3: struct 4 [3]
    b.u32(0).u32(enc(STRUCT, 2)).u32(16).u32(x).u32(5).u32(0).u32(x).u32(2).u32(64); // 4: ptr, const 2
    b.u32(0).u32(enc(PTR, 0)).u32(2); // 5 -> const 2
    cases.push(("an array of a struct that holds the array".into(), b.build(), Some(Rule::LoopDetected)));
    let mut b = Builder::new(Endian::Little);
    let (t, x) = (b.str("t"), b.str("x"));
    b.u32(0).u32(enc(INT, 0)).u32(4).u32(32); // 1
    b.u32(0).u32(enc(STRUCT, 2)).u32(8).u32(x).u32(3).u32(0).u32(x).u32(4).u32(32); // 2: struct 3, typedef 4
    b.u32(0).u32(enc(STRUCT, 1)).u32(4).u32(x).u32(1).u32(0); // 3
    b.u32(t).u32(enc(TYPEDEF, 0)).u32(5); // 4 -> array 5
    b.u32(0).u32(enc(ARRAY, 0)).u32(0).u32(1).u32(1).u32(1); // 5: int[1]
    b.u32(0).u32(enc(STRUCT, 1)).u32(2).u32(x).u32(3).u32(0); // 6: struct 3 in 2 bytes
    cases.push((
        "a struct too small for a struct resolved in place".into(),
        b.build(),
        Some(Rule::MemberExceedsStructSize),
    ));
    for (what, data, expect) in cases {
        for profile in [Profile::UserLoad, Profile::Strict] {
            for k in [K618, KernelVersion::new(5, 4)] {
                let what = std::format!("{what} ({profile:?}, {k})");
                let fast = fast_and_plain(&data, ValidateOptions::new(profile, k), &what, &mut [0; 2]);
                assert_eq!(fast.map_err(|e| e.rule()).err(), expect, "{what}");
            }
        }
    }
}

/// A name whose offset is past the largest name offset (2^24 - 1) is
/// refused, on the fast paths too: a split blob's own strings can start
/// near or past it. Its base's strings fill the offsets below.
#[test]
fn names_past_the_largest_offset_are_refused_on_every_path() {
    use super::{BaseNames, validate_split, validate_unoptimized};
    use crate::{Btf, ParseOptions};
    for (base_len, names, expect) in [
        // "t" at 2^24 - 2, "u" at 2^24: the second is past the largest.
        (0x00ff_fffe_usize, ["t", "u"], Err(Rule::InvalidNameOffset)),
        (0x00ff_fffe, ["t", "t"], Ok(())),
        // All of the split's strings are past it.
        (0x0100_0000, ["t", "t"], Err(Rule::InvalidNameOffset)),
    ] {
        let mut base_b = Builder::new(Endian::Little);
        base_b.int("int", 4, 32, 1);
        base_b.strs.resize(base_len - 1, b'a');
        base_b.strs.push(0);
        let base_blob = base_b.build();
        let mut index = std::vec![0u32; Btf::index_len_bound(&base_blob)];
        let base = Btf::parse_indexed(&base_blob, None, ParseOptions::default(), &mut index).unwrap();
        let mut b = Builder::split(Endian::Little, base_len as u32);
        b.head(names[0], TYPEDEF, 0, false, 1);
        // The second name: a new string, or the first one again.
        let second = if names[1] == names[0] { base_len as u32 } else { b.str(names[1]) };
        b.u32(second).u32(VlenEncoding::Bits16.encode(TYPEDEF, 0, false)).u32(1);
        let data = b.build();
        for profile in [Profile::Module, Profile::Strict] {
            let opts = ValidateOptions::new(profile, K618);
            let len = super::scratch_len(&data, Some(&base), &opts);
            let mut scratch = std::vec![0u32; len];
            let mut words = std::vec![0u32; BaseNames::words_needed(&base)];
            let base_names = BaseNames::new(&base, K618, &mut words).unwrap();
            let what = std::format!("base strings {base_len:#x}, names {names:?}, {profile:?}");
            let plain = validate(&data, Some(&base), &opts, &mut scratch).map_err(|e| e.rule());
            assert_eq!(plain, expect, "{what}: validate");
            let split = validate_split(&data, &base, &base_names, &opts, &mut scratch).map_err(|e| e.rule());
            assert_eq!(split, expect, "{what}: validate_split");
            let slow = validate_unoptimized(&data, Some(&base), &opts, &mut scratch).map_err(|e| e.rule());
            assert_eq!(slow, expect, "{what}: without the fast paths");
        }
    }
}

/// Name offset 0 is no name, also over a base whose strings break the base
/// rules by not starting with NUL (the parser takes such a base; the name
/// classes then confirm a name at 0). Found by the `validate` fuzz target,
/// which holds `validate_split` to `validate`.
#[test]
fn offset_zero_is_no_name_over_any_base() {
    use super::{BaseNames, validate_split};
    use crate::{Btf, ParseOptions};
    let mut base_b = Builder::new(Endian::Little);
    base_b.strs = std::vec![b'c', 0];
    let base_blob = base_b.build();
    let mut index = std::vec![0u32; Btf::index_len_bound(&base_blob)];
    let base = Btf::parse_indexed(&base_blob, None, ParseOptions::default(), &mut index).unwrap();
    let mut words = std::vec![0u32; BaseNames::words_needed(&base)];
    let names = BaseNames::new(&base, K618, &mut words).unwrap();
    let typedef = |b: &mut Builder| {
        b.u32(0).u32(VlenEncoding::Bits16.encode(TYPEDEF, 0, false)).u32(0);
    };
    let enum_value = |b: &mut Builder| {
        b.u32(0).u32(VlenEncoding::Bits16.encode(ENUM, 1, false)).u32(4).u32(0).u32(1);
    };
    for (what, add, rule) in [
        ("typedef", &typedef as &dyn Fn(&mut Builder), Rule::InvalidName),
        ("enum value", &enum_value, Rule::InvalidName),
    ] {
        let mut b = Builder::split(Endian::Little, 2);
        add(&mut b);
        b.strs.push(0);
        let data = b.build();
        for profile in [Profile::Module, Profile::Strict] {
            let opts = ValidateOptions::new(profile, K618);
            let mut scratch = std::vec![0u32; super::scratch_len(&data, Some(&base), &opts)];
            let plain = validate(&data, Some(&base), &opts, &mut scratch).map_err(|e| e.rule());
            let shared = validate_split(&data, &base, &names, &opts, &mut scratch).map_err(|e| e.rule());
            assert_eq!((plain, shared), (Err(rule), Err(rule)), "{what} {profile:?}");
        }
    }
}

#[test]
fn special_fields_turn_off_and_name_the_member() {
    let d = specials(|b| {
        b.head("in", STRUCT, 1, false, 4).member("x", 1, 0); // 10
        b.head("v", STRUCT, 3, false, 12).member("a", LOCK, 0).member("i", 10, 32).member("b", LOCK, 64);
    });
    let mut opts = ValidateOptions::new(Profile::UserLoad, K618);
    let mut scratch = std::vec![0u32; super::scratch_len(&d, None, &opts)];
    let e = validate(&d, None, &opts, &mut scratch).unwrap_err();
    assert_eq!((e.rule(), e.type_id(), e.index()), (Rule::DuplicateField, Some(crate::TypeId(11)), Some(2)));
    // The struct walked in between is marked clean: a second run over the
    // same (dirty) scratch gives the same verdict.
    assert_eq!(validate(&d, None, &opts, &mut scratch).unwrap_err(), e);
    opts.special_fields = false;
    validate(&d, None, &opts, &mut scratch).unwrap();
}

#[test]
fn kptrs_to_kernel_structs_need_their_destructor() {
    use super::{KernelStruct, KernelStructs, validate_in_kernel};
    struct K;
    impl KernelStructs for K {
        fn lookup(&self, name: &[u8]) -> KernelStruct {
            match name {
                b"foo" => KernelStruct::Present { destructor: false },
                b"bar" => KernelStruct::Present { destructor: true },
                _ => KernelStruct::Absent,
            }
        }
    }
    // [10] struct NAME { long x; }, [11] tag TAG -> 10, [12] ptr -> 11,
    // [13] struct v { lock; ptr }.
    let blob = |name: &'static str, tag: &'static str| {
        specials(|b| {
            b.head(name, STRUCT, 1, false, 8).member("x", 2, 0);
            b.head(tag, TYPE_TAG, 0, false, 10).ptr(11);
            b.head("v", STRUCT, 2, false, 16).member("l", LOCK, 0).member("p", 12, 64);
        })
    };
    let opts = ValidateOptions::new(Profile::UserLoad, K618);
    let check = |d: &[u8]| {
        let mut scratch = std::vec![0u32; super::scratch_len(d, None, &opts)];
        let plain = validate(d, None, &opts, &mut scratch).map_err(|e| e.rule());
        let kernel = validate_in_kernel(d, &opts, &mut scratch, &K).map_err(|e| e.rule());
        (plain, kernel)
    };
    assert_eq!(check(&blob("foo", "kptr")), (Ok(()), Err(Rule::KptrNoDestructor)));
    assert_eq!(check(&blob("bar", "kptr")), (Ok(()), Ok(())));
    assert_eq!(check(&blob("baz", "kptr")), (Ok(()), Ok(())));
    // Only a referenced kptr needs the destructor.
    assert_eq!(check(&blob("foo", "kptr_untrusted")), (Ok(()), Ok(())));
    assert_eq!(check(&blob("foo", "percpu_kptr")), (Ok(()), Ok(())));
}

/// `[10] s0 { int }`, then `s_k { s_(k-1) a; s_(k-1) b; }` up to `levels`,
/// and a struct with a lock and the last: the kernel's walk enters 2^levels
/// structs.
fn doubling_structs(levels: u32) -> Vec<u8> {
    specials(|b| {
        b.head("s0", STRUCT, 1, false, 4).member("x", 1, 0);
        for k in 1..=levels {
            let size = 4u32 << k;
            b.head("", STRUCT, 2, false, size).member("a", 9 + k, 0).member("b", 9 + k, size * 4);
        }
        b.head("v", STRUCT, 2, false, 8 + (4 << levels)).member("l", LOCK, 0).member("s", 10 + levels, 64);
    })
}

#[test]
fn nested_structs_are_walked_once_each() {
    let d = doubling_structs(20);
    super::fields::WALKED.with(|w| w.set(0));
    assert_eq!(run(&d, Profile::UserLoad, K618), Ok(()));
    let walked = super::fields::WALKED.with(core::cell::Cell::get);
    // 21 structs below the holder; the kernel's walk enters 2^21 - 1.
    assert!(walked <= 21, "the field walk entered {walked} structs");
}

/// `n` structs, each with a lock and a list head whose `contains:` tag
/// names one value struct: each head scans the types for its tag and its
/// value, as the kernel does, n times n in all.
fn many_list_heads(n: u32) -> Vec<u8> {
    specials(|b| {
        b.head("node_data", STRUCT, 2, false, 32).member("d", 2, 0).member("n", NODE, 64); // 10
        for k in 0..n {
            b.head("", STRUCT, 2, false, 24).member("l", LOCK, 0).member("head", HEAD, 64);
            b.head("contains:node_data:n", DECL_TAG, 0, false, 11 + 2 * k).u32(1);
        }
    })
}

#[test]
fn special_field_work_stays_within_a_constant_factor_of_the_size() {
    // Hundreds of graph roots: fine.
    assert_eq!(run(&many_list_heads(500), Profile::UserLoad, K618), Ok(()));
    // Thousands: each head's two scans cost 4n steps, n heads 4n^2, past
    // 2^22 steps and 16 a byte of the blob (52 bytes a head): refused.
    assert_eq!(run(&many_list_heads(3000), Profile::UserLoad, K618), Err(Rule::SpecialFieldsTooComplex));
    assert_eq!(run(&many_list_heads(3000), Profile::Strict, K618), Err(Rule::SpecialFieldsTooComplex));
}

#[test]
fn kernel_versions_parse_series_releases_and_distribution_abi_names() {
    let p = |s| KernelVersion::parse(s);
    assert_eq!(p("6.18"), Some(KernelVersion::new(6, 18)));
    assert_eq!(p(" 6.18\n"), Some(KernelVersion::new(6, 18)));
    assert_eq!(p("6.18.44-fc-v782"), Some(KernelVersion::release(6, 18, 44)));
    assert_eq!(p("6.12.57+deb13-cloud-amd64"), Some(KernelVersion::release(6, 12, 57)));
    assert_eq!(p("6.11.4-301.fc41.x86_64"), Some(KernelVersion::release(6, 11, 4)));
    assert_eq!(p("6.1.0"), Some(KernelVersion::release(6, 1, 0)));
    assert_eq!(p("6.5.0-rc3"), Some(KernelVersion::release(6, 5, 0)));
    // Debian's and Ubuntu's ABI names say nothing of the release.
    assert_eq!(p("6.1.0-50-cloud-amd64"), Some(KernelVersion::new(6, 1)));
    assert_eq!(p("5.15.0-91-generic"), Some(KernelVersion::new(5, 15)));
    assert_eq!(p("6.1.0-0.deb11.48-cloud-amd64"), Some(KernelVersion::new(6, 1)));
    for bad in ["", "6", "6.", ".6.1", "x6.1", "99999.1", "6.-1"] {
        assert_eq!(p(bad), None, "{bad:?}");
    }
    assert_eq!(std::format!("{}", KernelVersion::new(6, 12)), "6.12");
    assert_eq!(std::format!("{}", KernelVersion::release(6, 12, 57)), "6.12.57");
    // A series sorts after each of its releases.
    assert!(KernelVersion::release(6, 12, 117) < KernelVersion::new(6, 12));
    assert!(KernelVersion::new(6, 12) < KernelVersion::release(6, 13, 0));
}
