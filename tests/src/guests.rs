//! Other kernels as oracles: Debian's cloud kernels of every series it ships
//! (5.10, 6.1, 6.12, 6.16 to 6.19, 7.0 to 7.3) and the newest in sid,
//! releases of 6.12 and 7.2 on either side of the special-field backports,
//! and Ubuntu's 5.0, 5.3, 5.4, 5.6, 5.8, 5.11, 5.13, 5.14, 5.15, 5.17,
//! 5.19, 6.0, 6.2, 6.5, 6.8, 6.11, 6.14, 6.17 and 7.0, with ABIs of 6.2,
//! 6.8 and 7.0 on either side of Ubuntu's backports, generic and AWS's
//! (`tests/vm/guest-kernels.sh`), each with its upstream release as its
//! version, booted under qemu (`btfkit_tests::vm`), load the kernel
//! differential's inputs, every unit-case blob, kptrs to structs named like
//! the kernel's own (with the guest's struct names on our side: its
//! vmlinux's, and those of `veth` and `dummy`, which the guests whose
//! package has them load first, so that a kptr may name a module's struct),
//! and two real vmlinux BTFs (the corpus's and the guest's own, where it
//! has one: Ubuntu's 5.0, 5.3, 5.6, 5.8 and 5.14 were built without). Our
//! `UserLoad` verdict for each kernel's version must be its verdict, errno
//! included where our rule names one. A guest that loads both modules also
//! lists `/sys/kernel/btf`, whose inode order must be its BTF-id order and
//! the load order ([`module_order`]). On every blob, and on each kernel's
//! rules, `validate`'s fast paths must also give the verdict and the
//! scratch words of the plain passes (`validate_unoptimized`).
//! This is what ties the kernel-version knobs (DATASEC names, the tags'
//! kind_flag, the layout section of 7.1, 7.2's 24-bit vlen and type tags,
//! the special-field layer's versions, ...) to kernels other than the
//! running one.
//!
//! Each guest picks its own seed pools (one boot), then loads
//! `BTFKIT_GUEST_N` inputs (default 20,000) and the unit-case blobs (a
//! second boot); the first disagreements are loaded once more for their
//! logs (a third).
//!
//! The special-field layer's inputs are compared on every kernel that has
//! the layer, 6.2 on (Ubuntu's 6.2, 6.5, 6.8 and 6.11 have its older
//! shapes: direct members only before 6.11, no kptrs before 6.12, smaller
//! nodes before 6.6, no refcount before 6.4), with the backports a
//! distribution kernel carries (`btfkit_sysfs::kernel::ubuntu_backports`).

use btfkit::validate::{KernelVersion, Profile, ValidateOptions, validate_in_kernel};
use btfkit_tests::kernel::{Rejected, fast_paths_differ};
use btfkit_tests::unavailable;
use btfkit_tests::vm::{self, Guest, SysfsBtf};

use crate::differential::{
    SOURCES, env_num, hex, input, kernel_kptr_blobs, kernel_verdict, named_errno, seeds_by, unit_case_blobs,
    verdicts_differ,
};

/// The guests, or `None` after saying loudly why there are none (a failure
/// under `CI=true`, see [`unavailable`]).
fn guests() -> Option<Vec<Guest>> {
    match vm::guests() {
        Ok(g) => Some(g),
        Err(why) => {
            eprintln!("GUEST KERNELS UNAVAILABLE: {why}");
            let _ = unavailable("the guest kernels under qemu", &why);
            None
        }
    }
}

/// One guest's comparison: a report line, and the disagreements.
fn compare(guest: &Guest, n: usize, seed: u64, show: usize) -> (String, Vec<String>) {
    let started = std::time::Instant::now();
    let kernel = guest.kernel;
    let opts = {
        let mut o = ValidateOptions::new(Profile::UserLoad, kernel);
        // Ubuntu's, from their source (Debian's releases match none).
        o.backports = btfkit_sysfs::kernel::ubuntu_backports(&guest.release);
        o
    };
    let structs = guest.structs().unwrap_or_else(|e| panic!("{e}"));
    let boot = |blobs: &[Vec<u8>], logs: bool| {
        guest.load_all(blobs, logs).unwrap_or_else(|e| panic!("Linux {}: {e}", guest.release))
    };
    let seeds = seeds_by(kernel, seed, &mut |blobs: &[Vec<u8>]| {
        boot(blobs, false).verdicts.iter().map(Result::is_ok).collect()
    });
    let mut blobs = Vec::with_capacity(n);
    let mut sources = Vec::with_capacity(n);
    for i in 0..n {
        let (src, d) = input(seed, i, &seeds);
        sources.push(SOURCES[src as usize].to_owned());
        blobs.push(d);
    }
    for (f, d) in unit_case_blobs() {
        sources.push(format!("unit case {}", f.display()));
        blobs.push(d.clone());
    }
    for (what, d) in kernel_kptr_blobs() {
        sources.push(format!("kptr to a kernel struct: {what}"));
        blobs.push(d);
    }
    // Real kernel BTF as user BTF: the corpus's vmlinux (6.1's) and the
    // guest's own.
    let real_from = blobs.len();
    let corpus = btfkit_tests::corpus().expect("the corpus: run tests/corpus/build-corpus.sh");
    blobs.push(std::fs::read(corpus.join("vmlinux")).expect("the corpus vmlinux"));
    sources.push("the corpus vmlinux".to_owned());
    if let Some(own) = guest.vmlinux_btf().expect("the guest's vmlinux BTF") {
        blobs.push(own);
        sources.push(format!("Linux {}'s own vmlinux", guest.release));
    }
    let booted = boot(&blobs, false);
    let theirs = booted.verdicts;
    let ours = |d: &[u8]| {
        let mut scratch = vec![0u32; btfkit::validate::scratch_len(d, None, &opts)];
        validate_in_kernel(d, &opts, &mut scratch, &structs)
    };
    let (mut accepted, mut special, mut ownership, mut differ, mut parted) = (0, 0, 0, Vec::new(), Vec::new());
    for (i, (d, t)) in blobs.iter().zip(&theirs).enumerate() {
        let o = ours(d);
        // On this kernel's rules, the fast paths must be the plain passes.
        if let Some(why) = fast_paths_differ(d, None, &opts) {
            parted.push(format!("Linux {}: input #{i} ({}): {why}\n  hex: {}", guest.release, sources[i], hex(d)));
        }
        accepted += usize::from(t.is_ok());
        special += usize::from(o.as_ref().is_err_and(|e| named_errno(e).is_some()));
        ownership += usize::from(o.as_ref().is_err_and(|e| e.rule() == btfkit::validate::Rule::OwnershipTooDeep));
        if verdicts_differ(t, &o) {
            differ.push((i, o));
        }
    }
    // The first disagreements once more, for the kernel's logs.
    let again: Vec<Vec<u8>> = differ.iter().take(show).map(|(i, _)| blobs[*i].clone()).collect();
    let logs: Vec<Result<(), Rejected>> = if again.is_empty() { Vec::new() } else { boot(&again, true).verdicts };
    let bad = differ
        .iter()
        .zip(logs.iter().map(Some).chain(std::iter::repeat(None)))
        .take(show)
        .map(|((i, o), log)| {
            let ours = match o {
                Ok(()) => "accept".to_owned(),
                Err(e) => format!("reject: {e} ({e:?})"),
            };
            let theirs = kernel_verdict(log.unwrap_or(&theirs[*i]));
            format!(
                "Linux {}: input #{i} ({}, {} bytes)\n  ours: {ours}\n  kernel: {theirs}\n  hex: {}",
                guest.release,
                sources[*i],
                blobs[*i].len(),
                hex(&blobs[*i])
            )
        })
        .collect::<Vec<_>>();
    let real: Vec<&str> = theirs[real_from..].iter().map(|t| if t.is_ok() { "accepted" } else { "rejected" }).collect();
    let mut report = format!(
        "Linux {} ({kernel}) under qemu: {} inputs and {} more blobs (unit cases, kernel kptrs, two vmlinux; seed {seed:#x}, {:.1} s): kernel accepted {accepted}, \
         {} rejected by the special-field layer with the kernel's errno ({} for the ownership bound), {} \
         disagreements",
        guest.release,
        n,
        blobs.len() - n,
        started.elapsed().as_secs_f64(),
        special,
        ownership,
        differ.len()
    );
    if differ.len() > bad.len() {
        report.push_str(&format!(" (the first {} shown)", bad.len()));
    }
    if !differ.is_empty() {
        // By source (a unit case by name), for triage.
        let mut by: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
        for (i, _) in &differ {
            *by.entry(sources[*i].as_str()).or_default() += 1;
        }
        let by: Vec<String> = by.iter().map(|(s, k)| format!("{s}: {k}")).collect();
        report.push_str(&format!(" [{}]", by.join(", ")));
    }
    if real.len() == 2 {
        report.push_str(&format!("; the corpus vmlinux and its own vmlinux: kernel {}", real.join(" and ")));
    } else {
        report.push_str(&format!("; the corpus vmlinux: kernel {} (it has no vmlinux BTF of its own)", real.join("")));
    }
    if !guest.modules.is_empty() {
        report.push_str(&format!("; modules loaded: {}", guest.modules.join(", ")));
    }
    let order = module_order(&guest.release, &guest.modules, &booted.btf);
    if let Ok(o) = &order {
        report.push_str(o);
    }
    // A comparison where the kernel accepts nothing (or everything) proves
    // little; nor does one that never reaches the layer where it runs.
    let mut problems = bad;
    if parted.is_empty() {
        report.push_str("; fast paths = plain passes on every input");
    } else {
        report.push_str(&format!("; the fast paths part from the plain passes on {} inputs", parted.len()));
        problems.extend(parted.into_iter().take(show));
    }
    if let Err(e) = order {
        problems.push(e);
    }
    if !differ.is_empty() && problems.is_empty() {
        problems.push(format!("Linux {}: {} disagreements", guest.release, differ.len()));
    }
    // (One in eight: the generators know every kind, and 5.10 refuses the
    // five it does not know.)
    if accepted < n / 8 || accepted > blobs.len() - n / 8 {
        problems.push(format!("Linux {}: the kernel accepted {accepted} of {}", guest.release, blobs.len()));
    }
    if kernel.at_least(6, 2) && special < n / 100 {
        problems.push(format!("Linux {}: too few inputs reached the special-field layer", guest.release));
    }
    // With veth loaded, a referenced kptr to its struct finds the module's
    // type, which has no destructor: the kernel searched the module.
    if !guest.modules.is_empty() && kernel.at_least(6, 12) {
        let veth = sources.iter().position(|s| s == "kptr to a kernel struct: kptr veth_priv");
        let refused = veth.and_then(|i| theirs.get(i)).is_some_and(|t| t.as_ref().is_err_and(|r| r.errno == 2));
        if !refused {
            problems.push(format!(
                "Linux {}: a referenced kptr to veth_priv was not refused (ENOENT) with veth loaded",
                guest.release
            ));
        }
    }
    // The kernels with the ownership bound (core's `OWNERSHIP_DEPTH`:
    // mainline 7.3, stable 6.12.113 and 7.2.9).
    let from = |major, minor, patch| kernel.series() == KernelVersion::new(major, minor) && kernel.patch >= patch;
    let hardened = kernel.at_least(7, 3) || from(6, 12, 113) || from(7, 2, 9);
    if hardened && ownership < n / 2000 {
        problems.push(format!("Linux {}: too few inputs reached the ownership bound", guest.release));
    }
    (report, problems)
}

/// The order `btfkit_sysfs::kernel::KernelBtf::modules_in_load_order`
/// relies on, held on a guest that loads two modules against the order of
/// their names (veth, then dummy): the inode numbers of `/sys/kernel/btf`
/// rise with the BTF ids, and the modules' follow their load order. A note
/// for the report, empty for a guest with fewer than two modules.
fn module_order(release: &str, modules: &[String], btf: &[SysfsBtf]) -> Result<String, String> {
    if modules.len() < 2 {
        return Ok(String::new());
    }
    let fail = |why: String| Err(format!("Linux {release}: /sys/kernel/btf {btf:?}: {why}"));
    if btf.iter().any(|b| b.id == 0) {
        return fail("an entry without a kernel BTF of its name".into());
    }
    let names = |key: fn(&SysfsBtf) -> u64| {
        let mut v: Vec<&SysfsBtf> = btf.iter().collect();
        v.sort_by_key(|b| key(b));
        v.into_iter().map(|b| b.name.as_str()).collect::<Vec<_>>()
    };
    let (by_ino, by_id) = (names(|b| b.ino), names(|b| u64::from(b.id)));
    if by_ino != by_id {
        return fail(format!("by inode {by_ino:?}, by BTF id {by_id:?}"));
    }
    let loaded: Vec<&str> = modules.iter().map(|m| m.trim_end_matches(".ko")).collect();
    let seen: Vec<&str> = by_id.iter().copied().filter(|n| loaded.contains(n)).collect();
    if seen != loaded || by_id.first() != Some(&"vmlinux") {
        return fail(format!("by BTF id {by_id:?}, loaded {loaded:?}"));
    }
    Ok(format!("; /sys/kernel/btf by inode = by BTF id = load order: {}", by_id.join(", ")))
}

#[test]
fn module_order_holds_inodes_to_btf_ids_and_load_order() {
    let e = |name: &str, ino, id| SysfsBtf { name: name.to_owned(), ino, id };
    let two = ["veth.ko".to_owned(), "dummy.ko".to_owned()];
    let good = [e("dummy", 30, 3), e("vmlinux", 10, 1), e("veth", 20, 2)];
    assert!(module_order("x", &two, &good).unwrap().ends_with("vmlinux, veth, dummy"));
    // Another module, loaded by the kernel itself, in between: still fine.
    let more = [e("dummy", 30, 4), e("vmlinux", 10, 1), e("veth", 20, 2), e("other", 25, 3)];
    assert!(module_order("x", &two, &more).is_ok());
    // Inodes against BTF ids; the load order against both; no BTF.
    let swapped = [e("dummy", 20, 3), e("vmlinux", 10, 1), e("veth", 30, 2)];
    assert!(module_order("x", &two, &swapped).unwrap_err().contains("by inode"));
    let against = [e("dummy", 20, 2), e("vmlinux", 10, 1), e("veth", 30, 3)];
    assert!(module_order("x", &two, &against).unwrap_err().contains("loaded"));
    assert!(module_order("x", &two, &[e("vmlinux", 10, 1), e("veth", 20, 0), e("dummy", 30, 3)]).is_err());
    // Fewer than two modules: nothing to hold.
    assert_eq!(module_order("x", &two[..1], &[]), Ok(String::new()));
}

#[test]
fn userload_verdict_equals_guest_kernels() {
    let Some(guests) = guests() else { return };
    let n = env_num("BTFKIT_GUEST_N", 20_000) as usize;
    let seed = env_num("BTFKIT_DIFF_SEED", 0x00b7_f417);
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        assert!(n >= 20_000, "BTFKIT_GUEST_N={n}: CI runs at least 20,000 inputs a kernel");
        assert!(std::env::var_os("BTFKIT_GUESTS").is_none(), "CI boots every guest kernel: unset BTFKIT_GUESTS");
    }
    let show = env_num("BTFKIT_DIFF_SHOW", 5) as usize;
    // One worker a core, each taking the next guest: a boot is one core's
    // work, and a guest starved of its core boots badly.
    let workers = std::thread::available_parallelism().map_or(2, std::num::NonZero::get).min(guests.len());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut results: Vec<(usize, (String, Vec<String>))> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(g) = guests.get(i) else { return done };
                        done.push((i, compare(g, n, seed, show)));
                    }
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("the comparison panicked")).collect()
    });
    results.sort_by_key(|&(i, _)| i);
    let results = results.into_iter().map(|(_, r)| r);
    let mut problems = Vec::new();
    for (report, p) in results {
        eprintln!("{report}");
        problems.extend(p);
    }
    // Kptrs to a module's struct need a guest that loads one; the module
    // order, one that loads two.
    if std::env::var_os("BTFKIT_GUESTS").is_none() && !guests.iter().any(|g| !g.modules.is_empty()) {
        problems.push("no guest kernel loads a module: kptrs to a module's struct went untested".to_owned());
    }
    if std::env::var_os("BTFKIT_GUESTS").is_none() && !guests.iter().any(|g| g.modules.len() >= 2) {
        problems.push("no guest kernel loads two modules: the module order went untested".to_owned());
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}
