//! Validation of real kernel BTF: the cloud corpus and the fixtures.

use btfkit::validate::{KernelVersion, Profile, ValidateOptions, validate_vec};
use btfkit::{Btf, IdIndex};
use btfkit_tests::kernel::{availability, btf_load};
use btfkit_tests::{corpus, corpus_modules, first_member_name_at, unavailable, workspace};

/// The corpus is Debian's 6.1 kernel: its own rules apply.
const K61: KernelVersion = KernelVersion::new(6, 1);

#[test]
fn corpus_vmlinux_passes_userload_and_vmlinux_and_the_kernel_agrees() {
    let Some(dir) = corpus() else { return };
    let data = std::fs::read(dir.join("vmlinux")).unwrap();
    for profile in [Profile::UserLoad, Profile::Vmlinux, Profile::Strict] {
        let r = validate_vec(&data, None, &ValidateOptions::new(profile, K61));
        assert!(r.is_ok(), "vmlinux under {profile:?}: {}", r.unwrap_err());
    }
    match availability() {
        Ok(()) => {
            if let Err(r) = btf_load(&data) {
                panic!("the running kernel rejects the corpus vmlinux: errno {}", r.errno);
            }
        }
        Err(why) => {
            let _ = unavailable("the kernel BTF verifier", &why);
        }
    }
}

/// The running kernel's own vmlinux BTF, loaded as user BTF: our
/// `UserLoad` verdict for the running kernel is the kernel's. Its special
/// structs (`bpf_spin_lock`, and on 6.2+ the graph types) are in it, so the
/// special-field layer runs over real structs; the corpus vmlinux (6.1) has
/// one struct that holds a `bpf_spin_lock`, which the layer parses too.
#[test]
fn running_vmlinux_gets_the_kernels_userload_verdict() {
    let rel = btfkit_tests::kernel::release();
    let kernel = btfkit_sysfs::kernel::running_kernel();
    if let Some(dir) = corpus() {
        let data = std::fs::read(dir.join("vmlinux")).unwrap();
        for k in [kernel, KernelVersion::LATEST] {
            let r = validate_vec(&data, None, &ValidateOptions::new(Profile::UserLoad, k));
            assert!(r.is_ok(), "corpus vmlinux under UserLoad for {k}: {}", r.unwrap_err());
        }
    }
    let path = std::path::Path::new("/sys/kernel/btf/vmlinux");
    let data = match std::fs::read(path) {
        Ok(d) => d,
        Err(e) => {
            let _ = unavailable("the running kernel's BTF", &format!("{}: {e}", path.display()));
            return;
        }
    };
    if let Err(why) = availability() {
        let _ = unavailable("the kernel BTF verifier", &why);
        return;
    }
    let ours = btfkit_tests::kernel::validate_user(&data, &ValidateOptions::new(Profile::UserLoad, kernel));
    let theirs = btf_load(&data);
    eprintln!(
        "{} on Linux {rel}: kernel {}, ours {}",
        path.display(),
        theirs.as_ref().map_or_else(|r| format!("errno {}", r.errno), |()| "accepts".to_owned()),
        ours.as_ref().map_or_else(ToString::to_string, |()| "accepts".to_owned())
    );
    assert_eq!(theirs.is_ok(), ours.is_ok(), "verdicts differ on {}", path.display());
}

#[test]
fn every_corpus_module_passes_module_and_strict_with_its_base() {
    let Some(dir) = corpus() else { return };
    let base_data = std::fs::read(dir.join("vmlinux")).unwrap();
    let base = Btf::parse(&base_data).unwrap();
    let ix = base.build_index_vec().unwrap();
    let base = base.with_index(IdIndex::from_built(&base, &ix)).unwrap();
    let modules = corpus_modules(&dir);
    assert!(modules.len() > 1000);
    let mut failures = Vec::new();
    for m in &modules {
        let data = std::fs::read(m).unwrap();
        for profile in [Profile::Module, Profile::Strict] {
            if let Err(e) = validate_vec(&data, Some(&base), &ValidateOptions::new(profile, K61)) {
                failures.push(format!("{} ({profile:?}): {e}", m.display()));
            }
        }
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

/// Real kernel BTF through the fast paths and through the plain passes
/// (`validate_unoptimized`): the corpus vmlinux under every standalone
/// profile on its own kernel's rules, the oldest and the latest, every
/// corpus module over it under `Module` and `Strict`, and the running
/// kernel's vmlinux where it is readable. Verdict and every scratch word
/// must be the same.
#[test]
fn fast_paths_equal_the_plain_passes_on_real_kernel_btf() {
    use btfkit_tests::kernel::fast_paths_differ;
    let Some(dir) = corpus() else { return };
    let base_data = std::fs::read(dir.join("vmlinux")).unwrap();
    let mut parted = Vec::new();
    for k in [K61, KernelVersion::new(5, 10), KernelVersion::LATEST] {
        for profile in [Profile::UserLoad, Profile::Vmlinux, Profile::Strict] {
            if let Some(why) = fast_paths_differ(&base_data, None, &ValidateOptions::new(profile, k)) {
                parted.push(format!("corpus vmlinux ({profile:?}, {k}): {why}"));
            }
        }
    }
    let base = Btf::parse(&base_data).unwrap();
    let ix = base.build_index_vec().unwrap();
    let base = base.with_index(IdIndex::from_built(&base, &ix)).unwrap();
    let modules = corpus_modules(&dir);
    assert!(modules.len() > 1000);
    for m in &modules {
        let data = std::fs::read(m).unwrap();
        for profile in [Profile::Module, Profile::Strict] {
            if let Some(why) = fast_paths_differ(&data, Some(&base), &ValidateOptions::new(profile, K61)) {
                parted.push(format!("{} ({profile:?}): {why}", m.display()));
            }
        }
    }
    let running = std::path::Path::new("/sys/kernel/btf/vmlinux");
    match std::fs::read(running) {
        Ok(data) => {
            let kernel = btfkit_sysfs::kernel::running_kernel();
            for profile in [Profile::UserLoad, Profile::Vmlinux] {
                if let Some(why) = fast_paths_differ(&data, None, &ValidateOptions::new(profile, kernel)) {
                    parted.push(format!("{} ({profile:?}, {kernel}): {why}", running.display()));
                }
            }
        }
        Err(e) => {
            let _ = unavailable("the running kernel's BTF", &format!("{}: {e}", running.display()));
        }
    }
    assert!(parted.is_empty(), "the fast paths part from the plain passes:\n{}", parted.join("\n"));
}

#[test]
fn fixtures_validate_in_both_byte_orders() {
    let dir = workspace().join("tests/fixtures");
    let k = KernelVersion::new(6, 18);
    for f in ["standalone.btf", "bpfel.btf", "bpfeb.btf", "split_base.btf"] {
        let data = std::fs::read(dir.join(f)).unwrap();
        let r = validate_vec(&data, None, &ValidateOptions::new(Profile::Strict, k));
        assert!(r.is_ok(), "{f}: {}", r.unwrap_err());
    }
    let base_data = std::fs::read(dir.join("split_base.btf")).unwrap();
    let base = Btf::parse(&base_data).unwrap();
    let split = std::fs::read(dir.join("split.btf")).unwrap();
    for profile in [Profile::Module, Profile::Strict] {
        let r = validate_vec(&split, Some(&base), &ValidateOptions::new(profile, k));
        assert!(r.is_ok(), "split.btf under {profile:?}: {}", r.unwrap_err());
    }
}

/// `validate_split`, with the base's names classified once, gives
/// `validate`'s verdict (whose base names take the exact byte-by-byte
/// check): on every corpus module, and on modules whose first member name
/// is pointed at base strings all over the base's string section (names,
/// their suffixes, NULs, dotted section names), for the 6.1 rules and for
/// pre-6.1 ones (no dots in identifiers); the same with the classes in a
/// `BaseNamesVec`.
#[test]
fn validate_split_with_base_names_agrees_with_validate() {
    use btfkit::validate::{BaseNames, BaseNamesVec, scratch_len, scratch_len_bound, validate, validate_split};
    let Some(dir) = corpus() else { return };
    let base_data = std::fs::read(dir.join("vmlinux")).unwrap();
    let mut index = vec![0u32; Btf::index_len_bound(&base_data)];
    let base = Btf::parse_indexed(&base_data, None, btfkit::ParseOptions::default(), &mut index).unwrap();
    let str_len = base.own_strings().len() as u32;
    let modules = corpus_modules(&dir);
    let mut scratch = Vec::new();
    let (mut agreed, mut rejected) = (0usize, 0usize);
    for kernel in [K61, KernelVersion::new(5, 15)] {
        let mut words = vec![0u32; BaseNames::words_needed(&base)];
        let names = BaseNames::new(&base, kernel, &mut words).unwrap();
        // The same classes in a Vec of their own (sessions keep these).
        let owned = BaseNamesVec::new(&base, kernel);
        for profile in [Profile::Module, Profile::Strict] {
            let opts = ValidateOptions::new(profile, kernel);
            for (i, m) in modules.iter().enumerate() {
                let mut data = std::fs::read(m).unwrap();
                let bound = scratch_len_bound(&data);
                assert!(
                    bound >= scratch_len(&data, Some(&base), &opts),
                    "{}: the bound is below the need",
                    m.display()
                );
                scratch.resize(bound, 0);
                let mut check = |data: &[u8], what: &str| {
                    let ours = validate_split(data, &base, &names, &opts, &mut scratch);
                    let exact = validate(data, Some(&base), &opts, &mut scratch);
                    assert_eq!(ours, exact, "{} {what} ({profile:?}, {kernel})", m.display());
                    let from_vec = validate_split(data, &base, &owned.names(), &opts, &mut scratch);
                    assert_eq!(from_vec, exact, "{} {what} ({profile:?}, {kernel}), BaseNamesVec", m.display());
                    agreed += 1;
                    rejected += usize::from(ours.is_err());
                };
                check(&data, "as is");
                // Every 40th module: its first member's name swept over the base strings.
                if i % 40 != 0 {
                    continue;
                }
                let Some(at) = first_member_name_at(&data) else { continue };
                for off in (1..str_len).step_by(997).chain([str_len - 1]) {
                    data[at..at + 4].copy_from_slice(&off.to_le_bytes());
                    check(&data, &format!("member name at base string {off}"));
                }
            }
        }
    }
    // The sweep must have hit both verdicts.
    assert!(rejected > 100 && rejected < agreed, "{rejected} of {agreed} rejected");
}

/// `BaseNames` made from another string section than the base's own are
/// not used: the verdict stays the exact one.
#[test]
fn base_names_of_another_section_are_ignored() {
    use btfkit::validate::{BaseNames, validate_split, validate_vec};
    let dir = workspace().join("tests/fixtures");
    let base_data = std::fs::read(dir.join("split_base.btf")).unwrap();
    let mut ix = vec![0u32; Btf::index_len_bound(&base_data)];
    let base = Btf::parse_indexed(&base_data, None, btfkit::ParseOptions::default(), &mut ix).unwrap();
    let split = std::fs::read(dir.join("split.btf")).unwrap();
    let opts = ValidateOptions::new(Profile::Module, KernelVersion::new(6, 18));
    // Strings where every offset reads as a valid identifier.
    let fake = vec![b'a'; base.own_strings().len()];
    let mut words = vec![0u32; BaseNames::words_for(fake.len())];
    let names = BaseNames::from_strings(&fake, 0, opts.kernel, &mut words).unwrap();
    let mut scratch = vec![0u32; btfkit::validate::scratch_len_bound(&split)];
    assert_eq!(validate_split(&split, &base, &names, &opts, &mut scratch), validate_vec(&split, Some(&base), &opts));
    // A type whose name is the base's empty string (offset 0): refused
    // either way, the fake bits notwithstanding.
    let mut bad = split.clone();
    let b = Btf::parse_split(&split, &base).unwrap();
    let fwd =
        b.types().filter_map(Result::ok).find(|t| t.kind() == Some(btfkit::Kind::Fwd)).expect("a FWD in split.btf");
    let at = fwd.offset() as usize;
    bad[at..at + 4].copy_from_slice(&0u32.to_le_bytes());
    let exact = validate_vec(&bad, Some(&base), &opts);
    assert!(exact.is_err());
    assert_eq!(validate_split(&bad, &base, &names, &opts, &mut scratch), exact);
}

/// The one-walk parse builds the index `build_index` builds; a base
/// without an index is refused by `validate` (its lookups would be
/// linear) and indexed by `validate_vec`.
#[test]
fn parse_indexed_and_unindexed_bases() {
    use btfkit::validate::{Rule, scratch_len, validate, validate_vec};
    let dir = workspace().join("tests/fixtures");
    let base_data = std::fs::read(dir.join("split_base.btf")).unwrap();
    let plain = Btf::parse(&base_data).unwrap();
    let built = plain.build_index_vec().unwrap();
    let mut storage = vec![u32::MAX; Btf::index_len_bound(&base_data)];
    let indexed = Btf::parse_indexed(&base_data, None, btfkit::ParseOptions::default(), &mut storage).unwrap();
    assert_eq!(indexed.own_type_count(), plain.own_type_count());
    assert!(indexed.has_index());
    for id in 1..plain.type_count() {
        let id = btfkit::TypeId(id);
        assert_eq!(indexed.type_by_id(id).unwrap().offset(), plain.type_by_id(id).unwrap().offset());
    }
    assert_eq!(&storage[..built.len()], &built[..]);
    let mut short = vec![0u32; built.len() - 1];
    let e = Btf::parse_indexed(&base_data, None, btfkit::ParseOptions::default(), &mut short).unwrap_err();
    assert_eq!(e.kind(), btfkit::ErrorKind::BufferTooSmall { needed: built.len() as u32 });
    assert_eq!(btfkit::Header::parse(&base_data).unwrap().strings(&base_data).unwrap(), plain.own_strings());

    let split = std::fs::read(dir.join("split.btf")).unwrap();
    let opts = ValidateOptions::new(Profile::Strict, KernelVersion::new(6, 18));
    let mut scratch = vec![0u32; scratch_len(&split, Some(&plain), &opts)];
    let e = validate(&split, Some(&plain), &opts, &mut scratch).unwrap_err();
    assert_eq!(e.rule(), Rule::BaseNotIndexed);
    assert!(validate_vec(&split, Some(&plain), &opts).is_ok());
    let mut storage = vec![0u32; Btf::index_len_bound(&base_data)];
    let indexed = Btf::parse_indexed(&base_data, None, btfkit::ParseOptions::default(), &mut storage).unwrap();
    assert!(validate(&split, Some(&indexed), &opts, &mut scratch).is_ok());
}
