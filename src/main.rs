//! crashwatch binary: parse the command line, set up logging, hand over to [`crashwatch::cli`].
use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = crashwatch::cli::Cli::parse();
    crashwatch::telemetry::init(cli.log_level.as_deref());
    match crashwatch::cli::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        // The reader went away (`crashwatch replay --series | head`): nothing is left to tell
        // anyone, and like any Unix filter it ends quietly.
        Err(err)
            if err.chain().any(|e| {
                e.downcast_ref::<std::io::Error>()
                    .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            std::process::ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("crashwatch: error: {err:#}");
            std::process::ExitCode::from(1)
        }
    }
}
