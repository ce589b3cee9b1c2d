//! `crashwatch eval`. (Not implemented yet.)

/// `crashwatch eval`.
pub fn command(_args: crate::cli::EvalArgs) -> anyhow::Result<()> {
    anyhow::bail!("eval is not implemented yet")
}
