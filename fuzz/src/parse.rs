//! `parse`: arbitrary bytes as standalone BTF, and as a (base, split) pair;
//! walks every type, looks each up by id and formats it into a sink.

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

/// Runs the target on one input.
pub fn run(data: &[u8]) {
    for opts in [ParseOptions::default(), ParseOptions::with_vlen(VlenEncoding::Bits24)] {
        if let Ok(btf) = Btf::parse_with(data, None, opts) {
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
