//! Host side of the ABI: loading a plugin library and calling its instances.
//!
//! Libraries are never unloaded: a [`PluginLibrary`] leaks its handle, so code
//! and statics of a plugin outlive every object it made. Calls on a
//! [`ForeignInstance`] block; async hosts run them on blocking threads.

use super::abi::*;
use super::arrow_io::{export_batch, import_batch};
use super::export::EmitMeta;
use crate::batch::{Accepts, Batch, Checkpoint, Emit, OutputDecl, SourceBatch};
use crate::component::Context;
use crate::error::{PluginError, Result};
use arrow::array::RecordBatch;
use arrow::ffi::{FFI_ArrowArray, FFI_ArrowSchema};
use std::ffi::{CStr, c_char};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Why a plugin library was refused.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file is missing or is not a loadable library.
    #[error("cannot load plugin {path}: {reason}")]
    Open {
        /// The library path.
        path: PathBuf,
        /// What the dynamic loader said.
        reason: String,
    },
    /// The library does not export the entry symbol.
    #[error(
        "{path} is not a qdp plugin: it does not export `qdp_plugin_entry_v1` (build it with qdp_sdk::export_source!/export_transform!/export_sink!)"
    )]
    MissingSymbol {
        /// The library path.
        path: PathBuf,
    },
    /// The plugin speaks another ABI major version.
    #[error(
        "plugin {path} uses ABI {found_major}.{found_minor}, this host speaks ABI {ABI_MAJOR}.x: rebuild the plugin against a qdp-sdk with ABI {ABI_MAJOR}"
    )]
    AbiMismatch {
        /// The library path.
        path: PathBuf,
        /// Major version found.
        found_major: u32,
        /// Minor version found.
        found_minor: u32,
    },
    /// The descriptor is malformed.
    #[error("plugin {path} has a malformed descriptor: {reason}")]
    BadDescriptor {
        /// The library path.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// Kind of component, as the host sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Produces batches.
    Source,
    /// Maps batches.
    Transform,
    /// Writes batches.
    Sink,
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Kind::Source => "source",
            Kind::Transform => "transform",
            Kind::Sink => "sink",
        })
    }
}

/// What a plugin says about itself.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PluginInfo {
    /// Component type name.
    pub name: String,
    /// The plugin's version.
    pub version: String,
    /// SDK version it was built with.
    pub sdk_version: String,
    /// Source, transform or sink.
    pub kind: Kind,
    /// ABI major and minor.
    pub abi: (u32, u32),
    /// Capability flags.
    pub capabilities: u64,
    /// JSON Schema of its options.
    pub options_schema: serde_json::Value,
    /// Its declared source → category field dictionary.
    pub dictionary: Vec<crate::dictionary::FieldSource>,
}

/// A loaded plugin library. Never unloaded.
pub struct PluginLibrary {
    path: PathBuf,
    /// A host-owned copy (see [`super::descriptor`]); its pointers point
    /// into the never-unloaded library.
    descriptor: FfiDescriptor,
    info: PluginInfo,
}

impl std::fmt::Debug for PluginLibrary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginLibrary")
            .field("path", &self.path)
            .field("info", &self.info)
            .finish()
    }
}

// SAFETY: the descriptor copy is immutable and points to static data of a
// library that is never unloaded; its functions are thread-safe per the ABI
// contract.
unsafe impl Send for PluginLibrary {}
unsafe impl Sync for PluginLibrary {}

fn c_str(path: &Path, p: *const c_char, what: &str) -> Result<String, LoadError> {
    if p.is_null() {
        return Err(LoadError::BadDescriptor {
            path: path.to_path_buf(),
            reason: format!("{what} is null"),
        });
    }
    // SAFETY: non-null pointers in the descriptor point to NUL-terminated
    // strings owned by the never-unloaded library.
    Ok(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
}

impl PluginLibrary {
    /// Loads the library at `path` and checks its descriptor.
    pub fn open(path: &Path) -> Result<Arc<Self>, LoadError> {
        let open_err = |reason: String| LoadError::Open {
            path: path.to_path_buf(),
            reason,
        };
        if !path.is_file() {
            return Err(open_err("no such file".into()));
        }
        match super::elf::check_file(path) {
            Ok(None) => {}
            Ok(Some(why)) => return Err(open_err(why)),
            Err(e) => return Err(open_err(e.to_string())),
        }
        // SAFETY: loading a library runs its initialisers; qdp plugins are
        // trusted code chosen by the operator's configuration.
        let lib = unsafe { libloading::Library::new(path) }.map_err(|e| open_err(e.to_string()))?;
        let lib: &'static libloading::Library = Box::leak(Box::new(lib));
        // SAFETY: the symbol, when present, has the `EntryFn` signature.
        let entry: libloading::Symbol<'static, EntryFn> = unsafe { lib.get(ENTRY_SYMBOL) }
            .map_err(|_| LoadError::MissingSymbol {
                path: path.to_path_buf(),
            })?;
        // SAFETY: calling the entry function has no preconditions.
        let desc_ptr = unsafe { entry() };
        if desc_ptr.is_null() {
            return Err(LoadError::BadDescriptor {
                path: path.to_path_buf(),
                reason: "entry function returned null".into(),
            });
        }
        // SAFETY: the entry function returns a descriptor that lives as long
        // as the never-unloaded library.
        unsafe { Self::from_descriptor(path, desc_ptr) }
    }

    /// Checks and copies a descriptor: the part of [`Self::open`] after
    /// the library is loaded.
    ///
    /// # Safety
    /// `desc_ptr` must point to a descriptor whose leading `abi_major`,
    /// `abi_minor` and `struct_size` are readable, whose first `struct_size`
    /// bytes are readable when the major matches, and whose strings and
    /// functions stay valid for as long as the returned library lives.
    pub(crate) unsafe fn from_descriptor(
        path: &Path,
        desc_ptr: *const FfiDescriptor,
    ) -> Result<Arc<Self>, LoadError> {
        let bad = |reason: String| LoadError::BadDescriptor {
            path: path.to_path_buf(),
            reason,
        };
        // SAFETY: only the leading fields, common to every major, are read
        // before the version is checked.
        let (major, minor, size) = unsafe {
            (
                (*desc_ptr).abi_major,
                (*desc_ptr).abi_minor,
                (*desc_ptr).struct_size,
            )
        };
        if major != ABI_MAJOR {
            return Err(LoadError::AbiMismatch {
                path: path.to_path_buf(),
                found_major: major,
                found_minor: minor,
            });
        }
        let appended = super::descriptor::appended_fields(size, minor).map_err(bad)?;
        // SAFETY: same major and at least the 1.0 size, as just checked.
        let descriptor = unsafe { super::descriptor::copy_descriptor(desc_ptr, appended) };
        let kind = match descriptor.kind {
            1 => Kind::Source,
            2 => Kind::Transform,
            3 => Kind::Sink,
            k => return Err(bad(format!("unknown kind {k}"))),
        };
        let schema_text = c_str(path, descriptor.options_schema, "options schema")?;
        let options_schema = serde_json::from_str(&schema_text)
            .map_err(|e| bad(format!("options schema is not JSON: {e}")))?;
        // SAFETY: a non-null dictionary is a NUL-terminated string of the library.
        let dictionary =
            unsafe { super::descriptor::read_dictionary(descriptor.dictionary) }.map_err(bad)?;
        let info = PluginInfo {
            name: c_str(path, descriptor.name, "name")?,
            version: c_str(path, descriptor.version, "version")?,
            sdk_version: c_str(path, descriptor.sdk_version, "sdk version")?,
            kind,
            abi: (major, minor),
            capabilities: descriptor.capabilities,
            options_schema,
            dictionary,
        };
        Ok(Arc::new(Self {
            path: path.to_path_buf(),
            descriptor,
            info,
        }))
    }

    /// What the plugin says about itself.
    pub fn info(&self) -> &PluginInfo {
        &self.info
    }

    /// Where it was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Creates an instance of the expected kind from options JSON.
    pub fn instantiate(
        self: &Arc<Self>,
        expected: Kind,
        options: &serde_json::Value,
        ctx: &Context,
    ) -> Result<ForeignInstance> {
        if self.info.kind != expected {
            return Err(PluginError::config(format!(
                "plugin `{}` ({}) is a {}, but it is used as a {expected}",
                self.info.name,
                self.path.display(),
                self.info.kind
            )));
        }
        let opts = serde_json::to_vec(options).map_err(|e| PluginError::internal(e.to_string()))?;
        let ctx = serde_json::to_vec(ctx).map_err(|e| PluginError::internal(e.to_string()))?;
        let mut handle: FfiHandle = std::ptr::null_mut();
        let mut err = FfiOwnedBytes::empty();
        // SAFETY: arguments follow the ABI: borrowed bytes, writable slots.
        let code =
            unsafe { (self.descriptor.create)(bytes(&opts), bytes(&ctx), &mut handle, &mut err) };
        self.check(code, err)?;
        if handle.is_null() {
            return Err(PluginError::internal(
                "plugin create returned a null handle",
            ));
        }
        Ok(ForeignInstance {
            lib: Arc::clone(self),
            handle,
        })
    }

    /// Calls the plugin's panic probe; `Ok` means the panic was contained.
    pub fn probe_panic(&self) -> Result<PluginError> {
        let mut err = FfiOwnedBytes::empty();
        // SAFETY: the probe takes only an error slot.
        let code = unsafe { (self.descriptor.probe_panic)(&mut err) };
        match self.check(code, err) {
            Err(e) => Ok(e),
            Ok(_) => Err(PluginError::internal("probe_panic returned success")),
        }
    }

    fn take(&self, slot: FfiOwnedBytes) -> Vec<u8> {
        if slot.ptr.is_null() {
            return Vec::new();
        }
        // SAFETY: the plugin filled the slot with `len` bytes it owns.
        let v = unsafe { std::slice::from_raw_parts(slot.ptr, slot.len) }.to_vec();
        // SAFETY: the slot came from this plugin and is freed once.
        unsafe { (self.descriptor.free_bytes)(slot) };
        v
    }

    fn check(&self, code: i32, err: FfiOwnedBytes) -> Result<i32> {
        let err = self.take(err);
        if code != STATUS_ERROR {
            return Ok(code);
        }
        let mut e: PluginError = serde_json::from_slice(&err).unwrap_or_else(|_| {
            PluginError::internal(format!(
                "plugin reported an error it could not describe: {}",
                String::from_utf8_lossy(&err)
            ))
        });
        e.context.push(("plugin".into(), self.info.name.clone()));
        Err(e)
    }
}

fn bytes(b: &[u8]) -> FfiBytes {
    FfiBytes {
        ptr: b.as_ptr(),
        len: b.len(),
    }
}

/// What a source poll returned.
#[derive(Debug)]
pub enum Polled {
    /// A batch.
    Batch(SourceBatch),
    /// Nothing within the timeout.
    Pending,
    /// The source is exhausted.
    End,
}

/// An instance created by a plugin. Calls block the calling thread.
#[derive(Debug)]
pub struct ForeignInstance {
    lib: Arc<PluginLibrary>,
    handle: FfiHandle,
}

// SAFETY: the ABI lets an instance be called from any thread, one call at a
// time, which `&mut self` on every call enforces.
unsafe impl Send for ForeignInstance {}

impl Drop for ForeignInstance {
    fn drop(&mut self) {
        // SAFETY: the handle came from `create` and is destroyed once.
        unsafe { (self.lib.descriptor.destroy)(self.handle) };
    }
}

impl ForeignInstance {
    /// The library this instance came from.
    pub fn library(&self) -> &Arc<PluginLibrary> {
        &self.lib
    }

    fn d(&self) -> &FfiDescriptor {
        &self.lib.descriptor
    }

    fn describe_raw(&mut self, inputs: &[u8]) -> Result<Vec<u8>> {
        let mut out = FfiOwnedBytes::empty();
        let mut err = FfiOwnedBytes::empty();
        // SAFETY: ABI arguments.
        let code = unsafe { (self.d().describe)(self.handle, bytes(inputs), &mut out, &mut err) };
        let out = self.lib.take(out);
        self.lib.check(code, err)?;
        Ok(out)
    }

    /// Source or transform: its output declarations.
    pub fn outputs(&mut self, inputs: &[OutputDecl]) -> Result<Vec<OutputDecl>> {
        let inputs =
            serde_json::to_vec(inputs).map_err(|e| PluginError::internal(e.to_string()))?;
        let out = self.describe_raw(&inputs)?;
        serde_json::from_slice(&out).map_err(|e| {
            PluginError::internal(format!("plugin output declarations are not valid: {e}"))
        })
    }

    /// Sink: which categories it accepts.
    pub fn accepts(&mut self) -> Result<Accepts> {
        let out = self.describe_raw(b"[]")?;
        serde_json::from_slice(&out).map_err(|e| PluginError::internal(format!("bad accepts: {e}")))
    }

    /// Source: start after `checkpoint`. Sink: open.
    pub fn start(&mut self, checkpoint: Option<&Checkpoint>) -> Result<()> {
        let mut err = FfiOwnedBytes::empty();
        let ck = checkpoint.map(|c| c.0.as_slice()).unwrap_or(&[]);
        // SAFETY: ABI arguments.
        let code = unsafe {
            (self.d().start)(self.handle, bytes(ck), checkpoint.is_some() as u8, &mut err)
        };
        self.lib.check(code, err).map(|_| ())
    }

    /// Source: waits up to `timeout` for the next batch.
    pub fn poll(&mut self, timeout: Duration) -> Result<Polled> {
        let mut array = FFI_ArrowArray::empty();
        let mut schema = FFI_ArrowSchema::empty();
        let mut meta = FfiOwnedBytes::empty();
        let mut ck = FfiOwnedBytes::empty();
        let mut err = FfiOwnedBytes::empty();
        let ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        // SAFETY: ABI arguments.
        let code = unsafe {
            (self.d().poll)(
                self.handle,
                ms,
                &mut array,
                &mut schema,
                &mut meta,
                &mut ck,
                &mut err,
            )
        };
        let meta = self.lib.take(meta);
        let ck = self.lib.take(ck);
        match self.lib.check(code, err)? {
            STATUS_PENDING => Ok(Polled::Pending),
            STATUS_END => Ok(Polled::End),
            _ => {
                // SAFETY: on OK the plugin filled both Arrow structs.
                let data = unsafe { import_batch(&mut array, &schema)? };
                let meta: EmitMeta = serde_json::from_slice(&meta).map_err(|e| {
                    PluginError::internal(format!("bad batch metadata from plugin: {e}"))
                })?;
                Ok(Polled::Batch(SourceBatch {
                    category: meta.category,
                    source_system: meta.source_system,
                    data,
                    checkpoint: Checkpoint(ck),
                    positions: meta.positions,
                }))
            }
        }
    }

    /// Source: acknowledges everything up to `checkpoint`.
    pub fn ack(&mut self, checkpoint: &Checkpoint) -> Result<()> {
        let mut err = FfiOwnedBytes::empty();
        // SAFETY: ABI arguments.
        let code = unsafe { (self.d().ack)(self.handle, bytes(&checkpoint.0), &mut err) };
        self.lib.check(code, err).map(|_| ())
    }

    /// Transform: processes one batch and returns what it emitted.
    pub fn process(&mut self, batch: &Batch) -> Result<Vec<Emit>> {
        let mut array = FFI_ArrowArray::empty();
        let mut schema = FFI_ArrowSchema::empty();
        // SAFETY: writable Arrow structs owned here.
        unsafe { export_batch(&batch.data, &mut array, &mut schema)? };
        let meta =
            serde_json::to_vec(&batch.meta).map_err(|e| PluginError::internal(e.to_string()))?;
        let mut err = FfiOwnedBytes::empty();
        // SAFETY: ABI arguments; the plugin moves the array out.
        let code =
            unsafe { (self.d().process)(self.handle, &mut array, &schema, bytes(&meta), &mut err) };
        self.lib.check(code, err)?;
        let mut out = Vec::new();
        loop {
            let mut array = FFI_ArrowArray::empty();
            let mut schema = FFI_ArrowSchema::empty();
            let mut meta = FfiOwnedBytes::empty();
            let mut err = FfiOwnedBytes::empty();
            // SAFETY: ABI arguments.
            let code = unsafe {
                (self.d().next_output)(self.handle, &mut array, &mut schema, &mut meta, &mut err)
            };
            let meta = self.lib.take(meta);
            if self.lib.check(code, err)? == STATUS_END {
                return Ok(out);
            }
            // SAFETY: on OK the plugin filled both Arrow structs.
            let data: RecordBatch = unsafe { import_batch(&mut array, &schema)? };
            let meta: EmitMeta = serde_json::from_slice(&meta).map_err(|e| {
                PluginError::internal(format!("bad output metadata from plugin: {e}"))
            })?;
            out.push(Emit {
                port: meta.port,
                category: meta.category,
                data,
            });
        }
    }

    /// Sink: writes batches durably.
    pub fn write(&mut self, batches: &[Batch]) -> Result<()> {
        let mut arrays = Vec::with_capacity(batches.len());
        let mut schemas = Vec::with_capacity(batches.len());
        for b in batches {
            let mut array = FFI_ArrowArray::empty();
            let mut schema = FFI_ArrowSchema::empty();
            // SAFETY: writable Arrow structs owned here.
            unsafe { export_batch(&b.data, &mut array, &mut schema)? };
            arrays.push(array);
            schemas.push(schema);
        }
        let metas: Vec<_> = batches.iter().map(|b| &b.meta).collect();
        let metas = serde_json::to_vec(&metas).map_err(|e| PluginError::internal(e.to_string()))?;
        let mut err = FfiOwnedBytes::empty();
        // SAFETY: ABI arguments; the plugin moves each array out, and what
        // remains in `arrays` is released when the Vec drops.
        let code = unsafe {
            (self.d().write)(
                self.handle,
                arrays.as_mut_ptr(),
                schemas.as_ptr(),
                batches.len(),
                bytes(&metas),
                &mut err,
            )
        };
        self.lib.check(code, err).map(|_| ())
    }

    /// Releases the component's connections.
    pub fn shutdown(&mut self) -> Result<()> {
        let mut err = FfiOwnedBytes::empty();
        // SAFETY: ABI arguments.
        let code = unsafe { (self.d().shutdown)(self.handle, &mut err) };
        self.lib.check(code, err).map(|_| ())
    }
}
