//! Test-only builder of tiny BTF blobs, in either byte order.
extern crate std;
use std::vec::Vec;

use crate::{Endian, Kind, VlenEncoding};

/// Builds a blob record by record; strings are appended as they come.
pub struct Builder {
    pub endian: Endian,
    pub types: Vec<u8>,
    pub strs: Vec<u8>,
    pub layout: Option<Vec<u8>>,
    pub hdr_len: u32,
    /// Split builders start their string section without the leading NUL.
    pub str_base: u32,
}

impl Builder {
    pub fn new(endian: Endian) -> Self {
        Builder { endian, types: Vec::new(), strs: std::vec![0], layout: None, hdr_len: 24, str_base: 0 }
    }
    /// A split builder over a base with `base_str_len` bytes of strings.
    pub fn split(endian: Endian, base_str_len: u32) -> Self {
        Builder { strs: Vec::new(), str_base: base_str_len, ..Self::new(endian) }
    }
    fn word(&self, v: u32) -> [u8; 4] {
        match self.endian {
            Endian::Little => v.to_le_bytes(),
            Endian::Big => v.to_be_bytes(),
        }
    }
    pub fn str(&mut self, s: &str) -> u32 {
        let off = self.str_base + self.strs.len() as u32;
        self.strs.extend_from_slice(s.as_bytes());
        self.strs.push(0);
        off
    }
    pub fn u32(&mut self, v: u32) -> &mut Self {
        let w = self.word(v);
        self.types.extend_from_slice(&w);
        self
    }
    /// A record head.
    pub fn head(&mut self, name: &str, kind: u8, vlen: u32, kflag: bool, size_type: u32) -> &mut Self {
        let n = if name.is_empty() { 0 } else { self.str(name) };
        let info = VlenEncoding::Bits16.encode(kind, vlen, kflag);
        self.u32(n).u32(info).u32(size_type)
    }
    pub fn int(&mut self, name: &str, size: u32, bits: u32, enc: u32) -> &mut Self {
        self.head(name, Kind::Int as u8, 0, false, size).u32((enc << 24) | bits)
    }
    pub fn ptr(&mut self, to: u32) -> &mut Self {
        self.head("", Kind::Ptr as u8, 0, false, to)
    }
    pub fn member(&mut self, name: &str, ty: u32, off: u32) -> &mut Self {
        let n = if name.is_empty() { 0 } else { self.str(name) };
        self.u32(n).u32(ty).u32(off)
    }
    pub fn layout(&mut self, entries: &[(u8, u8)]) -> &mut Self {
        let mut l = Vec::new();
        for &(i, e) in entries {
            l.push(i);
            l.push(e);
            l.extend_from_slice(&[0, 0]);
        }
        self.layout = Some(l);
        self.hdr_len = 32;
        self
    }
    pub fn build(&self) -> Vec<u8> {
        let layout = self.layout.clone().unwrap_or_default();
        let mut out = Vec::new();
        let magic: u16 = 0xeb9f;
        out.extend_from_slice(&match self.endian {
            Endian::Little => magic.to_le_bytes(),
            Endian::Big => magic.to_be_bytes(),
        });
        out.extend_from_slice(&[1, 0]);
        let tl = self.types.len() as u32;
        let ll = layout.len() as u32;
        let mut fields = std::vec![self.hdr_len, 0, tl, tl + ll, self.strs.len() as u32];
        if self.hdr_len >= 32 {
            fields.extend_from_slice(&[tl, ll]);
        }
        for f in fields {
            out.extend_from_slice(&self.word(f));
        }
        out.extend_from_slice(&self.types);
        out.extend_from_slice(&layout);
        out.extend_from_slice(&self.strs);
        out
    }
}
