//! `crashwatch simulate`. (Not implemented yet.)

/// `crashwatch simulate`.
pub fn command(_args: crate::cli::SimulateArgs) -> anyhow::Result<()> {
    anyhow::bail!("simulate is not implemented yet")
}
