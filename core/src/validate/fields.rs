//! The kernel's BPF special-field layer of a user load
//! (`btf_parse_struct_metas` and what it calls, kernels 6.2 and later; this
//! describes 6.12's, and the module docs of `validate` the older shapes):
//! the rules for spin locks, graph roots and nodes, refcounts and kptrs in
//! the structs that hold them.
//!
//! The kernel runs it after the type tags, on user BTF only, and logs
//! nothing: each failure is an errno, which the rule's message names.
//!
//! - A STRUCT is parsed when one of its direct members has, as its raw type
//!   id, the first STRUCT named `bpf_spin_lock`, `bpf_list_head`,
//!   `bpf_list_node`, `bpf_rb_root`, `bpf_rb_node` or `bpf_refcount`, or a
//!   kptr: a PTR (or a VOLATILE of one) to a TYPE_TAG without kind_flag
//!   named `kptr`, `kptr_untrusted` or `percpu_kptr`, to a STRUCT.
//! - Its fields are found member by member, through arrays and nested
//!   structs, at most 11 of them. Every member of a parsed struct, nested
//!   ones too, must start on a byte, and a tagged pointer must carry one of
//!   the kptr tags.
//! - Then per struct: no overlap, the graph roots' `contains:` declaration
//!   tags and their value structs' nodes, a lock beside any root, no spin
//!   lock beside a resilient one, a refcount beside both node kinds.
//! - Last, per struct in id order: a root's value struct must have been
//!   parsed itself, and must hold no root when the owner holds a node.
//!
//! The 2026 hardening (mainline 7.3; stable 6.12, 6.18 and 7.2 took it
//! release by release: `Rules::one_seen_set`, `refcount_unique` and
//! `ownership_depth`): one set of unique fields for the whole walk,
//! `bpf_refcount` unique, and the ownership graph bounded to chains of 8
//! records (`btf_check_ownership_depth`) in place of the node-holder
//! rule. 6.12 knows no `uptr` tag. From 7.2 a kptr's tag may sit anywhere
//! among the modifiers after its pointer, beside other tags
//! (`btf_type_tag_walk`).
//!
//! One decision is the running kernel's, not the blob's: a kptr whose
//! pointee struct is named like a struct of the kernel's own BTF takes
//! that type, and a referenced one (`kptr`) then needs a destructor the
//! kernel registered. Without that knowledge every pointee is taken as the
//! program's own type, which is what the kernel does for names it does not
//! know.
//!
//! The kernel walks a nested struct again at each use. A struct whose walk
//! found no field and no error is marked with the depth it reached (in its
//! pass-2 size word, which nothing reads after pass 2), and not walked
//! again while that depth stays within the limit. What stays superlinear
//! (structs with fields walked again in each holder; each graph root's
//! scans for its declaration tag and value struct, as the kernel's) is
//! counted, and refused past a constant factor of the blob's size.

use super::{F_KFLAG, K_MODIFIER, KernelStruct, Order, Rule, T, V, VResult};
use crate::Kind;

#[cfg(test)]
extern crate std;
#[cfg(test)]
std::thread_local! {
    /// Structs the field walks entered (tests: the memo keeps it linear).
    pub(super) static WALKED: core::cell::Cell<u64> = const { core::cell::Cell::new(0) };
}

/// Field kinds, as bits of a record's mask.
const SPIN_LOCK: u32 = 1;
const RES_SPIN_LOCK: u32 = 1 << 1;
const LIST_HEAD: u32 = 1 << 2;
const LIST_NODE: u32 = 1 << 3;
const RB_ROOT: u32 = 1 << 4;
const RB_NODE: u32 = 1 << 5;
const REFCOUNT: u32 = 1 << 6;
const KPTR_UNREF: u32 = 1 << 7;
const KPTR_REF: u32 = 1 << 8;
const KPTR_PERCPU: u32 = 1 << 9;
const GRAPH_ROOT: u32 = LIST_HEAD | RB_ROOT;
const GRAPH_NODE: u32 = LIST_NODE | RB_NODE;
/// What an array of fields may repeat (`btf_repeat_fields`).
const REPEATABLE: u32 = KPTR_UNREF | KPTR_REF | KPTR_PERCPU | GRAPH_ROOT;
/// `BTF_FIELDS_MAX`.
const FIELDS_MAX: usize = 11;
/// `MAX_RESOLVE_DEPTH`: array levels of a member, and struct nesting.
const DEPTH: u32 = 32;
/// The work allowed per byte of blob (see [`Rule::SpecialFieldsTooComplex`]).
const WORK_PER_BYTE: u64 = 16;
/// The work allowed on top (a few milliseconds): hundreds of graph roots.
const WORK_BASE: u64 = 1 << 22;
/// The memo of a clean nested struct, in its size word: this bit and its
/// depth below.
const CLEAN: u32 = 1 << 31;

/// The special structs, matched by name in a parsed struct: name, kind,
/// unique per struct level, alignment (x86-64; `include/uapi/linux/bpf.h`;
/// the sizes are [`field_size`]'s).
const NAMED: [(&[u8], u32, bool, u32); 7] = [
    (b"bpf_spin_lock", SPIN_LOCK, true, 4),
    (b"bpf_res_spin_lock", RES_SPIN_LOCK, true, 4),
    (b"bpf_list_head", LIST_HEAD, false, 8),
    (b"bpf_list_node", LIST_NODE, false, 8),
    (b"bpf_rb_root", RB_ROOT, false, 8),
    (b"bpf_rb_node", RB_NODE, false, 8),
    (b"bpf_refcount", REFCOUNT, false, 4),
];

/// The struct names whose first STRUCT triggers the parse of a holder
/// (`alloc_obj_fields`).
const TRIGGERS: [&[u8]; 6] =
    [b"bpf_spin_lock", b"bpf_list_head", b"bpf_list_node", b"bpf_rb_root", b"bpf_rb_node", b"bpf_refcount"];

/// The declaration tag of a graph root.
const CONTAINS: &[u8] = b"contains:";

/// One field found.
#[derive(Debug, Clone, Copy)]
struct Field {
    kind: u32,
    off: u32,
    /// A graph root's value struct; a kptr's pointee struct.
    value: u32,
    /// A graph root's node name (a string offset).
    node: u32,
}

/// What the passes find for the layer.
#[derive(Debug, Clone, Default)]
pub(super) struct Scan {
    /// Pass 1: the first STRUCT of each trigger name.
    firsts: [u32; TRIGGERS.len()],
    /// Pass 1: some TYPE_TAG has a kptr name.
    kptr_tags: bool,
    /// From pass 2's start: the trigger set, if any type can be in it.
    set: Option<Triggers>,
    /// Pass 2: the first and last STRUCT to parse.
    range: Option<(u32, u32)>,
    /// Steps taken (members walked, types and bytes scanned) ...
    work: core::cell::Cell<u64>,
    /// ... and the most allowed: a constant factor of the blob's size.
    budget: u64,
}

impl Scan {
    /// Pass 1 is over: the set, when anything can be in it.
    pub(super) fn seal(&mut self, blob_len: usize) {
        self.budget = (blob_len as u64).saturating_mul(WORK_PER_BYTE).saturating_add(WORK_BASE);
        if self.firsts.iter().any(|&f| f != 0) || self.kptr_tags {
            self.set = Some(Triggers::new(self.firsts, self.kptr_tags));
        }
    }

    pub(super) fn has_set(&self) -> bool {
        self.set.is_some()
    }
}

/// The types whose use as a member's type makes a struct parsed
/// (`aof`): the first STRUCT of each trigger name, and the kptrs.
#[derive(Debug, Clone, Copy)]
struct Triggers {
    firsts: [u32; TRIGGERS.len()],
    /// Bit `id % 64` of each first id: most member types miss it.
    bloom: u64,
    /// Some TYPE_TAG has a kptr name: kptrs may exist.
    kptrs: bool,
}

impl Triggers {
    fn new(firsts: [u32; TRIGGERS.len()], kptrs: bool) -> Self {
        let bloom = firsts.iter().filter(|&&f| f != 0).fold(0u64, |b, &f| b | 1u64.wrapping_shl(f));
        Triggers { firsts, bloom, kptrs }
    }

    #[inline]
    fn has<E: Order>(&self, v: &V<'_, '_, E>, id: u32) -> bool {
        self.named(id) || (self.kptrs && matches!(v.find_kptr(id), Ok(Some(_))))
    }

    /// `id` is the first STRUCT of a trigger name.
    #[inline(always)]
    fn named(&self, id: u32) -> bool {
        self.bloom.wrapping_shr(id) & 1 != 0 && id != 0 && self.firsts.contains(&id)
    }
}

/// A struct being walked (`btf_find_struct_field`).
#[derive(Debug, Clone, Copy)]
struct Frame {
    id: u32,
    next: u32,
    /// Unique kinds seen at this level.
    seen: u32,
    level: u32,
    /// Fields found before this struct.
    start: usize,
    /// Byte offset in the struct one level up, and that member's elements.
    off: u32,
    nelems: u32,
    /// Struct levels below this one reached so far.
    below: u32,
    /// 6.12: a unique kind's name matched in this struct or below (even
    /// one then ignored), so that a walk again would find it seen.
    marked: bool,
}

/// A parsed struct's fields, in the order found.
type Fields = heapless::Vec<Field, FIELDS_MAX>;

/// What a member's type is to the field walk.
enum Found {
    Ignore,
    Field(Field),
}

impl<E: Order> V<'_, '_, E> {
    /// Pass 1's part, at each own type: the first STRUCT of each trigger
    /// name, and whether any type tag has a kptr name.
    #[inline]
    pub(super) fn note_special(&mut self, id: u32, desc: u32, rest: &[u8]) {
        let kind = desc & 0x1f;
        if kind == Kind::Struct as u32 {
            // Most names fail on their first bytes: no full read.
            let name_off = self.rd(rest, 0);
            if !self.str_from(name_off).starts_with(b"bpf_") {
                return;
            }
            let name = self.str_bytes(name_off);
            if let Some(i) = TRIGGERS.iter().position(|&n| n == name)
                && self.knows(name)
                && let Some(f) = self.special.firsts.get_mut(i)
                && *f == 0
            {
                *f = id;
            }
        } else if kind == Kind::TypeTag as u32
            && self.rules.kptr_fields
            && desc & u32::from(F_KFLAG) == 0
            && matches!(self.str_bytes(self.rd(rest, 0)), b"kptr" | b"kptr_untrusted" | b"percpu_kptr")
        {
            self.special.kptr_tags = true;
        }
    }

    /// Pass 2's part, at the turn of STRUCT `id`: whether the layer will
    /// parse it (the range of those that it will).
    #[inline]
    pub(super) fn note_triggered(&mut self, id: u32, off: u32, desc: u32) {
        if let Some(set) = self.special.set
            && self.has_trigger(off, desc, &set)
        {
            let (first, _) = self.special.range.unwrap_or((id, id));
            self.special.range = Some((first, id));
        }
    }

    /// `btf_parse_struct_metas`, then `btf_check_and_fixup_fields` of each
    /// record; over the structs that pass 2 found triggered.
    pub(super) fn special_fields(&mut self) -> VResult<()> {
        let (Some(set), Some((first, last))) = (self.special.set, self.special.range) else { return Ok(()) };
        let mut roots = false;
        for id in first..=last {
            if self.triggered(id, &set) {
                let fields = self.parse_fields(id)?;
                roots |= fields.iter().any(|f| f.kind & GRAPH_ROOT != 0);
            }
        }
        // Only a record with a graph root has anything to fix up.
        if roots {
            for id in first..=last {
                if self.triggered(id, &set) {
                    self.fixup(id, &set)?;
                }
            }
        }
        if self.rules.ownership_depth {
            for id in first..=last {
                if self.triggered(id, &set) {
                    self.ownership_depth(id, &set)?;
                }
            }
        }
        Ok(())
    }

    /// 6.12's `btf_owned_type_idx` of each field of record `id`: the
    /// records it owns (a graph root's value struct; a referenced or
    /// per-CPU kptr's pointee when that is the program's own struct with a
    /// record).
    fn owned(&self, id: u32, set: &Triggers) -> VResult<heapless::Vec<u32, FIELDS_MAX>> {
        let mut owned = heapless::Vec::new();
        for f in self.find_fields(id)? {
            let edge = if f.kind & GRAPH_ROOT != 0 {
                true
            } else if f.kind & (KPTR_REF | KPTR_PERCPU) != 0 {
                let kernels = self.kernel.is_some_and(|k| k.lookup(self.name_of(f.value)) != KernelStruct::Absent);
                !kernels && self.triggered(f.value, set)
            } else {
                false
            };
            if edge {
                let _ = owned.push(f.value);
            }
        }
        Ok(owned)
    }

    /// 6.12's `btf_ownership_depth` from record `id`, with 8 levels left:
    /// the longest chain of records it owns, through what they own, must
    /// hold no more than 8 (a cycle has none). Each record's depth is kept
    /// (in its resolved word, whose resolved id a STRUCT does not use), so
    /// that every record is expanded once, as the kernel's are.
    fn ownership_depth(&self, id: u32, set: &Triggers) -> VResult<()> {
        struct Visit {
            id: u32,
            owned: heapless::Vec<u32, FIELDS_MAX>,
            next: usize,
            max: u32,
            left: u32,
        }
        const MAX: u32 = 8;
        let too_deep = || Err(self.type_err(Rule::OwnershipTooDeep, id));
        let depth = |r: u32| self.words(r).map_or(0, |[_, w, ..]| w.get() & 0xff);
        let set_depth = |r: u32, d: u32| {
            if let Some([_, w, ..]) = self.words(r) {
                w.set((w.get() & !0xff) | d);
            }
        };
        if depth(id) != 0 {
            return Ok(());
        }
        let mut stack = heapless::Vec::<Visit, { MAX as usize }>::new();
        let _ = stack.push(Visit { id, owned: self.owned(id, set)?, next: 0, max: 0, left: MAX });
        while let Some(top) = stack.last_mut() {
            if let Some(&child) = top.owned.get(top.next) {
                top.next = top.next.wrapping_add(1);
                let left = top.left.wrapping_sub(1);
                if left == 0 {
                    return too_deep();
                }
                let d = depth(child);
                if d != 0 {
                    if d > left {
                        return too_deep();
                    }
                    top.max = top.max.max(d);
                    continue;
                }
                let owned = self.owned(child, set)?;
                if stack.push(Visit { id: child, owned, next: 0, max: 0, left }).is_err() {
                    return too_deep();
                }
                continue;
            }
            let (r, d, left) = (top.id, top.max.wrapping_add(1), top.left);
            set_depth(r, d);
            let _ = stack.pop();
            if d > left {
                return too_deep();
            }
            if let Some(up) = stack.last_mut() {
                up.max = up.max.max(d);
            }
        }
        Ok(())
    }

    /// Whether STRUCT `id` has a direct member whose raw type is in the set.
    fn triggered(&self, id: u32, set: &Triggers) -> bool {
        let Some([off, _, _, d, _]) = self.words(id) else { return false };
        let d = d.get();
        d & 0x1f == Kind::Struct as u32 && self.has_trigger(off.get(), d, set)
    }

    /// [`Self::triggered`] of the STRUCT whose record is at `off`, with
    /// descriptor `d`.
    #[inline]
    fn has_trigger(&self, off: u32, d: u32, set: &Triggers) -> bool {
        let from = (off as usize).wrapping_add(12);
        let len = ((d >> 8) as usize).wrapping_mul(12);
        let Some(b) = self.data.get(from..from.wrapping_add(len)) else { return false };
        if set.kptrs {
            return b.chunks_exact(12).any(|m| set.has(self, self.rd(m, 4)));
        }
        // Names only (vmlinux, and most programs): one bit test a member.
        b.chunks_exact(12).any(|m| set.named(self.rd(m, 4)))
    }

    /// Counts `n` steps of work for struct `id`'s layer; past the budget,
    /// refuses.
    fn charge(&self, id: u32, n: usize) -> VResult<()> {
        let w = self.special.work.get().saturating_add(n as u64);
        self.special.work.set(w);
        if w > self.special.budget {
            return Err(self.type_err(Rule::SpecialFieldsTooComplex, id));
        }
        Ok(())
    }

    /// The length of the string at a (valid) offset, up to its NUL.
    fn str_len(&self, off: u32) -> usize {
        self.str_bytes(off).len()
    }

    /// The name of own type `id` (empty for none).
    fn name_of(&self, id: u32) -> &[u8] {
        let Some([off, ..]) = self.words(id) else { return &[] };
        self.str_bytes(self.rd(self.data, off.get() as usize))
    }

    /// The string at a (valid) offset, without its NUL.
    fn str_bytes(&self, off: u32) -> &[u8] {
        let s = self.str_from(off);
        memchr::memchr(0, s).and_then(|n| s.get(..n)).unwrap_or(s)
    }

    /// `btf_find_kptr` with the kptr kinds: the kind and pointee struct of
    /// a kptr, `None` for a type that is none, or the rule a tagged
    /// pointer breaks.
    fn find_kptr(&self, id: u32) -> Result<Option<(u32, u32)>, Rule> {
        let mut t = self.ty(id).unwrap_or(T::VOID);
        if t.k(Kind::Volatile) {
            t = self.ty(t.st).unwrap_or(T::VOID);
        }
        if !t.k(Kind::Ptr) {
            return Ok(None);
        }
        if self.rules.kptr_tag_walk {
            return self.walk_kptr_tags(t.st);
        }
        let tag_id = t.st;
        let tag = self.ty(tag_id).unwrap_or(T::VOID);
        if !tag.k(Kind::TypeTag) || tag.flags & F_KFLAG != 0 {
            return Ok(None);
        }
        if self.ty(tag.st).is_some_and(|n| n.k(Kind::TypeTag)) {
            return Err(Rule::KptrExtraTag);
        }
        let kind = match self.name_of(tag_id) {
            b"kptr_untrusted" => KPTR_UNREF,
            b"kptr" => KPTR_REF,
            b"percpu_kptr" => KPTR_PERCPU,
            // Not among the kinds of a struct's record (6.13 and later;
            // 6.12 knows no such tag).
            b"uptr" if !self.rules.uptr_unknown => return Ok(None),
            _ => return Err(Rule::PtrUnknownTag),
        };
        let pointee = self.skip_modifiers(tag.st);
        if !self.ty(pointee).is_some_and(|p| p.k(Kind::Struct)) {
            return Err(Rule::KptrNotStruct);
        }
        Ok(Some((kind, pointee)))
    }

    /// 7.2's `btf_find_kptr` past the pointer (`btf_type_tag_walk`): every
    /// modifier from `first` on, the kptr kinds of the type tags among them
    /// (other tags ignored), and the first type that is no modifier, which
    /// must be a STRUCT when a kptr kind was found.
    fn walk_kptr_tags(&self, first: u32) -> Result<Option<(u32, u32)>, Rule> {
        /// `uptr`: a kind of its own, not among a struct record's.
        const UPTR: u32 = 1 << 31;
        let mut cur = first;
        let mut kinds = 0u32;
        // Pass 2 refused chains of more than 32 modifiers.
        for _ in 0..=DEPTH {
            let Some(m) = self.ty(cur).filter(|m| m.is(K_MODIFIER)) else { break };
            if m.k(Kind::TypeTag) && m.flags & F_KFLAG == 0 {
                kinds |= match self.name_of(cur) {
                    b"kptr_untrusted" => KPTR_UNREF,
                    b"kptr" => KPTR_REF,
                    b"percpu_kptr" => KPTR_PERCPU,
                    b"uptr" => UPTR,
                    _ => 0,
                };
            }
            cur = m.st;
        }
        if kinds.count_ones() > 1 {
            return Err(Rule::KptrTagsConflict);
        }
        if kinds & (KPTR_UNREF | KPTR_REF | KPTR_PERCPU) == 0 {
            return Ok(None);
        }
        if !self.ty(cur).is_some_and(|p| p.k(Kind::Struct)) {
            return Err(Rule::KptrNotStruct);
        }
        Ok(Some((kinds, cur)))
    }

    /// `btf_type_skip_modifiers`: the first type of the chain from `id`
    /// that is no modifier. Pass 2 resolved every modifier to it.
    fn skip_modifiers(&self, id: u32) -> u32 {
        let mut cur = id;
        for _ in 0..=DEPTH {
            match self.ty(cur) {
                Some(t) if t.is(K_MODIFIER) => cur = self.resolved_id(cur),
                _ => return cur,
            }
        }
        cur
    }

    /// The first own STRUCT named `name` (`btf_find_by_name_kind`). Each
    /// compare reads no more than the shorter name (struct names are
    /// identifiers, at most KSYM_NAME_LEN bytes).
    fn struct_named(&self, name: &[u8]) -> Option<u32> {
        (self.start_id..)
            .zip(self.types)
            .filter(|(_, [_, _, _, d, _])| d.get() & 0x1f == Kind::Struct as u32)
            .find(|(_, [off, ..])| {
                let s = self.str_from(self.rd(self.data, off.get() as usize));
                s.starts_with(name) && s.get(name.len()).is_none_or(|&c| c == 0)
            })
            .map(|(id, _)| id)
    }

    /// `btf_parse_fields` of STRUCT `id`: its fields, checked.
    fn parse_fields(&mut self, id: u32) -> VResult<Fields> {
        let fields = self.find_fields(id)?;
        if fields.is_empty() {
            return Err(self.type_err(Rule::NoSpecialFields, id));
        }
        let size = self.ty(id).map_or(0, |t| t.st);
        let mut next = 0u32;
        let mut mask = 0u32;
        for f in &fields {
            let fsize = self.field_size(f.kind);
            if f.off.wrapping_add(fsize) > size {
                return Err(self.type_err(Rule::FieldPastSize, id));
            }
            if f.off < next {
                return Err(self.type_err(Rule::FieldsOverlap, id));
            }
            next = f.off.wrapping_add(fsize);
            // The kernel only warns at a second lock (of either kind): one
            // unique per struct level, and nested structs are levels.
            // Strict refuses it.
            if self.rules.strict && f.kind & (SPIN_LOCK | RES_SPIN_LOCK) != 0 && mask & f.kind != 0 {
                return Err(self.type_err(Rule::DuplicateField, id));
            }
            mask |= f.kind;
            match f.kind {
                LIST_HEAD => self.graph_root(id, f, b"bpf_list_node")?,
                RB_ROOT => self.graph_root(id, f, b"bpf_rb_node")?,
                // `btf_parse_kptr`: a pointee named like a kernel struct is
                // that struct; a referenced one needs its destructor.
                KPTR_REF => {
                    if let Some(k) = self.kernel
                        && k.lookup(self.name_of(f.value)) == (KernelStruct::Present { destructor: false })
                    {
                        return Err(self.type_err(Rule::KptrNoDestructor, id));
                    }
                }
                _ => {}
            }
        }
        if mask & SPIN_LOCK != 0 && mask & RES_SPIN_LOCK != 0 {
            return Err(self.type_err(Rule::SpinLockAndResSpinLock, id));
        }
        if mask & GRAPH_ROOT != 0 && mask & (SPIN_LOCK | RES_SPIN_LOCK) == 0 {
            return Err(self.type_err(Rule::GraphRootWithoutLock, id));
        }
        if self.rules.refcount_field && mask & REFCOUNT == 0 && mask & GRAPH_NODE == GRAPH_NODE {
            return Err(self.type_err(Rule::NodesWithoutRefcount, id));
        }
        Ok(fields)
    }

    /// `btf_check_and_fixup_fields` of parsed STRUCT `id`.
    fn fixup(&mut self, id: u32, set: &Triggers) -> VResult<()> {
        // The walk gives what the parse gave.
        let mut fields = self.find_fields(id)?;
        let mask = fields.iter().fold(0, |m, f| m | f.kind);
        if mask & GRAPH_ROOT == 0 {
            return Ok(());
        }
        fields.sort_unstable_by_key(|f| f.off);
        for f in fields.iter().filter(|f| f.kind & GRAPH_ROOT != 0) {
            if !self.triggered(f.value, set) {
                return Err(self.type_err(Rule::GraphValueNotParsed, id));
            }
            // The hardened kernels bound the ownership graph instead
            // (`ownership_depth`).
            if mask & GRAPH_NODE == 0 || self.rules.ownership_depth {
                continue;
            }
            let value = self.find_fields(f.value)?;
            if value.iter().any(|v| v.kind & GRAPH_ROOT != 0) {
                return Err(self.type_err(Rule::GraphOwnershipLoop, id));
            }
        }
        Ok(())
    }

    /// `btf_parse_graph_root`: the node member that root `f` of struct
    /// `owner` names in its value struct.
    fn graph_root(&self, owner: u32, f: &Field, node_type: &[u8]) -> VResult<()> {
        self.charge(owner, self.str_len(f.node))?;
        let node_name = self.str_bytes(f.node);
        let Some((b, _)) = self.body(f.value) else { return Err(self.type_err(Rule::GraphRootNodeMissing, owner)) };
        let vlen = self.ty(f.value).map_or(0, |t| t.vlen) as usize;
        self.charge(owner, vlen)?;
        let mut found = false;
        for (i, m) in b.chunks_exact(12).take(vlen).enumerate() {
            if self.str_bytes(self.rd(m, 0)) != node_name {
                continue;
            }
            let bad = || Err(self.member_err(Rule::GraphRootNodeInvalid, f.value, i as u32));
            if found {
                return bad();
            }
            found = true;
            let nty = self.rd(m, 4);
            let Some(n) = self.ty(nty).filter(|n| n.k(Kind::Struct)) else { return bad() };
            if self.name_of(nty) != node_type {
                return bad();
            }
            // The kernel decodes the offset with the node type's kind_flag.
            let raw = self.rd(m, 8);
            let bits = if n.flags & F_KFLAG != 0 { raw & 0x00ff_ffff } else { raw };
            if bits % 8 != 0 || (bits / 8) % 8 != 0 {
                return bad();
            }
        }
        if !found {
            return Err(self.type_err(Rule::GraphRootNodeMissing, owner));
        }
        Ok(())
    }

    /// `btf_find_field` of STRUCT `id`: its fields, through arrays and
    /// nested structs, in the kernel's order, with its errors.
    fn find_fields(&self, id: u32) -> VResult<Fields> {
        if !self.rules.nested_fields {
            return self.find_direct_fields(id);
        }
        let mut fields = Fields::new();
        // 6.12: the unique kinds seen anywhere in the walk, nested structs
        // included (later kernels: per struct level, `Frame::seen`).
        let mut walk_seen = 0u32;
        let mut stack = heapless::Vec::<Frame, { DEPTH as usize }>::new();
        let top = Frame { id, next: 0, seen: 0, level: 0, start: 0, off: 0, nelems: 1, below: 0, marked: false };
        let _ = stack.push(top);
        while let Some(f) = stack.last_mut() {
            let fid = f.id;
            let t = self.ty(fid).unwrap_or(T::VOID);
            let i = f.next;
            let member =
                if i < t.vlen { self.body(fid).and_then(|(b, _)| b.chunks_exact(12).nth(i as usize)) } else { None };
            let Some(m) = member else {
                // This struct is done.
                let done = *f;
                let _ = stack.pop();
                self.struct_done(&done, t.st, &mut fields)?;
                if let Some(up) = stack.last_mut() {
                    up.below = up.below.max(done.below.wrapping_add(1));
                    up.marked |= done.marked;
                }
                continue;
            };
            f.next = i.wrapping_add(1);
            self.charge(fid, 1)?;
            let merr = |rule| self.member_err(rule, fid, i);
            let raw = self.rd(m, 8);
            let bits = if t.flags & F_KFLAG != 0 { raw & 0x00ff_ffff } else { raw };
            if bits % 8 != 0 {
                return Err(merr(Rule::FieldMemberNotByteAligned));
            }
            let off = bits / 8;
            // Arrays: the element type and the flattened count.
            let mut var = self.rd(m, 4);
            let mut nelems = 1u32;
            let mut levels = 0u32;
            while levels < DEPTH {
                let Some(a) = self.array_of(var) else { break };
                nelems = nelems.wrapping_mul(a.nelems);
                var = a.elem;
                levels = levels.wrapping_add(1);
            }
            if levels == DEPTH {
                return Err(merr(Rule::FieldsTooDeep));
            }
            if nelems == 0 {
                continue;
            }
            let vt = self.ty(var).unwrap_or(T::VOID);
            let seen = if self.rules.one_seen_set { &mut walk_seen } else { &mut f.seen };
            let before = *seen;
            let named = self.field_type(var, seen).map_err(merr)?;
            f.marked |= *seen != before;
            let (kind, size, align) = match named {
                Some(k) => k,
                None if vt.k(Kind::Struct) => {
                    let level = f.level.wrapping_add(1);
                    if level >= DEPTH {
                        return Err(merr(Rule::FieldsTooDeep));
                    }
                    if let Some(below) = self.clean_below(var)
                        && level.wrapping_add(below) < DEPTH
                    {
                        f.below = f.below.max(below.wrapping_add(1));
                        continue;
                    }
                    #[cfg(test)]
                    WALKED.with(|w| w.set(w.get().wrapping_add(1)));
                    let start = fields.len();
                    stack
                        .push(Frame { id: var, next: 0, seen: 0, level, start, off, nelems, below: 0, marked: false })
                        .map_err(|_| merr(Rule::FieldsTooDeep))?;
                    continue;
                }
                // Any other type may be a kptr (6.12); before, it is
                // nothing to the walk.
                None if self.rules.kptr_fields => (KPTR_REF, 8, 8),
                None => continue,
            };
            if !off.is_multiple_of(align) {
                continue;
            }
            let Found::Field(field) = self.field_at(fid, i, var, (kind, size), off)? else { continue };
            let room = FIELDS_MAX.saturating_sub(fields.len());
            if room == 0 {
                return Err(merr(Rule::TooManyFields));
            }
            if nelems > 1 {
                if field.kind & REPEATABLE == 0 {
                    return Err(merr(Rule::FieldInArray));
                }
                if nelems as usize > room {
                    return Err(merr(Rule::TooManyFields));
                }
            }
            for k in 0..nelems {
                let off = field.off.wrapping_add(k.wrapping_mul(self.field_size(field.kind)));
                let _ = fields.push(Field { off, ..field });
            }
        }
        Ok(fields)
    }

    /// `btf_find_struct_field` before 6.11: the direct members whose own
    /// type is named as a special struct, no arrays, no nested structs and
    /// no kptrs. Only those members must start on a byte.
    fn find_direct_fields(&self, id: u32) -> VResult<Fields> {
        let mut fields = Fields::new();
        let t = self.ty(id).unwrap_or(T::VOID);
        let Some((b, _)) = self.body(id) else { return Ok(fields) };
        let mut seen = 0u32;
        for (i, m) in (0u32..).zip(b.chunks_exact(12).take(t.vlen as usize)) {
            self.charge(id, 1)?;
            let merr = |rule| self.member_err(rule, id, i);
            let mty = self.rd(m, 4);
            let Some((kind, size, align)) = self.field_type(mty, &mut seen).map_err(merr)? else { continue };
            let raw = self.rd(m, 8);
            let bits = if t.flags & F_KFLAG != 0 { raw & 0x00ff_ffff } else { raw };
            if bits % 8 != 0 {
                return Err(merr(Rule::FieldMemberNotByteAligned));
            }
            let off = bits / 8;
            if !off.is_multiple_of(align) {
                continue;
            }
            let Found::Field(field) = self.field_at(id, i, mty, (kind, size), off)? else { continue };
            if fields.push(field).is_err() {
                return Err(merr(Rule::TooManyFields));
            }
        }
        Ok(fields)
    }

    /// Member `i` of struct `container`, of type `var` (past its arrays) at
    /// byte `off`, taken as a field of `kind` and `size`: a kptr
    /// (`btf_find_kptr`), a graph root (`btf_find_graph_root`), or a STRUCT
    /// of the field's size (`btf_find_struct`); else ignored.
    fn field_at(&self, container: u32, i: u32, var: u32, (kind, size): (u32, u32), off: u32) -> VResult<Found> {
        let vt = self.ty(var).unwrap_or(T::VOID);
        Ok(match kind {
            KPTR_REF => match self.find_kptr(var).map_err(|rule| self.member_err(rule, container, i))? {
                Some((k, pointee)) => Found::Field(Field { kind: k, off, value: pointee, node: 0 }),
                None => Found::Ignore,
            },
            LIST_HEAD | RB_ROOT => self.find_graph_root(container, i, vt, kind, off)?,
            _ if vt.k(Kind::Struct) && vt.st == size => Found::Field(Field { kind, off, value: 0, node: 0 }),
            _ => Found::Ignore,
        })
    }

    /// A nested struct's walk is over (`btf_find_nested_struct`): its
    /// fields move to its offset and repeat for its array's elements; one
    /// with none is marked clean (on 6.12, only if no unique kind's name
    /// matched in it: the walk's one seen set makes a second walk differ).
    fn struct_done(&self, f: &Frame, size: u32, fields: &mut Fields) -> VResult<()> {
        let found = fields.len().saturating_sub(f.start);
        if found == 0 {
            if f.level > 0
                && !(self.rules.one_seen_set && f.marked)
                && let Some([_, _, s, ..]) = self.words(f.id)
            {
                s.set(CLEAN | f.below);
            }
            return Ok(());
        }
        if f.level == 0 {
            return Ok(());
        }
        for x in fields.iter_mut().skip(f.start) {
            x.off = x.off.wrapping_add(f.off);
        }
        if f.nelems > 1 {
            let parent_err = |rule| self.type_err(rule, f.id);
            if fields.iter().skip(f.start).any(|x| x.kind & REPEATABLE == 0) {
                return Err(parent_err(Rule::FieldInArray));
            }
            let room = FIELDS_MAX.saturating_sub(f.start);
            if (found as u64).saturating_mul(u64::from(f.nelems)) > room as u64 {
                return Err(parent_err(Rule::TooManyFields));
            }
            for k in 1..f.nelems {
                for j in 0..found {
                    let Some(&x) = fields.get(f.start.wrapping_add(j)) else { break };
                    let _ = fields.push(Field { off: x.off.wrapping_add(k.wrapping_mul(size)), ..x });
                }
            }
        }
        Ok(())
    }

    /// Whether this kernel's layer knows the special struct `name`: the
    /// rb-tree's from 6.3, `bpf_refcount` from 6.4, `bpf_res_spin_lock`
    /// from 6.15 (the others from 6.2).
    fn knows(&self, name: &[u8]) -> bool {
        match name {
            b"bpf_rb_root" | b"bpf_rb_node" => self.rules.rb_fields,
            b"bpf_refcount" => self.rules.refcount_field,
            b"bpf_res_spin_lock" => self.rules.res_spin_lock,
            _ => true,
        }
    }

    /// [`field_size`] on this kernel.
    fn field_size(&self, kind: u32) -> u32 {
        let size = field_size(kind);
        if kind & GRAPH_NODE != 0 && !self.rules.owned_nodes { size.wrapping_sub(OLD_NODE_SHRINK) } else { size }
    }

    /// Depth below a nested struct whose walk found nothing, if known.
    fn clean_below(&self, id: u32) -> Option<u32> {
        let [_, _, s, ..] = self.words(id)?;
        let w = s.get();
        (w & CLEAN != 0).then_some(w & !CLEAN)
    }

    /// `btf_get_field_type`: the special struct a member's type is named
    /// as (kind, size, alignment), or `None`.
    fn field_type(&self, id: u32, seen: &mut u32) -> Result<Option<(u32, u32, u32)>, Rule> {
        // Most names fail on their first bytes: no full read.
        let Some([off, ..]) = self.words(id) else { return Ok(None) };
        let name_off = self.rd(self.data, off.get() as usize);
        if !self.str_from(name_off).starts_with(b"bpf_") {
            return Ok(None);
        }
        let name = self.str_bytes(name_off);
        for &(n, kind, unique, align) in &NAMED {
            if n != name || !self.knows(name) {
                continue;
            }
            if unique || (kind == REFCOUNT && self.rules.refcount_unique) {
                if *seen & kind != 0 {
                    return Err(Rule::DuplicateField);
                }
                *seen |= kind;
            }
            return Ok(Some((kind, self.field_size(kind), align)));
        }
        Ok(None)
    }

    /// `btf_find_graph_root` of member `i` of struct `container`.
    fn find_graph_root(&self, container: u32, i: u32, t: T, kind: u32, off: u32) -> VResult<Found> {
        if !t.k(Kind::Struct) || t.st != 16 {
            return Ok(Found::Ignore);
        }
        let merr = |rule| self.member_err(rule, container, i);
        // A scan of the types for the tag, and one for the value struct.
        self.charge(container, self.types.len().saturating_mul(2))?;
        let mut tag = None;
        for (tid, [o, _, _, d, st]) in (self.start_id..).zip(self.types) {
            if d.get() & 0x1f != Kind::DeclTag as u32 || st.get() != container {
                continue;
            }
            let Some((b, _)) = self.body(tid) else { continue };
            if self.rd(b, 0) != i || !self.str_from(self.rd(self.data, o.get() as usize)).starts_with(CONTAINS) {
                continue;
            }
            if tag.is_some() {
                return Err(merr(Rule::GraphRootTag));
            }
            tag = Some(tid);
            // Before 6.7 the first tag is taken, and others not looked for.
            if !self.rules.decl_tag_unique {
                break;
            }
        }
        let Some(tag) = tag else { return Err(merr(Rule::GraphRootTag)) };
        let Some([o, ..]) = self.words(tag) else { return Err(merr(Rule::GraphRootTag)) };
        let name_off = self.rd(self.data, o.get() as usize);
        self.charge(container, self.str_len(name_off))?;
        let value = self.str_bytes(name_off).get(CONTAINS.len()..).unwrap_or_default();
        let Some(colon) = value.iter().position(|&c| c == b':') else { return Err(merr(Rule::GraphRootTagValue)) };
        let Some(value_id) = self.struct_named(value.get(..colon).unwrap_or_default()) else {
            return Err(merr(Rule::GraphRootValueMissing));
        };
        if value.len() == colon.wrapping_add(1) {
            return Err(merr(Rule::GraphRootTagValue));
        }
        #[allow(clippy::cast_possible_truncation)]
        let node = name_off.wrapping_add((CONTAINS.len().wrapping_add(colon).wrapping_add(1)) as u32);
        Ok(Found::Field(Field { kind, off, value: value_id, node }))
    }
}

/// A field's size (`btf_field_type_size`) from 6.6 on.
fn field_size(kind: u32) -> u32 {
    match kind {
        SPIN_LOCK | RES_SPIN_LOCK | REFCOUNT => 4,
        LIST_HEAD | RB_ROOT => 16,
        LIST_NODE => 24,
        RB_NODE => 32,
        _ => 8,
    }
}

/// Before 6.6 ("bpf: Add 'owner' field to bpf_{list,rb}_node"), the
/// nodes were 8 bytes smaller: 16 and 24.
const OLD_NODE_SHRINK: u32 = 8;
