//! The dump as JSON, byte for byte as `bpftool -j btf dump file` prints
//! it: `{"types":[...]}` on one line, one object per type with the text
//! dump's fields, streamed into a [`Sink`] without allocation.
//!
//! bpftool's JSON writer is emulated as it is, quirks included: in names,
//! a backslash comes out as `\n`, `"` as `\"`, the C escapes `\t \n \r \f
//! \b` are kept, and every other byte (control or not UTF-8) is written raw;
//! a 32-bit unsigned enum value is sign-extended to 64 bits and printed
//! unsigned (`0x80000000` prints as `18446744071562067968`).
//!
//! ```
//! let blob = btfkit::doc_example_blob();
//! let btf = btfkit::Btf::parse(&blob)?;
//! let mut out = heapless::Vec::<u8, 512>::new();
//! btfkit::json::dump_all(&btf, &mut out)?;
//! assert!(out.starts_with(br#"{"types":[{"id":1,"kind":"INT","name":"int","size":4,"#));
//! # Ok::<(), btfkit::Error>(())
//! ```

use crate::dump::{Sink, W, int_encoding, linkage_func, linkage_var};
use crate::error::Result;
use crate::types::{StrOffset, Type, TypeView};
use crate::{Btf, Kind};

/// Dumps every own type of `btf` as bpftool's JSON (one line, with the
/// trailing newline bpftool prints).
///
/// # Errors
/// A structural error from the type walk, or [`crate::ErrorKind::Sink`].
pub fn dump_all<S: Sink + ?Sized>(btf: &Btf<'_>, out: &mut S) -> Result<()> {
    let mut w = W { out, offset: 0 };
    w.s(b"{\"types\":[")?;
    for (i, ty) in btf.types().enumerate() {
        let ty = ty?;
        if i != 0 {
            w.s(b",")?;
        }
        w.offset = ty.offset();
        dump_type_in(btf, &ty, &mut w)?;
    }
    w.s(b"]}\n")
}

/// Dumps one type as a JSON object (no separator, no newline).
///
/// # Errors
/// [`crate::ErrorKind::Sink`].
pub fn dump_type<S: Sink + ?Sized>(btf: &Btf<'_>, ty: &Type<'_>, out: &mut S) -> Result<()> {
    let mut w = W { out, offset: ty.offset() };
    dump_type_in(btf, ty, &mut w)
}

impl<S: Sink + ?Sized> W<'_, S> {
    /// `,"key":` (or `"key":` first in an object).
    fn key(&mut self, key: &[u8], first: bool) -> Result<()> {
        if !first {
            self.s(b",")?;
        }
        self.s(b"\"")?;
        self.s(key)?;
        self.s(b"\":")
    }
    fn ku(&mut self, key: &[u8], v: u64) -> Result<()> {
        self.key(key, false)?;
        self.u(v)
    }
    fn ki(&mut self, key: &[u8], v: i64) -> Result<()> {
        self.key(key, false)?;
        self.i(v)
    }
    fn ks(&mut self, key: &[u8], v: &[u8]) -> Result<()> {
        self.key(key, false)?;
        self.jstr(v)
    }
    /// `,"key":[{...},{...}]`, one object per item, its fields written by
    /// `f` after the opening brace (the first field without a comma).
    fn list<T>(
        &mut self,
        key: &[u8],
        items: impl Iterator<Item = T>,
        mut f: impl FnMut(&mut Self, T) -> Result<()>,
    ) -> Result<()> {
        self.key(key, false)?;
        self.s(b"[")?;
        for (i, item) in items.enumerate() {
            self.s(if i == 0 { b"{" } else { b",{" })?;
            f(self, item)?;
            self.s(b"}")?;
        }
        self.s(b"]")
    }
    /// A string as bpftool's `jsonw_puts` writes it.
    fn jstr(&mut self, v: &[u8]) -> Result<()> {
        self.s(b"\"")?;
        let mut start = 0usize;
        for (i, &c) in v.iter().enumerate() {
            let esc: &[u8] = match c {
                b'\t' => b"\\t",
                b'\n' => b"\\n",
                b'\r' => b"\\r",
                0x0c => b"\\f",
                0x08 => b"\\b",
                b'\\' => b"\\n",
                b'"' => b"\\\"",
                _ => continue,
            };
            self.s(v.get(start..i).unwrap_or_default())?;
            self.s(esc)?;
            start = i.saturating_add(1);
        }
        self.s(v.get(start..).unwrap_or_default())?;
        self.s(b"\"")
    }
    /// A name: `(anon)` for offset 0, `(invalid)` when unreadable.
    fn jname(&mut self, btf: &Btf<'_>, off: StrOffset) -> Result<()> {
        if off.0 == 0 {
            return self.jstr(b"(anon)");
        }
        match btf.str_at(off) {
            Ok(n) => self.jstr(n),
            Err(_) => self.jstr(b"(invalid)"),
        }
    }
}

fn dump_type_in<S: Sink + ?Sized>(btf: &Btf<'_>, ty: &Type<'_>, w: &mut W<'_, S>) -> Result<()> {
    w.s(b"{")?;
    w.key(b"id", true)?;
    w.u(u64::from(ty.id().0))?;
    w.ks(b"kind", ty.kind().map_or("UNKNOWN", Kind::name).as_bytes())?;
    w.key(b"name", false)?;
    w.jname(btf, ty.name_off())?;
    match ty.view() {
        TypeView::Int(i) => {
            w.ku(b"size", u64::from(i.size))?;
            w.ku(b"bits_offset", u64::from(i.offset()))?;
            w.ku(b"nr_bits", u64::from(i.bits()))?;
            w.ks(b"encoding", int_encoding(i.encoding()))?;
        }
        TypeView::Ptr(t)
        | TypeView::Typedef(t)
        | TypeView::Volatile(t)
        | TypeView::Const(t)
        | TypeView::Restrict(t) => {
            w.ku(b"type_id", u64::from(t.0))?;
        }
        TypeView::TypeTag(t) => w.ku(b"type_id", u64::from(t.target.0))?,
        TypeView::Array(a) => {
            w.ku(b"type_id", u64::from(a.elem.0))?;
            w.ku(b"index_type_id", u64::from(a.index.0))?;
            w.ku(b"nr_elems", u64::from(a.nelems))?;
        }
        TypeView::Struct(c) | TypeView::Union(c) => {
            w.ku(b"size", u64::from(c.size))?;
            w.ku(b"vlen", u64::from(ty.vlen()))?;
            w.list(b"members", c.members(), |w, m| {
                w.key(b"name", true)?;
                w.jname(btf, m.name_off)?;
                w.ku(b"type_id", u64::from(m.ty.0))?;
                w.ku(b"bits_offset", u64::from(m.bit_offset()))?;
                if m.bitfield_size() != 0 {
                    w.ku(b"bitfield_size", u64::from(m.bitfield_size()))?;
                }
                Ok(())
            })?;
        }
        TypeView::Enum(e) | TypeView::Enum64(e) => {
            let wide = ty.kind() == Some(Kind::Enum64);
            w.ks(b"encoding", if e.signed { b"SIGNED" } else { b"UNSIGNED" })?;
            w.ku(b"size", u64::from(e.size))?;
            w.ku(b"vlen", u64::from(ty.vlen()))?;
            w.list(b"values", e.values(), |w, v| {
                w.key(b"name", true)?;
                w.jname(btf, v.name_off)?;
                if e.signed {
                    let x = if wide { v.raw as i64 } else { i64::from(v.raw as u32 as i32) };
                    w.ki(b"val", x)?;
                } else if wide {
                    w.ku(b"val", v.raw)?;
                } else {
                    // bpftool's quirk: a 32-bit unsigned value is sign
                    // extended to 64 bits before it is printed unsigned.
                    w.ku(b"val", i64::from(v.raw as u32 as i32) as u64)?;
                }
                Ok(())
            })?;
        }
        TypeView::Fwd(f) => w.ks(b"fwd_kind", if f.union { b"union" } else { b"struct" })?,
        TypeView::Func(f) => {
            w.ku(b"type_id", u64::from(f.proto.0))?;
            w.ks(b"linkage", linkage_func(f.linkage.0))?;
        }
        TypeView::FuncProto(p) => {
            w.ku(b"ret_type_id", u64::from(p.ret.0))?;
            w.ku(b"vlen", u64::from(ty.vlen()))?;
            w.list(b"params", p.params(), |w, prm| {
                w.key(b"name", true)?;
                w.jname(btf, prm.name_off)?;
                w.ku(b"type_id", u64::from(prm.ty.0))
            })?;
        }
        TypeView::Var(v) => {
            w.ku(b"type_id", u64::from(v.ty.0))?;
            w.ks(b"linkage", linkage_var(v.linkage.0))?;
        }
        TypeView::Datasec(d) => {
            w.ku(b"size", u64::from(d.size))?;
            w.ku(b"vlen", u64::from(ty.vlen()))?;
            w.list(b"vars", d.entries(), |w, e| {
                w.key(b"type_id", true)?;
                w.u(u64::from(e.ty.0))?;
                w.ku(b"offset", u64::from(e.offset))?;
                w.ku(b"size", u64::from(e.size))
            })?;
        }
        TypeView::Float(f) => w.ku(b"size", u64::from(f.size))?,
        TypeView::DeclTag(t) => {
            w.ku(b"type_id", u64::from(t.target.0))?;
            w.ki(b"component_idx", i64::from(t.component_idx))?;
        }
        TypeView::Unknown(_) => {}
    }
    w.s(b"}")
}
