//! The search index of a large load, built on a second thread and grafted into the file.
//!
//! A load's FTS5 documents cost the writer's thread as much as a fifth of the load (at 1M
//! users, 11 of 49 s): tokenizing, the in-memory term hash, and writing and merging segments.
//! None of that needs the database file. So a batch whose queued documents reach
//! [`SIDE_FROM`] hands them to a [`SideIndex`]: a thread with its own in-memory database and an
//! FTS5 table of the same definition, which indexes them while the writer inserts the rows and
//! merges the result into one segment. At the batch's commit the writer copies that segment
//! into its own index (a few thousand pages and one row per document), inside the same
//! transaction, so it commits or rolls back with the rows.
//!
//! Grafting writes FTS5's shadow tables directly, in the format of the SQLite version this
//! crate is built with (`fts5_index.c`):
//! - `user_fts_data` row 10 is the structure record: a 4-byte cookie, the `V2` mark of
//!   `contentless_delete` tables, then varints — levels, segments, a write counter, and per
//!   level the number of segments being merged, the number of segments and per segment its ID,
//!   first and last page, origin range, tombstone pages and entries, and entries.
//! - Every page of segment `s` has a rowid in `[s << 37, (s + 1) << 37)`, so a segment moves to
//!   another ID by shifting its rowids; `user_fts_idx` names the segment by ID.
//! - Row 1 holds the totals (documents, then tokens per column).
//! - `user_fts_docsize` holds each document's size and origin. A delete adds a tombstone to
//!   every segment whose origin range holds the document's origin, and merging a level gives
//!   the output the range from its first segment's start to its last segment's end, so origins
//!   must not decrease from the top level down to level 0. The grafted segment therefore goes
//!   to the oldest place, a new top level (or the front of the top level once there are
//!   [`MAX_LEVELS`]), with the range `[1, 1]`, and its documents get origin 1: ranges stay
//!   ordered, a merge still covers them, and a delete finds their segment (plus, harmlessly,
//!   the old segments whose range starts at 1). Their rowids are new, so no older segment holds
//!   another version of them.
//! - FTS5 caches the structure and the totals per connection: the writer flushes its own
//!   pending terms before the graft, and a `merge` of nothing after it drops the cache and
//!   reads the new structure back, refusing a record it cannot decode.
//!
//! The tests check the result against an index written the ordinary way, deletes and later
//! merges included, so a change of format in a new SQLite fails them instead of a load.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;

use profile_core::ports::StoreResult;
use profile_core::StoreError;
use rusqlite::types::{ToSqlOutput, Value as Sql};
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};

use crate::error::backend;

/// Queued documents from which a batch indexes them on a second thread.
pub(crate) const SIDE_FROM: usize = 2_000;

/// Levels a graft may add a new top level up to; beyond, it joins the top level.
const MAX_LEVELS: usize = 16;

const STRUCTURE_ROW: i64 = 10;
const TOTALS_ROW: i64 = 1;
/// The `V2` mark of a structure record with origins (`FTS5_STRUCTURE_V2`).
const V2: [u8; 4] = [0xFF, 0x00, 0x00, 0x01];
/// Bits of a `user_fts_data` rowid below the segment ID.
const SEGMENT_SHIFT: u32 = 37;
/// Tombstone pages of segment `s` have the rowids of segment `s + TOMBSTONES`.
const TOMBSTONES: u64 = 1 << 16;
/// Documents' sizes copied a statement.
const SIZES_PER_INSERT: usize = 64;

type Docs = Vec<(i64, String)>;

/// An FTS5 index of search documents being built on a second thread.
pub(crate) struct SideIndex {
    state: State,
}

enum State {
    Building { send: Option<Sender<Docs>>, stop: Arc<AtomicBool>, thread: Option<JoinHandle<Built>> },
    Done(Connection),
    Failed(String),
}

type Built = Result<Connection, String>;

impl SideIndex {
    /// Starts a thread with an in-memory FTS5 table defined as the writer's `user_fts`.
    pub(crate) fn start(main: &Connection) -> StoreResult<SideIndex> {
        let definition: String = main
            .query_row("SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'user_fts'", [], |r| {
                r.get(0)
            })
            .map_err(backend)?;
        // Settings that shape the index (a page size, say) must be the same on both sides.
        let settings = main
            .prepare("SELECT k, v FROM user_fts_config WHERE k <> 'version'")
            .and_then(|mut s| {
                s.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, Sql>(1)?)))?.collect()
            })
            .map_err(backend)?;
        let (send, receive) = channel();
        let stop = Arc::new(AtomicBool::new(false));
        let halt = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("cardfile-side-index".into())
            .spawn(move || build(&definition, settings, &receive, &halt).map_err(|e| e.to_string()))
            .map_err(|e| StoreError::Backend(format!("cannot start the search-index thread: {e}")))?;
        Ok(SideIndex { state: State::Building { send: Some(send), stop, thread: Some(thread) } })
    }

    /// Hands documents (in ascending rowid order) to the thread. Gives them back once the
    /// index is sealed or finished (grafted, and the unit that grafted it rolled back).
    pub(crate) fn add(&mut self, docs: Docs) -> Result<(), Docs> {
        match &self.state {
            State::Building { send: Some(send), .. } => send.send(docs).map_err(|e| e.0),
            _ => Err(docs),
        }
    }

    /// Tells the thread that no more documents come, so that it merges its index while the
    /// caller does other work before the graft.
    pub(crate) fn seal(&mut self) {
        if let State::Building { send, .. } = &mut self.state {
            drop(send.take());
        }
    }

    /// Waits for the thread to index everything it was given and merge it into one segment.
    fn finish(&mut self) -> StoreResult<&Connection> {
        if let State::Building { send, thread, .. } = &mut self.state {
            drop(send.take());
            let built = match thread.take().map(JoinHandle::join) {
                Some(Ok(built)) => built,
                Some(Err(_)) => Err("the search-index thread panicked".into()),
                None => Err("the search-index thread is gone".into()),
            };
            self.state = match built {
                Ok(conn) => State::Done(conn),
                Err(e) => State::Failed(e),
            };
        }
        match &self.state {
            State::Done(conn) => Ok(conn),
            State::Failed(e) => Err(StoreError::Backend(format!("building the search index: {e}"))),
            State::Building { .. } => Err(StoreError::Backend("the search index is unfinished".into())),
        }
    }

    /// Copies the finished index into `main`'s `user_fts`, inside `main`'s open transaction.
    /// `many`: copy document sizes many a statement (no savepoint is open, see
    /// `users::ROWS_PER_INSERT`). The index stays, so a graft rolled back can be done again.
    pub(crate) fn graft(&mut self, main: &Connection, many: bool) -> StoreResult<()> {
        let side = self.finish()?;
        graft(side, main, many).map_err(|e| match e {
            Graft::Sql(e) => backend(e),
            Graft::Format(what) => StoreError::Backend(format!("search index: {what}")),
        })
    }
}

impl Drop for SideIndex {
    fn drop(&mut self) {
        if let State::Building { send, stop, thread } = &mut self.state {
            stop.store(true, Ordering::Relaxed);
            drop(send.take());
            if let Some(t) = thread.take() {
                let _ = t.join();
            }
        }
    }
}

/// The thread's work: index every document received, then merge the index into one segment.
fn build(
    definition: &str,
    settings: Vec<(String, Sql)>,
    receive: &Receiver<Docs>,
    stop: &AtomicBool,
) -> rusqlite::Result<Connection> {
    yield_to_writer();
    let conn = Connection::open_in_memory()?;
    conn.execute_batch(&format!("PRAGMA journal_mode=OFF; {definition};"))?;
    for (key, value) in settings {
        conn.execute("INSERT INTO user_fts (user_fts, rank) VALUES (?1, ?2)", params![key, value])?;
    }
    // Merging as it goes is wasted here: everything is merged once at the end. The term hash
    // stays small (2 MiB, FTS5's default is 1): each token is a lookup in it, and in a hash of
    // 64 MiB nearly every lookup missed the CPU's caches. Measured at 1M users, the thread's
    // CPU time: 7.7–13.4 s at 1–2 MiB against 14.6–15.9 s at 64 MiB in the same rounds, its
    // final merge no slower for the more segments (and 512 KiB slower again).
    conn.execute_batch(
        "INSERT INTO user_fts (user_fts, rank) VALUES ('automerge', 0); \
         INSERT INTO user_fts (user_fts, rank) VALUES ('crisismerge', 1000); \
         INSERT INTO user_fts (user_fts, rank) VALUES ('hashsize', 2097152); BEGIN;",
    )?;
    {
        let mut insert = conn.prepare("INSERT INTO user_fts (rowid, words) VALUES (?1, ?2)")?;
        for docs in receive {
            if stop.load(Ordering::Relaxed) {
                return Err(rusqlite::Error::InvalidQuery);
            }
            for (uid, words) in docs {
                insert.execute(params![uid, words])?;
            }
        }
    }
    conn.execute_batch("INSERT INTO user_fts (user_fts) VALUES ('optimize'); COMMIT;")?;
    Ok(conn)
}

/// The niceness of the side index's thread (Linux): its work is the writer's to wait for only
/// at the graft, while the writer's own work (rows, then the deferred indexes) is the load's
/// critical path. With three or four busy threads on two cores, the scheduler shared them
/// evenly and the writer waited for a core; at 10 the writer runs first and this thread takes
/// what is left, which is enough to finish before the graft. Measured at 1M users, alternating:
/// 35.5–37.6k users/s at 0 against 39.1–48.7k at 10 (5 of 5 rounds faster; 19 alike, 5 in
/// between). On a busy server it also leaves the request threads ahead of an import's
/// indexing.
const SIDE_NICENESS: i32 = 10;

/// Lowers the calling thread's priority to [`SIDE_NICENESS`]; elsewhere than Linux, and if
/// refused, it stays as it was.
fn yield_to_writer() {
    #[cfg(target_os = "linux")]
    {
        // On Linux a thread ID names one thread: only this one is lowered.
        let _ = rustix::process::setpriority_process(Some(rustix::thread::gettid()), SIDE_NICENESS);
    }
}

enum Graft {
    Sql(rusqlite::Error),
    Format(String),
}

impl From<rusqlite::Error> for Graft {
    fn from(e: rusqlite::Error) -> Graft {
        Graft::Sql(e)
    }
}

fn format_error(what: impl Into<String>) -> Graft {
    Graft::Format(what.into())
}

fn graft(side: &Connection, main: &Connection, many: bool) -> Result<(), Graft> {
    // The writer's pending terms and totals go to disk, and its cached structure is dropped.
    main.execute_batch(
        "INSERT INTO user_fts (user_fts) VALUES ('flush'); \
         INSERT INTO user_fts (user_fts, rank) VALUES ('merge', 0);",
    )?;
    let mut into = Structure::decode(&block(main, STRUCTURE_ROW)?.unwrap_or_default())?;
    let from = Structure::decode(&block(side, STRUCTURE_ROW)?.unwrap_or_default())?;
    let mut segments: Vec<Segment> = from.levels.into_iter().rev().flat_map(|l| l.segments).collect();
    if segments.is_empty() {
        return Ok(());
    }
    let mut used: Vec<u64> = into.levels.iter().flat_map(|l| l.segments.iter().map(|s| s.id)).collect();
    for segment in &mut segments {
        if segment.tombstone_pages != 0 || segment.tombstones != 0 {
            return Err(format_error("a new segment has tombstones"));
        }
        let id = (1..TOMBSTONES)
            .find(|id| !used.contains(id))
            .ok_or_else(|| format_error("no free segment ID"))?;
        used.push(id);
        copy_segment(side, main, segment.id, id)?;
        *segment = Segment { id, origin1: 1, origin2: 1, ..*segment };
    }
    copy_sizes(side, main, many)?;
    let totals = add_totals(&block(main, TOTALS_ROW)?, &block(side, TOTALS_ROW)?)?;
    write_block(main, TOTALS_ROW, &totals)?;
    if into.levels.len() < MAX_LEVELS {
        into.levels.push(Level { merging: 0, segments });
    } else if let Some(top) = into.levels.last_mut() {
        segments.append(&mut top.segments);
        top.segments = segments;
    }
    write_block(main, STRUCTURE_ROW, &into.encode())?;
    // FTS5 reads the new structure back (refusing it if it cannot decode it) and caches nothing.
    main.execute_batch("INSERT INTO user_fts (user_fts, rank) VALUES ('merge', 0);")?;
    Ok(())
}

fn block(conn: &Connection, id: i64) -> rusqlite::Result<Option<Vec<u8>>> {
    conn.prepare_cached("SELECT block FROM user_fts_data WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()
}

fn write_block(conn: &Connection, id: i64, data: &[u8]) -> rusqlite::Result<()> {
    conn.prepare_cached("INSERT OR REPLACE INTO user_fts_data (id, block) VALUES (?1, ?2)")?
        .execute(params![id, data])
        .map(drop)
}

fn rowids(segment: u64) -> (i64, i64) {
    ((segment << SEGMENT_SHIFT) as i64, ((segment + 1) << SEGMENT_SHIFT) as i64)
}

/// Copies the pages and the page index of segment `from` of `side` to segment `to` of `main`.
fn copy_segment(side: &Connection, main: &Connection, from: u64, to: u64) -> Result<(), Graft> {
    let (start, end) = rowids(from);
    let (target, _) = rowids(to);
    // Left-overs of a removed segment with that ID would corrupt it: there should be none.
    for range in [rowids(to), rowids(to + TOMBSTONES)] {
        main.prepare_cached("DELETE FROM user_fts_data WHERE id >= ?1 AND id < ?2")?
            .execute(params![range.0, range.1])?;
    }
    main.prepare_cached("DELETE FROM user_fts_idx WHERE segid = ?1")?.execute([to as i64])?;
    let mut read =
        side.prepare("SELECT id, block FROM user_fts_data WHERE id >= ?1 AND id < ?2 ORDER BY id")?;
    let mut write = main.prepare_cached("INSERT INTO user_fts_data (id, block) VALUES (?1, ?2)")?;
    let mut pages = read.query(params![start, end])?;
    while let Some(r) = pages.next()? {
        let id: i64 = r.get(0)?;
        write.execute(params![id - start + target, ToSqlOutput::Borrowed(r.get_ref(1)?)])?;
    }
    let mut read = side.prepare("SELECT term, pgno FROM user_fts_idx WHERE segid = ?1 ORDER BY term")?;
    let mut write =
        main.prepare_cached("INSERT INTO user_fts_idx (segid, term, pgno) VALUES (?1, ?2, ?3)")?;
    let mut terms = read.query([from as i64])?;
    while let Some(r) = terms.next()? {
        write.execute(params![
            to as i64,
            ToSqlOutput::Borrowed(r.get_ref(0)?),
            ToSqlOutput::Borrowed(r.get_ref(1)?)
        ])?;
    }
    Ok(())
}

/// Copies every document's size, with origin 1 (see the module notes).
fn copy_sizes(side: &Connection, main: &Connection, many: bool) -> Result<(), Graft> {
    let head = "INSERT INTO user_fts_docsize (id, sz, origin) VALUES ";
    let one = format!("{head}(?, ?, 1)");
    let grouped = format!("{head}{}", vec!["(?, ?, 1)"; SIZES_PER_INSERT].join(", "));
    let mut read = side.prepare("SELECT id, sz FROM user_fts_docsize ORDER BY id")?;
    let mut rows = read.query([])?;
    let mut pending: Vec<Sql> = Vec::with_capacity(2 * SIZES_PER_INSERT);
    let per = if many { SIZES_PER_INSERT } else { 1 };
    while let Some(r) = rows.next()? {
        pending.push(r.get(0)?);
        pending.push(r.get(1)?);
        if pending.len() == 2 * per {
            let sql = if per == 1 { &one } else { &grouped };
            main.prepare_cached(sql)?.execute(params_from_iter(pending.drain(..)))?;
        }
    }
    for row in pending.chunks(2) {
        main.prepare_cached(&one)?.execute(params_from_iter(row))?;
    }
    Ok(())
}

/// The sum of two totals records (documents, then tokens per column).
fn add_totals(a: &Option<Vec<u8>>, b: &Option<Vec<u8>>) -> Result<Vec<u8>, Graft> {
    let decode = |data: &Option<Vec<u8>>| -> Result<Vec<u64>, Graft> {
        let mut out = Vec::new();
        let mut at = 0;
        while let Some(data) = data.as_deref().filter(|d| at < d.len()) {
            out.push(get_varint(data, &mut at)?);
        }
        Ok(out)
    };
    let (a, b) = (decode(a)?, decode(b)?);
    let mut out = Vec::new();
    for i in 0..a.len().max(b.len()) {
        let sum = a.get(i).copied().unwrap_or(0).saturating_add(b.get(i).copied().unwrap_or(0));
        put_varint(&mut out, sum);
    }
    Ok(out)
}

/// An FTS5 index structure record (`contentless_delete` tables: the `V2` form).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Structure {
    cookie: [u8; 4],
    writes: u64,
    levels: Vec<Level>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Level {
    /// Segments at the start of the level being merged into the next level.
    merging: u64,
    segments: Vec<Segment>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Segment {
    id: u64,
    first_page: u64,
    last_page: u64,
    origin1: u64,
    origin2: u64,
    tombstone_pages: u64,
    tombstones: u64,
    entries: u64,
}

impl Structure {
    fn decode(data: &[u8]) -> Result<Structure, Graft> {
        let cookie =
            data.get(..4).and_then(|c| c.try_into().ok()).ok_or_else(|| format_error("no structure"))?;
        if data.get(4..8) != Some(&V2[..]) {
            return Err(format_error("not a contentless_delete structure"));
        }
        let mut at = 8;
        let n_levels = get_varint(data, &mut at)?;
        let n_segments = get_varint(data, &mut at)?;
        let writes = get_varint(data, &mut at)?;
        let mut levels = Vec::new();
        for _ in 0..n_levels {
            let merging = get_varint(data, &mut at)?;
            let n = get_varint(data, &mut at)?;
            let mut segments = Vec::new();
            for _ in 0..n {
                let mut next = || get_varint(data, &mut at);
                segments.push(Segment {
                    id: next()?,
                    first_page: next()?,
                    last_page: next()?,
                    origin1: next()?,
                    origin2: next()?,
                    tombstone_pages: next()?,
                    tombstones: next()?,
                    entries: next()?,
                });
            }
            levels.push(Level { merging, segments });
        }
        let counted: usize = levels.iter().map(|l| l.segments.len()).sum();
        if counted as u64 != n_segments || at != data.len() {
            return Err(format_error("a structure record of unknown shape"));
        }
        Ok(Structure { cookie, writes, levels })
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        out.extend_from_slice(&self.cookie);
        out.extend_from_slice(&V2);
        put_varint(&mut out, self.levels.len() as u64);
        put_varint(&mut out, self.levels.iter().map(|l| l.segments.len() as u64).sum());
        put_varint(&mut out, self.writes);
        for level in &self.levels {
            put_varint(&mut out, level.merging);
            put_varint(&mut out, level.segments.len() as u64);
            for s in &level.segments {
                for v in [
                    s.id,
                    s.first_page,
                    s.last_page,
                    s.origin1,
                    s.origin2,
                    s.tombstone_pages,
                    s.tombstones,
                    s.entries,
                ] {
                    put_varint(&mut out, v);
                }
            }
        }
        out
    }
}

/// SQLite's varint: big-endian groups of 7 bits with a continuation bit, the ninth byte whole.
fn get_varint(data: &[u8], at: &mut usize) -> Result<u64, Graft> {
    let mut value = 0u64;
    for i in 0..9 {
        let byte = *data.get(*at).ok_or_else(|| format_error("a truncated varint"))?;
        *at += 1;
        if i == 8 {
            return Ok((value << 8) | u64::from(byte));
        }
        value = (value << 7) | u64::from(byte & 0x7F);
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Ok(value)
}

fn put_varint(out: &mut Vec<u8>, value: u64) {
    if value >> 56 != 0 {
        // Nine bytes: eight of 7 bits, then the low 8 bits whole.
        let high = value >> 8;
        for i in (0..8).rev() {
            out.push(((high >> (7 * i)) & 0x7F) as u8 | 0x80);
        }
        out.push(value as u8);
        return;
    }
    let mut groups = [0u8; 8];
    let mut n = 0;
    let mut v = value;
    loop {
        groups[n] = (v & 0x7F) as u8;
        n += 1;
        v >>= 7;
        if v == 0 {
            break;
        }
    }
    for i in (0..n).rev() {
        out.push(groups[i] | if i > 0 { 0x80 } else { 0 });
    }
}

/// How many entries the segments with the origin of grafted documents hold (tests tell a
/// grafted index from one written directly by it).
#[cfg(test)]
pub(crate) fn grafted_entries(conn: &Connection) -> u64 {
    let Ok(Some(data)) = block(conn, STRUCTURE_ROW) else { return 0 };
    let Ok(structure) = Structure::decode(&data) else { return 0 };
    structure
        .levels
        .iter()
        .flat_map(|l| &l.segments)
        .filter(|s| (s.origin1, s.origin2) == (1, 1))
        .map(|s| s.entries)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use profile_core::query::EMAIL_WORD_MARK;
    use proptest::prelude::*;

    const WORDS: [&str; 12] = [
        "anna", "andersen", "ahmed", "bob", "berlin", "sales", "salazar", "zoe", "zimmer", "oslo", "ops", "b",
    ];

    /// A document of 2–4 words and an email word, the same for the same rowid.
    fn doc(uid: i64) -> String {
        let pick = |k: i64| WORDS[((uid * 7 + k * 13) % WORDS.len() as i64) as usize];
        let n = 2 + uid % 3;
        let mut words: Vec<String> = (0..n).map(|k| pick(k).to_string()).collect();
        words.push(format!("{EMAIL_WORD_MARK}{}{}", pick(5), uid % 10));
        words.join(" ")
    }

    fn docs(from: i64, n: i64) -> Docs {
        (from..from + n).map(|u| (u, doc(u))).collect()
    }

    /// A database with Cardfile's schema, on a real file.
    fn database(dir: &tempfile::TempDir, name: &str) -> Connection {
        let path = dir.path().join(name);
        drop(crate::SqliteDb::open(&path).unwrap());
        Connection::open(&path).unwrap()
    }

    /// Inserts documents the ordinary way, `per` a transaction (each commit writes a segment).
    fn insert(conn: &Connection, docs: &Docs, per: usize) {
        for piece in docs.chunks(per) {
            conn.execute_batch("BEGIN").unwrap();
            for (uid, words) in piece {
                crate::search::index(conn, *uid, words).unwrap();
            }
            conn.execute_batch("COMMIT").unwrap();
        }
    }

    /// Grafts `side` into `conn` in a transaction of its own.
    fn commit_graft(conn: &Connection, side: &mut SideIndex, many: bool) {
        conn.execute_batch("BEGIN").unwrap();
        side.graft(conn, many).unwrap();
        conn.execute_batch("COMMIT").unwrap();
    }

    fn delete(conn: &Connection, uids: &[i64]) {
        for uid in uids {
            conn.execute("DELETE FROM user_fts WHERE rowid = ?1", [uid]).unwrap();
        }
    }

    /// What the index answers: the rowids of prefix queries, and how many documents it holds.
    fn answers(conn: &Connection) -> Vec<Vec<i64>> {
        let mut queries: Vec<String> = ["a", "an", "and", "b", "ber", "s", "sal", "z", "zim", "o", "ops"]
            .iter()
            .map(|p| format!("\"{p}\"*"))
            .collect();
        queries.push(format!("\"{EMAIL_WORD_MARK}s\"*"));
        queries.push(format!("\"{EMAIL_WORD_MARK}zoe3\"*"));
        queries.push("\"anna\"* AND \"b\"*".into());
        let mut out: Vec<Vec<i64>> = queries
            .iter()
            .map(|q| {
                let mut s = conn
                    .prepare("SELECT rowid FROM user_fts WHERE user_fts MATCH ?1 ORDER BY rowid")
                    .unwrap();
                s.query_map([q], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
            })
            .collect();
        out.push(vec![conn.query_row("SELECT count(*) FROM user_fts", [], |r| r.get(0)).unwrap()]);
        out
    }

    fn check(conn: &Connection) {
        conn.execute("INSERT INTO user_fts (user_fts, rank) VALUES ('integrity-check', 0)", []).unwrap();
    }

    fn levels(conn: &Connection) -> Vec<Level> {
        Structure::decode(&block(conn, STRUCTURE_ROW).unwrap().unwrap()).ok().unwrap().levels
    }

    fn side_with(main: &Connection, docs: Docs) -> SideIndex {
        let mut side = SideIndex::start(main).unwrap();
        for piece in docs.chunks(700) {
            assert!(side.add(piece.to_vec()).is_ok());
        }
        side
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_side_thread_yields_to_the_writer() {
        let (mine, theirs) = std::thread::spawn(|| {
            let me = Some(rustix::thread::gettid());
            let before = rustix::process::getpriority_process(me).unwrap();
            yield_to_writer();
            (before, rustix::process::getpriority_process(me).unwrap())
        })
        .join()
        .unwrap();
        // At least that nice (a process started nicer stays so: lowering it takes privileges).
        assert!(theirs >= SIDE_NICENESS, "{theirs}");
        // Only that thread: this one keeps its priority.
        assert_eq!(rustix::process::getpriority_process(Some(rustix::thread::gettid())).unwrap(), mine);
    }

    /// The same documents, one index written the ordinary way, the other with loads grafted
    /// in: every answer the same, before and after deletes, later writes and merges.
    #[test]
    fn a_grafted_index_answers_as_one_written_directly() {
        let dir = tempfile::tempdir().unwrap();
        let (plain, grafted) = (database(&dir, "plain.db"), database(&dir, "grafted.db"));
        // Several segments on several levels before the load.
        for conn in [&plain, &grafted] {
            insert(conn, &docs(1, 600), 40);
            delete(conn, &[3, 50, 77]);
        }
        insert(&plain, &docs(1_000, 5_000), 5_000);
        let mut side = side_with(&grafted, docs(1_000, 5_000));
        commit_graft(&grafted, &mut side, true);
        check(&grafted);
        assert_eq!(answers(&grafted), answers(&plain));
        assert!(answers(&plain)[0].len() > 500);
        let top = levels(&grafted).pop().unwrap();
        assert_eq!(top.segments.len(), 1, "a new top level: {top:?}");
        assert_eq!((top.segments[0].origin1, top.segments[0].origin2), (1, 1));

        // Deletes reach grafted and older documents alike; later writes merge with the graft.
        for conn in [&plain, &grafted] {
            delete(conn, &[1_000, 2_345, 5_999, 10, 599]);
            insert(conn, &docs(7_000, 400), 20);
            delete(conn, &[7_005, 1_001]);
            conn.execute("INSERT INTO user_fts (user_fts, rank) VALUES ('merge', 500)", []).unwrap();
        }
        check(&grafted);
        assert_eq!(answers(&grafted), answers(&plain));
        for conn in [&plain, &grafted] {
            conn.execute("INSERT INTO user_fts (user_fts) VALUES ('optimize')", []).unwrap();
            delete(conn, &[1_002, 4]);
        }
        check(&grafted);
        assert_eq!(answers(&grafted), answers(&plain));
    }

    /// A graft rolled back leaves the index as it was, and can be done again; many grafts
    /// stop adding levels.
    #[test]
    fn grafts_roll_back_and_pile_up() {
        let dir = tempfile::tempdir().unwrap();
        let (plain, grafted) = (database(&dir, "plain.db"), database(&dir, "grafted.db"));
        for conn in [&plain, &grafted] {
            insert(conn, &docs(1, 50), 50);
        }
        let before = answers(&grafted);
        let mut side = side_with(&grafted, docs(100, 300));
        grafted.execute_batch("BEGIN").unwrap();
        side.graft(&grafted, false).unwrap();
        assert_ne!(answers(&grafted), before, "visible inside the transaction");
        grafted.execute_batch("ROLLBACK").unwrap();
        assert_eq!(answers(&grafted), before);
        check(&grafted);
        // The writer's own writes after the rollback see the old structure.
        insert(&grafted, &docs(60, 10), 10);
        insert(&plain, &docs(60, 10), 10);
        assert_eq!(answers(&grafted), answers(&plain));
        // Again, and then many more: past MAX_LEVELS the grafts join the top level.
        let mut from = 100;
        for round in 0..MAX_LEVELS + 3 {
            let n = if round == 0 { 300 } else { 30 };
            if round > 0 {
                side = side_with(&grafted, docs(from, n));
            }
            commit_graft(&grafted, &mut side, round % 2 == 0);
            insert(&plain, &docs(from, n), n as usize);
            from += n + 5;
        }
        check(&grafted);
        assert_eq!(answers(&grafted), answers(&plain));
        let shape = levels(&grafted);
        assert!(shape.len() <= MAX_LEVELS, "{}", shape.len());
        assert!(shape.last().unwrap().segments.len() > 2);
        delete(&grafted, &[100, 150, from - 6]);
        delete(&plain, &[100, 150, from - 6]);
        assert_eq!(answers(&grafted), answers(&plain));
        check(&grafted);
    }

    /// An index dropped before it is finished stops its thread; an empty one grafts nothing.
    #[test]
    fn an_abandoned_or_empty_side_index() {
        let dir = tempfile::tempdir().unwrap();
        let main = database(&dir, "a.db");
        insert(&main, &docs(1, 10), 10);
        drop(side_with(&main, docs(100, 5_000)));
        let before = answers(&main);
        let mut empty = SideIndex::start(&main).unwrap();
        commit_graft(&main, &mut empty, true);
        assert_eq!(answers(&main), before);
        assert!(empty.add(docs(20, 1)).is_err(), "finished: documents come back");

        let mut sealed = side_with(&main, docs(100, 50));
        sealed.seal();
        assert!(sealed.add(docs(200, 1)).is_err(), "sealed: documents come back");
        commit_graft(&main, &mut sealed, true);
        assert_eq!(answers(&main).last().unwrap()[0], before.last().unwrap()[0] + 50);
    }

    proptest! {
        #[test]
        fn varints_round_trip(values in proptest::collection::vec(any::<u64>(), 0..20)) {
            let mut out = Vec::new();
            for v in &values {
                put_varint(&mut out, *v);
            }
            let mut at = 0;
            let back: Vec<u64> = values.iter().map(|_| get_varint(&out, &mut at).ok().unwrap()).collect();
            prop_assert_eq!(back, values);
            prop_assert_eq!(at, out.len());
        }
    }

    #[test]
    fn varints_as_sqlite_writes_them() {
        let enc = |v: u64| {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            out
        };
        assert_eq!(enc(0), [0]);
        assert_eq!(enc(127), [0x7F]);
        assert_eq!(enc(128), [0x81, 0x00]);
        assert_eq!(enc(u64::MAX), [0xFF; 9]);
        assert_eq!(enc(1 << 56).len(), 9);
        assert_eq!(enc((1 << 56) - 1).len(), 8);
    }
}
