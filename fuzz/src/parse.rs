//! `parse`: arbitrary bytes as standalone BTF, and as a (base, split) pair;
//! walks every type, looks each up by id and formats it into a sink; the
//! one-walk `parse_indexed` must agree with `parse_with` + `build_index`.

use btfkit::dump::{CountingSink, dump_type};
use btfkit::{Btf, ParseOptions, VlenEncoding};

fn exercise(btf: &Btf<'_>) {
    let mut sink = CountingSink::default();
    for ty in btf.types() {
        let Ok(ty) = ty else { break };
        let _ = btf.name(&ty);
        let _ = dump_type(btf, &ty, &mut sink);
        let by_id = btf.type_by_id(ty.id()).expect("an iterated id must resolve");
        assert_eq!(by_id.offset(), ty.offset());
    }
    let mut index = vec![0u32; btf.index_len()];
    let ix = btf.build_index(&mut index).expect("index of a parsed blob");
    let indexed = btf.with_index(ix).expect("own index");
    for ty in btf.types().flatten() {
        let t = indexed.type_by_id(ty.id()).expect("indexed lookup");
        assert_eq!(t.offset(), ty.offset());
    }
}

/// Name indexes and the composite: every named type of a layer is found
/// by its own name and kind, and FWD resolution never panics.
fn composite(base: &Btf<'_>, split: &Btf<'_>) {
    use btfkit::composite::{Composite, Layer, Loc, Order};
    let (Ok(bn), Ok(sn)) = (base.build_name_index_vec(), split.build_name_index_vec()) else { return };
    let layers = [
        Layer::new(*base, btfkit::names::NameIndex::from_built(&bn)),
        Layer::new(*split, btfkit::names::NameIndex::from_built(&sn)),
    ];
    let all = Composite::new(&layers).expect("a split over its base composes");
    for (li, l) in layers.iter().enumerate() {
        for t in l.btf.types().flatten() {
            let Ok(name) = l.btf.name(&t) else { continue };
            if t.name_off().0 == 0 {
                continue;
            }
            let loc = Loc { layer: li as u16, id: t.id() };
            assert!(
                all.find(name, t.kind(), Order::Own(li as u16)).any(|f| f == loc),
                "{loc:?} not found by its own name"
            );
            let _ = all.resolve_fwd(loc);
            let _ = all.find_essential(name, None, Order::All).count();
        }
    }
}

/// Runs the target on one input.
pub fn run(data: &[u8]) {
    for opts in [ParseOptions::default(), ParseOptions::with_vlen(VlenEncoding::Bits24)] {
        let parsed = Btf::parse_with(data, None, opts);
        // The one-walk parse agrees with parse + build_index: same verdict,
        // same types, same offsets.
        let mut storage = vec![0u32; Btf::index_len_bound(data)];
        let indexed = Btf::parse_indexed(data, None, opts, &mut storage);
        assert_eq!(parsed.is_ok(), indexed.is_ok(), "parse_indexed and parse_with disagree");
        if let (Ok(btf), Ok(ix)) = (&parsed, &indexed) {
            assert_eq!(btf.own_type_count(), ix.own_type_count());
            for ty in btf.types().flatten() {
                assert_eq!(ix.type_by_id(ty.id()).expect("indexed lookup").offset(), ty.offset());
            }
        }
        // Reopened from its own index, without a walk: the same view. From
        // an index that is not its own: an error or wrong answers, never a
        // panic.
        let n = indexed.map(|ix| ix.index_len());
        if let (Ok(btf), Ok(n)) = (&parsed, n) {
            let own = storage.get(..n).unwrap_or_default();
            let re = Btf::reopen_indexed(data, None, opts, own).expect("reopened from its own index");
            assert_eq!(re.own_type_count(), btf.own_type_count());
            for ty in btf.types().flatten() {
                assert_eq!(re.type_by_id(ty.id()).expect("reopened lookup").offset(), ty.offset());
            }
            // Its own but for a middle entry; without its first; without its last.
            let mut other = own.to_vec();
            if let Some(mid) = other.get_mut(n / 2) {
                *mid = mid.wrapping_add(4);
            }
            for offsets in
                [&other[..], own.get(1..).unwrap_or_default(), own.get(..n.saturating_sub(1)).unwrap_or_default()]
            {
                if let Ok(wrong) = Btf::reopen_indexed(data, None, opts, offsets) {
                    for id in 0..=wrong.type_count() {
                        if let Ok(t) = wrong.type_by_id(btfkit::TypeId(id)) {
                            let _ = wrong.name(&t);
                            let _ = dump_type(&wrong, &t, &mut CountingSink::default());
                        }
                    }
                }
            }
        }
        if let Ok(btf) = parsed {
            exercise(&btf);
        }
    }
    // First 4 bytes: length of the base; the rest is split over it.
    let Some((len, rest)) = data.split_first_chunk::<4>() else { return };
    let len = (u32::from_le_bytes(*len) as usize).min(rest.len());
    let (base, split) = rest.split_at(len);
    if let Ok(base) = Btf::parse(base)
        && let Ok(split) = Btf::parse_split(split, &base)
    {
        exercise(&split);
        assert_eq!(split.start_id().0, base.type_count());
        composite(&base, &split);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn smoke() {
        let n = crate::smoke("parse", super::run, 300);
        assert!(n > 300);
    }
}
