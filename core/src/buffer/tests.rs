//! The buffer against real files: round trips, cursors, deletion, crash
//! recovery, corruption, backpressure, and a model-based property test.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use arrow::array::{Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use std::io::Write;
use std::sync::Arc;

fn batch(first: i64, rows: usize) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("n", DataType::Int64, false),
        Field::new("s", DataType::Utf8, true),
    ]));
    let n: Vec<i64> = (first..first + rows as i64).collect();
    let s: Vec<Option<String>> = n
        .iter()
        .map(|v| (v % 3 != 0).then(|| format!("tick {v}")))
        .collect();
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from(n)),
            Arc::new(StringArray::from(s)),
        ],
    )
    .unwrap()
}

fn opts(segment_bytes: u64, fsync: FsyncPolicy) -> BufferOptions {
    BufferOptions {
        max_bytes: 1 << 30,
        segment_bytes,
        fsync,
    }
}

fn consumers(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

async fn put(b: &Buffer, i: i64) -> u64 {
    let idx = b
        .append(format!("meta {i}").as_bytes(), &batch(i * 10, 10))
        .await
        .unwrap();
    b.wait_durable(idx).await.unwrap();
    idx
}

/// A closed buffer in `dir` holding records 0, 1 and 2, fsynced; its
/// consumer names and options.
async fn three_records(dir: &Path) -> (Vec<String>, BufferOptions) {
    let names = consumers(&["c"]);
    let o = opts(1 << 20, FsyncPolicy::Always);
    let b = Buffer::open(dir, o.clone(), &names).unwrap();
    for i in 0..3 {
        put(&b, i).await;
    }
    (names, o)
}

fn segment_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir.join("segments"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn records_round_trip_across_segments_under_every_fsync_policy() {
    for policy in [
        FsyncPolicy::Always,
        FsyncPolicy::GroupCommit(Duration::from_millis(5)),
        FsyncPolicy::Os,
    ] {
        let d = tempfile::tempdir().unwrap();
        let b = Buffer::open(d.path(), opts(4096, policy), &consumers(&["sink"])).unwrap();
        for i in 0..20 {
            assert_eq!(put(&b, i).await, i as u64);
        }
        assert!(
            segment_files(d.path()).len() > 2,
            "{policy:?}: small segments roll"
        );
        let mut r = b.reader("sink").unwrap();
        for i in 0..20 {
            let rec = r.next().await.unwrap().unwrap();
            assert_eq!(rec.index, i as u64);
            assert_eq!(rec.meta, format!("meta {i}").as_bytes());
            assert_eq!(rec.batch, batch(i * 10, 10));
        }
        b.close().unwrap();
        assert!(
            r.next().await.unwrap().is_none(),
            "a closed buffer ends its readers"
        );
        if policy != FsyncPolicy::Os {
            assert!(b.stats().fsyncs > 0);
        }
    }
}

#[tokio::test]
async fn group_commit_makes_many_appends_durable_with_few_fsyncs() {
    let d = tempfile::tempdir().unwrap();
    let b = Buffer::open(
        d.path(),
        opts(1 << 20, FsyncPolicy::GroupCommit(Duration::from_millis(20))),
        &consumers(&["c"]),
    )
    .unwrap();
    let mut tasks = Vec::new();
    for i in 0..50 {
        let b = Arc::clone(&b);
        tasks.push(tokio::spawn(async move { put(&b, i).await }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let s = b.stats();
    assert!(
        s.fsyncs >= 1 && s.fsyncs < 50,
        "{} fsyncs for 50 concurrent appends",
        s.fsyncs
    );
}

#[tokio::test]
async fn segments_are_deleted_only_when_every_consumer_has_passed_them() {
    let d = tempfile::tempdir().unwrap();
    let b = Buffer::open(
        d.path(),
        opts(2048, FsyncPolicy::Os),
        &consumers(&["fast", "slow"]),
    )
    .unwrap();
    for i in 0..30 {
        put(&b, i).await;
    }
    let segs = segment_files(d.path()).len();
    let mut fast = b.reader("fast").unwrap();
    for _ in 0..30 {
        fast.next().await.unwrap().unwrap();
    }
    fast.commit(30).unwrap();
    assert_eq!(
        segment_files(d.path()).len(),
        segs,
        "the slow consumer still needs them"
    );
    assert_eq!(b.stats().pending_records, 30);
    let mut slow = b.reader("slow").unwrap();
    for _ in 0..15 {
        slow.next().await.unwrap().unwrap();
    }
    slow.commit(15).unwrap();
    let after = segment_files(d.path()).len();
    assert!(after < segs && after > 1, "{segs} -> {after}");
    assert_eq!(b.stats().pending_records, 15);
    let mut slow2 = b.reader("slow").unwrap();
    assert_eq!(
        slow2.next().await.unwrap().unwrap().index,
        15,
        "a new reader starts at the cursor"
    );
}

#[tokio::test]
async fn reopening_resumes_cursors_and_indices() {
    let d = tempfile::tempdir().unwrap();
    let names = consumers(&["a", "b"]);
    {
        let b = Buffer::open(d.path(), opts(4096, FsyncPolicy::Always), &names).unwrap();
        for i in 0..10 {
            put(&b, i).await;
        }
        b.commit("a", 7).unwrap();
    }
    let b = Buffer::open(d.path(), opts(4096, FsyncPolicy::Always), &names).unwrap();
    assert_eq!(put(&b, 10).await, 10);
    assert_eq!(
        b.reader("a").unwrap().next().await.unwrap().unwrap().index,
        7
    );
    assert_eq!(
        b.reader("b").unwrap().next().await.unwrap().unwrap().index,
        0
    );
    let i = inspect(d.path()).unwrap();
    assert_eq!(i.next_index, 11);
    let a = i.cursors.iter().find(|c| c.name == "a").unwrap();
    assert_eq!((a.next, a.pending_records, a.pending_rows), (7, 4, 40));
}

#[tokio::test]
async fn a_torn_tail_is_truncated_on_open_and_nothing_durable_is_lost() {
    let d = tempfile::tempdir().unwrap();
    let (names, _) = three_records(d.path()).await;
    // A crash in the middle of the fourth append.
    let last = segment_files(d.path()).pop().unwrap();
    let mut frame = frame::encode(0, b"torn", &batch(30, 10)).unwrap();
    frame::seal(&mut frame, 3);
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&last)
        .unwrap();
    f.write_all(&frame[..frame.len() / 2]).unwrap();
    drop(f);
    let v = verify(d.path(), false).unwrap();
    let (seg, p) = v.problem.clone().unwrap();
    assert!(p.torn && seg == last && !v.repaired, "{v:?}");
    let b = Buffer::open(d.path(), opts(1 << 20, FsyncPolicy::Always), &names).unwrap();
    assert_eq!(put(&b, 3).await, 3);
    let mut r = b.reader("c").unwrap();
    for i in 0..4 {
        let rec = r.next().await.unwrap().unwrap();
        assert_eq!(
            (rec.index, rec.batch.clone()),
            (i, batch(i as i64 * 10, 10))
        );
    }
    assert!(verify(d.path(), false).unwrap().problem.is_none());
}

#[tokio::test]
async fn a_bad_last_frame_or_a_zero_filled_tail_is_a_torn_tail() {
    let d = tempfile::tempdir().unwrap();
    let (names, o) = three_records(d.path()).await;
    let seg = segment_files(d.path()).pop().unwrap();
    let recs = segment::scan(&seg, 0, true).unwrap().records;
    let last = recs[2];
    // The length reached the disk, the data did not.
    let mut bytes = std::fs::read(&seg).unwrap();
    bytes[(last.offset + last.bytes - 1) as usize] ^= 0x01;
    std::fs::write(&seg, &bytes).unwrap();
    let v = verify(d.path(), false).unwrap();
    let (_, p) = v.problem.clone().unwrap();
    assert!(p.torn && p.offset == last.offset, "{v:?}");
    {
        let b = Buffer::open(d.path(), o.clone(), &names).unwrap();
        assert_eq!(std::fs::metadata(&seg).unwrap().len(), last.offset);
        assert_eq!(put(&b, 2).await, 2, "the torn record's index is reused");
    }
    // The file was extended but its new blocks were never written.
    let end = std::fs::metadata(&seg).unwrap().len();
    let mut f = std::fs::OpenOptions::new().append(true).open(&seg).unwrap();
    f.write_all(&[0u8; 5000]).unwrap();
    drop(f);
    let v = verify(d.path(), true).unwrap();
    let (_, p) = v.problem.clone().unwrap();
    assert!(p.torn && p.offset == end && v.repaired, "{v:?}");
    assert_eq!(std::fs::metadata(&seg).unwrap().len(), end);
    f = std::fs::OpenOptions::new().append(true).open(&seg).unwrap();
    f.write_all(&[0u8; 3]).unwrap();
    drop(f);
    let b = Buffer::open(d.path(), o, &names).unwrap();
    let mut r = b.reader("c").unwrap();
    for i in 0..3 {
        let rec = r.next().await.unwrap().unwrap();
        assert_eq!((rec.index, rec.batch), (i, batch(i as i64 * 10, 10)));
    }
    assert_eq!(put(&b, 3).await, 3);
}

#[tokio::test]
async fn a_bad_checksum_with_records_after_it_refuses_to_open() {
    let d = tempfile::tempdir().unwrap();
    let (names, o) = three_records(d.path()).await;
    let seg = segment_files(d.path()).pop().unwrap();
    let victim = segment::scan(&seg, 0, true).unwrap().records[1];
    let mut bytes = std::fs::read(&seg).unwrap();
    bytes[(victim.offset + FRAME_OFFSET_INTO_PAYLOAD) as usize] ^= 0x80;
    std::fs::write(&seg, &bytes).unwrap();
    match Buffer::open(d.path(), o, &names) {
        Err(BufferError::Corrupt {
            segment, offset, ..
        }) => assert_eq!((segment, offset), (seg.clone(), victim.offset)),
        Err(e) => panic!("expected corruption, got {e}"),
        Ok(_) => panic!("a buffer with a bad record mid-segment opened"),
    }
    let v = verify(d.path(), true).unwrap();
    let (s, p) = v.problem.unwrap();
    assert_eq!(
        (s, p.offset, p.torn, v.repaired),
        (seg.clone(), victim.offset, false, false)
    );
    assert_eq!(std::fs::read(&seg).unwrap(), bytes, "nothing was cut");
}

/// Somewhere inside the payload's metadata, past the frame header and prefix.
const FRAME_OFFSET_INTO_PAYLOAD: u64 = 8 + 30;

#[tokio::test]
async fn a_flipped_byte_in_a_sealed_segment_is_reported_and_never_read_past() {
    let d = tempfile::tempdir().unwrap();
    let names = consumers(&["c"]);
    let b = Buffer::open(d.path(), opts(2048, FsyncPolicy::Always), &names).unwrap();
    for i in 0..12 {
        put(&b, i).await;
    }
    let sealed = segment_files(d.path())[0].clone();
    let scan = segment::scan(&sealed, 0, true).unwrap();
    assert!(scan.records.len() >= 2);
    let victim = scan.records[1];
    let mut bytes = std::fs::read(&sealed).unwrap();
    bytes[(victim.offset + victim.bytes - 3) as usize] ^= 0x40;
    std::fs::write(&sealed, &bytes).unwrap();
    let v = verify(d.path(), true).unwrap();
    let (seg, p) = v.problem.unwrap();
    assert_eq!(
        (seg, p.offset, p.torn, v.repaired),
        (sealed.clone(), victim.offset, false, false)
    );
    assert!(p.reason.contains("checksum"), "{}", p.reason);
    assert_eq!(
        std::fs::read(&sealed).unwrap(),
        bytes,
        "verify --repair leaves real corruption alone"
    );
    let mut r = b.reader("c").unwrap();
    assert_eq!(r.next().await.unwrap().unwrap().index, 0);
    for _ in 0..2 {
        match r.next().await {
            Err(BufferError::Corrupt {
                segment, offset, ..
            }) => assert_eq!((segment, offset), (sealed.clone(), victim.offset)),
            other => panic!("expected corruption, got {other:?}"),
        }
    }
    assert_eq!(
        r.position(),
        1,
        "the reader does not move past a bad record"
    );
}

#[tokio::test]
async fn a_full_buffer_holds_appends_back_until_a_consumer_commits() {
    let d = tempfile::tempdir().unwrap();
    let frame_size = frame::encode(0, b"meta 0", &batch(0, 10)).unwrap().len() as u64;
    let o = BufferOptions {
        max_bytes: frame_size * 3,
        segment_bytes: 1 << 20,
        fsync: FsyncPolicy::Os,
    };
    let b = Buffer::open(d.path(), o, &consumers(&["c"])).unwrap();
    for i in 0..3 {
        put(&b, i).await;
    }
    let b2 = Arc::clone(&b);
    let mut blocked = tokio::spawn(async move { put(&b2, 3).await });
    assert!(
        tokio::time::timeout(Duration::from_millis(200), &mut blocked)
            .await
            .is_err(),
        "the fourth append must wait"
    );
    assert!(b.stats().blocked_for.is_some());
    assert_eq!(b.stats().pending_records, 3, "nothing was dropped");
    let mut r = b.reader("c").unwrap();
    r.next().await.unwrap().unwrap();
    r.commit(1).unwrap();
    let idx = tokio::time::timeout(Duration::from_secs(10), blocked)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(idx, 3);
    assert!(b.stats().blocked_for.is_none());
}

mod model {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        Append(usize),
        Read(usize),
        Commit(usize),
        Reopen,
        /// A crash mid-append leaves the tail: cut at a byte (1..255 of 256)
        /// of the frame (shape 0), the whole frame with its data garbled
        /// (shape 1), or zeros (shape 2).
        CrashMidAppend(u8, u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (1usize..20).prop_map(Op::Append),
            3 => (0usize..2).prop_map(Op::Read),
            2 => (0usize..2).prop_map(Op::Commit),
            1 => Just(Op::Reopen),
            1 => (1u8..255, 0u8..3).prop_map(|(cut, shape)| Op::CrashMidAppend(cut, shape)),
        ]
    }

    /// The simple truth: every appended batch's row count, each consumer's
    /// committed cursor and read position.
    #[derive(Default)]
    struct Model {
        rows: Vec<usize>,
        committed: [u64; 2],
        read: [u64; 2],
    }

    const NAMES: [&str; 2] = ["x", "y"];

    async fn run(ops: Vec<Op>) {
        let d = tempfile::tempdir().unwrap();
        let o = opts(1500, FsyncPolicy::Os);
        let names = consumers(&NAMES);
        let mut b = Buffer::open(d.path(), o.clone(), &names).unwrap();
        let mut readers: Vec<Reader> = NAMES.iter().map(|n| b.reader(n).unwrap()).collect();
        let mut m = Model::default();
        for op in ops {
            match op {
                Op::Append(rows) => {
                    let idx = b
                        .append(b"m", &batch(m.rows.len() as i64, rows))
                        .await
                        .unwrap();
                    b.wait_durable(idx).await.unwrap();
                    assert_eq!(idx, m.rows.len() as u64);
                    m.rows.push(rows);
                }
                Op::Read(c) => {
                    if m.read[c] < m.rows.len() as u64 {
                        let rec = readers[c].next().await.unwrap().unwrap();
                        assert_eq!(rec.index, m.read[c]);
                        assert_eq!(rec.batch.num_rows(), m.rows[rec.index as usize]);
                        m.read[c] += 1;
                    }
                }
                Op::Commit(c) => {
                    readers[c].commit(m.read[c]).unwrap();
                    m.committed[c] = m.committed[c].max(m.read[c]);
                }
                Op::Reopen | Op::CrashMidAppend(..) => {
                    drop(readers);
                    drop(b);
                    if let Op::CrashMidAppend(cut, shape) = op
                        && let Some(last) = segment_files(d.path()).pop()
                    {
                        let mut frame = frame::encode(0, b"m", &batch(0, 5)).unwrap();
                        frame::seal(&mut frame, m.rows.len() as u64);
                        let keep = (frame.len() * cut as usize / 256).max(1);
                        let tail = match shape {
                            0 => frame[..keep].to_vec(),
                            1 => {
                                frame[keep.max(8 + 28)] ^= 0x10;
                                frame
                            }
                            _ => vec![0u8; keep],
                        };
                        let mut f = std::fs::OpenOptions::new()
                            .append(true)
                            .open(&last)
                            .unwrap();
                        f.write_all(&tail).unwrap();
                    }
                    b = Buffer::open(d.path(), o.clone(), &names).unwrap();
                    readers = NAMES.iter().map(|n| b.reader(n).unwrap()).collect();
                    m.read = m.committed;
                    for (c, r) in readers.iter().enumerate() {
                        assert_eq!(r.position(), m.committed[c]);
                    }
                }
            }
            let s = b.stats();
            let low = m.committed.iter().min().copied().unwrap_or(0);
            assert_eq!(s.pending_records, m.rows.len() as u64 - low);
        }
        drop(readers);
        drop(b);
        let i = inspect(d.path()).unwrap();
        assert_eq!(i.next_index, m.rows.len() as u64);
        let retained: u64 = i.segments.iter().map(|s| s.records).sum();
        let first = i.segments.first().map_or(0, |s| s.first);
        assert_eq!(first + retained, m.rows.len() as u64);
        let low = m.committed.iter().min().copied().unwrap_or(0);
        assert!(first <= low, "a segment someone still needs was deleted");
        let v = verify(d.path(), false).unwrap();
        assert!(v.problem.is_none(), "{v:?}");
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
        #[test]
        fn the_buffer_behaves_like_its_model(ops in proptest::collection::vec(op(), 1..60)) {
            tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(run(ops));
        }
    }
}
