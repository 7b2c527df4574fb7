//! Validation of real kernel BTF: the cloud corpus and the fixtures.

use btfkit::validate::{KernelVersion, Profile, ValidateOptions, validate_vec};
use btfkit::{Btf, IdIndex};
use btfkit_tests::kernel::{availability, btf_load};
use btfkit_tests::{corpus, corpus_modules, unavailable, workspace};

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
