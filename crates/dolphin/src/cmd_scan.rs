pub fn run(_a: Args) -> anyhow::Result<()> {
    anyhow::bail!("scan: not wired yet")
}
#[derive(clap::Args)]
pub struct Args {}
