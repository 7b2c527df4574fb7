//! libFuzzer entry point for [`btfkit_fuzz::merge`].
#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| btfkit_fuzz::merge::run(data));

#[cfg(not(fuzzing))]
fn main() {}
