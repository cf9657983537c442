//! `qdp plugins list` and `qdp plugins inspect PATH`.

use clap::Subcommand;
use qdp_core::Registry;
use qdp_core::registry::{Origin, search_path};
use qdp_sdk::capabilities;
use qdp_sdk::ffi::host::PluginLibrary;
use std::path::PathBuf;

/// Plugin subcommands.
#[derive(Subcommand)]
pub enum PluginsCommand {
    /// List every component type: built-in, and plugins on the search path.
    List {
        /// Extra directories to search (before QDP_PLUGIN_PATH and the executable's directory).
        #[arg(long)]
        path: Vec<PathBuf>,
    },
    /// Load one plugin library and print its descriptor and options schema.
    Inspect {
        /// The library file.
        file: PathBuf,
    },
}

/// Runs a plugins subcommand.
pub fn main(cmd: PluginsCommand) -> Result<(), String> {
    match cmd {
        PluginsCommand::List { path } => {
            let mut reg = Registry::with_builtins();
            reg.load_plugin_dirs(&search_path(&path));
            println!(
                "{:<14} {:<10} {:<9} {:<32} origin",
                "type", "kind", "version", "capabilities"
            );
            for t in reg.all() {
                let origin = match &t.origin {
                    Origin::Builtin => "built-in".to_string(),
                    Origin::Registered => "registered".to_string(),
                    Origin::Plugin(p) => p.display().to_string(),
                };
                let caps = capabilities::names(t.capabilities).join(",");
                println!(
                    "{:<14} {:<10} {:<9} {:<32} {origin}",
                    t.name,
                    t.kind.to_string(),
                    t.version,
                    caps
                );
            }
            println!(
                "searched: {}",
                reg.searched
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            for (p, why) in &reg.refused {
                println!("refused: {}: {why}", p.display());
            }
            Ok(())
        }
        PluginsCommand::Inspect { file } => {
            let lib = PluginLibrary::open(&file).map_err(|e| format!("error: {e}"))?;
            let i = lib.info();
            println!("name:         {}", i.name);
            println!("kind:         {}", i.kind);
            println!("version:      {}", i.version);
            println!("abi:          {}.{}", i.abi.0, i.abi.1);
            println!("sdk:          {}", i.sdk_version);
            println!(
                "capabilities: {}",
                capabilities::names(i.capabilities).join(", ")
            );
            println!("options schema:");
            println!(
                "{}",
                serde_json::to_string_pretty(&i.options_schema).unwrap_or_default()
            );
            Ok(())
        }
    }
}
