//! Writer tests: every kind against the independent test encoder, the
//! dump text bpftool gave for the same types, interning, storage limits and
//! round trips in both byte orders.
extern crate std;
use std::vec::Vec;

use crate::test_util::Builder as Reference;
use crate::write::{Builder, BuilderOptions, HashIndex, Name, SliceStorage, SlotIndex, StrTable, VecBuilder};
use crate::{Btf, Endian, ErrorKind, Kind, StrOffset, TypeId, raw};

/// The types of `tests::dump_of_each_kind`, through the writer.
fn nine(endian: Endian) -> VecBuilder {
    let mut b = VecBuilder::new_vec(BuilderOptions::standalone(endian)).unwrap();
    let int = b.add_int("int", 4, raw::BTF_INT_SIGNED, 0, 32).unwrap();
    b.add_enum("e", 4, true).unwrap();
    b.add_enum_value("M", -1).unwrap();
    b.add_fwd("f", true).unwrap();
    let proto = b.add_func_proto(int).unwrap();
    b.add_param("", int).unwrap();
    b.add_param("", TypeId::VOID).unwrap();
    let func = b.add_func("g", raw::BTF_FUNC_GLOBAL, proto).unwrap();
    let var = b.add_var("v", int, raw::BTF_VAR_GLOBAL_ALLOCATED).unwrap();
    b.add_datasec(".data", 4).unwrap();
    b.add_secinfo(var, 0, 4).unwrap();
    b.add_decl_tag("t", func, -1).unwrap();
    b.add_float("double", 8).unwrap();
    b
}

#[test]
fn dump_of_written_kinds_is_bpftools() {
    // The same types as tests::dump_of_each_kind, so bpftool's text for them.
    let expected = crate::tests::EACH_KIND_DUMP;
    for endian in [Endian::Little, Endian::Big] {
        let blob = nine(endian).to_vec().unwrap();
        let btf = Btf::parse(&blob).unwrap();
        assert_eq!(btf.endian(), endian);
        let mut out = Vec::new();
        crate::dump::dump_all(&btf, &mut out).unwrap();
        assert_eq!(core::str::from_utf8(&out).unwrap(), expected, "{endian:?}");
    }
}

#[test]
fn every_kind_matches_the_reference_encoder() {
    for endian in [Endian::Little, Endian::Big] {
        // Reference: the test encoder, word by word. Its strings are not
        // interned, so names are all distinct here.
        let mut r = Reference::new(endian);
        r.int("int", 4, 32, 1); // 1
        r.ptr(1); // 2
        r.head("", Kind::Array as u8, 0, false, 0).u32(1).u32(1).u32(3); // 3
        r.head("s", Kind::Struct as u8, 2, true, 8).member("a", 1, 0).member("b", 1, (5 << 24) | 32); // 4
        r.head("u", Kind::Union as u8, 1, false, 4).member("c", 1, 0); // 5
        r.head("e64", Kind::Enum64 as u8, 1, false, 8);
        let n = r.str("BIG");
        r.u32(n).u32(1).u32(0x8000_0000); // 6
        r.head("td", Kind::Typedef as u8, 0, false, 4); // 7
        r.head("", Kind::Volatile as u8, 0, false, 7); // 8
        r.head("", Kind::Const as u8, 0, false, 8); // 9
        r.head("", Kind::Restrict as u8, 0, false, 2); // 10
        r.head("user", Kind::TypeTag as u8, 0, false, 1); // 11
        r.head("fw", Kind::Fwd as u8, 0, false, 0); // 12
        let want = r.build();

        let mut b = VecBuilder::new_vec(BuilderOptions::standalone(endian)).unwrap();
        let int = b.add_int("int", 4, raw::BTF_INT_SIGNED, 0, 32).unwrap();
        let ptr = b.add_ptr(int).unwrap();
        b.add_array(int, int, 3).unwrap();
        let s = b.add_struct("s", 8).unwrap();
        b.add_member("a", int, 0, 0).unwrap();
        b.add_member("b", int, 32, 5).unwrap();
        b.add_union("u", 4).unwrap();
        b.add_member("c", int, 0, 0).unwrap();
        b.add_enum64("e64", 8, false).unwrap();
        b.add_enum_value("BIG", 0x8000_0000_0000_0001u64 as i64).unwrap();
        let td = b.add_typedef("td", s).unwrap();
        let v = b.add_modifier(Kind::Volatile, td).unwrap();
        b.add_modifier(Kind::Const, v).unwrap();
        b.add_modifier(Kind::Restrict, ptr).unwrap();
        b.add_type_tag("user", int).unwrap();
        assert_eq!(b.add_fwd("fw", false).unwrap(), TypeId(12));
        assert_eq!(b.to_vec().unwrap(), want, "{endian:?}");
    }
}

#[test]
fn strings_are_interned() {
    let mut b = VecBuilder::new_vec(BuilderOptions::standalone(Endian::Little)).unwrap();
    let a = b.strings().add(b"x").unwrap();
    let c = b.strings().add(b"y").unwrap();
    assert_eq!(b.strings().add(b"x").unwrap(), a);
    assert_ne!(a, c);
    assert_eq!(b.strings().add(b"").unwrap(), StrOffset(0));
    assert_eq!(b.strings().as_bytes(), b"\0x\0y\0");
    assert_eq!(b.strings().get(c), Some(&b"y"[..]));
    assert_eq!(b.strings().add(b"a\0b").unwrap_err().kind(), ErrorKind::NulInString);
    // Existing sections are found too, duplicates resolve to the first.
    let mut t = StrTable::from_section(Vec::new(), HashIndex::default(), b"\0p\0q\0p\0", StrOffset(0)).unwrap();
    assert_eq!(t.add(b"p").unwrap(), StrOffset(1));
    assert_eq!(t.add(b"q").unwrap(), StrOffset(3));
    assert_eq!(t.add(b"r").unwrap(), StrOffset(7));
    // Split sections number from the base, "" is the base's.
    let (base, _) = crate::doc_example_split();
    let base = Btf::parse(&base).unwrap();
    let mut t = StrTable::new_split(Vec::new(), HashIndex::default(), &base).unwrap();
    assert_eq!(t.add(b"").unwrap(), StrOffset(0));
    assert_eq!(t.add(b"z").unwrap(), StrOffset(base.str_end()));
}

#[test]
fn slot_index_and_slices_need_no_allocator() {
    let (mut types, mut strs, mut slots) = ([0u8; 60], [0u8; 16], [0u64; 8]);
    let strings = StrTable::new(SliceStorage::new(&mut strs), SlotIndex::new(&mut slots)).unwrap();
    let mut b =
        Builder::new(BuilderOptions::standalone(Endian::Little), SliceStorage::new(&mut types), strings).unwrap();
    let int = b.add_int("int", 4, 0, 0, 32).unwrap();
    // 12 + 4 bytes a record: the fourth INT does not fit in 60 bytes.
    b.add_int("int", 4, 0, 0, 32).unwrap();
    b.add_int(Name::Off(StrOffset(1)), 4, 0, 0, 32).unwrap();
    let len_before = b.len();
    assert_eq!(b.add_int("int", 4, 0, 0, 32).unwrap_err().kind(), ErrorKind::StorageFull);
    assert_eq!(b.len(), len_before, "a failed add leaves nothing behind");
    // Strings: 16 bytes hold "\0int\0" and then "abcdefghi\0" (15) but not more.
    b.strings().add(b"abcdefghi").unwrap();
    assert_eq!(b.strings().add(b"j").unwrap_err().kind(), ErrorKind::StorageFull);
    // Elements need a record of their kind.
    assert_eq!(b.add_member("m", int, 0, 0).unwrap_err().kind(), ErrorKind::NoOpenType);
    // The slot index refuses past 7/8 full: 8 slots take 7 strings.
    let mut slots = [0u64; 8];
    let mut idx = SlotIndex::new(&mut slots);
    use crate::write::StrIndex;
    for i in 0..7u32 {
        assert_eq!(idx.find_or_insert(u64::from(i) << 40 | u64::from(i), |_| false, i), Ok(None));
    }
    assert_eq!(idx.find_or_insert(99, |_| false, 99), Err(()));
}

#[test]
fn write_checks_the_buffer_before_writing() {
    let b = nine(Endian::Little);
    let mut small = std::vec![0xaau8; b.len() - 1];
    let e = b.write(&mut small).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BufferTooSmall { needed: b.len() as u32 });
    assert!(small.iter().all(|&x| x == 0xaa), "nothing written");
    let mut big = std::vec![0u8; b.len() + 10];
    assert_eq!(b.write(&mut big).unwrap(), b.len());
}

#[test]
fn vlen_is_bounded_by_the_encoding() {
    let mut b = VecBuilder::new_vec(BuilderOptions::standalone(Endian::Little)).unwrap();
    b.add_struct("big", 4).unwrap();
    for _ in 0..raw::BTF_MAX_VLEN {
        b.add_member("", TypeId(0), 0, 0).unwrap();
    }
    assert_eq!(b.add_member("", TypeId(0), 0, 0).unwrap_err().kind(), ErrorKind::VlenOverflow);
    let blob = b.to_vec().unwrap();
    let btf = Btf::parse(&blob).unwrap();
    assert_eq!(btf.type_by_id(TypeId(1)).unwrap().vlen(), raw::BTF_MAX_VLEN);
}

/// Rewrites `blob` through the writer: its string section as is, every
/// record with `add_type`, in `endian`.
pub(crate) fn rewrite(blob: &[u8], endian: Endian) -> Vec<u8> {
    let btf = Btf::parse(blob).unwrap();
    let strings =
        StrTable::from_section(Vec::new(), HashIndex::default(), btf.own_strings(), btf.start_str_off()).unwrap();
    let mut opts = BuilderOptions::standalone(endian);
    opts.header_len = btf.header().hdr_len;
    let mut b = Builder::new(opts, Vec::new(), strings).unwrap();
    let layout;
    if !btf.layout_section().is_empty() {
        assert_eq!(endian, btf.endian(), "layout entries are not swapped here");
        layout = btf.layout_section().to_vec();
        b.set_layout(&layout).unwrap();
    }
    for ty in btf.types() {
        b.add_type(&ty.unwrap()).unwrap();
    }
    let mut out = std::vec![0u8; b.len()];
    b.write(&mut out).unwrap();
    out
}

#[test]
fn round_trip_is_byte_exact_and_swaps_cleanly() {
    let mut blobs = std::vec![crate::doc_example_blob().to_vec()];
    for endian in [Endian::Little, Endian::Big] {
        blobs.push(nine(endian).to_vec().unwrap());
        let mut r = Reference::new(endian);
        r.int("int", 4, 32, 1).head("x", 20, 0, false, 1).u32(7);
        r.layout(&[(0, 0), (4, 0), (0, 0), (12, 0), (0, 12), (0, 12), (0, 8), (0, 0), (0, 0), (0, 0), (0, 0)]);
        let mut l = r.layout.take().unwrap();
        l.resize(21 * 4, 0);
        l[20 * 4] = 4; // kind 20: 4 bytes of info
        r.layout = Some(l);
        blobs.push(r.build());
    }
    for blob in &blobs {
        let btf = Btf::parse(blob).unwrap();
        assert_eq!(&rewrite(blob, btf.endian()), blob);
        if btf.layout_section().is_empty() {
            let other = match btf.endian() {
                Endian::Little => Endian::Big,
                Endian::Big => Endian::Little,
            };
            let swapped = rewrite(blob, other);
            assert_ne!(&swapped, blob);
            assert_eq!(&rewrite(&swapped, btf.endian()), blob);
            let (mut a, mut c) = (Vec::new(), Vec::new());
            crate::dump::dump_all(&btf, &mut a).unwrap();
            crate::dump::dump_all(&Btf::parse(&swapped).unwrap(), &mut c).unwrap();
            assert_eq!(a, c);
        }
    }
}

#[test]
fn unknown_kinds_copy_only_verbatim() {
    let mut r = Reference::new(Endian::Little);
    r.head("x", 20, 0, false, 1).u32(7);
    let mut l = std::vec![0u8; 21 * 4];
    l[20 * 4] = 4;
    r.layout = Some(l);
    r.hdr_len = 32;
    let blob = r.build();
    let btf = Btf::parse(&blob).unwrap();
    let ty = btf.types().next().unwrap().unwrap();
    // Without a layout in the builder, or across byte orders, or remapped: refused.
    let mut b = VecBuilder::new_vec(BuilderOptions::standalone(Endian::Little)).unwrap();
    assert_eq!(b.add_type(&ty).unwrap_err().kind(), ErrorKind::UnknownKind(20));
    b.set_layout(btf.layout_section()).unwrap();
    assert_eq!(b.add_type_mapped(&ty, Ok, Ok).unwrap_err().kind(), ErrorKind::UnknownKind(20));
    assert_eq!(b.add_type(&ty).unwrap(), TypeId(1));
    let mut b = VecBuilder::new_vec(BuilderOptions::standalone(Endian::Big)).unwrap();
    b.set_layout(btf.layout_section()).unwrap();
    assert_eq!(b.add_type(&ty).unwrap_err().kind(), ErrorKind::UnknownKind(20));
}

#[test]
fn add_type_mapped_moves_records() {
    let (base, split) = crate::doc_example_split();
    let base = Btf::parse(&base).unwrap();
    let split = Btf::parse_split(&split, &base).unwrap();
    // Re-home the split's `struct line` into a standalone blob after
    // copies of the base's two types.
    let mut b = VecBuilder::new_vec(BuilderOptions::standalone(Endian::Little)).unwrap();
    for ty in base.types() {
        let ty = ty.unwrap();
        let name = base.name(&ty).unwrap();
        let off = b.strings().add(name).unwrap();
        b.add_type_mapped(&ty, Ok, |_| Ok(off.0)).unwrap();
        if let crate::TypeView::Struct(s) = ty.view() {
            assert_eq!(s.members().len(), 2);
        }
    }
    let line = split.type_by_id(TypeId(4)).unwrap();
    let mut names = Vec::new();
    let id = b
        .add_type_mapped(&line, Ok, |s| {
            let text = split.str_at(StrOffset(s)).unwrap();
            names.push(text);
            Ok(0)
        })
        .unwrap();
    assert_eq!(id, TypeId(3));
    assert_eq!(names, [&b"line"[..], b"a", b"b"]);
    // A failing map leaves nothing behind.
    let before = b.len();
    let e = b.add_type_mapped(&line, |t| Err(crate::Error::new(ErrorKind::TypeIdOutOfRange(t), 0)), Ok).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TypeIdOutOfRange(2));
    assert_eq!(e.type_id(), Some(TypeId(4)));
    assert_eq!(b.len(), before);
}

#[test]
fn unused_info_bits_survive_the_round_trip() {
    // Found by the merge fuzz target: a FLOAT whose info word has bits no
    // field uses (29, and vlen bits for a kind without elements). Parsing
    // accepts it (validation does not); the copy must keep it as it is.
    let mut r = Reference::new(Endian::Little);
    r.u32(0).u32(0x30e4_6200 | (16 << 24)).u32(8);
    let blob = r.build();
    let btf = Btf::parse(&blob).unwrap();
    assert_eq!(btf.types().next().unwrap().unwrap().kind(), Some(Kind::Float));
    assert_eq!(rewrite(&blob, Endian::Little), blob);
    assert_eq!(rewrite(&rewrite(&blob, Endian::Big), Endian::Little), blob);
}
