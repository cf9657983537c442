//! What to rewrite: the live data files of the current snapshot, with what
//! their manifest entries say, grouped by partition; and the rule that picks
//! the partitions worth rewriting.

use crate::catalog::ice;
use iceberg::spec::{DataContentType, DataFile, ManifestContentType, Struct};
use iceberg::table::Table;
use qdp_sdk::{PluginError, Result};
use std::collections::HashMap;

/// One live data file and the bookkeeping its manifest entry carries, which
/// the new manifest must repeat unchanged (Iceberg spec: an EXISTING or
/// DELETED entry keeps its snapshot id and sequence numbers).
#[derive(Debug, Clone)]
pub(crate) struct Live {
    pub file: DataFile,
    /// The partition spec of the file's manifest.
    pub spec_id: i32,
    pub snapshot_id: i64,
    pub sequence_number: i64,
    pub file_sequence_number: i64,
    /// The row id of the file's first row (v3 row lineage), explicit in the
    /// entry or inherited from its manifest; `None` without lineage.
    pub first_row_id: Option<i64>,
}

/// One partition chosen for rewriting.
#[derive(Debug, Clone)]
pub(crate) struct Partition {
    pub spec_id: i32,
    pub value: Struct,
    /// Indices into [`Plan::live`] of the files to replace.
    pub files: Vec<usize>,
}

/// Everything the current snapshot holds and what to rewrite of it.
#[derive(Debug)]
pub(crate) struct Plan {
    pub live: Vec<Live>,
    pub chosen: Vec<Partition>,
}

/// Reads every manifest of the current snapshot. A table with delete files
/// is refused: rewriting data files under position or equality deletes
/// would need the deletes applied, and qdp never writes any.
pub(crate) async fn live_files(t: &Table) -> Result<Vec<Live>> {
    let Some(snapshot) = t.metadata().current_snapshot() else {
        return Ok(Vec::new());
    };
    let list = t
        .manifest_list_reader(snapshot)
        .load()
        .await
        .map_err(ice("reading the manifest list"))?;
    let mut live = Vec::new();
    for m in list.entries() {
        let manifest = m
            .load_manifest(t.file_io())
            .await
            .map_err(ice("reading a manifest"))?;
        // First-row-id inheritance: each live file without its own id takes
        // the manifest's next one, advanced by the file's row count.
        let mut next_row_id = m.first_row_id.and_then(|f| i64::try_from(f).ok());
        for e in manifest.entries().iter().filter(|e| e.is_alive()) {
            if m.content == ManifestContentType::Deletes
                || e.content_type() != DataContentType::Data
            {
                return Err(PluginError::config(format!(
                    "the table has delete files ({}): compaction rewrites tables of data files only",
                    e.file_path()
                )));
            }
            let first_row_id = match (e.data_file.first_row_id(), next_row_id) {
                (Some(id), _) => Some(id),
                (None, Some(id)) => {
                    next_row_id = Some(id + i64::try_from(e.record_count()).unwrap_or(i64::MAX));
                    Some(id)
                }
                (None, None) => None,
            };
            let missing = || {
                PluginError::internal(format!(
                    "manifest entry of {} has no snapshot id or sequence number",
                    e.file_path()
                ))
            };
            live.push(Live {
                file: e.data_file.clone(),
                spec_id: m.partition_spec_id,
                snapshot_id: e.snapshot_id().ok_or_else(missing)?,
                sequence_number: e.sequence_number().ok_or_else(missing)?,
                file_sequence_number: e.file_sequence_number.ok_or_else(missing)?,
                first_row_id,
            });
        }
    }
    Ok(live)
}

/// Groups the live files by (partition spec, partition value) and keeps the
/// partitions [`choose`] picks, with the files it picks.
pub(crate) fn plan(live: Vec<Live>, target: u64) -> Plan {
    // In order of first appearance, so runs rewrite partitions in a stable order.
    let mut groups: Vec<(i32, Struct, Vec<usize>)> = Vec::new();
    let mut index: HashMap<(i32, &Struct), usize> = HashMap::new();
    for (i, l) in live.iter().enumerate() {
        let key = (l.spec_id, l.file.partition());
        match index.get(&key) {
            Some(&g) => groups[g].2.push(i),
            None => {
                index.insert(key, groups.len());
                groups.push((l.spec_id, l.file.partition().clone(), vec![i]));
            }
        }
    }
    let mut chosen = Vec::new();
    for (spec_id, value, files) in groups {
        let sizes: Vec<u64> = files
            .iter()
            .map(|&i| live[i].file.file_size_in_bytes())
            .collect();
        let picked: Vec<usize> = choose(&sizes, target)
            .into_iter()
            .map(|k| files[k])
            .collect();
        if !picked.is_empty() {
            chosen.push(Partition {
                spec_id,
                value,
                files: picked,
            });
        }
    }
    Plan { live, chosen }
}

/// The rule: a file is small when it is under 3/4 of the target size (a
/// file the writer rolled at the target, or nearly, is left alone). A
/// partition's small files are rewritten when there are at least two and
/// they fit in fewer files at the target size, so every rewrite lowers the
/// file count and a second run right after finds nothing to do. Returns the
/// indices of the files to rewrite, or none.
pub(crate) fn choose(sizes: &[u64], target: u64) -> Vec<usize> {
    let small: Vec<usize> = (0..sizes.len())
        .filter(|&i| sizes[i] < target / 4 * 3)
        .collect();
    let total: u64 = small.iter().map(|&i| sizes[i]).sum();
    let after = total.div_ceil(target.max(1)).max(1);
    if small.len() >= 2 && after < small.len() as u64 {
        small
    } else {
        Vec::new()
    }
}

/// Rows and bytes of a set of files.
pub(crate) fn totals<'a>(files: impl IntoIterator<Item = &'a DataFile>) -> (usize, u64, u64) {
    files.into_iter().fold((0, 0, 0), |(n, rows, bytes), f| {
        (
            n + 1,
            rows + f.record_count(),
            bytes + f.file_size_in_bytes(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::choose;

    const MB: u64 = 1024 * 1024;

    #[test]
    fn small_files_are_merged_when_that_lowers_the_count() {
        let t = 128 * MB;
        // Many small files: all of them.
        assert_eq!(choose(&[MB, 2 * MB, 3 * MB], t), [0, 1, 2]);
        // Large files stay; the small ones around them are merged.
        assert_eq!(choose(&[130 * MB, MB, 120 * MB, MB], t), [1, 3]);
    }

    #[test]
    fn nothing_is_rewritten_when_it_would_not_lower_the_count() {
        let t = 128 * MB;
        assert!(choose(&[], t).is_empty());
        assert!(choose(&[MB], t).is_empty(), "one small file alone");
        assert!(choose(&[130 * MB, 100 * MB, MB], t).is_empty());
        // Two files of 90 MB would still be two files of the target size.
        assert!(choose(&[90 * MB, 90 * MB], t).is_empty());
        // Three of 60 MB make two.
        assert_eq!(choose(&[60 * MB, 60 * MB, 60 * MB], t), [0, 1, 2]);
    }
}
