//! `invalidator`: the operator CLI (see `invalidator --help`).

use clap::Parser;
use invalidator_lambda::cli::{run, Cli};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let cli = Cli::parse();
    if let Err(e) = run(cli).await {
        eprintln!("invalidator: {}", e.message);
        std::process::exit(e.code);
    }
}
