//! Text dump of raw BTF, byte for byte as `bpftool btf dump file` prints it.
//!
//! The output goes to a byte [`Sink`], because names are bytes and bpftool
//! prints them unchanged. Nothing is allocated; numbers are formatted on the
//! stack.
//!
//! ```
//! # fn main() -> Result<(), btfkit::Error> {
//! # let blob = btfkit::doc_example_blob();
//! let btf = btfkit::Btf::parse(&blob)?;
//! let mut out = heapless::Vec::<u8, 256>::new();
//! btfkit::dump::dump_all(&btf, &mut out)?;
//! assert_eq!(
//!     core::str::from_utf8(&out).unwrap(),
//!     "[1] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED\n\
//!      [2] STRUCT 'point' size=8 vlen=2\n\
//!      \t'x' type_id=1 bits_offset=0\n\
//!      \t'y' type_id=1 bits_offset=32\n"
//! );
//! # Ok(()) }
//! ```

use crate::error::{Error, ErrorKind, Result};
use crate::types::{StrOffset, Type, TypeView};
use crate::{Btf, Kind, raw};

/// A byte sink for the dump.
pub trait Sink {
    /// Appends `bytes`.
    ///
    /// # Errors
    /// When the sink cannot take them (full, or an I/O error it keeps).
    fn write(&mut self, bytes: &[u8]) -> core::result::Result<(), SinkFull>;
}

/// A [`Sink`] refused bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SinkFull;

impl<const N: usize> Sink for heapless::Vec<u8, N> {
    fn write(&mut self, bytes: &[u8]) -> core::result::Result<(), SinkFull> {
        self.extend_from_slice(bytes).map_err(|_| SinkFull)
    }
}

#[cfg(feature = "alloc")]
impl Sink for alloc::vec::Vec<u8> {
    fn write(&mut self, bytes: &[u8]) -> core::result::Result<(), SinkFull> {
        self.extend_from_slice(bytes);
        Ok(())
    }
}

/// A sink that only counts bytes.
#[derive(Debug, Default, Clone, Copy)]
pub struct CountingSink(pub u64);

impl Sink for CountingSink {
    fn write(&mut self, bytes: &[u8]) -> core::result::Result<(), SinkFull> {
        self.0 = self.0.saturating_add(bytes.len() as u64);
        Ok(())
    }
}

/// Dumps every own type of `btf` (for a split blob: its types only, with
/// their split ids), one per record as bpftool does.
///
/// # Errors
/// A structural error from the type walk, or [`ErrorKind::Sink`].
pub fn dump_all<S: Sink + ?Sized>(btf: &Btf<'_>, out: &mut S) -> Result<()> {
    for ty in btf.types() {
        dump_type(btf, &ty?, out)?;
    }
    Ok(())
}

pub(crate) struct W<'s, S: ?Sized> {
    pub(crate) out: &'s mut S,
    pub(crate) offset: u32,
}

impl<S: Sink + ?Sized> W<'_, S> {
    #[inline]
    pub(crate) fn s(&mut self, b: &[u8]) -> Result<()> {
        self.out.write(b).map_err(|_| Error::new(ErrorKind::Sink, self.offset))
    }
    #[inline]
    pub(crate) fn u(&mut self, v: u64) -> Result<()> {
        let mut buf = [0u8; 20];
        let n = fmt_u64(v, &mut buf);
        self.s(buf.get(n..).unwrap_or(&[]))
    }
    #[inline]
    pub(crate) fn i(&mut self, v: i64) -> Result<()> {
        if v < 0 {
            self.s(b"-")?;
        }
        self.u(v.unsigned_abs())
    }
    /// `'name'`, with bpftool's `(anon)` for offset 0 and `(invalid)` for an
    /// offset it cannot resolve.
    fn name(&mut self, btf: &Btf<'_>, off: StrOffset) -> Result<()> {
        self.s(b"'")?;
        if off.0 == 0 {
            self.s(b"(anon)")?;
        } else {
            match btf.str_at(off) {
                Ok(n) => self.s(n)?,
                Err(_) => self.s(b"(invalid)")?,
            }
        }
        self.s(b"'")
    }
}

/// Writes `v` in decimal at the end of `buf`; returns where it starts.
#[inline]
fn fmt_u64(mut v: u64, buf: &mut [u8; 20]) -> usize {
    let mut i = buf.len();
    loop {
        // (v % 10) < 10 and i > 0 while digits remain: u64 has at most 20.
        let d = (v % 10) as u8;
        v /= 10;
        i = i.saturating_sub(1);
        if let Some(slot) = buf.get_mut(i) {
            *slot = b'0'.saturating_add(d);
        }
        if v == 0 || i == 0 {
            return i;
        }
    }
}

pub(crate) fn int_encoding(enc: u8) -> &'static [u8] {
    match enc {
        0 => b"(none)",
        raw::BTF_INT_SIGNED => b"SIGNED",
        raw::BTF_INT_CHAR => b"CHAR",
        raw::BTF_INT_BOOL => b"BOOL",
        _ => b"UNKN",
    }
}

pub(crate) fn linkage_func(l: u32) -> &'static [u8] {
    match l {
        raw::BTF_FUNC_STATIC => b"static",
        raw::BTF_FUNC_GLOBAL => b"global",
        raw::BTF_FUNC_EXTERN => b"extern",
        _ => b"(unknown)",
    }
}

pub(crate) fn linkage_var(l: u32) -> &'static [u8] {
    match l {
        raw::BTF_VAR_STATIC => b"static",
        raw::BTF_VAR_GLOBAL_ALLOCATED => b"global",
        raw::BTF_VAR_GLOBAL_EXTERN => b"extern",
        _ => b"(unknown)",
    }
}

/// Dumps one type, ending with a newline.
///
/// # Errors
/// [`ErrorKind::Sink`] when the sink refuses the output.
pub fn dump_type<S: Sink + ?Sized>(btf: &Btf<'_>, ty: &Type<'_>, out: &mut S) -> Result<()> {
    let mut w = W { out, offset: ty.offset() };
    w.s(b"[")?;
    w.u(u64::from(ty.id().0))?;
    w.s(b"] ")?;
    w.s(ty.kind().map_or("UNKNOWN", Kind::name).as_bytes())?;
    w.s(b" ")?;
    w.name(btf, ty.name_off())?;
    match ty.view() {
        TypeView::Int(i) => {
            w.s(b" size=")?;
            w.u(u64::from(i.size))?;
            w.s(b" bits_offset=")?;
            w.u(u64::from(i.offset()))?;
            w.s(b" nr_bits=")?;
            w.u(u64::from(i.bits()))?;
            w.s(b" encoding=")?;
            w.s(int_encoding(i.encoding()))?;
        }
        TypeView::Ptr(t)
        | TypeView::Typedef(t)
        | TypeView::Volatile(t)
        | TypeView::Const(t)
        | TypeView::Restrict(t) => {
            w.s(b" type_id=")?;
            w.u(u64::from(t.0))?;
        }
        TypeView::TypeTag(t) => {
            w.s(b" type_id=")?;
            w.u(u64::from(t.target.0))?;
        }
        TypeView::Array(a) => {
            w.s(b" type_id=")?;
            w.u(u64::from(a.elem.0))?;
            w.s(b" index_type_id=")?;
            w.u(u64::from(a.index.0))?;
            w.s(b" nr_elems=")?;
            w.u(u64::from(a.nelems))?;
        }
        TypeView::Struct(c) | TypeView::Union(c) => {
            w.s(b" size=")?;
            w.u(u64::from(c.size))?;
            w.s(b" vlen=")?;
            w.u(u64::from(ty.vlen()))?;
            for m in c.members() {
                w.s(b"\n\t")?;
                w.name(btf, m.name_off)?;
                w.s(b" type_id=")?;
                w.u(u64::from(m.ty.0))?;
                w.s(b" bits_offset=")?;
                w.u(u64::from(m.bit_offset()))?;
                if m.bitfield_size() != 0 {
                    w.s(b" bitfield_size=")?;
                    w.u(u64::from(m.bitfield_size()))?;
                }
            }
        }
        TypeView::Enum(e) | TypeView::Enum64(e) => {
            let wide = ty.kind() == Some(Kind::Enum64);
            w.s(if e.signed { b" encoding=SIGNED size=" } else { b" encoding=UNSIGNED size=" })?;
            w.u(u64::from(e.size))?;
            w.s(b" vlen=")?;
            w.u(u64::from(ty.vlen()))?;
            for v in e.values() {
                w.s(b"\n\t")?;
                w.name(btf, v.name_off)?;
                w.s(b" val=")?;
                if e.signed {
                    let x = if wide { v.raw as i64 } else { i64::from(v.raw as u32 as i32) };
                    w.i(x)?;
                } else {
                    w.u(v.raw)?;
                }
                if wide {
                    w.s(if e.signed { b"LL" } else { b"ULL" })?;
                }
            }
        }
        TypeView::Fwd(f) => {
            w.s(if f.union { b" fwd_kind=union" } else { b" fwd_kind=struct" })?;
        }
        TypeView::Func(f) => {
            w.s(b" type_id=")?;
            w.u(u64::from(f.proto.0))?;
            w.s(b" linkage=")?;
            w.s(linkage_func(f.linkage.0))?;
        }
        TypeView::FuncProto(p) => {
            w.s(b" ret_type_id=")?;
            w.u(u64::from(p.ret.0))?;
            w.s(b" vlen=")?;
            w.u(u64::from(ty.vlen()))?;
            for prm in p.params() {
                w.s(b"\n\t")?;
                w.name(btf, prm.name_off)?;
                w.s(b" type_id=")?;
                w.u(u64::from(prm.ty.0))?;
            }
        }
        TypeView::Var(v) => {
            w.s(b" type_id=")?;
            w.u(u64::from(v.ty.0))?;
            w.s(b", linkage=")?;
            w.s(linkage_var(v.linkage.0))?;
        }
        TypeView::Datasec(d) => {
            w.s(b" size=")?;
            w.u(u64::from(d.size))?;
            w.s(b" vlen=")?;
            w.u(u64::from(ty.vlen()))?;
            for e in d.entries() {
                w.s(b"\n\ttype_id=")?;
                w.u(u64::from(e.ty.0))?;
                w.s(b" offset=")?;
                w.u(u64::from(e.offset))?;
                w.s(b" size=")?;
                w.u(u64::from(e.size))?;
                // bpftool names the entry's type when the id is in range;
                // id 0 is libbpf's static void record.
                if e.ty.0 < btf.type_count() {
                    w.s(b" (")?;
                    if e.ty.0 == 0 {
                        w.s(b"UNKNOWN '(anon)'")?;
                    } else {
                        let vt = btf.type_by_id(e.ty)?;
                        w.s(vt.kind().map_or("UNKNOWN", Kind::name).as_bytes())?;
                        w.s(b" ")?;
                        w.name(btf, vt.name_off())?;
                    }
                    w.s(b")")?;
                }
            }
        }
        TypeView::Float(f) => {
            w.s(b" size=")?;
            w.u(u64::from(f.size))?;
        }
        TypeView::DeclTag(t) => {
            w.s(b" type_id=")?;
            w.u(u64::from(t.target.0))?;
            w.s(b" component_idx=")?;
            w.i(i64::from(t.component_idx))?;
        }
        TypeView::Unknown(_) => {}
    }
    w.s(b"\n")
}
