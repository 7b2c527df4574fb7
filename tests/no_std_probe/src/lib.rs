//! Proves that btfkit builds without std (and, by default, without alloc).
#![no_std]

use btfkit::{Btf, TypeView, dump};

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {}
}

/// Parses, indexes, walks and dumps a blob using only caller storage.
pub fn probe(blob: &[u8], base: &[u8], slots: &mut [u32]) -> Result<usize, btfkit::Error> {
    let base = Btf::parse(base)?;
    let btf = Btf::parse_split(blob, &base)?;
    let n = btf.index_len();
    let index = btf.build_index(slots.get_mut(..n).unwrap_or(&mut []))?;
    let btf = btf.with_index(index)?;
    let mut out = heapless::Vec::<u8, 512>::new();
    let mut members = 0;
    for ty in btf.types() {
        let ty = ty?;
        if let TypeView::Struct(s) = ty.view() {
            members += s.members().len();
        }
        let _ = dump::dump_type(&btf, &ty, &mut dump::CountingSink::default());
    }
    let _ = dump::dump_all(&base, &mut out);
    Ok(members)
}

/// Name index in a fixed array and a composite in a `heapless::Vec`.
pub fn probe_composite<'a>(
    base: &'a btfkit::Btf<'a>,
    names: &'a mut [u64],
) -> Result<bool, btfkit::Error> {
    use btfkit::composite::{Composite, Layer, Order};
    let index = base.build_name_index(names)?;
    let mut layers = heapless::Vec::<Layer<'a>, 4>::new();
    let _ = layers.push(Layer::new(*base, index));
    let all = Composite::try_from(&layers)?;
    Ok(all.find(b"task_struct", Some(btfkit::Kind::Struct), Order::BaseFirst).next().is_some())
}

#[cfg(feature = "alloc")]
/// With `alloc`, the owned index form is available too.
pub fn probe_alloc(blob: &[u8]) -> Result<usize, btfkit::Error> {
    extern crate alloc;
    let btf = Btf::parse(blob)?;
    let ix: alloc::vec::Vec<u32> = btf.build_index_vec()?;
    Ok(ix.len())
}
