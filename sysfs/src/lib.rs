//! # btfkit-sysfs
//!
//! The std side of btfkit: reading BTF from files and from the running
//! kernel's `/sys/kernel/btf`, with errors that name the file, and the
//! `btfkit` command-line tool.
//!
//! The format crate, [`btfkit`], stays free of paths and I/O; this crate
//! wraps its errors with the file they came from.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

pub use btfkit;

pub mod input;
pub mod kernel;

/// The default location of the running kernel's BTF.
pub const SYSFS_BTF: &str = "/sys/kernel/btf";

/// An error with the file it concerns.
#[derive(Debug)]
pub enum Error {
    /// Reading or opening a file failed.
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// A file's BTF is malformed.
    Btf {
        /// The file.
        path: PathBuf,
        /// What is wrong, where.
        source: btfkit::Error,
    },
    /// A file's BTF breaks a rule of the kernel's verifier.
    Invalid {
        /// The file.
        path: PathBuf,
        /// The rule, where.
        source: btfkit::validate::ValidationError,
    },
    /// A file is not BTF, ELF or a compressed ELF, or has no `.BTF`.
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// There is no BTF directory (and no vmlinux file to fall back to).
    NoBtf {
        /// The directory looked for.
        dir: PathBuf,
    },
    /// No such module has BTF.
    NoModule {
        /// The module asked for.
        name: String,
        /// The directory looked in.
        dir: PathBuf,
    },
}

impl Error {
    /// The file the error concerns.
    #[must_use]
    pub fn path(&self) -> &Path {
        match self {
            Error::Io { path, .. }
            | Error::Btf { path, .. }
            | Error::Invalid { path, .. }
            | Error::Format { path, .. }
            | Error::NoBtf { dir: path }
            | Error::NoModule { dir: path, .. } => path,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Error::Btf { path, source } => write!(f, "{}: {source}", path.display()),
            Error::Invalid { path, source } => write!(f, "{}: {source}", path.display()),
            Error::Format { path, what } => write!(f, "{}: {what}", path.display()),
            Error::NoBtf { dir } => write!(
                f,
                "no {}: the kernel lacks CONFIG_DEBUG_INFO_BTF (or the directory is wrong); pass --sysfs DIR or a FILE",
                dir.display()
            ),
            Error::NoModule { name, dir } => write!(
                f,
                "no BTF for module {name:?} in {}: is it loaded? (`btfkit modules` lists those with BTF)",
                dir.display()
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            Error::Btf { source, .. } => Some(source),
            Error::Invalid { source, .. } => Some(source),
            Error::Format { .. } | Error::NoBtf { .. } | Error::NoModule { .. } => None,
        }
    }
}

/// CPUs this process may run on ([`std::thread::available_parallelism`],
/// 1 when unknown), asked once: the answer reads cgroup files.
#[must_use]
pub fn cpus() -> usize {
    static CPUS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CPUS.get_or_init(|| std::thread::available_parallelism().map_or(1, std::num::NonZero::get))
}

/// Anonymous memory for large buffers (inputs, scratch, outputs): page
/// aligned, advised to use transparent huge pages and populated up front
/// where the kernel supports it, so that a 10 MB buffer costs a handful of
/// page faults instead of thousands. Zero-filled.
///
/// The buffer starts on a huge-page boundary, so that every whole 2 MiB of
/// it can be one huge page; so can a last partial 2 MiB when that wastes
/// at most [`HUGE_PAGE_WASTE`] bytes (a 4.1 MB vmlinux: two huge pages,
/// 80 KiB more than it needs, instead of one and 500 small pages).
///
/// # Errors
/// The mapping's I/O error.
pub fn big_buffer(len: usize) -> io::Result<BigBuffer> {
    const HUGE: usize = 2 << 20;
    let full = len / HUGE * HUGE;
    let rest = len - full;
    // The huge pages: the whole 2 MiB, and the partial last one if it is
    // nearly whole.
    let huge = if rest > 0 && HUGE - rest <= HUGE_PAGE_WASTE { full + HUGE } else { full };
    // Room to slide the buffer to the next boundary.
    let slack = if huge > 0 { HUGE } else { 0 };
    let map = memmap2::MmapOptions::new().len(len.max(huge).max(1) + slack).map_anon()?;
    let at = if huge > 0 { (HUGE - map.as_ptr() as usize % HUGE) % HUGE } else { 0 };
    // Both are hints: kernels without THP or MADV_POPULATE_WRITE (5.14)
    // refuse them, and the buffer still works, a page fault at a time.
    if huge > 0 {
        let _ = map.advise_range(memmap2::Advice::HugePage, at, huge);
    }
    if len > 0 {
        let _ = map.advise_range(memmap2::Advice::PopulateWrite, at, len);
    }
    Ok(BigBuffer { map, at, len })
}

/// At most this many bytes past a [`big_buffer`]'s end are paid for to
/// make its last part a huge page.
pub const HUGE_PAGE_WASTE: usize = 128 << 10;

/// A [`big_buffer`]: `len` zeroed bytes in an anonymous mapping.
#[derive(Debug)]
pub struct BigBuffer {
    map: memmap2::MmapMut,
    at: usize,
    len: usize,
}

impl std::ops::Deref for BigBuffer {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.map.get(self.at..self.at + self.len).unwrap_or_default()
    }
}

impl std::ops::DerefMut for BigBuffer {
    fn deref_mut(&mut self) -> &mut [u8] {
        let (at, len) = (self.at, self.len);
        self.map.get_mut(at..at + len).unwrap_or_default()
    }
}

/// `n` zeroed `T`s (`u32`, `u64`) in a [`big_buffer`].
///
/// # Errors
/// The mapping's I/O error.
pub fn big_slice<T: zerocopy::FromBytes + zerocopy::IntoBytes>(n: usize) -> io::Result<BigSlice<T>> {
    let bytes = n.checked_mul(std::mem::size_of::<T>()).ok_or_else(|| io::Error::other("buffer too large"))?;
    Ok(BigSlice { map: big_buffer(bytes)?, n, _t: std::marker::PhantomData })
}

/// A typed view of a [`big_buffer`].
#[derive(Debug)]
pub struct BigSlice<T> {
    map: BigBuffer,
    n: usize,
    _t: std::marker::PhantomData<T>,
}

impl<T: zerocopy::FromBytes + zerocopy::IntoBytes + zerocopy::KnownLayout> BigSlice<T> {
    /// The elements. Mappings are page aligned, so the cast cannot fail.
    pub fn as_mut_slice(&mut self) -> &mut [T] {
        let bytes = self.n * std::mem::size_of::<T>();
        <[T] as zerocopy::FromBytes>::mut_from_bytes(&mut self.map[..bytes]).unwrap_or_default()
    }
}

/// Reads many files into one [`big_buffer`], back to back: one mapping,
/// no per-file allocation. Returns the buffer and each file's range.
///
/// A file of [`PARALLEL_READ_MIN`] bytes or more (a vmlinux) is read in two
/// halves on two threads when there are two CPUs: the copy from the page
/// cache is most of the cost of reading it.
///
/// # Errors
/// [`Error::Io`] naming the file, also when a file changed size while it
/// was read.
pub fn read_files(paths: &[PathBuf]) -> Result<(BigBuffer, Vec<std::ops::Range<usize>>), Error> {
    use std::os::unix::fs::FileExt;
    fn io(p: &Path) -> impl FnOnce(io::Error) -> Error + '_ {
        move |source| Error::Io { path: p.to_owned(), source }
    }
    let mut files = Vec::with_capacity(paths.len());
    let mut total = 0usize;
    for p in paths {
        let f = std::fs::File::open(p).map_err(io(p))?;
        let len = f.metadata().map_err(io(p))?.len();
        let len = usize::try_from(len).map_err(|_| io(p)(io::Error::other("file too large")))?;
        total = total.saturating_add(len);
        files.push((f, len));
    }
    let mut buf = big_buffer(total).map_err(io(Path::new("<memory>")))?;
    let two = cpus() >= 2;
    let mut ranges = Vec::with_capacity(paths.len());
    let mut at = 0usize;
    for (p, (f, len)) in paths.iter().zip(files) {
        let end = at + len;
        let dst = &mut buf[at..end];
        if two && len >= PARALLEL_READ_MIN {
            let mid = len / 2 / 4096 * 4096;
            let (front, back) = dst.split_at_mut(mid);
            std::thread::scope(|sc| {
                let back = sc.spawn(|| f.read_exact_at(back, mid as u64));
                let front = f.read_exact_at(front, 0);
                front.and(back.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            })
        } else {
            f.read_exact_at(dst, 0)
        }
        .map_err(io(p))?;
        // A file that grew since its stat is not read whole: say so.
        let mut probe = [0u8; 1];
        if f.read_at(&mut probe, len as u64).map_err(io(p))? != 0 {
            return Err(io(p)(io::Error::other("file changed while being read")));
        }
        ranges.push(at..end);
        at = end;
    }
    Ok((buf, ranges))
}

/// Files from this size on are read by [`read_files`] on two threads.
pub const PARALLEL_READ_MIN: usize = 1 << 20;

/// Reads a whole file into the front of `buf`, a buffer reused across many
/// small files, and returns its length (the buffer's new length): no stat
/// and no allocation per file, and one read for a file smaller than the
/// buffer's capacity (std's `read_to_end` also stats, seeks and reads again
/// for the end). The buffer grows when a file does not fit.
///
/// A read that returns less than it was asked for is taken as the end of
/// the file: so regular files and sysfs attributes behave. Were a read ever
/// short before the end, the blob would come out truncated, which its
/// header then gives away as an error; it is never silently accepted.
///
/// # Errors
/// [`Error::Io`] naming the file.
pub fn read_into(path: &Path, buf: &mut Vec<u8>) -> Result<usize, Error> {
    let io = |source| Error::Io { path: path.to_owned(), source };
    let f = std::fs::File::open(path).map_err(io)?;
    read_open_into(f, buf).map_err(io)
}

/// [`read_into`] of a file already open: reads go straight into the
/// buffer's spare capacity, so growing it never zero-fills.
pub(crate) fn read_open_into(f: std::fs::File, buf: &mut Vec<u8>) -> io::Result<usize> {
    buf.clear();
    loop {
        if buf.len() == buf.capacity() {
            buf.reserve(buf.capacity().max(64 * 1024));
        }
        let room = buf.capacity() - buf.len();
        match rustix::io::read(&f, rustix::buffer::spare_capacity(buf)) {
            Ok(n) if n == 0 || n < room => return Ok(buf.len()),
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// Reads a whole file, naming it in the error.
///
/// # Errors
/// [`Error::Io`].
pub fn read_file(path: &Path) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|source| Error::Io { path: path.to_owned(), source })
}

/// Adapts an [`io::Write`] to a dump [`btfkit::dump::Sink`], keeping the
/// first I/O error so the caller can report it.
#[derive(Debug)]
pub struct IoSink<W> {
    inner: W,
    error: Option<io::Error>,
}

impl<W: io::Write> IoSink<W> {
    /// Wraps a writer.
    pub fn new(inner: W) -> Self {
        IoSink { inner, error: None }
    }
    /// The first I/O error, if any, else the writer.
    ///
    /// # Errors
    /// The kept I/O error.
    pub fn finish(self) -> io::Result<W> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.inner),
        }
    }
}

impl<W: io::Write> btfkit::dump::Sink for IoSink<W> {
    fn write(&mut self, bytes: &[u8]) -> Result<(), btfkit::dump::SinkFull> {
        if self.error.is_some() {
            return Err(btfkit::dump::SinkFull);
        }
        self.inner.write_all(bytes).map_err(|e| {
            self.error = Some(e);
            btfkit::dump::SinkFull
        })
    }
}
