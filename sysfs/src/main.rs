//! `btfkit`: find, inspect, validate and merge kernel BTF.

use std::cell::{OnceCell, RefCell};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use btfkit::composite::Layer;
use btfkit::merge::{Form, Input, Merge, MergeError, MergeOptions};
use btfkit::validate::{Backport, Backports, KernelVersion, Profile, ValidateOptions};
use btfkit::{Btf, ErrorKind, Kind, TypeId};
use btfkit_sysfs::kernel::{
    KernelBtf, KernelStructNames, Options, ReadMode, Session, running_kernel, running_ubuntu_release, ubuntu_backports,
    ubuntu_flavour_unread, unmodelled_distribution,
};
use btfkit_sysfs::{Error, IoSink, SYSFS_BTF, big_buffer, big_slice, read_file, read_files};
use clap::{Args, Parser, Subcommand};

/// Find, inspect, validate and merge Linux BTF, including split module
/// BTF. Module BTF is read only when a command names the modules
/// (--module), the symbols that need them (--symbol), or all of them
/// (--all-modules); and by `validate --profile user` when a kptr points
/// to a struct that vmlinux does not name (the kernel then looks in every
/// module).
#[derive(Parser, Debug)]
#[command(name = "btfkit", version, about)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Debug, Clone)]
struct Global {
    /// The BTF directory: vmlinux and one file per module.
    #[arg(long, global = true, value_name = "DIR", default_value = SYSFS_BTF)]
    sysfs: PathBuf,
    /// The symbol table for --symbol.
    #[arg(long, global = true, value_name = "FILE", default_value = "/proc/kallsyms")]
    kallsyms: PathBuf,
    /// Skip modules that cannot be read or are invalid, with a warning for
    /// each, instead of failing on the first.
    #[arg(long, global = true)]
    tolerant: bool,
    /// Say on stderr which modules were read.
    #[arg(long, short, global = true)]
    verbose: bool,
}

/// Which modules a command may read.
#[derive(Args, Debug, Clone, Default)]
struct Modules {
    /// A module by name (repeatable).
    #[arg(long = "module", short = 'm', value_name = "M")]
    modules: Vec<String>,
    /// The modules that define these symbols, per the symbol table (repeatable).
    #[arg(long = "symbol", value_name = "SYM")]
    symbols: Vec<String>,
    /// Every module with BTF.
    #[arg(long)]
    all_modules: bool,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Where a type is defined (vmlinux or a module, and its id), and its
    /// definition. Searches vmlinux, then the modules given, in order, and
    /// stops at the first definition unless --all.
    Find {
        /// The type's name.
        name: String,
        /// Only types of this kind (struct, union, enum, typedef, fwd, func, ...).
        #[arg(long, short)]
        kind: Option<String>,
        /// Every definition in every layer searched, not just the first.
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        modules: Modules,
    },
    /// Print BTF as text, identical to `bpftool btf dump file FILE [-B BASE]`.
    Dump {
        /// A BTF file: raw, ELF (vmlinux, .ko) or compressed .ko (default:
        /// the kernel's vmlinux).
        file: Option<PathBuf>,
        /// Base BTF, for a split (module) file.
        #[arg(long, short = 'B')]
        base: Option<PathBuf>,
        /// A module of the BTF directory, over its vmlinux.
        #[arg(long, short = 'm', conflicts_with_all = ["file", "base"])]
        module: Option<String>,
        /// JSON, identical to `bpftool -j btf dump file`.
        #[arg(long, short)]
        json: bool,
    },
    /// Check BTF against the kernel verifier's rules: exit 0 when valid, 1
    /// with one line (file, type id, byte offset, rule) per invalid input.
    Validate {
        /// A BTF file (default: the kernel's vmlinux).
        file: Option<PathBuf>,
        /// Base BTF, for a split (module) file.
        #[arg(long, short = 'B')]
        base: Option<PathBuf>,
        /// Which load path's rules (default: strict; `module` for --module
        /// and --all-modules). With `user`, a kptr to a struct named like
        /// the kernel's own (vmlinux's, else the first loaded module's that
        /// has one, as the kernel searches them) takes that struct.
        #[arg(long, value_enum)]
        profile: Option<ProfileArg>,
        /// Kernel version whose rules apply: a series, e.g. 6.12, as its latest
        /// stable release has it, or one release, e.g. 6.12.57 (default: the
        /// running kernel's release).
        #[arg(long)]
        kernel: Option<String>,
        /// A rule change the kernel carries although its version predates
        /// it, e.g. a distribution's backport (repeat, or separate with
        /// commas): dots, func-resolves, ret-not-source, arg-not-source,
        /// member-id-u32, one-seen-set, refcount-unique, ownership-depth,
        /// rb-tree. Ubuntu's 6.8.0-151 carries refcount-unique and
        /// ownership-depth; its 6.2.0-39 dots and rb-tree; its 7.0.0-44 the
        /// first three. Without --kernel, the running kernel's known
        /// backports are added (Ubuntu's, from the ABI whose changelog lists
        /// each; -v names them; an Ubuntu flavour not read is warned about).
        #[arg(long = "backport", value_name = "NAME", value_delimiter = ',')]
        backports: Vec<String>,
        #[command(flatten)]
        modules: Modules,
    },
    /// Merge a base and modules into one standalone BTF (or, with --split,
    /// one split BTF over the same base). Every type is kept; module types
    /// are renumbered after the base's, module by module.
    Merge {
        /// Module (split) BTF files, over the base.
        files: Vec<PathBuf>,
        /// The base BTF (default: the kernel's vmlinux).
        #[arg(long, short = 'B')]
        base: Option<PathBuf>,
        #[command(flatten)]
        modules: Modules,
        /// Output file.
        #[arg(long, short = 'o')]
        output: PathBuf,
        /// Write one split BTF over the base instead of a standalone one.
        #[arg(long)]
        split: bool,
        /// Write the id map here: one `layer old_id new_id` line per type
        /// (layer 0 is the base, listed for standalone output; then the
        /// modules in order).
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
    /// Counts per kind, bytes, and types per module.
    Stats {
        /// JSON output.
        #[arg(long, short)]
        json: bool,
        #[command(flatten)]
        modules: Modules,
    },
    /// Each module with BTF, its BTF size and type count.
    Modules {
        /// JSON output.
        #[arg(long, short)]
        json: bool,
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

impl ProfileArg {
    fn profile(self) -> Profile {
        match self {
            ProfileArg::Strict => Profile::Strict,
            ProfileArg::User => Profile::UserLoad,
            ProfileArg::Vmlinux => Profile::Vmlinux,
            ProfileArg::Module => Profile::Module,
        }
    }
}

/// Exit codes: 0 ok, 1 invalid or not found, 2 usage or I/O.
fn fail(e: &Error) -> ExitCode {
    eprintln!("btfkit: {e}");
    match e {
        Error::Io { .. } | Error::NoBtf { .. } | Error::NoModule { .. } => ExitCode::from(2),
        Error::Btf { .. } | Error::Invalid { .. } | Error::Format { .. } => ExitCode::from(1),
    }
}

fn usage(msg: &str) -> ExitCode {
    eprintln!("btfkit: {msg}");
    ExitCode::from(2)
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

/// A file's BTF: raw as is, else extracted from ELF or a compressed ELF.
fn load_file(path: &Path) -> Result<Vec<u8>, Error> {
    btfkit_sysfs::input::into_btf(path, read_file(path)?)
}

/// Reads `file` and, when given, reads, parses and indexes `base`; then
/// runs `f` on the file's BTF bytes and the base.
fn with_input(
    file: &Path,
    base: Option<&Path>,
    f: impl FnOnce(&[u8], Option<&Btf<'_>>) -> Result<ExitCode, Error>,
) -> Result<ExitCode, Error> {
    let base_data = base.map(load_file).transpose()?;
    let data = load_file(file)?;
    let mut base_ix = Vec::new();
    let base_btf = match (base, &base_data) {
        (Some(p), Some(d)) => Some(indexed(p, d, None, &mut base_ix)?),
        _ => None,
    };
    f(&data, base_btf.as_ref())
}

fn kernel(g: &Global, validate: bool) -> Result<KernelBtf, Error> {
    KernelBtf::open(Options {
        dir: g.sysfs.clone(),
        kallsyms: g.kallsyms.clone(),
        tolerant: g.tolerant,
        validate: validate.then(running_kernel),
        read: ReadMode::Auto,
    })
}

/// The modules `m` selects, in order, each once: named ones, then the
/// owners of the symbols, or all.
fn selected(k: &KernelBtf, m: &Modules) -> Result<Vec<String>, Error> {
    if m.all_modules {
        return Ok(k.module_names().to_vec());
    }
    let mut out: Vec<String> = Vec::new();
    for name in &m.modules {
        if !out.contains(name) {
            out.push(name.clone());
        }
    }
    if !m.symbols.is_empty() {
        let owners = k.symbol_owners(&m.symbols)?;
        for s in &owners.unknown {
            eprintln!("btfkit: warning: symbol {s:?} is not in {}", k.options().kallsyms.display());
        }
        for name in owners.all_modules() {
            if !out.contains(&name) {
                out.push(name);
            }
        }
    }
    Ok(out)
}

/// Reports what a session read and skipped; skipped modules are always
/// reported, read ones with --verbose.
fn report(s: &Session<'_>, g: &Global) {
    if g.verbose {
        for m in s.loaded() {
            eprintln!("btfkit: read module {m}");
        }
    }
    for sk in s.skipped().iter() {
        eprintln!("btfkit: warning: skipped module {}: {}", sk.module, sk.error);
    }
}

fn parse_kind(k: &str) -> Option<Kind> {
    Kind::ALL
        .iter()
        .copied()
        .find(|x| x.name().eq_ignore_ascii_case(k) || x.name().replace('_', "").eq_ignore_ascii_case(k))
}

fn find(g: &Global, name: &str, kind: Option<&str>, all: bool, m: &Modules) -> Result<ExitCode, Error> {
    let kind = match kind.map(|k| parse_kind(k).ok_or(k)) {
        None => None,
        Some(Ok(k)) => Some(k),
        Some(Err(k)) => return Ok(usage(&format!("unknown kind {k:?} (struct, union, enum, typedef, fwd, ...)"))),
    };
    let k = kernel(g, true)?;
    let wanted = selected(&k, m)?;
    let s = k.session()?;
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let mut definitions: Vec<String> = Vec::new();
    let mut fwds: Vec<String> = Vec::new();
    let show = |label: &str, layer: &Layer<'_>, out: &mut dyn Write| -> Result<Vec<(String, bool)>, Error> {
        let mut found = Vec::new();
        for t in layer.names.find(&layer.btf, name.as_bytes(), kind) {
            let mut text = Vec::new();
            btfkit::dump::dump_type(&layer.btf, &t, &mut text)
                .map_err(|source| Error::Btf { path: PathBuf::from(label), source })?;
            let _ = write!(out, "{label}: ");
            let _ = out.write_all(&text);
            found.push((format!("{label} [{}]", t.id().0), t.kind() == Some(Kind::Fwd)));
        }
        Ok(found)
    };
    fn sort(found: Vec<(String, bool)>, definitions: &mut Vec<String>, fwds: &mut Vec<String>) {
        for (at, is_fwd) in found {
            if is_fwd { fwds.push(at) } else { definitions.push(at) }
        }
    }
    sort(show("vmlinux", &s.base_layer(), &mut out)?, &mut definitions, &mut fwds);
    for module in &wanted {
        if !all && !definitions.is_empty() {
            break; // found: the remaining modules are not read
        }
        if let Some(layer) = s.module(module)? {
            sort(show(module, &layer, &mut out)?, &mut definitions, &mut fwds);
        }
    }
    let _ = out.flush();
    report(&s, g);
    if definitions.len() > 1 {
        eprintln!(
            "btfkit: note: {name:?} is defined in {} places ({}); a lookup by name alone is ambiguous",
            definitions.len(),
            definitions.join(", ")
        );
    }
    if definitions.is_empty() {
        let searched =
            if wanted.is_empty() { "vmlinux".to_owned() } else { format!("vmlinux and {} module(s)", wanted.len()) };
        match fwds.is_empty() {
            true => eprintln!("btfkit: no type {name:?} in {searched}"),
            false => eprintln!("btfkit: {name:?} is only declared (FWD) in {searched}: {}", fwds.join(", ")),
        }
        if !m.all_modules {
            eprintln!("btfkit: hint: search modules too with --module M, --symbol SYM or --all-modules");
        }
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

fn dump(
    g: &Global,
    file: Option<PathBuf>,
    base: Option<PathBuf>,
    module: Option<String>,
    json: bool,
) -> Result<ExitCode, Error> {
    if let Some(module) = module {
        let k = kernel(g, false)?;
        let s = k.session()?;
        let layer = s.module(&module)?;
        report(&s, g);
        return Ok(match layer {
            Some(l) => dump_to_stdout(&k.module_path(&module), &l.btf, json),
            None => ExitCode::from(1),
        });
    }
    let file = file.unwrap_or_else(|| g.sysfs.join("vmlinux"));
    with_input(&file, base.as_deref(), |data, base| {
        let mut ix = Vec::new();
        let btf = indexed(&file, data, base, &mut ix)?;
        Ok(dump_to_stdout(&file, &btf, json))
    })
}

fn dump_to_stdout(file: &Path, btf: &Btf<'_>, json: bool) -> ExitCode {
    let stdout = io::stdout().lock();
    let mut sink = IoSink::new(io::BufWriter::with_capacity(1 << 16, stdout));
    let r = if json { btfkit::json::dump_all(btf, &mut sink) } else { btfkit::dump::dump_all(btf, &mut sink) };
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

fn kernel_version(kernel: Option<String>) -> Result<KernelVersion, ExitCode> {
    match kernel.as_deref().map(KernelVersion::parse) {
        None => Ok(running_kernel()),
        Some(Some(k)) => Ok(k),
        Some(None) => Err(usage("--kernel wants MAJOR.MINOR or MAJOR.MINOR.PATCH, e.g. 6.1 or 6.12.57")),
    }
}

/// `--backport` names, as a set.
fn backport_set(names: &[String]) -> Result<Backports, ExitCode> {
    names.iter().try_fold(Backports::NONE, |set, name| match Backport::from_name(name) {
        Some(b) => Ok(set.with(b)),
        None => {
            let known: Vec<&str> = Backport::ALL.iter().map(|b| b.name()).collect();
            Err(usage(&format!("--backport: no change named {name:?} (known: {})", known.join(", "))))
        }
    })
}

/// The `validate` command's own arguments.
struct ValidateArgs {
    file: Option<PathBuf>,
    base: Option<PathBuf>,
    profile: Option<ProfileArg>,
    kernel: Option<String>,
    backports: Vec<String>,
}

fn validate(g: &Global, args: ValidateArgs, m: &Modules) -> Result<ExitCode, Error> {
    let ValidateArgs { file, base, profile, kernel: kernel_arg, backports } = args;
    let running = kernel_arg.is_none();
    let kv = match kernel_version(kernel_arg) {
        Ok(k) => k,
        Err(code) => return Ok(code),
    };
    let mut backports = match backport_set(&backports) {
        Ok(b) => b,
        Err(code) => return Ok(code),
    };
    // The running kernel's: those its distribution's changelogs show.
    if running {
        let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
        if let Some(what) = unmodelled_distribution(&release) {
            eprintln!(
                "btfkit: warning: {}: {what}; the rules are upstream {kv}'s, whose verdicts may differ from it either way; \
                 name the changes it carries with --backport",
                release.trim()
            );
        }
        let ubuntu = running_ubuntu_release();
        let known = ubuntu.as_deref().map_or(Backports::NONE, ubuntu_backports);
        if let Some((release, maybe)) = ubuntu.as_deref().and_then(|r| Some((r, ubuntu_flavour_unread(r)?))) {
            let names: Vec<&str> = Backport::ALL.iter().filter(|&&b| maybe.contains(b)).map(|b| b.name()).collect();
            eprintln!(
                "btfkit: warning: Ubuntu's {release}: this flavour's backports are not known, so the rules are \
                 upstream {kv}'s; its series' other kernels carry {}: name those it carries with --backport",
                names.join(",")
            );
        }
        if g.verbose && known != Backports::NONE {
            let names: Vec<&str> = Backport::ALL.iter().filter(|&&b| known.contains(b)).map(|b| b.name()).collect();
            eprintln!("btfkit: the running kernel carries backports: {}", names.join(", "));
        }
        backports = backports.union(known);
    }
    let by_module = m.all_modules || !m.modules.is_empty() || !m.symbols.is_empty();
    if by_module {
        if file.is_some() || base.is_some() {
            return Ok(usage("give a FILE or modules (--module, --symbol, --all-modules), not both"));
        }
        let profile = profile.unwrap_or(ProfileArg::Module).profile();
        return validate_modules(g, profile, kv, backports, m);
    }
    let profile = profile.unwrap_or(ProfileArg::Strict).profile();
    let file = file.unwrap_or_else(|| g.sysfs.join("vmlinux"));
    let mut opts = ValidateOptions::new(profile, kv);
    opts.backports = backports;
    // A user load's kptrs to structs named like the kernel's own take the
    // kernel's: vmlinux's, read at the first kptr, then the modules', read
    // at the first pointee that vmlinux does not name.
    let kernel_structs = (profile == Profile::UserLoad && base.is_none()).then(|| LazyStructNames::new(g));
    with_input(&file, base.as_deref(), |data, base| {
        let verdict = match &kernel_structs {
            Some(names) => {
                let mut scratch = vec![0u32; btfkit::validate::scratch_len(data, None, &opts)];
                btfkit::validate::validate_in_kernel(data, &opts, &mut scratch, names)
            }
            None => btfkit::validate::validate_vec(data, base, &opts),
        };
        // Without a module's names the verdict may not be the kernel's.
        if let Some(e) = kernel_structs.as_ref().and_then(|n| n.error.take()) {
            eprintln!("btfkit: {e} (read for the kptr pointees; --tolerant skips it)");
            return Ok(ExitCode::from(2));
        }
        Ok(match verdict {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                println!("{}: invalid for {profile:?} on Linux {kv}: {e}", file.display());
                ExitCode::from(1)
            }
        })
    })
}

/// The struct names of `--sysfs`'s kernel, read as the kernel searches
/// them (`bpf_find_btf_id`): vmlinux's at the first lookup, and every
/// module's at the first name that vmlinux lacks.
struct LazyStructNames<'g> {
    g: &'g Global,
    kernel: OnceCell<Option<KernelBtf>>,
    vmlinux: OnceCell<Option<KernelStructNames>>,
    with_modules: OnceCell<Option<KernelStructNames>>,
    /// A module that could not be read (strict mode): the verdict may be
    /// wrong, so the command fails with it.
    error: RefCell<Option<Error>>,
}

impl<'g> LazyStructNames<'g> {
    fn new(g: &'g Global) -> Self {
        LazyStructNames {
            g,
            kernel: OnceCell::new(),
            vmlinux: OnceCell::new(),
            with_modules: OnceCell::new(),
            error: RefCell::new(None),
        }
    }

    fn vmlinux(&self) -> Option<&KernelStructNames> {
        let k = self.kernel.get_or_init(|| kernel(self.g, false).map_err(|e| self.no_kernel(&e)).ok()).as_ref()?;
        self.vmlinux.get_or_init(|| KernelStructNames::of_vmlinux(k).map_err(|e| self.no_kernel(&e)).ok()).as_ref()
    }

    fn no_kernel(&self, e: &Error) {
        eprintln!("btfkit: kptr pointees taken as the program's own: no kernel struct names ({e})");
    }

    /// vmlinux's names and every module's.
    fn with_modules(&self, name: &[u8]) -> Option<&KernelStructNames> {
        self.with_modules
            .get_or_init(|| {
                let (k, v) = (self.kernel.get()?.as_ref()?, self.vmlinux()?);
                if self.g.verbose {
                    eprintln!(
                        "btfkit: kptr pointee {:?} is not in vmlinux: reading the {} modules of {}",
                        String::from_utf8_lossy(name),
                        k.module_names().len(),
                        self.g.sysfs.display()
                    );
                }
                let mut all = v.clone();
                let session = k.session().and_then(|s| all.add_modules(&s).map(|()| s));
                match session {
                    Ok(s) => {
                        for skip in s.skipped().iter() {
                            eprintln!("btfkit: warning: kptr pointees: skipped module {}: {}", skip.module, skip.error);
                        }
                        Some(all)
                    }
                    Err(e) => {
                        *self.error.borrow_mut() = Some(e);
                        None
                    }
                }
            })
            .as_ref()
    }
}

impl btfkit::validate::KernelStructs for LazyStructNames<'_> {
    fn lookup(&self, name: &[u8]) -> btfkit::validate::KernelStruct {
        let Some(v) = self.vmlinux() else { return btfkit::validate::KernelStruct::Absent };
        if v.has_struct(name) {
            return v.lookup(name);
        }
        // The kernel looks in the loaded modules next.
        self.with_modules(name).map_or(btfkit::validate::KernelStruct::Absent, |m| m.lookup(name))
    }
}

/// Validates modules over the directory's vmlinux: every one is checked
/// and every failure printed, one line each; exit 1 when any failed.
fn validate_modules(
    g: &Global,
    profile: Profile,
    kv: KernelVersion,
    backports: Backports,
    m: &Modules,
) -> Result<ExitCode, Error> {
    let k = kernel(g, false)?;
    let names = selected(&k, m)?;
    let mut opts = ValidateOptions::new(profile, kv);
    opts.backports = backports;
    // Indexed, in the one walk that parses it: even the module rules look
    // base types up by id (type tags). Its names are classified once for
    // every module, on a second thread meanwhile: that needs only the
    // header.
    let bytes = k.vmlinux_bytes();
    let btf_err = |source| Error::Btf { path: k.vmlinux_path().into(), source };
    let mut index = vec![0u32; Btf::index_len_bound(bytes)];
    let mut name_words = Vec::new();
    let (base, base_names) = std::thread::scope(|sc| {
        let names = sc.spawn(|| {
            let strs = btfkit::Header::parse(bytes).and_then(|h| h.strings(bytes)).map_err(btf_err)?;
            name_words = vec![0; btfkit::validate::BaseNames::words_for(strs.len())];
            btfkit::validate::BaseNames::from_strings(strs, 0, kv, &mut name_words).map_err(btf_err)
        });
        let base = Btf::parse_indexed(bytes, None, btfkit::ParseOptions::default(), &mut index).map_err(btf_err);
        let names = names.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
        (base, names)
    });
    let (base, base_names) = (base?, base_names?);
    // Each worker takes one module at a time into one reused buffer:
    // memory stays at vmlinux plus a module per worker, however many
    // modules there are. Results are printed in module order.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let workers = btfkit_sysfs::cpus().clamp(1, 4);
    let work = || {
        let mut done = Vec::new();
        let mut buf: Vec<u8> = Vec::new();
        let mut scratch: Vec<u32> = Vec::new();
        loop {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(name) = names.get(i) else { break };
            let r = (|| -> Result<Option<String>, Error> {
                let len = k.read_module_into(name, &mut buf)?;
                let raw = buf.get(..len).unwrap_or_default();
                let extracted;
                let data = if btfkit_sysfs::input::is_raw_btf(raw) {
                    raw
                } else {
                    extracted = btfkit_sysfs::input::extract(&k.module_path(name), raw)?.btf;
                    &extracted
                };
                let need = btfkit::validate::scratch_len_bound(data);
                if scratch.len() < need {
                    // Fresh, not resized: nothing to copy or
                    // zero-fill (validation rewrites what it uses).
                    scratch = vec![0; need.next_power_of_two()];
                }
                Ok(btfkit::validate::validate_split(data, &base, &base_names, &opts, &mut scratch).err().map(|e| {
                    let path = k.module_path(name);
                    format!("{}: invalid for {profile:?} on Linux {kv}: {e}", path.display())
                }))
            })();
            done.push((i, r));
        }
        done
    };
    // Each worker on a thread of its own while this one waits: with this
    // thread as one of the workers, 61 interleaved runs were 13% slower
    // (not explained).
    let results: Vec<(usize, Result<Option<String>, Error>)> = std::thread::scope(|sc| {
        let handles: Vec<_> = (0..workers).map(|_| sc.spawn(work)).collect();
        // A worker that panicked would take its modules' verdicts with it:
        // its panic goes on here instead.
        handles.into_iter().flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))).collect()
    });
    let mut results = results;
    results.sort_by_key(|(i, _)| *i);
    let mut bad = 0usize;
    for (i, r) in results {
        match r {
            Ok(None) => {}
            Ok(Some(line)) => {
                println!("{line}");
                bad += 1;
            }
            Err(e) if g.tolerant => {
                eprintln!("btfkit: warning: skipped module {}: {e}", names.get(i).map_or("?", String::as_str));
            }
            Err(e) => return Err(e),
        }
    }
    if g.verbose {
        eprintln!("btfkit: validated {} module(s), {bad} invalid", names.len());
    }
    Ok(if bad == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

struct MergeArgs {
    files: Vec<PathBuf>,
    base: Option<PathBuf>,
    modules: Modules,
    output: PathBuf,
    split: bool,
    map: Option<PathBuf>,
    opts: MergeOptions,
    timings: bool,
}

fn merge(g: &Global, a: MergeArgs) -> Result<ExitCode, Error> {
    let t0 = std::time::Instant::now();
    let by_module = a.modules.all_modules || !a.modules.modules.is_empty() || !a.modules.symbols.is_empty();
    let (base_path, module_paths) = if by_module {
        if !a.files.is_empty() || a.base.is_some() {
            return Ok(usage("give module FILEs (with --base) or modules (--module, --all-modules), not both"));
        }
        let k = kernel(g, false)?;
        let names = selected(&k, &a.modules)?;
        (k.vmlinux_path().to_owned(), names.iter().map(|n| k.module_path(n)).collect())
    } else if a.files.is_empty() {
        return Ok(usage("nothing to merge: give module FILEs, --module M or --all-modules"));
    } else {
        (a.base.clone().unwrap_or_else(|| g.sysfs.join("vmlinux")), a.files.clone())
    };
    let mut paths = vec![base_path.clone()];
    paths.extend(module_paths.iter().cloned());
    let (arena, ranges) = read_files(&paths)?;
    let slice = |i: usize| ranges.get(i).and_then(|r| arena.get(r.clone())).unwrap_or_default();
    let base = parse(&base_path, slice(0), None)?;
    let modules = module_paths
        .iter()
        .enumerate()
        .map(|(i, p)| parse(p, slice(i + 1), Some(&base)))
        .collect::<Result<Vec<_>, _>>()?;
    let opts = MergeOptions { form: if a.split { Form::Split } else { Form::Flat }, ..a.opts };
    let merge_err = |e: MergeError| {
        let path = match e.input {
            Input::Base => base_path.clone(),
            Input::Module(i) => module_paths.get(i).cloned().unwrap_or_default(),
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
            let new = plan.new_id(Some(i), TypeId(old)).map_or(0, |t| t.0);
            writeln!(w, "{} {old} {new}", i + 1).map_err(io_err)?;
        }
    }
    w.flush().map_err(io_err)
}

/// Per-kind counts and bytes of one blob.
fn counts(btf: &Btf<'_>) -> Result<[u64; 20], btfkit::Error> {
    let mut c = [0u64; 20];
    for t in btf.types() {
        if let Some(slot) = c.get_mut(usize::from(t?.kind_raw())) {
            *slot += 1;
        }
    }
    Ok(c)
}

fn stats(g: &Global, json: bool, m: &Modules) -> Result<ExitCode, Error> {
    let k = kernel(g, true)?;
    let names = selected(&k, m)?;
    let s = k.session()?;
    let mut rows: Vec<(String, u64, u64, u64, [u64; 20])> = Vec::new();
    let row = |label: &str, btf: &Btf<'_>| -> Result<(String, u64, u64, u64, [u64; 20]), Error> {
        let c = counts(btf).map_err(|source| Error::Btf { path: PathBuf::from(label), source })?;
        let h = btf.header();
        Ok((label.to_owned(), btf.data().len() as u64, u64::from(h.type_len), u64::from(h.str_len), c))
    };
    rows.push(row("vmlinux", s.base())?);
    for n in &names {
        if let Some(btf) = s.module_btf(n)? {
            rows.push(row(n, &btf)?);
        }
    }
    report(&s, g);
    let mut total = [0u64; 20];
    for r in &rows {
        for (t, c) in total.iter_mut().zip(r.4) {
            *t += c;
        }
    }
    let kinds: Vec<(&str, u64)> =
        Kind::ALL.iter().map(|k| (k.name(), total.get(*k as usize).copied().unwrap_or(0))).collect();
    let mut out = io::stdout().lock();
    if json {
        let per_kind: Vec<String> = kinds.iter().map(|(n, c)| format!("\"{n}\":{c}")).collect();
        let layers: Vec<String> = rows
            .iter()
            .map(|(n, bytes, tl, sl, c)| {
                format!(
                    "{{\"name\":\"{}\",\"bytes\":{bytes},\"type_bytes\":{tl},\"string_bytes\":{sl},\"types\":{}}}",
                    n.escape_default(),
                    c.iter().sum::<u64>()
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "{{\"types\":{},\"kinds\":{{{}}},\"layers\":[{}]}}",
            total.iter().sum::<u64>(),
            per_kind.join(","),
            layers.join(",")
        );
    } else {
        let _ = writeln!(out, "types: {}", total.iter().sum::<u64>());
        for (n, c) in kinds.iter().filter(|(_, c)| *c > 0) {
            let _ = writeln!(out, "  {n:<11} {c}");
        }
        let _ = writeln!(out, "{:<24} {:>10} {:>10} {:>10} {:>8}", "layer", "bytes", "types(B)", "strings(B)", "types");
        for (n, bytes, tl, sl, c) in &rows {
            let _ = writeln!(out, "{n:<24} {bytes:>10} {tl:>10} {sl:>10} {:>8}", c.iter().sum::<u64>());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn modules(g: &Global, json: bool) -> Result<ExitCode, Error> {
    let k = kernel(g, false)?;
    let base = k.base()?;
    let mut out = io::stdout().lock();
    let mut rows = Vec::new();
    let mut failed = false;
    for name in k.module_names() {
        let path = k.module_path(name);
        let counted = load_file(&path).and_then(|d| {
            let b = parse(&path, &d, Some(&base))?;
            Ok((d.len(), b.own_type_count()))
        });
        match counted {
            Ok((bytes, types)) => rows.push((name.clone(), bytes, types)),
            Err(e) if g.tolerant => eprintln!("btfkit: warning: skipped module {name}: {e}"),
            Err(e) => {
                failed = true;
                eprintln!("btfkit: {e}");
                break;
            }
        }
    }
    if json {
        let items: Vec<String> = rows
            .iter()
            .map(|(n, b, t)| format!("{{\"name\":\"{}\",\"bytes\":{b},\"types\":{t}}}", n.escape_default()))
            .collect();
        let _ = writeln!(out, "[{}]", items.join(","));
    } else {
        for (n, b, t) in &rows {
            let _ = writeln!(out, "{n:<24} {b:>9} bytes {t:>7} types");
        }
    }
    Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let g = &cli.global;
    let r = match cli.command {
        Command::Find { name, kind, all, modules } => find(g, &name, kind.as_deref(), all, &modules),
        Command::Dump { file, base, module, json } => dump(g, file, base, module, json),
        Command::Validate { file, base, profile, kernel, backports, modules } => {
            validate(g, ValidateArgs { file, base, profile, kernel, backports }, &modules)
        }
        Command::Merge { files, base, modules, output, split, map, reuse_base_strings, no_kernel_limits, timings } => {
            let opts = MergeOptions { reuse_base_strings, kernel_limits: !no_kernel_limits, ..MergeOptions::default() };
            merge(g, MergeArgs { files, base, modules, output, split, map, opts, timings })
        }
        Command::Stats { json, modules } => stats(g, json, &modules),
        Command::Modules { json } => modules(g, json),
    };
    r.unwrap_or_else(|e| fail(&e))
}
