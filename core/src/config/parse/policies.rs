//! The `buffer` and `parallelism` tables of a component.

use super::Parser;
use super::values::join;
use crate::config::model::*;
use crate::config::size::parse_size;
use std::path::PathBuf;
use toml_edit::Table;

impl Parser<'_> {
    /// `parallelism = N | "auto" | { min = A, max = B }` (sinks only).
    pub(super) fn parallelism(&mut self, table: &Table, key: &str, kind: Kind) -> Parallelism {
        let Some(item) = table.get("parallelism") else {
            return Parallelism::default();
        };
        let pkey = format!("{key}.parallelism");
        let loc = self.key_loc(table, "parallelism");
        if kind != Kind::Sink {
            self.error(
                loc,
                pkey,
                "only sinks run parallel writers",
                "remove `parallelism`, or set it on the sink this component feeds",
            );
            return Parallelism::default();
        }
        const FIX: &str =
            "write parallelism = 4 (fixed), \"auto\" (1 to 4 writers) or { min = 1, max = 8 }";
        if let Some(n) = item.as_integer() {
            if (1..=256).contains(&n) {
                return Parallelism::Fixed(n as usize);
            }
            self.error(loc, pkey, "must be between 1 and 256", FIX);
            return Parallelism::default();
        }
        if item.as_str() == Some("auto") {
            return Parallelism::AUTO;
        }
        if item.is_str() {
            self.error(loc, pkey, "unknown value", FIX);
            return Parallelism::default();
        }
        if let Some(t) = self.table(table, "parallelism", key) {
            let t = &*t;
            self.unknown_keys(t, &pkey, &["min", "max"]);
            let min = self.positive(t, "min", &pkey).unwrap_or(1);
            let max = self.positive(t, "max", &pkey).unwrap_or(min.max(4));
            if min > max || max > 256 {
                self.error(loc, pkey, "needs 1 <= min <= max <= 256", FIX);
                return Parallelism::default();
            }
            return Parallelism::Auto { min, max };
        }
        Parallelism::default()
    }

    pub(super) fn buffer(&mut self, table: &Table, key: &str, kind: Kind) -> Option<BufferConfig> {
        let t = self.table(table, "buffer", key)?;
        let t = &*t;
        let bkey = format!("{key}.buffer");
        if kind == Kind::Sink {
            let loc = self.key_loc(table, "buffer");
            self.error(
                loc,
                bkey,
                "a buffer holds a component's output, and a sink has none",
                "put the buffer on the source or transform that feeds this sink",
            );
            return None;
        }
        self.unknown_keys(
            t,
            &bkey,
            &["dir", "max_bytes", "segment_bytes", "fsync", "group_commit"],
        );
        let mut b = BufferConfig {
            dir: self.string(t, "dir", &bkey).map(PathBuf::from),
            options: crate::buffer::BufferOptions::default(),
        };
        if let Some(n) = self.size(t, "max_bytes", &bkey) {
            b.options.max_bytes = n;
        }
        if let Some(n) = self.size(t, "segment_bytes", &bkey) {
            b.options.segment_bytes = n;
        }
        let every = self
            .duration(t, "group_commit", &bkey)
            .unwrap_or(std::time::Duration::from_millis(10));
        b.options.fsync = match self.string(t, "fsync", &bkey).as_deref() {
            None | Some("group") => crate::buffer::FsyncPolicy::GroupCommit(every),
            Some("always") => crate::buffer::FsyncPolicy::Always,
            Some("os") => crate::buffer::FsyncPolicy::Os,
            Some(other) => {
                let loc = self.key_loc(t, "fsync");
                self.error(
                    loc,
                    format!("{bkey}.fsync"),
                    format!("`{other}` is not an fsync policy"),
                    "use \"group\" (every group_commit interval), \"always\" or \"os\"",
                );
                crate::buffer::FsyncPolicy::GroupCommit(every)
            }
        };
        Some(b)
    }

    pub(super) fn size(&mut self, t: &Table, key: &str, prefix: &str) -> Option<u64> {
        let v = self.json(t.get(key)?, &join(prefix, key))?;
        let parsed = match &v {
            serde_json::Value::Number(n) => n
                .as_u64()
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("{n} is not a positive size")),
            serde_json::Value::String(s) => parse_size(s),
            _ => Err("must be a size".to_string()),
        };
        match parsed {
            Ok(n) => Some(n),
            Err(e) => {
                let loc = self.key_loc(t, key);
                self.error(
                    loc,
                    join(prefix, key),
                    e,
                    "write a size such as \"512MiB\" or a number of bytes",
                );
                None
            }
        }
    }
}
