//! `crashwatch run`. (Not implemented yet.)

/// `crashwatch run`.
pub fn command(_args: crate::cli::RunArgs) -> anyhow::Result<()> {
    anyhow::bail!("run is not implemented yet")
}
