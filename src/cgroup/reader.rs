//! Thin I/O under the pure parsers: one `open` + `read` per file into a buffer reused across
//! files and sweeps, and a reused path buffer, so a steady-state sweep allocates almost nothing.
use super::KernelFile;
use crate::{Error, Result};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Starting buffer size: every cgroup file we read fits (v2 memory.stat is ~1.6 KB).
const INITIAL_BUF: usize = 8192;

/// Reads kernel files into a reused buffer.
#[derive(Debug, Default)]
pub struct Reader {
    buf: Vec<u8>,
    path: PathBuf,
}

impl Reader {
    /// A reader with an empty buffer (grown on first use).
    pub fn new() -> Self {
        Reader::default()
    }

    /// Read and parse `dir/<T::NAME>`. I/O errors keep their kind (see
    /// [`Error::is_vanished`]); parse errors carry the full path.
    pub fn read<T: KernelFile>(&mut self, dir: &Path) -> Result<T> {
        self.read_named(dir, T::NAME, T::parse)
    }

    /// Read `dir/name` and run `parse` on its text (for files whose name is not fixed,
    /// e.g. `/proc/pressure/memory`).
    pub fn read_named<T>(
        &mut self,
        dir: &Path,
        name: &str,
        parse: impl FnOnce(&str) -> Result<T>,
    ) -> Result<T> {
        self.path.clear();
        self.path.push(dir);
        self.path.push(name);
        let text = fill(&mut self.buf, &self.path)?;
        parse(text).map_err(|e| match e {
            Error::Parse { msg, .. } => Error::Parse {
                path: self.path.clone(),
                msg,
            },
            other => other,
        })
    }

    /// Read `path` as raw bytes (for parsers that want a `Read`, like procfs's).
    pub fn read_bytes(&mut self, path: &Path) -> Result<&[u8]> {
        let n = read_into(&mut self.buf, path)?;
        Ok(&self.buf[..n])
    }
}

/// Read `path` into `buf` and check it is UTF-8 (kernel files are ASCII).
fn fill<'a>(buf: &'a mut Vec<u8>, path: &Path) -> Result<&'a str> {
    let n = read_into(buf, path)?;
    std::str::from_utf8(&buf[..n]).map_err(|_| Error::parse(path, "not valid UTF-8"))
}

/// Read the whole file with plain `read` calls into `buf` (kept zero-filled at its full
/// length, so no per-read memset or allocation once grown); returns the byte count. No
/// `stat` for a size hint: sysfs reports 4096 for everything anyway.
fn read_into(buf: &mut Vec<u8>, path: &Path) -> Result<usize> {
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    if buf.len() < INITIAL_BUF {
        buf.resize(INITIAL_BUF, 0);
    }
    let mut n = 0;
    loop {
        if n == buf.len() {
            let grown = buf.len() * 2;
            buf.resize(grown, 0);
        }
        match f.read(&mut buf[n..]) {
            Ok(0) => return Ok(n),
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io(path, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroup::v2::{MemoryMax, MemoryStat};

    #[test]
    fn reads_parses_and_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("memory.max"), "1048576\n").unwrap();
        std::fs::write(
            dir.path().join("memory.stat"),
            "anon 12\ninactive_file bogus\n",
        )
        .unwrap();
        let mut r = Reader::new();
        assert_eq!(
            r.read::<MemoryMax>(dir.path()).unwrap().bytes,
            Some(1_048_576)
        );
        let e = r.read::<MemoryStat>(dir.path()).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "{}: inactive_file: expected an unsigned integer, got \"bogus\"",
                dir.path().join("memory.stat").display()
            )
        );
        let gone = r.read::<MemoryMax>(&dir.path().join("gone")).unwrap_err();
        assert!(gone.is_vanished(), "{gone}");
    }

    #[test]
    fn large_files_grow_the_buffer() {
        let dir = tempfile::tempdir().unwrap();
        let mut text = String::new();
        for i in 0..2000 {
            text.push_str(&format!("key_{i} {i}\n"));
        }
        text.push_str("anon 77\n");
        std::fs::write(dir.path().join("memory.stat"), &text).unwrap();
        let mut r = Reader::new();
        assert_eq!(r.read::<MemoryStat>(dir.path()).unwrap().anon, Some(77));
    }
}
