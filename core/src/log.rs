//! One logging macro set that routes to `log`, to `defmt`, or to nothing.

#[cfg(all(feature = "log", feature = "defmt"))]
compile_error!("the `log` and `defmt` features are mutually exclusive");

#[cfg(feature = "log")]
macro_rules! btf_debug {
    ($($arg:expr),* $(,)?) => { ::log::debug!($($arg),*) };
}
#[cfg(feature = "defmt")]
macro_rules! btf_debug {
    ($($arg:expr),* $(,)?) => { ::defmt::debug!($($arg),*) };
}
#[cfg(not(any(feature = "log", feature = "defmt")))]
macro_rules! btf_debug {
    // Still evaluate the arguments, so that every build sees the same uses.
    ($fmt:expr $(, $arg:expr)* $(,)?) => {{ let _ = ($fmt, $(&$arg),*); }};
}
pub(crate) use btf_debug;
