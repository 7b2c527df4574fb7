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
}

impl Error {
    /// The file the error concerns.
    #[must_use]
    pub fn path(&self) -> &Path {
        match self {
            Error::Io { path, .. } | Error::Btf { path, .. } => path,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Error::Btf { path, source } => write!(f, "{}: {source}", path.display()),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            Error::Btf { source, .. } => Some(source),
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
