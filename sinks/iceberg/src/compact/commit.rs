//! The `replace` snapshot, built from the crate's public pieces (iceberg
//! 0.10 has no rewrite action, and its `TableCommit` cannot be built from
//! outside): one manifest per partition spec holding every live file, a
//! manifest list, the snapshot, and the next metadata file. Nothing here is
//! visible to readers until the catalog pointer is swapped.

use super::plan::{Live, Plan};
use crate::catalog::ice;
use iceberg::MetadataLocation;
use iceberg::spec::{
    DataFile, DataFileBuilder, FormatVersion, MAIN_BRANCH, ManifestListWriter,
    ManifestWriterBuilder, Operation, Snapshot, SnapshotReference, SnapshotRetention,
    SnapshotSummaryCollector, Summary, TableMetadata,
};
use iceberg::table::Table;
use qdp_sdk::{PluginError, Result};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{BuildHasher, RandomState};
use std::str::FromStr;

/// The summary key that marks a compaction snapshot.
pub const COMPACTION_KEY: &str = "qdp.compaction";

/// Files of one partition spec in the new snapshot.
#[derive(Default)]
struct SpecFiles<'a> {
    added: Vec<DataFile>,
    kept: Vec<&'a Live>,
    replaced: Vec<&'a Live>,
}

/// Writes the manifests, manifest list and metadata file of the replace
/// snapshot (`added[i]` replaces the files of `plan.chosen[i]`) and returns
/// the new metadata file's location.
pub(crate) async fn write(
    t: &Table,
    plan: &Plan,
    added: &[Vec<DataFile>],
    tag: &str,
) -> Result<String> {
    let meta = t.metadata();
    let v3 = match meta.format_version() {
        FormatVersion::V1 => {
            return Err(PluginError::config(
                "format v1 tables have no sequence numbers: compaction needs format v2 or v3",
            ));
        }
        FormatVersion::V2 => false,
        FormatVersion::V3 => true,
    };
    let (Some(current), Some(old)) = (meta.current_snapshot(), t.metadata_location()) else {
        return Err(PluginError::internal(
            "compacting a table without a snapshot",
        ));
    };
    let id = snapshot_id(meta);
    let replaced: HashSet<usize> = plan.chosen.iter().flat_map(|p| p.files.clone()).collect();
    let mut specs: BTreeMap<i32, SpecFiles> = BTreeMap::new();
    for (p, files) in plan.chosen.iter().zip(added) {
        let s = specs.entry(p.spec_id).or_default();
        s.added.extend(files.iter().cloned());
    }
    for (i, l) in plan.live.iter().enumerate() {
        let s = specs.entry(l.spec_id).or_default();
        if replaced.contains(&i) {
            s.replaced.push(l);
        } else {
            s.kept.push(l);
        }
    }

    let schema = meta.current_schema().clone();
    let mut summary = SnapshotSummaryCollector::default();
    let mut manifests = Vec::with_capacity(specs.len());
    let (mut total_files, mut total_rows, mut total_bytes) = (0u64, 0u64, 0u64);
    for (n, (spec_id, files)) in specs.into_iter().enumerate() {
        let spec = meta.partition_spec_by_id(spec_id).ok_or_else(|| {
            PluginError::internal(format!("partition spec {spec_id} is not in the table"))
        })?;
        let path = format!("{}/metadata/{tag}-m{n}.avro", meta.location());
        let out = t.file_io().new_output(&path).map_err(ice("manifest"))?;
        let b = ManifestWriterBuilder::new(out, Some(id), schema.clone(), spec.as_ref().clone());
        let mut w = if v3 {
            b.build_v3_data()
        } else {
            b.build_v2_data()
        };
        for f in files.added {
            summary.add_file(&f, schema.clone(), spec.clone());
            total_files += 1;
            total_rows += f.record_count();
            total_bytes += f.file_size_in_bytes();
            // A negative number: the entry inherits the new snapshot's.
            w.add_file(f, -1).map_err(ice("manifest entry"))?;
        }
        for l in files.kept {
            total_files += 1;
            total_rows += l.file.record_count();
            total_bytes += l.file.file_size_in_bytes();
            w.add_existing_file(
                pinned(l)?,
                l.snapshot_id,
                l.sequence_number,
                Some(l.file_sequence_number),
            )
            .map_err(ice("manifest entry"))?;
        }
        for l in files.replaced {
            summary.remove_file(&l.file, schema.clone(), spec.clone());
            w.add_delete_file(
                l.file.clone(),
                l.sequence_number,
                Some(l.file_sequence_number),
            )
            .map_err(ice("manifest entry"))?;
        }
        manifests.push(w.write_manifest_file().await.map_err(ice("manifest"))?);
    }

    let list_path = format!("{}/metadata/snap-{id}-0-{tag}.avro", meta.location());
    let seq = meta.next_sequence_number();
    let first_row_id = meta.next_row_id();
    let out = t
        .file_io()
        .new_output(&list_path)
        .map_err(ice("manifest list"))?
        .writer()
        .await
        .map_err(ice("manifest list"))?;
    let parent = meta.current_snapshot_id();
    let mut list = if v3 {
        ManifestListWriter::v3(out, id, parent, seq, Some(first_row_id))
    } else {
        ManifestListWriter::v2(out, id, parent, seq)
    };
    list.add_manifests(manifests.into_iter())
        .map_err(ice("manifest list"))?;
    let next_row_id = list.next_row_id();
    list.close().await.map_err(ice("manifest list"))?;

    // qdp's own keys (the sink's idempotence marks above all) travel on:
    // the sink finds its marks in the newest snapshot that has them.
    let mut props: HashMap<String, String> = current
        .summary()
        .additional_properties
        .iter()
        .filter(|(k, _)| k.starts_with("qdp."))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    props.insert(COMPACTION_KEY.into(), "true".into());
    props.extend(summary.build());
    for (k, v) in [
        ("total-data-files", total_files),
        ("total-records", total_rows),
        ("total-files-size", total_bytes),
        ("total-delete-files", 0),
        ("total-position-deletes", 0),
        ("total-equality-deletes", 0),
    ] {
        props.insert(k.into(), v.to_string());
    }
    let snapshot = Snapshot::builder()
        .with_manifest_list(list_path)
        .with_snapshot_id(id)
        .with_parent_snapshot_id(parent)
        .with_sequence_number(seq)
        .with_summary(Summary {
            operation: Operation::Replace,
            additional_properties: props,
        })
        .with_schema_id(meta.current_schema_id())
        .with_timestamp_ms(chrono::Utc::now().timestamp_millis());
    let snapshot = match next_row_id {
        Some(next) => snapshot
            .with_row_range(first_row_id, next.saturating_sub(first_row_id))
            .build(),
        None => snapshot.build(),
    };

    let next = meta
        .clone()
        .into_builder(Some(old.to_string()))
        .add_snapshot(snapshot)
        .and_then(|b| {
            b.set_ref(
                MAIN_BRANCH,
                SnapshotReference::new(id, SnapshotRetention::branch(None, None, None)),
            )
        })
        .and_then(|b| b.build())
        .map_err(ice("new table metadata"))?
        .metadata;
    // `<n+1>-<uuid>.metadata.json` next to the old file, as the catalogs name it.
    let location = MetadataLocation::from_str(old)
        .map_err(ice("metadata location"))?
        .with_next_version()
        .with_new_metadata(&next);
    next.write_to(t.file_io(), &location)
        .await
        .map_err(ice("writing table metadata"))?;
    Ok(location.to_string())
}

/// A snapshot id no snapshot of the table has: random (std's `RandomState`
/// is seeded by the OS), positive, as the Iceberg spec asks.
fn snapshot_id(meta: &TableMetadata) -> i64 {
    loop {
        let r = RandomState::new().hash_one(std::time::SystemTime::now()) >> 1;
        let id = i64::try_from(r).unwrap_or(1);
        if id > 0 && meta.snapshot_by_id(id).is_none() {
            return id;
        }
    }
}

/// The file with its row lineage written out: an EXISTING entry in a new
/// manifest would otherwise inherit row ids from that manifest, and rows
/// that were not rewritten would change ids.
fn pinned(l: &Live) -> Result<DataFile> {
    let f = &l.file;
    let Some(first_row_id) = l.first_row_id.filter(|_| f.first_row_id().is_none()) else {
        return Ok(f.clone());
    };
    let mut b = DataFileBuilder::default();
    b.content(f.content_type())
        .file_path(f.file_path().to_string())
        .file_format(f.file_format())
        .partition(f.partition().clone())
        .record_count(f.record_count())
        .file_size_in_bytes(f.file_size_in_bytes())
        .column_sizes(f.column_sizes().clone())
        .value_counts(f.value_counts().clone())
        .null_value_counts(f.null_value_counts().clone())
        .nan_value_counts(f.nan_value_counts().clone())
        .lower_bounds(f.lower_bounds().clone())
        .upper_bounds(f.upper_bounds().clone())
        .key_metadata(f.key_metadata().map(<[u8]>::to_vec))
        .split_offsets(f.split_offsets().map(<[i64]>::to_vec))
        .equality_ids(f.equality_ids())
        .first_row_id(Some(first_row_id))
        .partition_spec_id(l.spec_id)
        .referenced_data_file(f.referenced_data_file())
        .content_offset(f.content_offset())
        .content_size_in_bytes(f.content_size_in_bytes());
    if let Some(order) = f.sort_order_id() {
        b.sort_order_id(order);
    }
    b.build()
        .map_err(|e| PluginError::internal(format!("data file {}: {e}", f.file_path())))
}
