//! Unit tests over tiny blobs from the test builder.
extern crate std;
use std::vec::Vec;

use crate::test_util::Builder;
use crate::{Btf, DisplayName, Endian, ErrorKind, Kind, ParseOptions, StrOffset, TypeId, TypeView, VlenEncoding};

/// `int`, `struct point { int x; int y; }`, `int *`.
fn small(endian: Endian) -> Vec<u8> {
    let mut b = Builder::new(endian);
    b.int("int", 4, 32, 1);
    b.head("point", Kind::Struct as u8, 2, false, 8).member("x", 1, 0).member("y", 1, 32);
    b.ptr(2);
    b.build()
}

#[test]
fn parses_both_byte_orders_identically() {
    for e in [Endian::Little, Endian::Big] {
        let blob = small(e);
        let btf = Btf::parse(&blob).unwrap();
        assert_eq!(btf.endian(), e);
        assert_eq!(btf.own_type_count(), 3);
        assert_eq!(btf.type_count(), 4);
        let tys: Vec<_> = btf.types().map(|t| t.unwrap()).collect();
        let TypeView::Int(i) = tys[0].view() else { panic!() };
        assert_eq!((i.size, i.bits(), i.is_signed()), (4, 32, true));
        let TypeView::Struct(s) = tys[1].view() else { panic!() };
        let m: Vec<_> = s.members().collect();
        assert_eq!(btf.str_at(m[1].name_off).unwrap(), b"y");
        assert_eq!((m[1].ty, m[1].bit_offset()), (TypeId(1), 32));
        assert!(matches!(tys[2].view(), TypeView::Ptr(TypeId(2))));
    }
}

#[test]
fn bitfields_decode_per_kind_flag() {
    let mut b = Builder::new(Endian::Little);
    b.int("int", 4, 32, 1);
    b.head("bf", Kind::Struct as u8, 2, true, 4).member("a", 1, (3 << 24) | 5).member("b", 1, 8);
    b.head("legacy", Kind::Struct as u8, 1, false, 4).member("c", 1, (3 << 24) | 5);
    let blob = b.build();
    let btf = Btf::parse(&blob).unwrap();
    let tys: Vec<_> = btf.types().map(|t| t.unwrap()).collect();
    let TypeView::Struct(s) = tys[1].view() else { panic!() };
    let m: Vec<_> = s.members().map(|m| (m.bit_offset(), m.bitfield_size())).collect();
    assert_eq!(m, [(5, 3), (8, 0)]);
    let TypeView::Struct(s) = tys[2].view() else { panic!() };
    let m: Vec<_> = s.members().map(|m| (m.bit_offset(), m.bitfield_size())).collect();
    assert_eq!(m, [((3 << 24) | 5, 0)]);
}

#[test]
fn enum_signedness() {
    let mut b = Builder::new(Endian::Big);
    b.head("s", Kind::Enum as u8, 1, true, 4);
    let n = b.str("NEG");
    b.u32(n).u32(-5i32 as u32);
    b.head("u", Kind::Enum64 as u8, 1, false, 8);
    let n = b.str("BIG");
    b.u32(n).u32(0xdead_beef).u32(0xffff_ffff);
    let blob = b.build();
    let btf = Btf::parse(&blob).unwrap();
    let tys: Vec<_> = btf.types().map(|t| t.unwrap()).collect();
    let TypeView::Enum(e) = tys[0].view() else { panic!() };
    assert_eq!(e.values().next().unwrap().value(), -5);
    let TypeView::Enum64(e) = tys[1].view() else { panic!() };
    assert_eq!(e.values().next().unwrap().value(), 0xffff_ffff_dead_beef);
}

#[test]
fn split_numbering_continues_from_base() {
    let base_blob = small(Endian::Little);
    let base = Btf::parse(&base_blob).unwrap();
    let base_str_len = base.header().str_len;
    let mut s = Builder::split(Endian::Little, base_str_len);
    // const struct point, then a typedef named with a base string ("int").
    s.head("", Kind::Const as u8, 0, false, 2);
    s.u32(1).u32(Kind::Typedef as u32 * 0x0100_0000).u32(4);
    let split_blob = s.build();
    let split = Btf::parse_split(&split_blob, &base).unwrap();
    assert_eq!(split.start_id(), TypeId(4));
    assert_eq!(split.start_str_off(), StrOffset(base_str_len));
    let tys: Vec<_> = split.types().map(|t| t.unwrap()).collect();
    assert_eq!(tys.iter().map(|t| t.id().0).collect::<Vec<_>>(), [4, 5]);
    assert_eq!(split.name(&tys[1]).unwrap(), b"int");
    // Ids below start_id go to the base, in either layer, with or without index.
    assert_eq!(split.type_by_id(TypeId(2)).unwrap().kind(), Some(Kind::Struct));
    assert_eq!(split.type_by_id(TypeId(5)).unwrap().kind(), Some(Kind::Typedef));
    assert_eq!(split.type_by_id(TypeId(6)).unwrap_err().kind(), ErrorKind::TypeIdOutOfRange(6));
    assert_eq!(split.type_by_id(TypeId(0)).unwrap_err().kind(), ErrorKind::TypeIdOutOfRange(0));
    // Split on split: ids keep continuing.
    let mut s2 = Builder::split(Endian::Little, split.start_str_off().0 + split.header().str_len);
    s2.head("deep", Kind::Typedef as u8, 0, false, 5);
    let s2_blob = s2.build();
    let split2 = Btf::parse_split(&s2_blob, &split).unwrap();
    let t = split2.types().next().unwrap().unwrap();
    assert_eq!(t.id(), TypeId(6));
    assert_eq!(split2.name(&t).unwrap(), b"deep");
    assert_eq!(split2.type_by_id(TypeId(1)).unwrap().kind(), Some(Kind::Int));
}

#[test]
fn reopened_from_an_index_without_a_walk() {
    for endian in [Endian::Little, Endian::Big] {
        let base_blob = small(endian);
        let base = Btf::parse(&base_blob).unwrap();
        let mut s = Builder::split(endian, base.header().str_len);
        s.head("", Kind::Const as u8, 0, false, 2);
        s.head("p", Kind::Struct as u8, 1, false, 8).member("x", 1, 0);
        s.head("q", Kind::Typedef as u8, 0, false, 5);
        let blob = s.build();
        let mut storage = std::vec![0u32; Btf::index_len_bound(&blob)];
        let n = Btf::parse_indexed(&blob, Some(&base), base.options(), &mut storage).unwrap().index_len();
        let own = &storage[..n];
        let re = Btf::reopen_indexed(&blob, Some(&base), base.options(), own).unwrap();
        let walked = Btf::parse_split(&blob, &base).unwrap();
        assert_eq!((re.start_id(), re.own_type_count(), re.type_count()), (TypeId(4), 3, 7));
        assert!(re.has_index());
        for t in walked.types().map(Result::unwrap) {
            let r = re.type_by_id(t.id()).unwrap();
            assert_eq!((r.offset(), r.kind()), (t.offset(), t.kind()));
        }
        assert_eq!(re.type_by_id(TypeId(7)).unwrap_err().kind(), ErrorKind::TypeIdOutOfRange(7));
        // An index that does not fit: it does not start the section, its
        // last record does not end it, or it is longer than the section.
        let mismatch = |offsets: &[u32]| Btf::reopen_indexed(&blob, Some(&base), base.options(), offsets).map(|_| ());
        let long: Vec<u32> = own.iter().chain(own).copied().collect();
        for bad in [&own[1..], &own[..2], &[][..], &long[..]] {
            assert_eq!(mismatch(bad).unwrap_err().kind(), ErrorKind::IndexMismatch, "{bad:?}");
        }
        // A blob with no types takes the empty index, and only that.
        let empty = Builder::split(endian, base.header().str_len).build();
        assert_eq!(Btf::reopen_indexed(&empty, Some(&base), base.options(), &[]).unwrap().own_type_count(), 0);
        assert!(Btf::reopen_indexed(&empty, Some(&base), base.options(), &own[..1]).is_err());
    }
}

#[test]
fn split_must_match_base_byte_order() {
    let base_blob = small(Endian::Little);
    let base = Btf::parse(&base_blob).unwrap();
    let split_blob = Builder::split(Endian::Big, 0).build();
    assert_eq!(Btf::parse_split(&split_blob, &base).unwrap_err().kind(), ErrorKind::EndianMismatch);
}

#[test]
fn index_in_caller_storage() {
    let blob = small(Endian::Little);
    let btf = Btf::parse(&blob).unwrap();
    let mut short = [0u32; 2];
    assert_eq!(btf.build_index(&mut short).unwrap_err().kind(), ErrorKind::BufferTooSmall { needed: 3 });
    let mut slots = [0u32; 3];
    let ix = btf.build_index(&mut slots).unwrap();
    let indexed = btf.with_index(ix).unwrap();
    for t in btf.types() {
        let t = t.unwrap();
        assert_eq!(indexed.type_by_id(t.id()).unwrap().offset(), t.offset());
    }
    // An index for another blob of the same shape is refused.
    let twin = small(Endian::Little);
    let twin = Btf::parse(&twin).unwrap();
    let mut slots2 = [0u32; 3];
    let ix2 = twin.build_index(&mut slots2).unwrap();
    assert_eq!(btf.with_index(ix2).unwrap_err().kind(), ErrorKind::IndexMismatch);
}

#[test]
fn unknown_kind_needs_layout() {
    let mut b = Builder::new(Endian::Little);
    b.int("int", 4, 32, 0);
    // kind 25, vlen 2, with 4 bytes of info and 8 per element = 20 trailing bytes
    b.head("mystery", 25, 2, false, 0).u32(7).u32(1).u32(2).u32(3).u32(4);
    b.int("after", 8, 64, 0);
    let blob = b.build();
    let err = Btf::parse(&blob).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownKind(25));
    assert_eq!((err.offset(), err.type_id()), (24 + 16, Some(TypeId(2))));

    let mut entries = std::vec![(0u8, 0u8); 26];
    entries[25] = (4, 8);
    b.layout(&entries);
    let blob = b.build();
    let btf = Btf::parse(&blob).unwrap();
    let tys: Vec<_> = btf.types().map(|t| t.unwrap()).collect();
    assert_eq!(tys.len(), 3);
    assert!(matches!(tys[1].view(), TypeView::Unknown(25)));
    assert_eq!(btf.name(&tys[2]).unwrap(), b"after");
    // A split over that base also sizes kind 25 through the base's layout.
    let mut s = Builder::split(Endian::Little, btf.header().str_len);
    s.head("", 25, 0, false, 0).u32(0);
    let sblob = s.build();
    assert_eq!(Btf::parse_split(&sblob, &btf).unwrap().own_type_count(), 1);
}

#[test]
fn vlen_encoding_is_the_callers_choice() {
    // info = kind ENUM, vlen 0x1_0001: 16-bit reads vlen 1, 24-bit reads 65537.
    let mut b = Builder::new(Endian::Little);
    b.u32(0).u32((Kind::Enum as u32) << 24 | 0x1_0001).u32(4);
    for i in 0..0x1_0001u32 {
        b.u32(0).u32(i);
    }
    let blob = b.build();
    // With 16 bits the record is 1 value long and the rest cannot be tiled.
    assert!(Btf::parse(&blob).is_err());
    let wide = Btf::parse_with(&blob, None, ParseOptions::with_vlen(VlenEncoding::Bits24)).unwrap();
    let t = wide.types().next().unwrap().unwrap();
    assert_eq!(t.vlen(), 0x1_0001);
}

#[test]
fn truncations_and_corruptions_never_panic() {
    let mut blobs = Vec::new();
    blobs.push(small(Endian::Little));
    blobs.push(small(Endian::Big));
    for blob in &blobs {
        for n in 0..blob.len() {
            let r = Btf::parse(&blob[..n]);
            assert!(r.is_err(), "a {n}-byte prefix must not parse");
        }
        for i in 0..blob.len() {
            for v in [0u8, 0x01, 0x7f, 0x80, 0xff] {
                let mut c = blob.clone();
                c[i] = v;
                if let Ok(btf) = Btf::parse(&c) {
                    let mut out = heapless::Vec::<u8, 4096>::new();
                    let _ = crate::dump::dump_all(&btf, &mut out);
                    for t in btf.types().flatten() {
                        let _ = btf.type_by_id(t.id());
                        let _ = btf.name(&t);
                    }
                }
            }
        }
    }
}

#[test]
fn header_errors_are_located() {
    let blob = small(Endian::Little);
    let mut c = blob.clone();
    c[0] = 0;
    assert_eq!(Btf::parse(&c).unwrap_err().kind(), ErrorKind::BadMagic);
    let mut c = blob.clone();
    c[2] = 2;
    assert_eq!(Btf::parse(&c).unwrap_err().kind(), ErrorKind::UnsupportedVersion(2));
    let mut c = blob.clone();
    c[20] = 0xff; // str_len
    let e = Btf::parse(&c).unwrap_err();
    assert_eq!((e.kind(), e.offset()), (ErrorKind::SectionOutOfBounds(crate::Section::Strings), 16));
    assert_eq!(std::format!("{e}"), "string section lies outside the blob at byte 0x10");
}

#[test]
fn display_name_is_lossless() {
    let s = std::format!("{}", DisplayName(b"a\\b\xffc\xc3\xa9"));
    assert_eq!(s, "a\\\\b\\xffc\u{e9}");
}

#[test]
fn dump_of_each_kind() {
    // Expected text is bpftool 7.1.0's dump of this very blob: write it out
    // with BTFKIT_EXPORT_DUMP_BLOB=FILE and run `bpftool btf dump file FILE`.
    let mut b = Builder::new(Endian::Little);
    b.int("int", 4, 32, 1); // 1
    b.head("e", Kind::Enum as u8, 1, true, 4);
    let n = b.str("M");
    b.u32(n).u32(-1i32 as u32); // 2
    b.head("f", Kind::Fwd as u8, 0, true, 0); // 3
    b.head("", Kind::FuncProto as u8, 2, false, 1).u32(0).u32(1).u32(0).u32(0); // 4
    b.head("g", Kind::Func as u8, 1, false, 4); // 5
    b.head("v", Kind::Var as u8, 0, false, 1).u32(1); // 6
    b.head(".data", Kind::Datasec as u8, 1, false, 4).u32(6).u32(0).u32(4); // 7
    b.head("t", Kind::DeclTag as u8, 0, false, 5).u32(-1i32 as u32); // 8
    b.head("double", Kind::Float as u8, 0, false, 8); // 9
    let blob = b.build();
    if let Some(p) = std::env::var_os("BTFKIT_EXPORT_DUMP_BLOB") {
        std::fs::write(p, &blob).unwrap();
    }
    let btf = Btf::parse(&blob).unwrap();
    let mut out = heapless::Vec::<u8, 2048>::new();
    crate::dump::dump_all(&btf, &mut out).unwrap();
    let text = core::str::from_utf8(&out).unwrap();
    let expected = EACH_KIND_DUMP;
    assert_eq!(text, expected);
}

/// bpftool 7.1.0's dump of the blob `dump_of_each_kind` builds (the
/// writer's tests build the same types and expect the same text).
pub(crate) const EACH_KIND_DUMP: &str = "[1] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED
[2] ENUM 'e' encoding=SIGNED size=4 vlen=1
\t'M' val=-1
[3] FWD 'f' fwd_kind=union
[4] FUNC_PROTO '(anon)' ret_type_id=1 vlen=2
\t'(anon)' type_id=1
\t'(anon)' type_id=0
[5] FUNC 'g' type_id=4 linkage=global
[6] VAR 'v' type_id=1, linkage=global
[7] DATASEC '.data' size=4 vlen=1
\ttype_id=6 offset=0 size=4 (VAR 'v')
[8] DECL_TAG 't' type_id=5 component_idx=-1
[9] FLOAT 'double' size=8
";
