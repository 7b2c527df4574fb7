//! Merge and rebase tests: hand-made cases, and a property test over
//! generated bases and modules (the aya review's strategy): splits that
//! reference base types, FWDs defined in other modules, shared strings.
extern crate std;
use std::vec::Vec;

use zerocopy::FromBytes;
use zerocopy::byteorder::{LittleEndian, U32};

use crate::composite::{Composite, Layer, Order};
use crate::merge::{Form, Input, Merge, MergeOptions, rebase, rebase_len};
use crate::refs::{self, Word};
use crate::validate::{Profile, ValidateOptions, validate_vec};
use crate::write::{Builder, BuilderOptions, HashIndex, StrTable, VecBuilder};
use crate::write_tests::rewrite;
use crate::{Btf, Endian, ErrorKind, Kind, StrOffset, TypeId, raw};

fn merge(base: &Btf<'_>, modules: &[Btf<'_>], opts: &MergeOptions) -> Result<Vec<u8>, crate::merge::MergeError> {
    let need = Merge::scratch_len(base, modules, opts)?;
    let (mut words, mut slots) = (std::vec![0u32; need.words], std::vec![0u64; need.slots]);
    let m = Merge::plan(base, modules, opts, &mut words, &mut slots)?;
    let mut out = std::vec![0u8; m.len()];
    let n = m.write(&mut out)?;
    assert_eq!(n, out.len());
    Ok(out)
}

fn new_ids(base: &Btf<'_>, modules: &[Btf<'_>], opts: &MergeOptions) -> Vec<Vec<(u32, u32)>> {
    let need = Merge::scratch_len(base, modules, opts).unwrap();
    let (mut words, mut slots) = (std::vec![0u32; need.words], std::vec![0u64; need.slots]);
    let m = Merge::plan(base, modules, opts, &mut words, &mut slots).unwrap();
    modules
        .iter()
        .enumerate()
        .map(|(i, md)| {
            let ids: Vec<(u32, u32)> =
                (0..md.type_count() + 2).map(|t| (t, m.new_id(Some(i), TypeId(t)).map_or(u32::MAX, |x| x.0))).collect();
            // The caller-map form agrees with new_id.
            let mut map = std::vec![0u32; md.type_count() as usize];
            m.fill_id_map(i, &mut map).unwrap();
            assert_eq!(map, ids[..md.type_count() as usize].iter().map(|p| p.1).collect::<Vec<_>>());
            assert!(m.fill_id_map(i, &mut map[..1]).is_err());
            ids
        })
        .collect()
}

/// Checks that `ty` (of `from`) and the record at `new` (in `to`) are the
/// same after renumbering: data words equal, ids mapped by `map`, strings
/// equal as text.
fn same_record(from: &Btf<'_>, ty: &crate::Type<'_>, to: &Btf<'_>, new: TypeId, map: &dyn Fn(u32) -> u32) {
    let got = to.type_by_id(new).unwrap();
    assert_eq!((got.kind_raw(), got.vlen(), got.kind_flag()), (ty.kind_raw(), ty.vlen(), ty.kind_flag()));
    let words = |t: &crate::Type<'_>| -> Vec<u32> {
        let mut v = std::vec![t.name_off().0, t.info(), t.size_or_type()];
        for w in t.trailing().chunks(4) {
            let w = match t.endian {
                Endian::Little => U32::<LittleEndian>::read_from_bytes(w).unwrap().get(),
                Endian::Big => u32::from_be_bytes(w.try_into().unwrap()),
            };
            v.push(w);
        }
        v
    };
    let (a, b) = (words(ty), words(&got));
    for ((role, x), y) in refs::roles(ty.kind().unwrap()).zip(a).zip(b) {
        match role {
            Word::Data => assert_eq!(x, y),
            Word::Type => assert_eq!(map(x), y, "type id in [{}]", ty.id().0),
            Word::Str => assert_eq!(from.str_at(StrOffset(x)).unwrap(), to.str_at(StrOffset(y)).unwrap()),
        }
    }
}

fn split_builder(base: &Btf<'_>) -> VecBuilder {
    let strings = StrTable::new_split(Vec::new(), HashIndex::default(), base).unwrap();
    Builder::new(BuilderOptions::split_of(base), Vec::new(), strings).unwrap()
}

#[test]
fn doc_split_merges_flat_and_split() {
    let (b, s) = crate::doc_example_split();
    let base = Btf::parse(&b).unwrap();
    let modules = [Btf::parse_split(&s, &base).unwrap()];
    let flat = merge(&base, &modules, &MergeOptions::default()).unwrap();
    let flat_btf = Btf::parse(&flat).unwrap();
    let (mut want, mut got) = (Vec::new(), Vec::new());
    crate::dump::dump_all(&base, &mut want).unwrap();
    crate::dump::dump_all(&modules[0], &mut want).unwrap();
    crate::dump::dump_all(&flat_btf, &mut got).unwrap();
    assert_eq!(core::str::from_utf8(&got).unwrap(), core::str::from_utf8(&want).unwrap());

    let opts = MergeOptions { form: Form::Split, ..MergeOptions::default() };
    let split = merge(&base, &modules, &opts).unwrap();
    let split_btf = Btf::parse_split(&split, &base).unwrap();
    let (mut want, mut got) = (Vec::new(), Vec::new());
    crate::dump::dump_all(&modules[0], &mut want).unwrap();
    crate::dump::dump_all(&split_btf, &mut got).unwrap();
    assert_eq!(got, want);
}

#[test]
fn shared_strings_are_stored_once_and_ids_follow_on() {
    let (b, s) = crate::doc_example_split();
    let base = Btf::parse(&b).unwrap();
    let m0 = Btf::parse_split(&s, &base).unwrap();
    let mut mb = split_builder(&base);
    let own = mb.add_struct("line", 8).unwrap(); // same name as m0's struct
    mb.add_member("a", TypeId(1), 0, 0).unwrap();
    mb.add_ptr(own).unwrap();
    mb.add_typedef("only_here", TypeId(2)).unwrap();
    let m1_bytes = mb.to_vec().unwrap();
    let m1 = Btf::parse_split(&m1_bytes, &base).unwrap();
    let modules = [m0, m1];
    for form in [Form::Flat, Form::Split] {
        let opts = MergeOptions { form, ..MergeOptions::default() };
        let out = merge(&base, &modules, &opts).unwrap();
        let merged = match form {
            Form::Flat => Btf::parse(&out).unwrap(),
            Form::Split => Btf::parse_split(&out, &base).unwrap(),
        };
        assert_eq!(merged.type_count(), 1 + 2 + 2 + 3);
        let strs = merged.own_strings();
        let count = |s: &[u8]| strs.split(|&b| b == 0).filter(|w| *w == s).count();
        assert_eq!(count(b"line"), 1, "{form:?}");
        assert_eq!(count(b"a"), 1, "{form:?}");
        assert_eq!(count(b"only_here"), 1, "{form:?}");
        let ids = new_ids(&base, &modules, &opts);
        assert_eq!(ids[0][3], (3, 3));
        assert_eq!(ids[1][3], (3, 5));
        assert_eq!(ids[1][1], (1, 1), "base ids stay");
        assert_eq!(ids[1][6], (6, u32::MAX), "past the module");
        for (i, m) in modules.iter().enumerate() {
            let map = |t: u32| ids[i][t as usize].1;
            for ty in m.types() {
                let ty = ty.unwrap();
                same_record(m, &ty, &merged, TypeId(map(ty.id().0)), &map);
            }
        }
        let o = ValidateOptions::new(Profile::Strict, crate::validate::KernelVersion::LATEST);
        let base_opt = (form == Form::Split).then_some(&base);
        validate_vec(&out, base_opt, &o).unwrap();
    }
}

#[test]
fn bad_inputs_are_refused_before_writing() {
    let (b, s) = crate::doc_example_split();
    let base = Btf::parse(&b).unwrap();
    let good = Btf::parse_split(&s, &base).unwrap();
    // A module pointing past its own types.
    let mut mb = split_builder(&base);
    mb.add_ptr(TypeId(9)).unwrap();
    let bad_bytes = mb.to_vec().unwrap();
    let bad = Btf::parse_split(&bad_bytes, &base).unwrap();
    let e = merge(&base, &[good, bad], &MergeOptions::default()).unwrap_err();
    assert_eq!(e.input, Input::Module(1));
    assert_eq!(e.error.kind(), ErrorKind::TypeIdOutOfRange(9));
    assert_eq!(e.error.type_id(), Some(TypeId(3)));
    assert_eq!(e.error.offset(), 24);
    assert_eq!(std::format!("{e}"), "module #1: type id 9 does not exist at byte 0x18 (type [3])");
    // A module over another base.
    let other = Btf::parse(&b).unwrap();
    let stranger = Btf::parse_split(&s, &other).unwrap();
    let copy: Vec<u8> = b.to_vec();
    let base2 = Btf::parse(&copy).unwrap();
    let e = merge(&base2, &[stranger], &MergeOptions::default());
    // Same bytes in another buffer are the same base.
    assert!(e.is_ok());
    let (b3, _) = crate::doc_example_split();
    let mut b3 = b3.to_vec();
    b3[24 + 12] = 16; // another base: its int has 16 bits
    let base3 = Btf::parse(&b3).unwrap();
    let e = merge(&base3, &[good], &MergeOptions::default()).unwrap_err();
    assert_eq!((e.input, e.error.kind()), (Input::Module(0), ErrorKind::NotOverBase));
    // Scratch too small, output too small: errors, nothing written.
    let opts = MergeOptions::default();
    let goods = [good];
    let need = Merge::scratch_len(&base, &goods, &opts).unwrap();
    let (mut w, mut sl) = (std::vec![0u32; need.words - 1], std::vec![0u64; need.slots]);
    let e = Merge::plan(&base, &goods, &opts, &mut w, &mut sl).unwrap_err();
    assert!(matches!(e.error.kind(), ErrorKind::BufferTooSmall { .. }));
    let mut w = std::vec![0u32; need.words];
    let m = Merge::plan(&base, &goods, &opts, &mut w, &mut sl).unwrap();
    let mut out = std::vec![0x55u8; m.len() - 1];
    assert_eq!(m.write(&mut out).unwrap_err().error.kind(), ErrorKind::BufferTooSmall { needed: out.len() as u32 + 1 });
    assert!(out.iter().all(|&x| x == 0x55));
}

#[test]
fn kernel_limits_are_checked() {
    let (b, _) = crate::doc_example_split();
    let base = Btf::parse(&b).unwrap();
    // 0xfffff - 3 PTRs: ids 3..=0xfffff, one more than BTF_MAX_TYPE allows.
    let n = raw::BTF_MAX_TYPE - 3 + 1;
    let mut mb = split_builder(&base);
    for _ in 0..n {
        mb.add_ptr(TypeId(1)).unwrap();
    }
    let big = mb.to_vec().unwrap();
    let m = Btf::parse_split(&big, &base).unwrap();
    let e = merge(&base, &[m], &MergeOptions::default()).unwrap_err();
    assert_eq!((e.input, e.error.kind()), (Input::Output, ErrorKind::KernelLimitTypes(raw::BTF_MAX_TYPE + 1)));
    let loose = MergeOptions { kernel_limits: false, ..MergeOptions::default() };
    let out = merge(&base, &[m], &loose).unwrap();
    assert_eq!(Btf::parse(&out).unwrap().type_count(), raw::BTF_MAX_TYPE + 1);
    // One type fewer is within the limit.
    let mut mb = split_builder(&base);
    for _ in 0..n - 1 {
        mb.add_ptr(TypeId(1)).unwrap();
    }
    let ok = mb.to_vec().unwrap();
    let m = Btf::parse_split(&ok, &base).unwrap();
    assert!(merge(&base, &[m], &MergeOptions::default()).is_ok());
}

#[test]
fn rebase_moves_a_module_after_another() {
    let (b, s) = crate::doc_example_split();
    let base = Btf::parse(&b).unwrap();
    let a = Btf::parse_split(&s, &base).unwrap();
    let mut mb = split_builder(&base);
    let own = mb.add_struct("wheel", 8).unwrap();
    mb.add_member("hub", TypeId(2), 0, 0).unwrap();
    mb.add_ptr(own).unwrap();
    let m_bytes = mb.to_vec().unwrap();
    let m = Btf::parse_split(&m_bytes, &base).unwrap();
    let mut out = std::vec![0u8; rebase_len(&m)];
    assert_eq!(rebase(&m, &a, &mut out, true).unwrap(), out.len());
    let moved = Btf::parse_split(&out, &a).unwrap();
    assert_eq!(moved.start_id(), TypeId(5));
    let delta = 2;
    let map = |t: u32| if t >= 3 { t + delta } else { t };
    for ty in m.types() {
        let ty = ty.unwrap();
        same_record(&m, &ty, &moved, TypeId(ty.id().0 + delta), &map);
    }
    // Onto something that does not extend its base: refused.
    let mut b3 = b.to_vec();
    b3[24 + 12] = 16;
    let other = Btf::parse(&b3).unwrap();
    let e = rebase(&m, &other, &mut out, true).unwrap_err();
    assert_eq!(e.error.kind(), ErrorKind::NotOverBase);
    // Onto its own base: unchanged.
    let mut same = std::vec![0u8; rebase_len(&m)];
    rebase(&m, &base, &mut same, true).unwrap();
    assert_eq!(same, m_bytes);
}

/// xorshift64*: deterministic, good enough to shape test inputs.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const NAMES: &[&str] = &["alpha", "beta", "gamma", "delta", "eps", "zeta", "eta", "theta"];

/// Type ids a generated layer may refer to: `small` ones fit an 8-byte
/// struct slot (ints, pointers, typedefs of those), `all` are any sized type.
#[derive(Clone)]
struct Refs {
    small: Vec<TypeId>,
    all: Vec<TypeId>,
}

/// Adds `n` random valid types to `b`, referring to `refs` and to its own.
fn grow(b: &mut VecBuilder, rng: &mut Rng, refs: &mut Refs, n: usize, tag: &str) {
    fn pick(rng: &mut Rng, v: &[TypeId]) -> TypeId {
        v[rng.below(v.len() as u64) as usize]
    }
    for k in 0..n {
        let name = std::format!("{}_{}", NAMES[rng.below(NAMES.len() as u64) as usize], rng.below(3));
        match rng.below(6) {
            0 => {
                // a struct of 1..4 8-byte slots holding small types
                let m = 1 + rng.below(4) as u32;
                let id = b.add_struct(name.as_str(), 8 * m).unwrap();
                for i in 0..m {
                    let t = pick(rng, &refs.small);
                    b.add_member(["a", "b", "c", "d"][i as usize], t, 64 * i, 0).unwrap();
                }
                refs.all.push(id);
            }
            1 => {
                let t = pick(rng, &refs.all);
                let p = b.add_ptr(t).unwrap();
                refs.small.push(p);
                refs.all.push(p);
            }
            2 => {
                let small = rng.below(2) == 0;
                let t = pick(rng, if small { &refs.small } else { &refs.all });
                let td = b.add_typedef(std::format!("{tag}_t{k}").as_str(), t).unwrap();
                if small {
                    refs.small.push(td);
                }
                refs.all.push(td);
            }
            3 => {
                // A FWD that some other layer may define.
                let f = b.add_fwd(name.as_str(), false).unwrap();
                let p = b.add_ptr(f).unwrap();
                refs.small.push(p);
                refs.all.push(p);
            }
            4 => {
                b.add_enum(name.as_str(), 4, false).unwrap();
                for v in 0..1 + rng.below(3) {
                    b.add_enum_value(std::format!("{}_V{v}", name.to_uppercase()).as_str(), v as i64).unwrap();
                }
            }
            _ => {
                let proto = b.add_func_proto(pick(rng, &refs.all)).unwrap();
                b.add_param("x", pick(rng, &refs.all)).unwrap();
                b.add_func(std::format!("{tag}_fn{k}").as_str(), raw::BTF_FUNC_GLOBAL, proto).unwrap();
            }
        }
    }
}

#[test]
fn property_merge_keeps_every_type_and_every_lookup() {
    for seed in 1..=40u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let mut b = VecBuilder::new_vec(BuilderOptions::standalone(Endian::Little)).unwrap();
        let ints = std::vec![
            b.add_int("int", 4, raw::BTF_INT_SIGNED, 0, 32).unwrap(),
            b.add_int("long", 8, raw::BTF_INT_SIGNED, 0, 64).unwrap(),
        ];
        let mut base_refs = Refs { small: ints.clone(), all: ints };
        let n = 5 + rng.below(20) as usize;
        grow(&mut b, &mut rng, &mut base_refs, n, "base");
        let base_bytes = b.to_vec().unwrap();
        let base = Btf::parse(&base_bytes).unwrap();
        let nmod = 1 + rng.below(5) as usize;
        let module_bytes: Vec<Vec<u8>> = (0..nmod)
            .map(|i| {
                let mut mb = split_builder(&base);
                let mut refs = base_refs.clone();
                let n = 1 + rng.below(25) as usize;
                grow(&mut mb, &mut rng, &mut refs, n, &std::format!("m{i}"));
                mb.to_vec().unwrap()
            })
            .collect();
        let modules: Vec<Btf<'_>> = module_bytes.iter().map(|m| Btf::parse_split(m, &base).unwrap()).collect();
        let strict = ValidateOptions::new(Profile::Strict, crate::validate::KernelVersion::LATEST);
        validate_vec(&base_bytes, None, &strict).unwrap();
        for m in &module_bytes {
            validate_vec(m, Some(&base), &strict).unwrap();
        }
        let reuse = rng.below(2) == 0;
        for form in [Form::Flat, Form::Split] {
            let opts = MergeOptions { form, reuse_base_strings: reuse, ..MergeOptions::default() };
            let out = merge(&base, &modules, &opts).unwrap();
            let merged = match form {
                Form::Flat => Btf::parse(&out).unwrap(),
                Form::Split => Btf::parse_split(&out, &base).unwrap(),
            };
            // Valid, strictly.
            let over = (form == Form::Split).then_some(&base);
            validate_vec(&out, over, &strict).unwrap_or_else(|e| panic!("seed {seed} {form:?}: {e}"));
            // Every type is there, the same but for its number.
            let ids = new_ids(&base, &modules, &opts);
            if form == Form::Flat {
                for ty in base.types() {
                    let ty = ty.unwrap();
                    same_record(&base, &ty, &merged, ty.id(), &|t| t);
                }
            }
            for (i, m) in modules.iter().enumerate() {
                let map = |t: u32| ids[i][t as usize].1;
                for ty in m.types() {
                    let ty = ty.unwrap();
                    same_record(m, &ty, &merged, TypeId(map(ty.id().0)), &map);
                }
            }
            // Composite lookups over the inputs equal lookups on the output.
            let mut idx: Vec<Vec<u64>> = Vec::new();
            let mut all = std::vec![base];
            all.extend(modules.iter().copied());
            for l in &all {
                idx.push(l.build_name_index_vec().unwrap());
            }
            let layers: Vec<Layer<'_>> =
                all.iter().zip(&idx).map(|(l, v)| Layer::new(*l, crate::names::NameIndex::from_built(v))).collect();
            let comp = Composite::new(&layers).unwrap();
            let merged_idx = merged.build_name_index_vec().unwrap();
            let merged_names = crate::names::NameIndex::from_built(&merged_idx);
            let base_idx = base.build_name_index_vec().unwrap();
            let base_names = crate::names::NameIndex::from_built(&base_idx);
            for name in NAMES.iter().flat_map(|n| (0..3).map(move |i| std::format!("{n}_{i}"))) {
                for kind in [None, Some(Kind::Struct), Some(Kind::Fwd), Some(Kind::Enum)] {
                    let mut want: Vec<u32> = comp
                        .find(name.as_bytes(), kind, Order::All)
                        .map(|loc| match loc.layer {
                            0 => loc.id.0,
                            l => ids[usize::from(l) - 1][loc.id.0 as usize].1,
                        })
                        .collect();
                    want.sort_unstable();
                    let mut got: Vec<u32> =
                        merged_names.find(&merged, name.as_bytes(), kind).map(|t| t.id().0).collect();
                    if form == Form::Split {
                        got.extend(base_names.find(&base, name.as_bytes(), kind).map(|t| t.id().0));
                    }
                    got.sort_unstable();
                    assert_eq!(got, want, "seed {seed} {form:?} {name} {kind:?}");
                }
            }
            // Round trips are exact.
            if form == Form::Flat {
                assert_eq!(rewrite(&out, Endian::Little), out);
            }
        }
    }
}

#[test]
fn a_base_without_strings_and_empty_module_strings() {
    // Found by the merge fuzz target: with a base that has no strings,
    // the first new string ("") lands at offset 0 and must still be
    // written, with everything after it.
    let mut base = crate::test_util::Builder::new(Endian::Little);
    base.strs.clear();
    let base_bytes = base.build();
    let base = Btf::parse(&base_bytes).unwrap();
    let mut m = crate::test_util::Builder::split(Endian::Little, 0);
    m.strs.extend_from_slice(b"\0\0\0\x04\x03\0\0");
    m.u32(4).u32(0x0400_0000).u32(0); // STRUCT named by a reference into the middle of "\x04\x03"
    let m_bytes = m.build();
    let m = Btf::parse_split(&m_bytes, &base).unwrap();
    let out = merge(&base, &[m], &MergeOptions::default()).unwrap();
    let flat = Btf::parse(&out).unwrap();
    let t = flat.type_by_id(TypeId(1)).unwrap();
    assert_eq!(flat.name(&t).unwrap(), b"\x03");
    // A base whose strings do not end in NUL is refused.
    let mut bad = crate::test_util::Builder::new(Endian::Little);
    bad.strs = std::vec![0, b'x'];
    let bad_bytes = bad.build();
    let bad = Btf::parse(&bad_bytes).unwrap();
    let e = merge(&bad, &[], &MergeOptions::default()).unwrap_err();
    assert_eq!((e.input, e.error.kind()), (Input::Base, ErrorKind::StringNotTerminated(2)));
}
