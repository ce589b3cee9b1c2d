//! `crashwatch train`. (Not implemented yet.)

/// `crashwatch train`.
pub fn command(_args: crate::cli::TrainArgs) -> anyhow::Result<()> {
    anyhow::bail!("train is not implemented yet")
}
