//! The component registry: which `type` names exist and how to make them.
//!
//! Three origins, looked up in this order: built-in transforms, components an
//! embedding service registered in-process, and plugin libraries found on the
//! plugin search path.

use crate::component::Instance;
use crate::component::foreign::Foreign;
use crate::component::native::{NativeSink, NativeSource, NativeTransform};
use qdp_sdk::ffi::host::{Kind, LoadError, PluginLibrary};
use qdp_sdk::{Context, Describe, PluginError, Result, Sink, Source, Transform};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where a component type comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Part of qdp-core.
    Builtin,
    /// Registered in-process by an embedding service.
    Registered,
    /// A plugin library.
    Plugin(PathBuf),
}

type NativeFactory = dyn Fn(serde_json::Value, &Context) -> Result<Instance> + Send + Sync;

#[derive(Clone)]
enum Factory {
    Plugin(Arc<PluginLibrary>),
    Native(Arc<NativeFactory>),
}

/// A component type that pipelines can name.
#[derive(Clone)]
pub struct ComponentType {
    /// `type = "..."` name.
    pub name: String,
    /// Source, transform or sink.
    pub kind: Kind,
    /// Its version.
    pub version: String,
    /// Capability flags.
    pub capabilities: u64,
    /// JSON Schema of its options.
    pub options_schema: serde_json::Value,
    /// Its declared source → category field dictionary (the catalogue's).
    pub dictionary: Vec<qdp_sdk::dictionary::FieldSource>,
    /// Where it comes from.
    pub origin: Origin,
    factory: Factory,
}

impl ComponentType {
    /// Creates an instance from options (plugins also validate them themselves).
    pub fn instantiate(&self, options: &serde_json::Value, ctx: &Context) -> Result<Instance> {
        match &self.factory {
            Factory::Native(f) => f(options.clone(), ctx),
            Factory::Plugin(lib) => {
                let inst = Foreign::new(lib.instantiate(self.kind, options, ctx)?);
                Ok(match self.kind {
                    Kind::Source => Instance::Source(Box::new(inst)),
                    Kind::Transform => Instance::Transform(Box::new(inst)),
                    Kind::Sink => Instance::Sink(Box::new(inst)),
                })
            }
        }
    }
}

/// All component types known to this process.
#[derive(Clone, Default)]
pub struct Registry {
    /// By (name, kind): a source and a sink may share a name (`kafka`), the
    /// section of the pipeline file tells them apart.
    types: BTreeMap<(String, u8), ComponentType>,
    /// Libraries on the search path that were refused, with the reason.
    pub refused: Vec<(PathBuf, String)>,
    /// Directories searched for plugins.
    pub searched: Vec<PathBuf>,
}

/// The kind's place in the registry key.
fn rank(kind: Kind) -> u8 {
    match kind {
        Kind::Source => 0,
        Kind::Transform => 1,
        Kind::Sink => 2,
    }
}

fn options<T: Describe>(v: serde_json::Value) -> Result<T::Options> {
    serde_json::from_value(v)
        .map_err(|e| PluginError::config(format!("invalid options for `{}`: {e}", T::NAME)))
}

fn schema_of<T: Describe>() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(T::Options)).unwrap_or_default()
}

impl Registry {
    /// A registry holding the built-in transforms.
    pub fn with_builtins() -> Self {
        let mut r = Self::default();
        crate::transforms::register_builtins(&mut r);
        r
    }

    fn insert<T: Describe>(&mut self, kind: Kind, origin: Origin, f: Arc<NativeFactory>) {
        self.types.insert(
            (T::NAME.to_string(), rank(kind)),
            ComponentType {
                name: T::NAME.to_string(),
                kind,
                version: T::VERSION.to_string(),
                capabilities: T::CAPABILITIES,
                options_schema: schema_of::<T>(),
                dictionary: T::dictionary(),
                origin,
                factory: Factory::Native(f),
            },
        );
    }

    /// Registers a transform that ships with qdp-core.
    pub fn builtin_transform<T: Transform>(&mut self) {
        self.insert::<T>(
            Kind::Transform,
            Origin::Builtin,
            Arc::new(|v, ctx| {
                Ok(Instance::Transform(Box::new(NativeTransform(T::new(
                    options::<T>(v)?,
                    ctx,
                )?))))
            }),
        );
    }

    /// Registers a source type linked into this process.
    pub fn register_source<T: Source>(&mut self) {
        self.insert::<T>(
            Kind::Source,
            Origin::Registered,
            Arc::new(|v, ctx| {
                Ok(Instance::Source(Box::new(NativeSource(T::new(
                    options::<T>(v)?,
                    ctx,
                )?))))
            }),
        );
    }

    /// Registers a transform type linked into this process.
    pub fn register_transform<T: Transform>(&mut self) {
        self.insert::<T>(
            Kind::Transform,
            Origin::Registered,
            Arc::new(|v, ctx| {
                Ok(Instance::Transform(Box::new(NativeTransform(T::new(
                    options::<T>(v)?,
                    ctx,
                )?))))
            }),
        );
    }

    /// Registers a sink type linked into this process.
    pub fn register_sink<T: Sink>(&mut self) {
        self.insert::<T>(
            Kind::Sink,
            Origin::Registered,
            Arc::new(|v, ctx| {
                Ok(Instance::Sink(Box::new(NativeSink(T::new(
                    options::<T>(v)?,
                    ctx,
                )?))))
            }),
        );
    }

    /// Loads one plugin library and registers its component type.
    pub fn load_plugin(&mut self, path: &Path) -> Result<&ComponentType, LoadError> {
        let lib = PluginLibrary::open(path)?;
        let info = lib.info().clone();
        let name = info.name.clone();
        let key = (name.clone(), rank(info.kind));
        if self
            .types
            .get(&key)
            .is_some_and(|t| t.origin != Origin::Builtin && t.origin != Origin::Registered)
        {
            tracing::debug!(plugin = %name, path = %path.display(), "plugin already loaded from another path; keeping the first");
        } else if !self.types.contains_key(&key) {
            self.types.insert(
                key.clone(),
                ComponentType {
                    name: name.clone(),
                    kind: info.kind,
                    version: info.version,
                    capabilities: info.capabilities,
                    options_schema: info.options_schema,
                    dictionary: info.dictionary,
                    origin: Origin::Plugin(path.to_path_buf()),
                    factory: Factory::Plugin(lib),
                },
            );
        }
        self.types
            .get(&key)
            .ok_or_else(|| LoadError::BadDescriptor {
                path: path.to_path_buf(),
                reason: "not registered".into(),
            })
    }

    /// Scans `dirs` for plugin libraries (`libqdp_*.so`, `.dylib`, `qdp_*.dll`)
    /// and loads each; refused ones are remembered in [`Registry::refused`].
    pub fn load_plugin_dirs(&mut self, dirs: &[PathBuf]) {
        for dir in dirs {
            self.searched.push(dir.clone());
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            let mut files: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| is_plugin_file(p))
                .collect();
            files.sort();
            for f in files {
                if let Err(e) = self.load_plugin(&f) {
                    tracing::warn!(path = %f.display(), error = %e, "plugin refused");
                    self.refused.push((f, e.to_string()));
                }
            }
        }
    }

    /// A type by name (the source, transform or sink of that name, in
    /// that order, when several kinds share it).
    pub fn get(&self, name: &str) -> Option<&ComponentType> {
        [Kind::Source, Kind::Transform, Kind::Sink]
            .into_iter()
            .find_map(|k| self.get_kind(name, k))
    }

    /// A type by name and kind.
    pub fn get_kind(&self, name: &str, kind: Kind) -> Option<&ComponentType> {
        self.types.get(&(name.to_string(), rank(kind)))
    }

    /// Every known type.
    pub fn all(&self) -> impl Iterator<Item = &ComponentType> {
        self.types.values()
    }
}

/// Whether a file name looks like a qdp plugin library.
pub fn is_plugin_file(p: &Path) -> bool {
    let Some(name) = p.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    (name.starts_with("libqdp_") && (name.ends_with(".so") || name.ends_with(".dylib")))
        || (name.starts_with("qdp_") && name.ends_with(".dll"))
}

/// The plugin search path: the pipeline's `plugin_path`, then `QDP_PLUGIN_PATH`
/// (colon-separated), then the executable's directory and its `plugins/`.
pub fn search_path(configured: &[PathBuf]) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = configured.to_vec();
    if let Ok(env) = std::env::var("QDP_PLUGIN_PATH") {
        dirs.extend(std::env::split_paths(&env).filter(|p| !p.as_os_str().is_empty()));
    }
    if let Some(exe_dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        dirs.push(exe_dir.join("plugins"));
        dirs.push(exe_dir);
    }
    let mut seen = std::collections::HashSet::new();
    dirs.retain(|d| seen.insert(d.clone()));
    dirs
}
