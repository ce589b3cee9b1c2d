//! Generic parsers for the four shapes of cgroup files: a single number, `max`-or-number,
//! flat `key value` lines, and PSI `some|full avg10=.. avg60=.. avg300=.. total=..` lines.
//! They borrow from the input and never allocate on success.
use crate::{Error, Result};

/// v1 limits at or above this are "unlimited": the kernel prints 9223372036854771712
/// (`i64::MAX` rounded down to a page), and no real limit gets anywhere near 2^62 bytes.
pub const V1_UNLIMITED_MIN: u64 = 1 << 62;

/// Parse one unsigned decimal token; the error names `file` and `key`.
pub fn parse_u64(file: &'static str, key: &str, tok: &str) -> Result<u64> {
    tok.parse::<u64>().map_err(|_| {
        Error::parse(
            file,
            format!("{key}: expected an unsigned integer, got {:?}", clip(tok)),
        )
    })
}

/// A file holding exactly one unsigned number (`memory.current`, `pids.current`, ...).
pub fn single_u64(file: &'static str, s: &str) -> Result<u64> {
    let tok = one_token(file, s)?;
    parse_u64(file, "value", tok)
}

/// A file holding `max` (→ `None`) or one unsigned number (`memory.max`, `pids.max`, ...).
pub fn max_or_u64(file: &'static str, s: &str) -> Result<Option<u64>> {
    let tok = one_token(file, s)?;
    if tok == "max" {
        return Ok(None);
    }
    parse_u64(file, "value", tok).map(Some)
}

/// The single whitespace-free token of a one-value file (trailing newline allowed).
fn one_token<'a>(file: &'static str, s: &'a str) -> Result<&'a str> {
    let mut it = s.split_ascii_whitespace();
    match (it.next(), it.next()) {
        (Some(tok), None) => Ok(tok),
        (None, _) => Err(Error::parse(file, "empty file")),
        (Some(_), Some(extra)) => Err(Error::parse(
            file,
            format!("unexpected extra token {:?}", clip(extra)),
        )),
    }
}

/// Iterate `key value` lines (blank lines skipped). A line without a value is an error;
/// values are left as text so a caller parses only the keys it knows (unknown keys, even
/// with odd values, are ignored as newer kernels add them).
pub fn flat_kv<'a>(
    file: &'static str,
    s: &'a str,
) -> impl Iterator<Item = Result<(&'a str, &'a str)>> + 'a {
    s.lines().filter(|l| !l.trim().is_empty()).map(move |line| {
        let mut it = line.split_ascii_whitespace();
        match (it.next(), it.next(), it.next()) {
            (Some(k), Some(v), None) => Ok((k, v)),
            _ => Err(Error::parse(
                file,
                format!("expected `key value`, got {:?}", clip(line)),
            )),
        }
    })
}

/// One PSI line: share of wall time (percent) some / all tasks stalled, and total stall µs.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PsiLine {
    /// Percent over the last 10 s.
    pub avg10: f64,
    /// Percent over the last 60 s.
    pub avg60: f64,
    /// Percent over the last 300 s.
    pub avg300: f64,
    /// Total stall time, microseconds.
    pub total: u64,
}

/// A pressure file: the `some` line and, where the kernel prints it, the `full` line
/// (cgroup `cpu.pressure` has `full` since 5.13; `/proc/pressure/cpu` may lack it).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Psi {
    /// At least one task stalled.
    pub some: Option<PsiLine>,
    /// All non-idle tasks stalled.
    pub full: Option<PsiLine>,
}

/// Parse a PSI file named `file`. Lines other than `some`/`full` are ignored; a file with
/// neither is an error.
pub fn parse_psi(file: &'static str, s: &str) -> Result<Psi> {
    let mut out = Psi::default();
    for line in s.lines() {
        let mut it = line.split_ascii_whitespace();
        let slot = match it.next() {
            Some("some") => &mut out.some,
            Some("full") => &mut out.full,
            _ => continue,
        };
        let mut p = PsiLine::default();
        let mut seen = 0u8;
        for field in it {
            let (k, v) = field.split_once('=').ok_or_else(|| {
                Error::parse(file, format!("expected key=value, got {:?}", clip(field)))
            })?;
            match k {
                "avg10" => (p.avg10, seen) = (parse_pct(file, k, v)?, seen | 1),
                "avg60" => (p.avg60, seen) = (parse_pct(file, k, v)?, seen | 2),
                "avg300" => (p.avg300, seen) = (parse_pct(file, k, v)?, seen | 4),
                "total" => (p.total, seen) = (parse_u64(file, k, v)?, seen | 8),
                _ => {}
            }
        }
        if seen != 15 {
            return Err(Error::parse(
                file,
                format!("incomplete PSI line {:?}", clip(line)),
            ));
        }
        *slot = Some(p);
    }
    if out.some.is_none() && out.full.is_none() {
        return Err(Error::parse(file, "no `some` or `full` line"));
    }
    Ok(out)
}

/// A PSI percentage: finite, 0..=100.
fn parse_pct(file: &'static str, key: &str, tok: &str) -> Result<f64> {
    match tok.parse::<f64>() {
        Ok(v) if v.is_finite() && (0.0..=100.0).contains(&v) => Ok(v),
        _ => Err(Error::parse(
            file,
            format!("{key}: expected a percentage, got {:?}", clip(tok)),
        )),
    }
}

/// Quote at most 40 chars of bad input in an error message (only on the error path).
fn clip(s: &str) -> String {
    s.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_values() {
        assert_eq!(single_u64("memory.current", "4096\n").unwrap(), 4096);
        assert_eq!(max_or_u64("memory.max", "max\n").unwrap(), None);
        assert_eq!(
            max_or_u64("memory.max", "268435456\n").unwrap(),
            Some(268_435_456)
        );
        for bad in ["", "\n", "-1\n", "12 13\n", "1.5\n", "max\n"] {
            let e = single_u64("memory.current", bad).unwrap_err();
            assert!(
                e.to_string().starts_with("memory.current: "),
                "{bad:?}: {e}"
            );
        }
    }

    #[test]
    fn psi_lines() {
        let p = parse_psi(
            "memory.pressure",
            "some avg10=1.50 avg60=0.25 avg300=0.00 total=123\nfull avg10=0.50 avg60=0.00 avg300=0.00 total=7\n",
        )
        .unwrap();
        assert_eq!(
            p.some,
            Some(PsiLine {
                avg10: 1.5,
                avg60: 0.25,
                avg300: 0.0,
                total: 123
            })
        );
        assert_eq!(p.full.map(|f| f.total), Some(7));
        let cpu = parse_psi(
            "cpu.pressure",
            "some avg10=4.30 avg60=3.20 avg300=1.11 total=1676316\n",
        )
        .unwrap();
        assert_eq!(cpu.full, None);
        for bad in [
            "",
            "some avg10=1.0\n",
            "some avg10=x avg60=0 avg300=0 total=0\n",
            "some avg10=101 avg60=0 avg300=0 total=0",
        ] {
            assert!(
                parse_psi("cpu.pressure", bad)
                    .unwrap_err()
                    .to_string()
                    .starts_with("cpu.pressure: "),
                "{bad:?}"
            );
        }
    }
}
