//! libFuzzer entry point for [`btfkit_fuzz::validate`].
#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| btfkit_fuzz::validate::run(data));

#[cfg(not(fuzzing))]
fn main() {}
