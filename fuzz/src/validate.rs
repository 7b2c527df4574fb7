//! `validate`: arbitrary bytes through every profile of the validator, on
//! several kernel versions; also checks that anything `UserLoad` accepts
//! parses, and that `Strict` never accepts what `UserLoad` rejects.

use btfkit::validate::{KernelVersion, Profile, ValidateOptions, scratch_len, validate};
use btfkit::{Btf, Endian};

/// Runs the target on one input.
pub fn run(data: &[u8]) {
    for kernel in
        [KernelVersion::new(5, 10), KernelVersion::new(6, 1), KernelVersion::new(6, 18), KernelVersion::LATEST]
    {
        let user = ValidateOptions::new(Profile::UserLoad, kernel);
        let mut scratch = vec![0u32; scratch_len(data, None, &user)];
        let user_ok = validate(data, None, &user, &mut scratch).is_ok();
        let strict = ValidateOptions::new(Profile::Strict, kernel);
        let strict_ok = validate(data, None, &strict, &mut scratch).is_ok();
        let vmlinux = ValidateOptions::new(Profile::Vmlinux, kernel);
        let _ = validate(data, None, &vmlinux, &mut scratch);
        // Strict reads either byte order; the kernel (UserLoad) only its own.
        let host_order =
            data.get(..2).and_then(|m| m.try_into().ok()).and_then(Endian::from_magic) == Some(Endian::NATIVE);
        if strict_ok && host_order {
            assert!(user_ok, "Strict accepted what UserLoad rejects on {kernel}");
        }
        if user_ok && kernel < KernelVersion::new(7, 2) {
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
    if let Ok(base) = Btf::parse(base) {
        for profile in [Profile::Module, Profile::Strict] {
            let opts = ValidateOptions::new(profile, KernelVersion::LATEST);
            let mut scratch = vec![0u32; scratch_len(split, Some(&base), &opts)];
            let _ = validate(split, Some(&base), &opts, &mut scratch);
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn smoke() {
        assert!(crate::smoke("parse", super::run, 200) > 200);
    }
}
