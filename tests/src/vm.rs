//! Other kernels as validation oracles: a Debian kernel boots under qemu
//! with an initramfs of `tests/vm/init.c`, the blobs to load and the
//! modules to load first (`veth`, then `dummy`, where its package has
//! them), and prints its `bpf(BPF_BTF_LOAD)` verdict on each, and with
//! modules, the inode number and BTF id of each entry of `/sys/kernel/btf`.
//! `tests/vm/guest-kernels.sh` fetches the kernels into `target/vm/<release>/`.
//!
//! qemu runs in TCG, its own emulation: nested KVM fails on these machines
//! (KVM's emulation failures while the guest boots), and TCG boots a kernel
//! in about two seconds.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use btfkit::Btf;
use btfkit::validate::KernelVersion;

use crate::kernel::Rejected;
use crate::workspace;

/// A kernel that [`Guest::load_all`] boots.
#[derive(Debug, Clone)]
pub struct Guest {
    /// Its release, as `uname -r` gives it.
    pub release: String,
    /// Its upstream release, for `ValidateOptions`.
    pub kernel: KernelVersion,
    dir: PathBuf,
    /// The modules it loads before the blobs (`modules/*.ko`), by file
    /// name, in the order it loads them.
    pub modules: Vec<String>,
}

/// An entry of a guest's `/sys/kernel/btf`, as its init saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SysfsBtf {
    /// `vmlinux` or the module's name.
    pub name: String,
    /// Its inode number in sysfs.
    pub ino: u64,
    /// The id of its BTF (0: no kernel BTF of that name was found).
    pub id: u32,
}

/// What a boot gave: the verdicts, in input order, and the entries of
/// `/sys/kernel/btf` (empty for a guest that loads no module).
#[derive(Debug)]
pub struct Boot {
    /// The kernel's verdict on each blob.
    pub verdicts: Vec<Result<(), Rejected>>,
    /// `/sys/kernel/btf`, in the order its directory lists it.
    pub btf: Vec<SysfsBtf>,
}

/// Where the guest kernels live.
pub fn dir() -> PathBuf {
    workspace().join("target/vm")
}

/// The guest kernels that `guest-kernels.sh` fetched, oldest first.
///
/// # Errors
/// Why no guest can boot: no kernels, no qemu, no gcc for the init.
pub fn guests() -> Result<Vec<Guest>, String> {
    let which = |tool: &str| Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success());
    if !which("qemu-system-x86_64") {
        return Err("qemu-system-x86_64 is missing (apt-get install qemu-system-x86)".into());
    }
    init()?;
    let mut guests: Vec<Guest> = std::fs::read_dir(dir())
        .map_err(|e| format!("{}: {e} (run tests/vm/guest-kernels.sh)", dir().display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join(".complete").exists())
        .map(|p| {
            let release = p.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
            // The upstream release of the package (Debian's 6.1.0-50 is
            // 6.1.176), as guest-kernels.sh wrote it.
            let version = std::fs::read_to_string(p.join("version")).unwrap_or_default();
            let kernel = KernelVersion::parse(&version).filter(|k| !k.is_series()).ok_or_else(|| {
                format!("{}/version: {version:?} is no release (rerun tests/vm/guest-kernels.sh)", p.display())
            })?;
            // guest-kernels.sh says what modules/ holds, in load order (it
            // fetches a kernel again that it fetched before there was one).
            let listed = std::fs::read_to_string(p.join(".module-order"))
                .map_err(|e| format!("{}/.module-order: {e} (rerun tests/vm/guest-kernels.sh)", p.display()))?;
            let modules: Vec<String> = match listed.trim() {
                "none" => Vec::new(),
                m => m.split_whitespace().map(|m| format!("{m}.ko")).collect(),
            };
            for m in &modules {
                if !p.join("modules").join(m).is_file() {
                    return Err(format!("{}/modules/{m} is missing (rerun tests/vm/guest-kernels.sh)", p.display()));
                }
            }
            Ok(Guest { release, kernel, dir: p, modules })
        })
        .collect::<Result<_, String>>()?;
    // `BTFKIT_GUESTS=5.10,6.12.113`: only those series or releases (a
    // debugging aid; the test refuses it under CI).
    if let Ok(only) = std::env::var("BTFKIT_GUESTS") {
        let want: Vec<KernelVersion> = only.split(',').filter_map(KernelVersion::parse).collect();
        guests.retain(|g| want.iter().any(|&w| w == g.kernel || (w.is_series() && w == g.kernel.series())));
    }
    guests.sort_by_key(|g| g.kernel);
    if guests.is_empty() {
        return Err(format!("no guest kernels in {} (run tests/vm/guest-kernels.sh)", dir().display()));
    }
    Ok(guests)
}

/// The static init, built from `tests/vm/init.c` once for each version
/// of the source (named by its hash, so concurrent test processes share it).
fn init() -> Result<&'static Path, String> {
    static INIT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    INIT.get_or_init(|| {
        use std::hash::{Hash, Hasher};
        let src = workspace().join("tests/vm/init.c");
        let text = std::fs::read(&src).map_err(|e| format!("{}: {e}", src.display()))?;
        let mut h = std::collections::hash_map::DefaultHasher::new();
        text.hash(&mut h);
        let out = dir().join(format!("init-{:016x}", h.finish()));
        if out.exists() {
            return Ok(out);
        }
        std::fs::create_dir_all(dir()).map_err(|e| format!("{}: {e}", dir().display()))?;
        let tmp = out.with_extension(format!("tmp{}", std::process::id()));
        let o = Command::new("gcc")
            .args(["-static", "-O2", "-Wall", "-Werror", "-o"])
            .arg(&tmp)
            .arg(&src)
            .output()
            .map_err(|e| format!("gcc: {e} (apt-get install gcc)"))?;
        if !o.status.success() {
            return Err(format!("gcc {}: {}", src.display(), String::from_utf8_lossy(&o.stderr)));
        }
        std::fs::rename(&tmp, &out).map_err(|e| format!("{}: {e}", out.display()))?;
        Ok(out)
    })
    .as_ref()
    .map(PathBuf::as_path)
    .map_err(Clone::clone)
}

/// One entry of a `newc` cpio archive.
fn cpio_entry(out: &mut Vec<u8>, ino: u32, name: &str, mode: u32, rdev: (u32, u32), data: &[u8]) {
    let pad = |out: &mut Vec<u8>| out.resize(out.len().next_multiple_of(4), 0);
    let fields = [ino, mode, 0, 0, 1, 0, data.len() as u32, 0, 0, rdev.0, rdev.1, name.len() as u32 + 1, 0];
    out.extend_from_slice(b"070701");
    for f in fields {
        out.extend_from_slice(format!("{f:08x}").as_bytes());
    }
    out.extend_from_slice(name.as_bytes());
    out.push(0);
    pad(out);
    out.extend_from_slice(data);
    pad(out);
}

/// The initramfs: `/dev/console` (the init's stdout), the init, the
/// blobs in the format `init.c` reads, and the modules to load first,
/// with `modules/order` naming them in load order.
fn initramfs(init: &[u8], blobs: &[Vec<u8>], with_logs: bool, modules: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut inputs = b"BTFKITV1".to_vec();
    inputs.extend_from_slice(&(blobs.len() as u32).to_le_bytes());
    inputs.extend_from_slice(&u32::from(with_logs).to_le_bytes());
    for b in blobs {
        inputs.extend_from_slice(&(b.len() as u32).to_le_bytes());
        inputs.extend_from_slice(b);
    }
    let mut out = Vec::with_capacity(inputs.len() + init.len() + 1024);
    cpio_entry(&mut out, 1, "dev", 0o040_755, (0, 0), &[]);
    cpio_entry(&mut out, 2, "dev/console", 0o020_600, (5, 1), &[]);
    cpio_entry(&mut out, 3, "init", 0o100_755, (0, 0), init);
    cpio_entry(&mut out, 4, "inputs", 0o100_644, (0, 0), &inputs);
    cpio_entry(&mut out, 5, "modules", 0o040_755, (0, 0), &[]);
    let mut ino = 6;
    for (name, data) in modules {
        cpio_entry(&mut out, ino, &format!("modules/{name}"), 0o100_644, (0, 0), data);
        ino += 1;
    }
    if !modules.is_empty() {
        let order: String = modules.iter().map(|(name, _)| format!("{name}\n")).collect();
        cpio_entry(&mut out, ino, "modules/order", 0o100_644, (0, 0), order.as_bytes());
        ino += 1;
    }
    cpio_entry(&mut out, ino, "TRAILER!!!", 0, (0, 0), &[]);
    out
}

fn unhex(s: &str) -> String {
    let bytes: Vec<u8> = (0..s.len() / 2)
        .filter_map(|i| s.get(2 * i..2 * i + 2))
        .filter_map(|h| u8::from_str_radix(h, 16).ok())
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The verdicts in the guest's console output, in input order, once every
/// one of `modules` loaded in that order, and its `/sys/kernel/btf`.
fn parse(console: &str, n: usize, release: &str, modules: &[String]) -> Result<Boot, String> {
    let mut errnos: Vec<Option<i32>> = vec![None; n];
    let mut logs = std::collections::HashMap::new();
    let (mut begun, mut ended) = (false, false);
    let mut loaded = Vec::new();
    let mut btf = Vec::new();
    let mut btf_count = None;
    for line in console.lines() {
        let mut w = line.split_ascii_whitespace();
        match w.next() {
            Some("BTFKIT-MODULE") if !begun => {
                let (file, errno) = (w.next().unwrap_or(""), w.next().unwrap_or(""));
                if errno != "0" {
                    return Err(format!("the guest could not load its module {file}: errno {errno}"));
                }
                loaded.push(file.to_owned());
            }
            Some("BTFKIT-BTF") if !begun => {
                let entry = (|| {
                    let name = w.next()?.to_owned();
                    Some(SysfsBtf { name, ino: w.next()?.parse().ok()?, id: w.next()?.parse().ok()? })
                })();
                btf.push(entry.ok_or(format!("bad line {line:?}"))?);
            }
            Some("BTFKIT-BTF-END") if !begun => {
                btf_count = w.next().and_then(|c| c.parse::<usize>().ok());
            }
            Some("BTFKIT-BEGIN") => {
                let count: usize = w.next().and_then(|c| c.parse().ok()).unwrap_or(usize::MAX);
                let rel = w.next().unwrap_or("");
                if count != n || rel != release {
                    return Err(format!("the guest says {line:?}; expected {n} inputs on {release}"));
                }
                begun = true;
            }
            Some("BTFKIT-ERROR") => return Err(format!("the guest's init failed: {line}")),
            Some("BTFKIT-END") => ended = true,
            Some("V") if begun => {
                let start: usize = w.next().and_then(|s| s.parse().ok()).ok_or(format!("bad line {line:?}"))?;
                for (k, e) in w.enumerate() {
                    let e: i32 = e.parse().map_err(|_| format!("bad line {line:?}"))?;
                    *errnos.get_mut(start + k).ok_or(format!("index past {n}: {line:?}"))? = Some(e);
                }
            }
            Some("L") if begun => {
                let i: usize = w.next().and_then(|s| s.parse().ok()).ok_or(format!("bad line {line:?}"))?;
                let _errno = w.next();
                logs.insert(i, unhex(w.next().unwrap_or("")));
            }
            _ => {}
        }
    }
    if begun && loaded != modules {
        return Err(format!("the guest loaded the modules {loaded:?}, not {modules:?}"));
    }
    if begun && !modules.is_empty() && btf_count != Some(btf.len()) {
        return Err(format!("the guest listed {} entries of /sys/kernel/btf, and says {btf_count:?}", btf.len()));
    }
    if !ended {
        let tail: Vec<&str> = console.lines().rev().take(20).collect();
        return Err(format!(
            "the guest did not finish; its console ends:\n{}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        ));
    }
    let verdicts = errnos
        .into_iter()
        .enumerate()
        .map(|(i, e)| match e {
            Some(0) => Ok(Ok(())),
            Some(errno) => Ok(Err(Rejected { errno, log: logs.remove(&i).unwrap_or_default() })),
            None => Err(format!("no verdict for input {i} in the guest's output")),
        })
        .collect::<Result<_, String>>()?;
    Ok(Boot { verdicts, btf })
}

impl Guest {
    /// Its vmlinux BTF (for the names of its structs), `None` for a kernel
    /// built without one (guest-kernels.sh's "nobtf").
    ///
    /// # Errors
    /// The file's I/O error.
    pub fn vmlinux_btf(&self) -> std::io::Result<Option<Vec<u8>>> {
        match std::fs::read(self.dir.join("vmlinux.btf")) {
            Ok(d) => Ok(Some(d)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Boots the guest and loads every blob, in order: the kernel's verdict
    /// on each (with its verifier log when `with_logs`), and its
    /// `/sys/kernel/btf` once its modules loaded.
    ///
    /// # Errors
    /// Why the guest gave no verdicts: qemu failed, timed out, or the init
    /// reported an error.
    pub fn load_all(&self, blobs: &[Vec<u8>], with_logs: bool) -> Result<Boot, String> {
        let init = std::fs::read(init()?).map_err(|e| format!("the init: {e}"))?;
        let modules = self
            .modules
            .iter()
            .map(|m| {
                let path = self.dir.join("modules").join(m);
                std::fs::read(&path).map(|d| (m.clone(), d)).map_err(|e| format!("{}: {e}", path.display()))
            })
            .collect::<Result<Vec<_>, String>>()?;
        static RUN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let run = RUN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let stem = dir().join(format!("run-{}-{run}", std::process::id()));
        let (cpio, console, errors) =
            (stem.with_extension("cpio"), stem.with_extension("console"), stem.with_extension("stderr"));
        std::fs::File::create(&cpio)
            .and_then(|mut f| f.write_all(&initramfs(&init, blobs, with_logs, &modules)))
            .map_err(|e| format!("{}: {e}", cpio.display()))?;
        // Room for the blobs twice (the initrd and its unpacked copy).
        let bytes: usize = blobs.iter().map(Vec::len).sum();
        let mem = 512 + 2 * bytes / (1 << 20);
        // A kernel that panics while it boots, before our init has run,
        // gave no verdict: boot it again, at most twice, and say so. (Seen
        // once: Ubuntu's 6.11.0-29 in AppArmor's early init under TCG.)
        let mut attempt = 0;
        let text = loop {
            let text = self.qemu(&cpio, &console, &errors, mem, blobs.len());
            match &text {
                Ok(t) if attempt < 2 && !t.contains("BTFKIT-BEGIN") && t.contains("Kernel panic") => {
                    attempt += 1;
                    let tail: Vec<&str> = t.lines().rev().take(8).collect();
                    eprintln!(
                        "WARNING: Linux {} panicked while booting, before the init ran; booting it again ({attempt} of \
                         2). Its console ends:\n{}",
                        self.release,
                        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                    );
                }
                _ => break text,
            }
        };
        let _ = std::fs::remove_file(&cpio);
        parse(&text?, blobs.len(), &self.release, &self.modules)
    }

    /// One qemu run of the guest over the initramfs `cpio`: its console.
    fn qemu(&self, cpio: &Path, console: &Path, errors: &Path, mem: usize, n: usize) -> Result<String, String> {
        let mut child = Command::new("qemu-system-x86_64")
            .args(["-nodefaults", "-no-user-config", "-machine", "q35,accel=tcg", "-cpu", "max", "-smp", "1"])
            .args(["-m", &mem.to_string(), "-display", "none", "-no-reboot", "-kernel"])
            .arg(self.dir.join("vmlinuz"))
            .arg("-initrd")
            .arg(cpio)
            // no_timer_check: a guest starved of its core (TCG on a busy
            // host) would fail the IO-APIC timer check and panic.
            .args(["-append", "console=ttyS0 quiet loglevel=1 panic=-1 no_timer_check"])
            .arg("-serial")
            .arg(format!("file:{}", console.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            // A file, not a pipe that nobody drains while qemu runs.
            .stderr(std::fs::File::create(errors).map_err(|e| format!("{}: {e}", errors.display()))?)
            .spawn()
            .map_err(|e| format!("qemu-system-x86_64: {e}"))?;
        // Generous: TCG boots in seconds and loads thousands of small blobs
        // a second, but a guest may share its core with other tests.
        let limit = Duration::from_secs(300 + n as u64 / 50);
        let started = Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait().map_err(|e| e.to_string())? {
                break s;
            }
            if started.elapsed() > limit {
                let _ = child.kill();
                let _ = child.wait();
                for f in [cpio, console, errors] {
                    let _ = std::fs::remove_file(f);
                }
                return Err(format!("the guest {} ran past {limit:?}", self.release));
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let stderr = std::fs::read_to_string(errors).unwrap_or_default();
        let _ = std::fs::remove_file(errors);
        let text = std::fs::read(console).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
        let _ = std::fs::remove_file(console);
        if !status.success() {
            return Err(format!("qemu exited with {status}: {stderr}"));
        }
        Ok(text)
    }

    /// The struct names of the guest's vmlinux and of the modules it
    /// loads, for kptr pointees (none for a kernel without BTF).
    ///
    /// # Errors
    /// A BTF cannot be read or parsed.
    pub fn structs(&self) -> Result<btfkit_sysfs::kernel::KernelStructNames, String> {
        let mut names = btfkit_sysfs::kernel::KernelStructNames::default();
        let Some(data) = self.vmlinux_btf().map_err(|e| format!("{}: {e}", self.release))? else {
            return Ok(names);
        };
        let btf = Btf::parse(&data).map_err(|e| format!("{} vmlinux.btf: {e}", self.release))?;
        names.add(&btf);
        for m in &self.modules {
            let path = self.dir.join("modules").join(m).with_extension("btf");
            let data = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let module = Btf::parse_split(&data, &btf).map_err(|e| format!("{}: {e}", path.display()))?;
            names.add(&module);
        }
        Ok(names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_output_parses_around_kernel_lines() {
        let out =
            "[ 0.1] noise\nBTFKIT-BEGIN 3 6.1.0-x\nV 0 0 22\nL 1 22 6869\n[ 1.0] kernel line\nV 2 7\nBTFKIT-END 3\n";
        let v = parse(out, 3, "6.1.0-x", &[]).unwrap().verdicts;
        assert!(v[0].is_ok());
        assert_eq!(v[1].as_ref().unwrap_err().errno, 22);
        assert_eq!(v[1].as_ref().unwrap_err().log, "hi");
        assert_eq!(v[2].as_ref().unwrap_err().errno, 7);
        assert!(parse("BTFKIT-BEGIN 3 6.1.0-x\nV 0 0 22\nBTFKIT-END 3\n", 3, "6.1.0-x", &[]).is_err());
        assert!(parse("BTFKIT-BEGIN 3 6.1.0-x\nV 0 0 22 0\n", 3, "6.1.0-x", &[]).is_err());
        assert!(parse("BTFKIT-BEGIN 2 6.1.0-x\nV 0 0 0\nBTFKIT-END 2\n", 3, "6.1.0-x", &[]).is_err());
        // Modules: each one wanted must have loaded, before the blobs.
        let veth = ["veth.ko".to_owned()];
        let ok = "BTFKIT-MODULE veth.ko 0\nBTFKIT-BTF vmlinux 1 1\nBTFKIT-BTF veth 2 2\nBTFKIT-BTF-END 2\n\
                  BTFKIT-BEGIN 1 6.1.0-x\nV 0 0\nBTFKIT-END 1\n";
        assert!(parse(ok, 1, "6.1.0-x", &veth).is_ok());
        assert!(parse(ok, 1, "6.1.0-x", &[]).is_err());
        // A listing cut short (the init died while it listed) is no boot.
        assert!(parse(&ok.replace("BTFKIT-BTF-END 2\n", ""), 1, "6.1.0-x", &veth).is_err());
        let failed = "BTFKIT-MODULE veth.ko 1\nBTFKIT-BEGIN 1 6.1.0-x\nV 0 0\nBTFKIT-END 1\n";
        assert!(parse(failed, 1, "6.1.0-x", &veth).unwrap_err().contains("errno 1"));
        assert!(parse("BTFKIT-BEGIN 1 6.1.0-x\nV 0 0\nBTFKIT-END 1\n", 1, "6.1.0-x", &veth).is_err());
        // Two modules: loaded in the order given, and sysfs listed in full.
        let two = ["veth.ko".to_owned(), "dummy.ko".to_owned()];
        let listed = "BTFKIT-MODULE veth.ko 0\nBTFKIT-MODULE dummy.ko 0\nBTFKIT-BTF vmlinux 1000 1\n\
                      BTFKIT-BTF dummy 3000 3\nBTFKIT-BTF veth 2000 2\nBTFKIT-BTF-END 3\n";
        let b = parse(&format!("{listed}BTFKIT-BEGIN 1 6.1.0-x\nV 0 0\nBTFKIT-END 1\n"), 1, "6.1.0-x", &two).unwrap();
        assert_eq!(b.btf.len(), 3);
        assert_eq!(b.btf[1], SysfsBtf { name: "dummy".to_owned(), ino: 3000, id: 3 });
        let swapped = ["dummy.ko".to_owned(), "veth.ko".to_owned()];
        let out = format!("{listed}BTFKIT-BEGIN 1 6.1.0-x\nV 0 0\nBTFKIT-END 1\n");
        assert!(parse(&out, 1, "6.1.0-x", &swapped).unwrap_err().contains("loaded the modules"));
        let cut = listed.replace("BTFKIT-BTF-END 3", "BTFKIT-BTF-END 4");
        assert!(parse(&format!("{cut}BTFKIT-BEGIN 1 6.1.0-x\nV 0 0\nBTFKIT-END 1\n"), 1, "6.1.0-x", &two).is_err());
    }

    #[test]
    fn cpio_entries_are_aligned() {
        let mut out = Vec::new();
        cpio_entry(&mut out, 1, "init", 0o100_755, (0, 0), b"abcde");
        assert_eq!(out.len() % 4, 0);
        assert_eq!(&out[..6], b"070701");
        // 110-byte header + "init\0" = 115, padded to 116; 5 data bytes to 8.
        assert_eq!(out.len(), 116 + 8);
    }
}
