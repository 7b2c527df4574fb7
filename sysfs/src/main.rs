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
    let data = match read_file(&file) {
        Ok(d) => d,
        Err(e) => return fail(&e),
    };
    let base_data = match base.as_deref().map(read_file).transpose() {
        Ok(b) => b,
        Err(e) => return fail(&e),
    };
    let base_btf = match (&base, &base_data) {
        (Some(p), Some(d)) => match parse(p, d, None) {
            Ok(b) => Some(b),
            Err(e) => return fail(&e),
        },
        _ => None,
    };
    let base_index = base_btf.as_ref().map(Btf::build_index_vec).transpose();
    let base_btf = match (base_btf, &base_index) {
        (Some(b), Ok(Some(ix))) => match b.with_index(btfkit::IdIndex::from_built(&b, ix)) {
            Ok(b) => Some(b),
            Err(source) => return fail(&Error::Btf { path: base.clone().unwrap_or_default(), source }),
        },
        (_, Err(source)) => return fail(&Error::Btf { path: base.clone().unwrap_or_default(), source: *source }),
        _ => None,
    };
    let opts = ValidateOptions::new(profile, kernel);
    match btfkit::validate::validate_vec(&data, base_btf.as_ref(), &opts) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            println!("{}: invalid for {profile:?} on Linux {kernel}: {e}", file.display());
            ExitCode::from(1)
        }
    }
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

fn dump(file: Option<PathBuf>, base: Option<PathBuf>) -> ExitCode {
    let file = file.unwrap_or_else(|| Path::new(SYSFS_BTF).join("vmlinux"));
    let base_data = match base.as_deref().map(read_file).transpose() {
        Ok(b) => b,
        Err(e) => return fail(&e),
    };
    let data = match read_file(&file) {
        Ok(d) => d,
        Err(e) => return fail(&e),
    };
    let base_btf = match (&base, &base_data) {
        (Some(p), Some(d)) => match parse(p, d, None) {
            Ok(b) => Some(b),
            Err(e) => return fail(&e),
        },
        _ => None,
    };
    // DATASEC entries name their VARs, so lookups by id must be O(1).
    let base_index = base_btf.as_ref().map(Btf::build_index_vec).transpose();
    let base_btf = match (base_btf, &base_index) {
        (Some(b), Ok(Some(ix))) => match b.with_index(btfkit::IdIndex::from_built(&b, ix)) {
            Ok(b) => Some(b),
            Err(source) => return fail(&Error::Btf { path: base.clone().unwrap_or_default(), source }),
        },
        (_, Err(source)) => return fail(&Error::Btf { path: base.clone().unwrap_or_default(), source: *source }),
        _ => None,
    };
    let btf = match parse(&file, &data, base_btf.as_ref()) {
        Ok(b) => b,
        Err(e) => return fail(&e),
    };
    let index = match btf.build_index_vec() {
        Ok(ix) => ix,
        Err(source) => return fail(&Error::Btf { path: file, source }),
    };
    let btf = match btf.with_index(btfkit::IdIndex::from_built(&btf, &index)) {
        Ok(b) => b,
        Err(source) => return fail(&Error::Btf { path: file, source }),
    };
    let stdout = io::stdout().lock();
    let mut sink = IoSink::new(io::BufWriter::with_capacity(1 << 16, stdout));
    let r = btfkit::dump::dump_all(&btf, &mut sink);
    let flushed = sink.finish().and_then(|mut w| w.flush());
    match (r, flushed) {
        // A closed pipe (`| head`) is the reader's choice, not an error.
        (_, Err(e)) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        (_, Err(e)) => fail(&Error::Io { path: PathBuf::from("<stdout>"), source: e }),
        (Err(e), _) if e.kind() == ErrorKind::Sink => ExitCode::SUCCESS,
        (Err(source), _) => fail(&Error::Btf { path: file, source }),
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
