//! `btfkit`: inspect, validate and merge kernel BTF.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use btfkit::merge::{Form, Input, Merge, MergeError, MergeOptions};
use btfkit::validate::{KernelVersion, Profile, ValidateOptions};
use btfkit::{Btf, ErrorKind};
use btfkit_sysfs::{Error, IoSink, SYSFS_BTF, big_buffer, big_slice, read_file, read_files};
use clap::{Parser, Subcommand};

/// Inspect, validate and merge Linux BTF, including split module BTF.
#[derive(Parser, Debug)]
#[command(name = "btfkit", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print raw BTF as text, identical to `bpftool btf dump file FILE [-B BASE]`.
    Dump {
        /// The BTF file (default: the running kernel's vmlinux BTF).
        file: Option<PathBuf>,
        /// Base BTF, for a split (module) file.
        #[arg(long, short = 'B')]
        base: Option<PathBuf>,
    },
    /// Check BTF against the kernel verifier's rules: exit 0 when valid, 1
    /// with one line (file, type id, byte offset, rule) when not.
    Validate {
        /// The BTF file (default: the running kernel's vmlinux BTF).
        file: Option<PathBuf>,
        /// Base BTF, for a split (module) file.
        #[arg(long, short = 'B')]
        base: Option<PathBuf>,
        /// Which load path's rules to apply.
        #[arg(long, value_enum, default_value_t = ProfileArg::Strict)]
        profile: ProfileArg,
        /// Kernel version whose rules apply, e.g. 6.1 (default: the running kernel's).
        #[arg(long)]
        kernel: Option<String>,
    },
    /// Merge a base and module BTF files into one standalone BTF (or, with
    /// --split, one split BTF over the same base). Every type is kept;
    /// module types are renumbered after the base's, module by module.
    Merge {
        /// Module (split) BTF files, split over the base.
        #[arg(required = true)]
        modules: Vec<PathBuf>,
        /// The base BTF (default: the running kernel's vmlinux BTF).
        #[arg(long, short = 'B')]
        base: Option<PathBuf>,
        /// Output file.
        #[arg(long, short = 'o')]
        output: PathBuf,
        /// Write one split BTF over the base instead of a standalone one.
        #[arg(long)]
        split: bool,
        /// Write the id map here: one `layer old_id new_id` line per type
        /// (layer 0 is the base, listed for standalone output; then the
        /// modules in the order given).
        #[arg(long)]
        map: Option<PathBuf>,
        /// Point module strings the base already has at the base's copy.
        #[arg(long)]
        reuse_base_strings: bool,
        /// Allow outputs beyond the kernel's limits (more than 0xfffff
        /// types or 16 MiB of strings).
        #[arg(long)]
        no_kernel_limits: bool,
        /// Print the time of each phase to stderr.
        #[arg(long)]
        timings: bool,
    },
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum ProfileArg {
    /// Every rule, quirks tightened; split BTF with its base.
    Strict,
    /// What bpf(BPF_BTF_LOAD) accepts.
    User,
    /// The kernel's rules for vmlinux.
    Vmlinux,
    /// The kernel's rules for module (split) BTF.
    Module,
}

/// The running kernel's version, or the newest we know.
fn running_kernel() -> KernelVersion {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .ok()
        .and_then(|r| KernelVersion::parse(&r))
        .unwrap_or(KernelVersion::LATEST)
}

fn validate(file: Option<PathBuf>, base: Option<PathBuf>, profile: ProfileArg, kernel: Option<String>) -> ExitCode {
    let kernel = match kernel.as_deref().map(KernelVersion::parse) {
        None => running_kernel(),
        Some(Some(k)) => k,
        Some(None) => {
            eprintln!("btfkit: --kernel wants MAJOR.MINOR, e.g. 6.1");
            return ExitCode::from(2);
        }
    };
    let profile = match profile {
        ProfileArg::Strict => Profile::Strict,
        ProfileArg::User => Profile::UserLoad,
        ProfileArg::Vmlinux => Profile::Vmlinux,
        ProfileArg::Module => Profile::Module,
    };
    let file = file.unwrap_or_else(|| Path::new(SYSFS_BTF).join("vmlinux"));
    let opts = ValidateOptions::new(profile, kernel);
    with_input(&file, base.as_deref(), |data, base| {
        Ok(match btfkit::validate::validate_vec(data, base, &opts) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                println!("{}: invalid for {profile:?} on Linux {kernel}: {e}", file.display());
                ExitCode::from(1)
            }
        })
    })
}

/// Exit codes: 0 ok, 1 invalid or not found, 2 usage or I/O.
fn fail(e: &Error) -> ExitCode {
    eprintln!("btfkit: {e}");
    match e {
        Error::Io { .. } => ExitCode::from(2),
        Error::Btf { .. } => ExitCode::from(1),
    }
}

fn parse<'a>(path: &Path, data: &'a [u8], base: Option<&'a Btf<'a>>) -> Result<Btf<'a>, Error> {
    let r = match base {
        Some(b) => Btf::parse_split(data, b),
        None => Btf::parse(data),
    };
    r.map_err(|source| Error::Btf { path: path.to_owned(), source })
}

/// Parses `data` (split over `base`) and attaches an id index kept in `ix`.
fn indexed<'a>(path: &Path, data: &'a [u8], base: Option<&'a Btf<'a>>, ix: &'a mut Vec<u32>) -> Result<Btf<'a>, Error> {
    let btf = parse(path, data, base)?;
    let btf_err = |source| Error::Btf { path: path.to_owned(), source };
    *ix = btf.build_index_vec().map_err(btf_err)?;
    btf.with_index(btfkit::IdIndex::from_built(&btf, ix)).map_err(btf_err)
}

/// Reads `file` and, when given, reads, parses and indexes `base`; then
/// runs `f` on the raw file bytes and the base.
fn with_input(
    file: &Path,
    base: Option<&Path>,
    f: impl FnOnce(&[u8], Option<&Btf<'_>>) -> Result<ExitCode, Error>,
) -> ExitCode {
    let run = || -> Result<ExitCode, Error> {
        let base_data = base.map(read_file).transpose()?;
        let data = read_file(file)?;
        let mut base_ix = Vec::new();
        let base_btf = match (base, &base_data) {
            (Some(p), Some(d)) => Some(indexed(p, d, None, &mut base_ix)?),
            _ => None,
        };
        f(&data, base_btf.as_ref())
    };
    run().unwrap_or_else(|e| fail(&e))
}

fn dump(file: Option<PathBuf>, base: Option<PathBuf>) -> ExitCode {
    let file = file.unwrap_or_else(|| Path::new(SYSFS_BTF).join("vmlinux"));
    with_input(&file, base.as_deref(), |data, base| {
        let mut ix = Vec::new();
        let btf = indexed(&file, data, base, &mut ix)?;
        Ok(dump_to_stdout(&file, &btf))
    })
}

fn dump_to_stdout(file: &Path, btf: &Btf<'_>) -> ExitCode {
    let stdout = io::stdout().lock();
    let mut sink = IoSink::new(io::BufWriter::with_capacity(1 << 16, stdout));
    let r = btfkit::dump::dump_all(btf, &mut sink);
    let flushed = sink.finish().and_then(|mut w| w.flush());
    match (r, flushed) {
        // A closed pipe (`| head`) is the reader's choice, not an error.
        (_, Err(e)) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        (_, Err(e)) => fail(&Error::Io { path: PathBuf::from("<stdout>"), source: e }),
        (Err(e), _) if e.kind() == ErrorKind::Sink => ExitCode::SUCCESS,
        (Err(source), _) => fail(&Error::Btf { path: file.to_owned(), source }),
        (Ok(()), Ok(_)) => ExitCode::SUCCESS,
    }
}

struct MergeArgs {
    modules: Vec<PathBuf>,
    base: Option<PathBuf>,
    output: PathBuf,
    split: bool,
    map: Option<PathBuf>,
    opts: MergeOptions,
    timings: bool,
}

fn merge(a: MergeArgs) -> ExitCode {
    let run = || -> Result<ExitCode, Error> {
        let t0 = std::time::Instant::now();
        let base_path = a.base.clone().unwrap_or_else(|| Path::new(SYSFS_BTF).join("vmlinux"));
        let mut paths = vec![base_path.clone()];
        paths.extend(a.modules.iter().cloned());
        let (arena, ranges) = read_files(&paths)?;
        let slice = |i: usize| ranges.get(i).and_then(|r| arena.get(r.clone())).unwrap_or_default();
        let base = parse(&base_path, slice(0), None)?;
        let modules = a
            .modules
            .iter()
            .enumerate()
            .map(|(i, p)| parse(p, slice(i + 1), Some(&base)))
            .collect::<Result<Vec<_>, _>>()?;
        let opts = MergeOptions { form: if a.split { Form::Split } else { Form::Flat }, ..a.opts };
        let merge_err = |e: MergeError| {
            let path = match e.input {
                Input::Base => base_path.clone(),
                Input::Module(i) => a.modules.get(i).cloned().unwrap_or_default(),
                Input::Output => a.output.clone(),
            };
            Error::Btf { path, source: e.error }
        };
        let mem = |source| Error::Io { path: PathBuf::from("<memory>"), source };
        let t1 = std::time::Instant::now();
        let need = Merge::scratch_len(&base, &modules, &opts).map_err(merge_err)?;
        let mut words = big_slice::<u32>(need.words).map_err(mem)?;
        let mut slots = big_slice::<u64>(need.slots).map_err(mem)?;
        let plan = Merge::plan(&base, &modules, &opts, words.as_mut_slice(), slots.as_mut_slice()).map_err(merge_err)?;
        let t2 = std::time::Instant::now();
        if let Some(map) = &a.map {
            write_map(map, &plan, &base, &modules, a.split)?;
        }
        let mut out = big_buffer(plan.len()).map_err(mem)?;
        let n = plan.write(&mut out).map_err(merge_err)?;
        let t3 = std::time::Instant::now();
        std::fs::write(&a.output, out.get(..n).unwrap_or_default())
            .map_err(|source| Error::Io { path: a.output.clone(), source })?;
        if a.timings {
            eprintln!(
                "btfkit merge: read+parse {:.1} ms, plan {:.1} ms, write {:.1} ms, output {:.1} ms ({n} bytes)",
                ms(t1 - t0),
                ms(t2 - t1),
                ms(t3 - t2),
                ms(t3.elapsed())
            );
        }
        Ok(ExitCode::SUCCESS)
    };
    run().unwrap_or_else(|e| fail(&e))
}

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The id map as text: `layer old new`, layer 0 the base (standalone
/// output only), then each module.
fn write_map(
    path: &Path,
    plan: &Merge<'_, '_, '_>,
    base: &Btf<'_>,
    modules: &[Btf<'_>],
    split: bool,
) -> Result<(), Error> {
    let io_err = |source| Error::Io { path: path.to_owned(), source };
    let file = std::fs::File::create(path).map_err(io_err)?;
    let mut w = io::BufWriter::with_capacity(1 << 16, file);
    if !split {
        for id in 1..base.type_count() {
            writeln!(w, "0 {id} {id}").map_err(io_err)?;
        }
    }
    for (i, m) in modules.iter().enumerate() {
        for old in m.start_id().0..m.type_count() {
            let new = plan.new_id(Some(i), btfkit::TypeId(old)).map_or(0, |t| t.0);
            writeln!(w, "{} {old} {new}", i + 1).map_err(io_err)?;
        }
    }
    w.flush().map_err(io_err)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Dump { file, base } => dump(file, base),
        Command::Validate { file, base, profile, kernel } => validate(file, base, profile, kernel),
        Command::Merge { modules, base, output, split, map, reuse_base_strings, no_kernel_limits, timings } => {
            let opts = MergeOptions { reuse_base_strings, kernel_limits: !no_kernel_limits, ..MergeOptions::default() };
            merge(MergeArgs { modules, base, output, split, map, opts, timings })
        }
    }
}
