//! `crashwatch demo`. (Not implemented yet.)

/// `crashwatch demo`.
pub fn command(_args: crate::cli::DemoArgs) -> anyhow::Result<()> {
    anyhow::bail!("demo is not implemented yet")
}
