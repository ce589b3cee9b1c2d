//! Library error type. Every variant that comes from a file carries its path, so a log line
//! or an HTTP error always says *which* kernel file or trace was bad.
use std::path::PathBuf;

/// Errors raised by the crashwatch library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read (other than "not found", which callers usually map to `None`).
    #[error("{}: {err}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error. Part of the message rather than a `source()`, so that an
        /// error chain printed with `{:#}` does not say it twice.
        err: std::io::Error,
    },
    /// A kernel or trace file had content we could not parse.
    #[error("{}: {msg}", .path.display())]
    Parse {
        /// The file (for pure parsers: its kernel name, e.g. `memory.stat`).
        path: PathBuf,
        /// What was wrong, quoting the offending token.
        msg: String,
    },
    /// A model file was invalid or incompatible.
    #[error("model: {0}")]
    Model(String),
    /// A JSON document (trace line, request body, kubelet reply) was invalid.
    #[error("json: {0}")]
    Json(String),
    /// Talking to the kubelet or API server failed.
    #[error("kube: {0}")]
    Kube(String),
}

impl Error {
    /// Build a parse error for `file` (a kernel file name or a full path).
    pub fn parse(file: impl Into<PathBuf>, msg: impl Into<String>) -> Self {
        Error::Parse {
            path: file.into(),
            msg: msg.into(),
        }
    }

    /// Build an I/O error for `path`.
    pub fn io(path: impl Into<PathBuf>, err: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            err,
        }
    }

    /// True when the kernel has the file but does not serve it: `EOPNOTSUPP`, which every
    /// `*.pressure` file and `/proc/pressure/*` answer where PSI is compiled in but switched
    /// off at boot (`psi=0`, or `CONFIG_PSI_DEFAULT_DISABLED`) on kernels that still create
    /// the files. A setting of the node, not a failure: the field is simply unknown there.
    pub fn is_unsupported(&self) -> bool {
        // EOPNOTSUPP (= ENOTSUP) on Linux.
        matches!(self, Error::Io { err, .. } if err.raw_os_error() == Some(95))
    }

    /// True when the error means "the cgroup or file is gone" (removed between listing and
    /// reading): `ENOENT`, or `ENODEV` which the kernel returns for files of a dying cgroup.
    pub fn is_vanished(&self) -> bool {
        self.is_dying_cgroup()
            || matches!(self, Error::Io { err, .. } if err.kind() == std::io::ErrorKind::NotFound)
    }

    /// True for `ENODEV`: the kernel answers so for the files of a cgroup being removed, so
    /// unlike `ENOENT` it says the cgroup itself is going, not just one file.
    pub fn is_dying_cgroup(&self) -> bool {
        // ENODEV on Linux.
        matches!(self, Error::Io { err, .. } if err.raw_os_error() == Some(19))
    }
}

/// Result alias for the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::Error;

    fn errno(n: i32) -> Error {
        Error::io(
            "/sys/fs/cgroup/kubepods.slice/x/memory.stat",
            std::io::Error::from_raw_os_error(n),
        )
    }

    #[test]
    fn the_errno_says_whether_a_file_or_its_whole_cgroup_went() {
        // ENODEV (19): the cgroup is being removed.
        assert!(errno(19).is_vanished() && errno(19).is_dying_cgroup());
        // ENOENT (2): one file is missing, the cgroup may stay.
        assert!(errno(2).is_vanished() && !errno(2).is_dying_cgroup());
        // EIO (5) and EOPNOTSUPP (95) are neither.
        for n in [5, 95] {
            assert!(
                !errno(n).is_vanished() && !errno(n).is_dying_cgroup(),
                "{n}"
            );
        }
        assert!(errno(95).is_unsupported() && !errno(5).is_unsupported());
    }
}
