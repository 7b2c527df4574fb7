//! `btfkit`: inspect, validate and merge kernel BTF.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use btfkit::validate::{KernelVersion, Profile, ValidateOptions};
use btfkit::{Btf, ErrorKind};
use btfkit_sysfs::{Error, IoSink, SYSFS_BTF, read_file};
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Dump { file, base } => dump(file, base),
        Command::Validate { file, base, profile, kernel } => validate(file, base, profile, kernel),
    }
}
