//! `validate`: arbitrary bytes through every profile of the validator, on
//! several kernel versions; also checks that anything `UserLoad` accepts
//! parses, that `Strict` never accepts what `UserLoad` rejects, that the
//! header-only scratch bound covers the need, and that split validation
//! with the base's name bits ([`validate_split`]) gives the verdict of
//! plain [`validate`], and that the fast paths give the verdict and the
//! scratch words of the plain passes ([`validate_unoptimized`]).

use btfkit::validate::{
    Backport, Backports, BaseNames, KernelVersion, Profile, ValidateOptions, ValidationError, scratch_len,
    scratch_len_bound, validate, validate_split, validate_unoptimized,
};
use btfkit::{Btf, Endian};

/// Runs the target on one input.
pub fn run(data: &[u8]) {
    // Ubuntu's 6.8: two of the hardening's steps as backports.
    let ubuntu = Backports::NONE.with(Backport::RefcountUnique).with(Backport::OwnershipDepth);
    for (kernel, backports) in [
        (KernelVersion::new(5, 10), Backports::NONE),
        (KernelVersion::new(6, 1), Backports::NONE),
        // The special-field layer's older shapes: lists only (6.2), no
        // refcount (6.3), smaller nodes and the first graph-root tag (6.5),
        // direct members only (6.8), no kptrs (6.11).
        (KernelVersion::new(6, 2), Backports::NONE),
        (KernelVersion::new(6, 3), Backports::NONE),
        (KernelVersion::new(6, 5), Backports::NONE),
        (KernelVersion::new(6, 8), ubuntu),
        (KernelVersion::new(6, 11), Backports::NONE),
        // The special-field hardening's steps: the unique-field set alone,
        // then with the ownership bound, then all three.
        (KernelVersion::release(6, 12, 111), Backports::NONE),
        (KernelVersion::release(6, 12, 113), Backports::NONE),
        (KernelVersion::new(6, 12), Backports::NONE),
        (KernelVersion::new(6, 18), Backports::NONE),
        (KernelVersion::LATEST, Backports::NONE),
    ] {
        let with = |profile| {
            let mut o = ValidateOptions::new(profile, kernel);
            o.backports = backports;
            o
        };
        let user = with(Profile::UserLoad);
        let len = scratch_len(data, None, &user);
        let (mut scratch, mut plain) = (vec![0u32; len], vec![0u32; len]);
        let user_ok = same_as_unoptimized(data, None, &user, &mut scratch, &mut plain).is_ok();
        let strict = with(Profile::Strict);
        let strict_ok = same_as_unoptimized(data, None, &strict, &mut scratch, &mut plain).is_ok();
        let vmlinux = with(Profile::Vmlinux);
        let _ = same_as_unoptimized(data, None, &vmlinux, &mut scratch, &mut plain);
        // Strict reads either byte order; the kernel (UserLoad) only its own.
        let host_order =
            data.get(..2).and_then(|m| m.try_into().ok()).and_then(Endian::from_magic) == Some(Endian::NATIVE);
        if strict_ok && host_order {
            assert!(user_ok, "Strict accepted what UserLoad rejects on {kernel}");
        }
        if user_ok && !kernel.at_least(7, 2) {
            let btf = Btf::parse(data).expect("a blob the kernel accepts must parse");
            for t in btf.types() {
                t.expect("accepted blobs iterate");
            }
        }
    }
    // Split over a base: first 4 bytes give the base length.
    let Some((len, rest)) = data.split_first_chunk::<4>() else { return };
    let len = (u32::from_le_bytes(*len) as usize).min(rest.len());
    let (base, split) = rest.split_at(len);
    let mut index = vec![0u32; Btf::index_len_bound(base)];
    if let Ok(base) = Btf::parse_indexed(base, None, btfkit::ParseOptions::default(), &mut index) {
        for kernel in [KernelVersion::new(5, 10), KernelVersion::LATEST] {
            let mut words = vec![0u32; BaseNames::words_needed(&base)];
            let Ok(names) = BaseNames::new(&base, kernel, &mut words) else { continue };
            for profile in [Profile::Module, Profile::Strict] {
                let opts = ValidateOptions::new(profile, kernel);
                let need = scratch_len(split, Some(&base), &opts);
                let bound = scratch_len_bound(split);
                let mut scratch = vec![0u32; need.max(bound)];
                let mut words = vec![0u32; need.max(bound)];
                let plain = same_as_unoptimized(split, Some(&base), &opts, &mut scratch, &mut words);
                let shared = validate_split(split, &base, &names, &opts, &mut scratch);
                assert_eq!(plain, shared, "validate_split differs from validate ({profile:?}, {kernel})");
                if plain.is_ok() {
                    assert!(bound >= need, "scratch_len_bound {bound} below scratch_len {need}");
                }
            }
        }
    }
}

/// [`validate`], held to [`validate_unoptimized`]: the fast paths must give
/// the plain passes' verdict (rule, offset, type id, index) and leave every
/// scratch word as they do. Both scratches start zeroed.
fn same_as_unoptimized(
    data: &[u8],
    base: Option<&Btf<'_>>,
    opts: &ValidateOptions,
    scratch: &mut [u32],
    plain: &mut [u32],
) -> Result<(), ValidationError> {
    scratch.fill(0);
    plain.fill(0);
    let fast = validate(data, base, opts, scratch);
    let slow = validate_unoptimized(data, base, opts, plain);
    assert_eq!(fast, slow, "fast paths and plain passes differ ({:?}, {})", opts.profile, opts.kernel);
    assert!(
        scratch == plain,
        "fast paths and plain passes leave different scratch ({:?}, {})",
        opts.profile,
        opts.kernel
    );
    fast
}

#[cfg(test)]
mod tests {
    #[test]
    fn smoke() {
        assert!(crate::smoke("parse", super::run, 200) > 200);
    }
}
