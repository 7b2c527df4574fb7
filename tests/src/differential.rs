//! Kernel differential test: our `UserLoad` verdict for the running kernel's
//! version must equal the kernel's own `bpf(BPF_BTF_LOAD)` verdict, on
//! every input.
//!
//! Inputs are deterministic from a seed (`BTFKIT_DIFF_SEED`); their number
//! is `BTFKIT_DIFF_N` (default 20,000; set millions for long runs). Two
//! sources, half each:
//! - structure-aware mutations of small real BTF (the committed fixtures and
//!   generated blobs): header fields, kinds, vlen, kind_flag, reserved info
//!   bits, name offsets, type ids, sizes, member offsets and bitfields, enum
//!   sizes, linkage, DATASEC entries, component indexes, string bytes and
//!   truncations;
//! - generated type graphs that aim at each rule from both sides: loops
//!   through pointers and embedding, modifier chains pointing up (depth 32),
//!   arrays of odd ints and u32 overflow, members past the size, float
//!   alignment, enum bitfields, DATASEC of non-VARs, FUNC of non-protos,
//!   void and named varargs, DECL_TAG targets and components, TYPE_TAG
//!   order, names from the kernel's Latin-1 classes, and long names.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use btfkit::Btf;
use btfkit::validate::{KernelVersion, Profile, ValidateOptions, validate_vec};
use btfkit_tests::kernel::{availability, btf_load, release};
use btfkit_tests::{unavailable, workspace};

/// splitmix64: small, fast, deterministic. `noisy` off makes every
/// deliberate fault rare, so that clean graphs (mostly accepted) and
/// single-fault graphs (rejected by exactly one rule) are both common.
struct Rng(u64, bool);

impl Rng {
    /// A deliberate fault: `percent` in noisy mode, 1/20 of it otherwise.
    fn fault(&mut self, percent: u64) -> bool {
        if self.1 { self.chance(percent) } else { self.below(2000) < percent }
    }
    /// A valid choice, or (as a fault) an invalid one.
    fn choose<T: Copy>(&mut self, valid: &[T], invalid: &[T]) -> T {
        if self.fault(12) { self.pick(invalid) } else { self.pick(valid) }
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }
}

/// A little-endian (host order) BTF builder.
struct B {
    types: Vec<u8>,
    strs: Vec<u8>,
    n: u32,
}

impl B {
    fn new() -> Self {
        B { types: Vec::new(), strs: vec![0], n: 0 }
    }
    fn str(&mut self, s: &[u8]) -> u32 {
        if s.is_empty() {
            return 0;
        }
        let off = self.strs.len() as u32;
        self.strs.extend_from_slice(s);
        self.strs.push(0);
        off
    }
    fn w(&mut self, v: u32) {
        self.types.extend_from_slice(&v.to_ne_bytes());
    }
    /// Starts a record; returns its id.
    fn head(&mut self, name: u32, kind: u32, vlen: u32, kflag: bool, st: u32) -> u32 {
        self.w(name);
        self.w((u32::from(kflag) << 31) | (kind << 24) | (vlen & 0xffff));
        self.w(st);
        self.n += 1;
        self.n
    }
    fn build(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&0xeb9fu16.to_ne_bytes());
        out.extend_from_slice(&[1, 0]);
        let tl = self.types.len() as u32;
        for f in [24, 0, tl, tl, self.strs.len() as u32] {
            out.extend_from_slice(&f.to_ne_bytes());
        }
        out.extend_from_slice(&self.types);
        out.extend_from_slice(&self.strs);
        out
    }
}

const GOOD_NAMES: &[&[u8]] = &[b"a", b"int", b"x_1", b"_", b"s.t", b"node", b"\xc0\xe9", b".data"];
const BAD_NAMES: &[&[u8]] = &[b"1a", b"a-b", b"a b", b"\xd7x", b"\x80", b"a\xf7", b"?.x", b"-"];

fn name(r: &mut Rng, b: &mut B, required: bool) -> u32 {
    if r.fault(6) {
        let len = r.pick(&[127usize, 128, 511, 512, 513]);
        return b.str(&vec![b'n'; len]);
    }
    if r.fault(8) {
        let n = r.pick(BAD_NAMES);
        return b.str(n);
    }
    if !required && r.chance(30) {
        return 0;
    }
    let n = r.pick(GOOD_NAMES);
    b.str(n)
}

/// A random small type graph, biased towards valid shapes so that a good
/// share is accepted, with each rule's failure mode mixed in.
fn generate(r: &mut Rng) -> Vec<u8> {
    let mut b = B::new();
    let n = 1 + r.below(10) as u32;
    // [1] a regular int most of the time: a good index and member type.
    let int_name = b.str(b"int");
    b.head(int_name, 1, 0, false, 4);
    b.w(if !r.fault(10) { 0x0100_0020 } else { r.pick(&[0x0100_0003u32, 0x0008_0020, 0x0300_0020, 0x1000_0020]) });
    // Targets are earlier ids (later ones, self, void and huge ones are faults).
    let target = |r: &mut Rng, cur: u32| -> u32 {
        if r.fault(8) {
            return r.pick(&[0, cur, cur + 1, cur + 2, 0xfffff, 0x100000]);
        }
        1 + r.below(u64::from(cur.saturating_sub(1).max(1))) as u32
    };
    // Ids made so far, by kind, for kinds that must point at a given kind.
    let mut made: Vec<(u32, u32)> = vec![(1, 1)];
    let of_kind = |r: &mut Rng, made: &[(u32, u32)], kinds: &[u32], cur: u32| -> u32 {
        let c: Vec<u32> = made.iter().filter(|(k, _)| kinds.contains(k)).map(|&(_, id)| id).collect();
        if c.is_empty() || r.fault(10) { target(r, cur) } else { r.pick(&c) }
    };
    for _ in 0..n {
        let cur = b.n + 1;
        let mut kind = if r.fault(3) { r.pick(&[0u32, 20, 31]) } else { 1 + r.below(19) as u32 };
        // Clean graphs make a kind only once what it must point at exists.
        let needs: &[u32] = match kind {
            12 => &[13],
            15 => &[14],
            17 => &[4, 5, 8, 12, 14],
            _ => &[],
        };
        if !r.1 && !needs.is_empty() && !made.iter().any(|(k, _)| needs.contains(k)) {
            kind = needs[0];
        }
        let kflag = r.fault(12);
        match kind {
            1 => {
                let nm = name(r, &mut b, false);
                let size = r.choose(&[1u32, 2, 4, 8, 16], &[0, 3, 17]);
                let bits = r.choose(&[8u32, 16, 32, 64, 128], &[3, 7, 129]).min(size * 8 + u32::from(r.fault(10)));
                let enc = r.choose(&[0u32, 1, 2, 4], &[3, 6]);
                let off = if r.fault(10) { r.below(8) as u32 } else { 0 };
                b.head(nm, 1, u32::from(r.fault(3)), kflag, size);
                b.w((enc << 24) | (off << 16) | bits | if r.fault(5) { 0x100 } else { 0 });
            }
            2 | 9 | 10 | 11 | 8 | 18 => {
                let nm = match kind {
                    8 => name(r, &mut b, true),
                    18 => b.str(r.pick(&[&b"user"[..], b"rcu", b"kptr"])),
                    _ if r.fault(5) => b.str(b"p"),
                    _ => 0,
                };
                let t = target(r, cur);
                b.head(nm, kind, u32::from(r.fault(2)), kflag, t);
            }
            3 => {
                let elem = target(r, cur);
                let index = if !r.fault(15) { 1 } else { target(r, cur) };
                let nelems = r.choose(&[0u32, 1, 4, 16], &[0x4000_0000, 0xffff_ffff]);
                b.head(0, 3, 0, kflag && r.chance(30), if r.fault(5) { 4 } else { 0 });
                b.w(elem);
                b.w(index);
                b.w(nelems);
            }
            4 | 5 => {
                let nm = name(r, &mut b, false);
                let vlen = r.below(4) as u32;
                let size = r.choose(&[8u32, 16, 24, 64], &[0, 4]);
                b.head(nm, kind, vlen, kflag, size);
                let mut off = 0u32;
                for _ in 0..vlen {
                    let mn = name(r, &mut b, false);
                    let t = target(r, cur);
                    b.w(mn);
                    b.w(t);
                    let bits = if kflag && r.chance(40) { r.choose(&[1u32, 3, 8, 32], &[33, 64]) } else { 0 };
                    let o = if kind == 5 && !r.fault(10) { 0 } else { off };
                    b.w((bits << 24) | (o & 0x00ff_ffff));
                    off += r.choose(&[0u32, 32, 64], &[5, 8]);
                }
            }
            6 | 19 => {
                let nm = name(r, &mut b, false);
                let vlen = r.below(3) as u32;
                let size = r.choose(&[4u32, 1, 2, 8], &[3, 0]);
                b.head(nm, kind, vlen, kflag, size);
                for i in 0..vlen {
                    let vn = name(r, &mut b, true);
                    b.w(vn);
                    b.w(i.wrapping_sub(1));
                    if kind == 19 {
                        b.w(r.pick(&[0u32, 1, 0xffff_ffff])); // any value is fine
                    }
                }
            }
            7 => {
                let nm = name(r, &mut b, true);
                let t = u32::from(r.fault(5));
                b.head(nm, 7, 0, kflag, t);
            }
            12 => {
                let nm = name(r, &mut b, true);
                let t = of_kind(r, &made, &[13], cur);
                b.head(nm, 12, r.choose(&[0u32, 1], &[2]), kflag && r.chance(30), t);
            }
            13 => {
                let vlen = r.below(4) as u32;
                let ret = if r.chance(40) { 0 } else { target(r, cur) };
                b.head(0, 13, vlen, kflag && r.chance(30), ret);
                for i in 0..vlen {
                    let last = i + 1 == vlen;
                    let vararg = last && r.chance(25);
                    let named = !r.fault(20);
                    let pn = if vararg && !r.fault(20) { 0 } else { name(r, &mut b, named) };
                    b.w(pn);
                    b.w(if vararg { 0 } else { target(r, cur) });
                }
            }
            14 => {
                let nm = name(r, &mut b, true);
                let t = target(r, cur);
                b.head(nm, 14, 0, kflag && r.chance(30), t);
                b.w(r.choose(&[0u32, 1], &[2]));
            }
            15 => {
                let nm =
                    if !r.fault(20) { b.str(r.pick(&[&b".data"[..], b".bss", b"?.struct_ops", b"a b"])) } else { 0 };
                let vlen = r.below(3) as u32;
                let size = r.choose(&[8u32, 16], &[4, 0]);
                b.head(nm, 15, vlen, kflag && r.chance(30), size);
                let mut off = 0u32;
                for _ in 0..vlen {
                    let v = of_kind(r, &made, &[14], cur);
                    b.w(v);
                    b.w(off);
                    let sz = r.choose(&[4u32], &[8, 0, 2]);
                    b.w(sz);
                    off += r.choose(&[4u32], &[0, 2]);
                }
            }
            16 => {
                let nm = name(r, &mut b, false);
                b.head(nm, 16, 0, kflag, r.choose(&[4u32, 8, 2, 12, 16], &[3, 0]));
            }
            17 => {
                let nm = b.str(r.choose(&[&b"tag"[..], b"x y"], &[b""]));
                let t = of_kind(r, &made, &[4, 5, 8, 12, 14], cur);
                b.head(nm, 17, 0, kflag, t);
                b.w(r.choose(&[-1i32, 0], &[1, 3, -2]) as u32);
            }
            k => {
                b.head(0, k, 0, false, 0);
            }
        }
        made.push((kind, cur));
    }
    b.build()
}

/// Record layout of a blob that parses: (offset, record length).
fn records(data: &[u8]) -> Vec<(usize, usize)> {
    Btf::parse(data)
        .map(|btf| btf.types().flatten().map(|t| (t.offset() as usize, t.record_len())).collect())
        .unwrap_or_default()
}

fn put(d: &mut [u8], at: usize, v: u32) {
    if let Some(s) = d.get_mut(at..at + 4) {
        s.copy_from_slice(&v.to_ne_bytes());
    }
}
fn get(d: &[u8], at: usize) -> u32 {
    d.get(at..at + 4).map_or(0, |s| u32::from_ne_bytes(s.try_into().unwrap()))
}

fn vary(r: &mut Rng, v: u32) -> u32 {
    match r.below(10) {
        0 => 0,
        1 => v.wrapping_add(1),
        2 => v.wrapping_sub(1),
        3 => v.wrapping_add(8),
        4 => u32::MAX,
        5 => r.pick(&[0xfffffu32, 0x100000, 0xffffff, 0x1000000]),
        6 => v ^ (1 << r.below(32)),
        7 => (r.pick(&[1u32, 3, 8, 32, 40]) << 24) | (v & 0x00ff_ffff),
        8 => r.below(12) as u32,
        _ => v.wrapping_mul(2),
    }
}

fn mutate(r: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut d = seed.to_vec();
    let recs = records(seed);
    let str_start = 24 + get(seed, 16) as usize;
    for _ in 0..1 + r.below(3) {
        match r.below(8) {
            0 => {
                // header: version, flags, hdr_len, offsets and lengths
                let at = r.pick(&[2usize, 3, 4, 8, 12, 16, 20]);
                if at < 4 {
                    d[at] = r.pick(&[0u8, 1, 2, 0xff]);
                } else {
                    let v = vary(r, get(&d, at));
                    put(&mut d, at, v);
                }
            }
            1 | 2 if !recs.is_empty() => {
                // record head: name_off, info, size/type
                let (off, _) = recs[r.below(recs.len() as u64) as usize];
                let field = r.below(3) as usize;
                let v = get(&d, off + 4 * field);
                let nv = if field == 1 {
                    match r.below(6) {
                        0 => v ^ (1 << 31),
                        1 => (v & !(0x1f << 24)) | ((r.below(22) as u32) << 24),
                        2 => v.wrapping_add(1),
                        3 => v.wrapping_sub(1),
                        4 => v | (1 << r.pick(&[16u32, 20, 23, 29, 30])),
                        _ => v & 0xffff_0000,
                    }
                } else {
                    vary(r, v)
                };
                put(&mut d, off + 4 * field, nv);
            }
            3 | 4 if !recs.is_empty() => {
                // a trailing word: members, params, values, entries, int data
                let (off, len) = recs[r.below(recs.len() as u64) as usize];
                if len > 12 {
                    let at = off + 12 + 4 * r.below(((len - 12) / 4) as u64) as usize;
                    let v = vary(r, get(&d, at));
                    put(&mut d, at, v);
                }
            }
            5 if str_start < d.len() => {
                // string bytes
                let at = str_start + r.below((d.len() - str_start) as u64) as usize;
                d[at] = r.pick(&[b'.', b'-', b' ', 0x80, 0xc0, 0xd7, 0xf7, 0xff, 0, b'1', b'?']);
            }
            6 => {
                let cut = r.below(d.len().min(16) as u64 + 1) as usize;
                d.truncate(d.len() - cut);
            }
            _ => {
                // a whole record swapped for a random kind's head
                if let Some(&(off, _)) = recs.get(r.below(recs.len().max(1) as u64) as usize) {
                    let info = get(&d, off + 4);
                    put(&mut d, off + 4, (info & 0x8000_ffff) | ((1 + r.below(19) as u32) << 24));
                }
            }
        }
    }
    d
}

fn seeds(r: &mut Rng) -> Vec<Vec<u8>> {
    let dir = workspace().join("tests/fixtures");
    let mut v: Vec<Vec<u8>> = ["standalone.btf", "bpfel.btf", "split_base.btf"]
        .iter()
        .map(|f| std::fs::read(dir.join(f)).unwrap_or_else(|e| panic!("{f}: {e}")))
        .collect();
    // generated seeds that the kernel accepts
    let mut tries = 0;
    while v.len() < 40 && tries < 5000 {
        tries += 1;
        let g = generate(r);
        if btf_load(&g).is_ok() {
            v.push(g);
        }
    }
    v
}

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn userload_verdict_equals_running_kernel() {
    if let Err(why) = availability() {
        eprintln!("KERNEL ORACLE UNAVAILABLE: {why}");
        let _ = unavailable("the kernel BTF verifier (bpf(BPF_BTF_LOAD))", &why);
        return;
    }
    let rel = release();
    let kernel = KernelVersion::parse(&rel).unwrap_or(KernelVersion::LATEST);
    let opts = ValidateOptions::new(Profile::UserLoad, kernel);
    let n: usize = std::env::var("BTFKIT_DIFF_N").ok().and_then(|v| v.parse().ok()).unwrap_or(20_000);
    let seed: u64 = std::env::var("BTFKIT_DIFF_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0x00b7_f417);
    let mut r = Rng(seed, false);
    let seed_blobs = seeds(&mut r);

    let next = AtomicUsize::new(0);
    let counts: Mutex<[usize; 4]> = Mutex::new([0; 4]); // generated acc/rej, mutated acc/rej
    let bad: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let bad_count = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism().map_or(2, |p| p.get()).min(4);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    // Each input depends only on (seed, i): reproducible alone.
                    // Every fourth input is noisy; the others clean.
                    let mut r = Rng(seed ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15), i.is_multiple_of(4));
                    let generated = i.is_multiple_of(2);
                    let data = if generated {
                        generate(&mut r)
                    } else {
                        let s = &seed_blobs[r.below(seed_blobs.len() as u64) as usize];
                        mutate(&mut r, s)
                    };
                    let theirs = btf_load(&data);
                    let ours = validate_vec(&data, None, &opts);
                    {
                        let mut c = counts.lock().unwrap();
                        c[usize::from(!generated) * 2 + usize::from(theirs.is_err())] += 1;
                    }
                    if theirs.is_ok() != ours.is_ok() {
                        bad_count.fetch_add(1, Ordering::Relaxed);
                        let mut b = bad.lock().unwrap();
                        if b.len() < 5 {
                            let log_tail = match &theirs {
                                Ok(()) => String::new(),
                                Err(rj) => format!(
                                    "errno {}; log tail:\n    {}",
                                    rj.errno,
                                    rj.log
                                        .lines()
                                        .rev()
                                        .take(10)
                                        .collect::<Vec<_>>()
                                        .into_iter()
                                        .rev()
                                        .collect::<Vec<_>>()
                                        .join("\n    ")
                                ),
                            };
                            b.push(format!(
                                "input #{i} ({} bytes, {}): kernel {}, ours {:?}\n  {log_tail}\n  hex: {}",
                                data.len(),
                                if generated { "generated" } else { "mutated" },
                                if theirs.is_ok() { "ACCEPTS" } else { "rejects" },
                                ours.map_err(|e| e.to_string()),
                                hex(&data)
                            ));
                        }
                    }
                }
            });
        }
    });
    let c = counts.into_inner().unwrap();
    eprintln!(
        "differential on Linux {rel}: {n} inputs (seed {seed:#x}); generated {} accepted / {} rejected, mutated {} accepted / {} rejected",
        c[0], c[1], c[2], c[3]
    );
    let bad_n = bad_count.into_inner();
    let bad = bad.into_inner().unwrap();
    assert!(bad_n == 0, "{bad_n} of {n} verdicts differ from the kernel's; first {}:\n{}", bad.len(), bad.join("\n\n"));
    // A test where the kernel accepts nothing (or everything) proves little.
    assert!(c[0] + c[2] >= n / 10, "too few inputs accepted by the kernel: {}", c[0] + c[2]);
    assert!(c[1] + c[3] >= n / 10, "too few inputs rejected by the kernel: {}", c[1] + c[3]);
}

/// Prints the kernel's verdict and full log for `BTFKIT_BTF_FILE`.
#[test]
#[ignore = "a debugging aid: BTFKIT_BTF_FILE=path cargo test -- --ignored kernel_verdict_of_file"]
fn kernel_verdict_of_file() {
    let path = std::env::var("BTFKIT_BTF_FILE").expect("set BTFKIT_BTF_FILE");
    let data = std::fs::read(&path).unwrap();
    match btf_load(&data) {
        Ok(()) => eprintln!("{path}: kernel accepts"),
        Err(r) => eprintln!("{path}: kernel rejects, errno {}\n{}", r.errno, r.log),
    }
    let kernel = KernelVersion::parse(&release()).unwrap_or(KernelVersion::LATEST);
    eprintln!("ours: {:?}", validate_vec(&data, None, &ValidateOptions::new(Profile::UserLoad, kernel)));
}

#[test]
#[ignore = "tuning aid: which rules reject clean generated graphs"]
fn rejection_histogram() {
    let mut hist = std::collections::BTreeMap::<String, usize>::new();
    for i in 0..4000u64 {
        let mut r = Rng(i.wrapping_mul(0x9e37_79b9_7f4a_7c15), false);
        let d = generate(&mut r);
        if let Err(rj) = btf_load(&d) {
            let last = rj.log.lines().last().unwrap_or("").to_owned();
            let key: String =
                last.split(']').next_back().unwrap_or("").chars().filter(|c| !c.is_ascii_digit()).collect();
            *hist.entry(key).or_default() += 1;
        }
    }
    let mut v: Vec<_> = hist.into_iter().collect();
    v.sort_by_key(|x| std::cmp::Reverse(x.1));
    for (k, n) in v.iter().take(25) {
        eprintln!("{n:6} {k}");
    }
}
