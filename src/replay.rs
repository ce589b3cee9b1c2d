//! `crashwatch replay`. (Not implemented yet.)

/// `crashwatch replay`.
pub fn command(_args: crate::cli::ReplayArgs) -> anyhow::Result<()> {
    anyhow::bail!("replay is not implemented yet")
}
