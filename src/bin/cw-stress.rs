//! `cw-stress`: small, dependency-free load generators used by crashwatch's real-kernel tests
//! and handy on a node: an anonymous-memory leak at a steady rate, a page-cache writer, and a
//! fork grower. Each prints one line per second so a test can follow it.
//!
//! It must stay boring: no allocator tricks, nothing that depends on the agent's code, so the
//! kernel (not crashwatch) decides what happens.
use clap::{Parser, Subcommand};
use std::io::Write;
use std::time::{Duration, Instant};

/// Load generators for crashwatch's end-to-end tests.
#[derive(Debug, Parser)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Allocate and touch anonymous memory at a steady rate, never freeing it.
    Leak {
        /// MiB per second.
        #[arg(long, default_value_t = 4.0)]
        rate_mib: f64,
        /// Stop growing at this many MiB (default: never).
        #[arg(long)]
        max_mib: Option<u64>,
    },
    /// Write a file at a steady rate: page cache the kernel may reclaim, no anonymous growth.
    Pagecache {
        /// File to write (on a disk-backed filesystem, not tmpfs).
        #[arg(long)]
        file: std::path::PathBuf,
        /// MiB per second.
        #[arg(long, default_value_t = 16.0)]
        rate_mib: f64,
        /// Total MiB to write.
        #[arg(long, default_value_t = 1024)]
        size_mib: u64,
    },
    /// Hold `rate` more sleeping child processes every second, up to `max`.
    Forks {
        /// New children per second.
        #[arg(long, default_value_t = 2)]
        rate: u32,
        /// Stop at this many children.
        #[arg(long, default_value_t = 1000)]
        max: u32,
    },
}

const MIB: usize = 1 << 20;
const TICK: Duration = Duration::from_millis(100);

fn main() {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Leak { rate_mib, max_mib } => leak(rate_mib, max_mib),
        Cmd::Pagecache {
            file,
            rate_mib,
            size_mib,
        } => pagecache(&file, rate_mib, size_mib),
        Cmd::Forks { rate, max } => forks(rate, max),
    }
}

/// Grow by `rate_mib` per second in 100 ms steps; every page is written so it is really charged.
fn leak(rate_mib: f64, max_mib: Option<u64>) {
    let start = Instant::now();
    let mut held: Vec<Vec<u8>> = Vec::new();
    let mut total = 0usize;
    let mut last_print = 0u64;
    loop {
        let want = (start.elapsed().as_secs_f64() * rate_mib * MIB as f64) as usize;
        let cap = max_mib.map_or(usize::MAX, |m| m as usize * MIB);
        let want = want.min(cap);
        if want > total {
            let mut chunk = vec![0u8; want - total];
            // Touch every page: calloc'd memory is not charged until written.
            for i in (0..chunk.len()).step_by(4096) {
                chunk[i] = 1;
            }
            total += chunk.len();
            held.push(chunk);
        }
        let secs = start.elapsed().as_secs();
        if secs != last_print {
            last_print = secs;
            println!("leak t={secs}s held_mib={}", total / MIB);
            let _ = std::io::stdout().flush();
        }
        std::thread::sleep(TICK);
    }
}

fn pagecache(file: &std::path::Path, rate_mib: f64, size_mib: u64) {
    let mut f = match std::fs::File::create(file) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("cw-stress: {}: {e}", file.display());
            std::process::exit(1);
        }
    };
    let block = vec![0x5au8; MIB / 4];
    let start = Instant::now();
    let mut written = 0usize;
    let mut last_print = 0u64;
    while (written as u64) < size_mib * MIB as u64 {
        let want = (start.elapsed().as_secs_f64() * rate_mib * MIB as f64) as usize;
        while written < want {
            if let Err(e) = f.write_all(&block) {
                eprintln!("cw-stress: write {}: {e}", file.display());
                std::process::exit(1);
            }
            written += block.len();
        }
        let secs = start.elapsed().as_secs();
        if secs != last_print {
            last_print = secs;
            println!("pagecache t={secs}s written_mib={}", written / MIB);
            let _ = std::io::stdout().flush();
        }
        std::thread::sleep(TICK);
    }
    // Stay alive with the cache charged so the agent keeps watching a full cgroup.
    loop {
        std::thread::sleep(Duration::from_secs(1));
    }
}

fn forks(rate: u32, max: u32) {
    let mut children = Vec::new();
    let start = Instant::now();
    while children.len() < max as usize {
        let want = ((start.elapsed().as_secs_f64() * rate as f64) as usize).min(max as usize);
        while children.len() < want {
            match std::process::Command::new("sleep").arg("3600").spawn() {
                Ok(c) => children.push(c),
                Err(e) => {
                    println!("forks failed at {} children: {e}", children.len());
                    std::process::exit(1);
                }
            }
        }
        std::thread::sleep(TICK);
    }
    for mut c in children {
        let _ = c.kill();
        let _ = c.wait();
    }
}
