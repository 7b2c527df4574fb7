//! `merge`: arbitrary bytes as a base and up to three splits over it
//! (`u32` length prefixes), then the writer's round trip, rebase, and the
//! flat and split merges. Invariants: a parsed blob written again through
//! the builder is the same bytes; a successful merge parses, has every
//! input type at the id the plan says, with the same kind and vlen; a
//! rebased split parses over its new parent; a write never fails after a
//! successful plan.

use btfkit::Btf;
use btfkit::merge::{Form, Merge, MergeOptions, rebase, rebase_len};
use btfkit::write::{Builder, BuilderOptions, HashIndex, StrTable};

/// Splits `data` into up to four length-prefixed pieces.
fn pieces(mut data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while out.len() < 4 {
        let Some((len, rest)) = data.split_first_chunk::<4>() else { break };
        let n = (u32::from_le_bytes(*len) as usize).min(rest.len());
        let (p, r) = rest.split_at(n);
        out.push(p);
        data = r;
    }
    out
}

/// Writes `btf` again through the builder (same strings, every record).
/// The builder writes canonical headers (sections in order, no gaps, zero
/// flags, zero layout fields without a layout); those blobs must come back
/// byte for byte.
fn round_trip(btf: &Btf<'_>) {
    let Ok(strings) = StrTable::from_section(Vec::new(), HashIndex::default(), btf.own_strings(), btf.start_str_off())
    else {
        return;
    };
    let mut opts = match btf.base() {
        Some(b) => BuilderOptions::split_of(b),
        None => BuilderOptions::standalone(btf.endian()),
    };
    opts.vlen = btf.options().vlen;
    opts.header_len = btf.header().hdr_len;
    let Ok(mut b) = Builder::new(opts, Vec::new(), strings) else { return };
    let layout;
    if !btf.layout_section().is_empty() {
        layout = btf.layout_section().to_vec();
        if b.set_layout(&layout).is_err() {
            return;
        }
    }
    for t in btf.types() {
        let Ok(t) = t else { return };
        if b.add_type(&t).is_err() {
            return; // e.g. an unknown kind the builder's layout cannot size
        }
    }
    let mut out = vec![0u8; b.len()];
    b.write(&mut out).expect("write into a buffer of len()");
    let h = btf.header();
    let canonical = h.type_off == 0
        && h.str_off == h.type_len.wrapping_add(h.layout_len)
        && (if h.layout_len == 0 { h.layout_off == 0 } else { h.layout_off == h.type_len })
        && h.flags == 0
        && btf.data().len() as u64 == u64::from(h.hdr_len) + u64::from(h.str_off) + u64::from(h.str_len)
        && (h.hdr_len == 24 || h.hdr_len == 32);
    if canonical {
        assert_eq!(out, btf.data(), "round trip of a canonical blob is exact");
    }
}

/// Runs the target on one input.
pub fn run(data: &[u8]) {
    let p = pieces(data);
    let Some((first, rest)) = p.split_first() else { return };
    let Ok(base) = Btf::parse(first) else { return };
    round_trip(&base);
    let modules: Vec<Btf<'_>> = rest.iter().filter_map(|m| Btf::parse_split(m, &base).ok()).collect();
    for m in &modules {
        round_trip(m);
    }
    // Rebase each module after the first one.
    if let Some(first_mod) = modules.first() {
        for m in modules.iter().skip(1) {
            let mut out = vec![0u8; rebase_len(m)];
            if rebase(m, first_mod, &mut out, true).is_ok() {
                let moved = Btf::parse_split(&out, first_mod).expect("a rebased split parses over its parent");
                assert_eq!(moved.own_type_count(), m.own_type_count());
            }
        }
    }
    for form in [Form::Flat, Form::Split] {
        let opts = MergeOptions { form, reuse_base_strings: data.len().is_multiple_of(2), kernel_limits: true };
        let Ok(need) = Merge::scratch_len(&base, &modules, &opts) else { continue };
        let (mut words, mut slots) = (vec![0u32; need.words], vec![0u64; need.slots]);
        let Ok(plan) = Merge::plan(&base, &modules, &opts, &mut words, &mut slots) else { continue };
        let ids: Vec<Vec<u32>> = (0..modules.len())
            .map(|i| {
                let mut v = vec![0u32; modules[i].type_count() as usize];
                plan.fill_id_map(i, &mut v).expect("map of a planned module");
                v
            })
            .collect();
        let mut out = vec![0u8; plan.len()];
        plan.write(&mut out).expect("a planned merge writes");
        let merged = match form {
            Form::Flat => Btf::parse(&out),
            Form::Split => Btf::parse_split(&out, &base),
        }
        .expect("merged output parses");
        let mut ix = vec![0u32; merged.index_len()];
        let merged = merged.with_index(merged.build_index(&mut ix).expect("index")).expect("own index");
        for (i, m) in modules.iter().enumerate() {
            for t in m.types().flatten() {
                let new = ids[i][t.id().0 as usize];
                let got = merged.type_by_id(btfkit::TypeId(new)).expect("every input type is in the output");
                assert_eq!((got.kind_raw(), got.vlen(), got.kind_flag()), (t.kind_raw(), t.vlen(), t.kind_flag()));
                assert_eq!(merged.name(&got).ok(), m.name(&t).ok(), "names survive the merge");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn smoke() {
        let n = crate::smoke("merge", super::run, 300);
        assert!(n > 300);
    }
}
