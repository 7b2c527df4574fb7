//! The composite view over the real corpus: vmlinux + all 1121 modules.

use btfkit::composite::{Composite, FwdError, Layer, Loc, Order};
use btfkit::names::NameIndex;
use btfkit::{Btf, IdIndex, Kind, TypeView};
use btfkit_tests::{corpus, corpus_modules};

struct Owned {
    name: String,
    data: Vec<u8>,
}

#[test]
fn seed_scenario_and_fwd_resolution_across_all_modules() {
    let Some(dir) = corpus() else { return };
    let base_data = std::fs::read(dir.join("vmlinux")).unwrap();
    let modules: Vec<Owned> = corpus_modules(&dir)
        .iter()
        .map(|p| Owned { name: p.file_name().unwrap().to_str().unwrap().to_owned(), data: std::fs::read(p).unwrap() })
        .collect();

    let base = Btf::parse(&base_data).unwrap();
    let base_ix = base.build_index_vec().unwrap();
    let base = base.with_index(IdIndex::from_built(&base, &base_ix)).unwrap();
    let base_names = base.build_name_index_vec().unwrap();

    let parsed: Vec<Btf> = modules.iter().map(|m| Btf::parse_split(&m.data, &base).unwrap()).collect();
    let ixs: Vec<Vec<u32>> = parsed.iter().map(|b| b.build_index_vec().unwrap()).collect();
    let names: Vec<Vec<u64>> = parsed.iter().map(|b| b.build_name_index_vec().unwrap()).collect();
    let mut layers = vec![Layer::new(base, NameIndex::from_built(&base_names))];
    for ((b, ix), n) in parsed.iter().zip(&ixs).zip(&names) {
        let b = b.with_index(IdIndex::from_built(b, ix)).unwrap();
        layers.push(Layer::new(b, NameIndex::from_built(n)));
    }
    let all = Composite::new(&layers).unwrap();
    let layer_of = |name: &str| 1 + modules.iter().position(|m| m.name == name).unwrap() as u16;

    // The seed's case: struct btrfs_inode is not defined in vmlinux, but
    // module btrfs defines it, and the composite finds it there.
    assert!(!all.find(b"btrfs_inode", Some(Kind::Struct), Order::Own(0)).any(|_| true));
    assert!(all.type_exists(Kind::Struct, b"btrfs_inode"));
    let hits: Vec<Loc> = all.find(b"btrfs_inode", Some(Kind::Struct), Order::All).collect();
    assert_eq!(hits.iter().map(|l| l.layer).collect::<Vec<_>>(), vec![layer_of("btrfs")]);
    let t = all.get(hits[0]).unwrap();
    assert!(matches!(t.view(), TypeView::Struct(s) if s.size > 0));

    // Base-first: task_struct is vmlinux's even though modules mention it.
    let first = all.find(b"task_struct", Some(Kind::Struct), Order::BaseFirst).next().unwrap();
    assert_eq!(first.layer, 0);
    // Lookups agree with a linear scan of the layer.
    let scan: Vec<u32> = base
        .types()
        .flatten()
        .filter(|t| t.kind() == Some(Kind::Struct) && base.name(t).unwrap() == b"task_struct")
        .map(|t| t.id().0)
        .collect();
    let indexed: Vec<u32> = all.find(b"task_struct", Some(Kind::Struct), Order::Own(0)).map(|l| l.id.0).collect();
    assert_eq!(indexed, scan);

    // Every FWD in every module: resolved in its own layer, the base or
    // another module, or reported ambiguous, never silently picked.
    let (mut own, mut in_base, mut in_other, mut none, mut ambiguous) = (0, 0, 0, 0, Vec::new());
    for (li, l) in layers.iter().enumerate().skip(1) {
        for t in l.btf.types().flatten() {
            if t.kind() != Some(Kind::Fwd) {
                continue;
            }
            let loc = Loc { layer: li as u16, id: t.id() };
            match all.resolve_fwd(loc) {
                Ok(Some(d)) if d.layer == loc.layer => own += 1,
                Ok(Some(d)) if d.layer == 0 => in_base += 1,
                Ok(Some(d)) => {
                    assert!(matches!(all.get(d).unwrap().kind(), Some(Kind::Struct | Kind::Union)));
                    in_other += 1;
                }
                Ok(None) => none += 1,
                Err(FwdError::Ambiguous(a, b)) => {
                    assert_ne!(a.layer, b.layer);
                    ambiguous.push((String::from_utf8_lossy(all.name(loc).unwrap()).into_owned(), a, b));
                }
                Err(FwdError::NotAFwd) => panic!("{loc:?} is a FWD"),
            }
        }
    }
    eprintln!(
        "module FWDs: {own} defined in their own module, {in_base} in vmlinux, {in_other} in another module, {none} nowhere, {} ambiguous",
        ambiguous.len()
    );
    assert!(in_other > 0, "some module FWD must resolve into another module");
    for (name, a, b) in ambiguous.iter().take(3) {
        eprintln!("  ambiguous: {name} at {a:?} and {b:?}");
    }
}

#[test]
#[ignore = "profiling aid: builds every layer's name index once"]
fn profile_name_index_build() {
    let Some(dir) = corpus() else { return };
    let base_data = std::fs::read(dir.join("vmlinux")).unwrap();
    let mods: Vec<Vec<u8>> = corpus_modules(&dir).iter().map(|p| std::fs::read(p).unwrap()).collect();
    let base = Btf::parse(&base_data).unwrap();
    let mut n = base.build_name_index_vec().unwrap().len();
    for m in &mods {
        n += Btf::parse_split(m, &base).unwrap().build_name_index_vec().unwrap().len();
    }
    eprintln!("{n} named types");
}
