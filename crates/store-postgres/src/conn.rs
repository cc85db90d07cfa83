//! Connections: tokio-postgres driven by a small runtime of each connection's own, so that the
//! synchronous ports can send several messages in one round trip, the prepared statements of
//! each connection, and the parameter type of statements built at run time.
//!
//! A read unit's `BEGIN` goes out with its first statement, and its end (`ROLLBACK`: a read
//! has nothing to commit) with the first message of the connection's next unit: a read costs
//! one round trip per statement instead of two more for the transaction. (Measured with the
//! synchronous `postgres` client, `user.get` by ID made 7 round trips, 5 of them to begin and
//! end its two read units.) A connection left idle with a read still open keeps that read's
//! snapshot until it is used again or closed: idle connections are closed after
//! [`IDLE_TIMEOUT`].

use std::collections::HashMap;
use std::error::Error;
use std::future::Future;
use std::time::Duration;

use profile_core::ports::StoreResult;
use profile_core::StoreError;
use tokio_postgres::types::{to_sql_checked, IsNull, ToSql, Type};

use crate::error::backend;
use tokio_postgres::{Client, NoTls, Row, Statement};

/// Statements a connection keeps prepared at most; past that, it forgets them all (queries
/// built from filters vary in shape, the port's own statements do not).
const KEPT_STATEMENTS: usize = 512;

/// How long the pool keeps an idle connection (and so, at most, a finished read's snapshot).
pub(crate) const IDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// A pooled connection.
pub(crate) struct PgConn {
    runtime: tokio::runtime::Runtime,
    client: Client,
    statements: HashMap<String, Statement>,
    /// Simple statements to send ahead of the next message (a read's end, a read's begin).
    ahead: String,
    /// Set when the connection's state is unknown (a rollback failed): the pool drops it.
    pub(crate) broken: bool,
}

impl PgConn {
    /// Connects, and sets what every Cardfile session needs.
    pub(crate) fn connect(config: &tokio_postgres::Config) -> StoreResult<PgConn> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| StoreError::Backend(format!("no runtime for a PostgreSQL connection: {e}")))?;
        let (client, connection) = runtime.block_on(config.connect(NoTls)).map_err(backend)?;
        // Driven during each call's block_on, on the calling thread.
        runtime.spawn(async move {
            let _ = connection.await;
        });
        let mut conn =
            PgConn { runtime, client, statements: HashMap::new(), ahead: String::new(), broken: false };
        // A commit is acknowledged only once it is durable, whatever the server's default; a
        // connection idle between two units may hold a read open (see above), which a server's
        // idle-in-transaction timeout must not take for abandoned.
        conn.batch(
            "SET synchronous_commit = on; SET default_transaction_isolation = 'read committed'; \
             SET idle_in_transaction_session_timeout = 0",
        )
        .map_err(backend)?;
        Ok(conn)
    }

    /// Queues simple statements to go out ahead of the next message.
    pub(crate) fn ahead(&mut self, sql: &str) {
        if !self.ahead.is_empty() {
            self.ahead.push_str("; ");
        }
        self.ahead.push_str(sql);
    }

    /// Runs `f` on the client, with what is queued ahead sent first in the same round trip.
    fn call<'c, T, F>(&'c mut self, f: impl FnOnce(&'c Client) -> F) -> Result<T, tokio_postgres::Error>
    where
        F: Future<Output = Result<T, tokio_postgres::Error>> + 'c,
    {
        let ahead = std::mem::take(&mut self.ahead);
        let client = &self.client;
        let (before, result) = self.runtime.block_on(async move {
            if ahead.is_empty() {
                return (Ok(()), f(client).await);
            }
            // join! polls the first future first: its message is queued, and written, before
            // the second's.
            tokio::join!(client.batch_execute(&ahead), f(client))
        });
        if let Err(e) = before {
            // The statement ran outside the transaction it was meant for: nothing on this
            // connection can be trusted any more.
            self.broken = true;
            return Err(e);
        }
        result
    }

    /// Runs simple statements (no parameters), with what is queued ahead.
    pub(crate) fn batch(&mut self, sql: &str) -> Result<(), tokio_postgres::Error> {
        self.ahead(sql);
        let all = std::mem::take(&mut self.ahead);
        let client = &self.client;
        self.runtime.block_on(client.batch_execute(&all))
    }

    /// The prepared statement for `sql`.
    pub(crate) fn statement(&mut self, sql: &str) -> Result<Statement, tokio_postgres::Error> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        // What is queued ahead goes first: a prepare inside a failed read would be refused.
        let s = self.call(|c| c.prepare(sql))?;
        if self.statements.len() >= KEPT_STATEMENTS {
            self.statements.clear();
        }
        self.statements.insert(sql.to_string(), s.clone());
        Ok(s)
    }

    pub(crate) fn query(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, tokio_postgres::Error> {
        let s = self.statement(sql)?;
        self.call(move |c| async move { c.query(&s, params).await })
    }

    /// A statement planned for its parameters at each run (a filter's or a search's: a plan
    /// kept for any parameters would scan an account's users where the search index finds
    /// a few; measured 13.8 ms against 2.4 ms for a two-letter search of 10k users).
    pub(crate) fn query_planned(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, tokio_postgres::Error> {
        self.call(move |c| async move { c.query(sql, params).await })
    }

    /// Two prepared statements in one round trip; their rows.
    pub(crate) fn query_both(
        &mut self,
        first: (&str, &[&(dyn ToSql + Sync)]),
        second: (&str, &[&(dyn ToSql + Sync)]),
    ) -> Result<(Vec<Row>, Vec<Row>), tokio_postgres::Error> {
        let (a, b) = (self.statement(first.0)?, self.statement(second.0)?);
        self.call(move |c| async move {
            let (x, y) = tokio::join!(c.query(&a, first.1), c.query(&b, second.1));
            Ok((x?, y?))
        })
    }

    pub(crate) fn query_opt(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, tokio_postgres::Error> {
        let s = self.statement(sql)?;
        self.call(move |c| async move { c.query_opt(&s, params).await })
    }

    pub(crate) fn query_one(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Row, tokio_postgres::Error> {
        let s = self.statement(sql)?;
        self.call(move |c| async move { c.query_one(&s, params).await })
    }

    pub(crate) fn execute(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, tokio_postgres::Error> {
        let s = self.statement(sql)?;
        self.call(move |c| async move { c.execute(&s, params).await })
    }

    /// `COPY … FROM STDIN` with `data` in COPY's text format; returns the rows written.
    pub(crate) fn copy_in(&mut self, sql: &str, data: Vec<u8>) -> Result<u64, tokio_postgres::Error> {
        use futures_util::SinkExt;
        self.call(move |c| async move {
            let sink = c.copy_in::<_, bytes::Bytes>(sql).await?;
            futures_util::pin_mut!(sink);
            sink.send(bytes::Bytes::from(data)).await?;
            sink.finish().await
        })
    }

    /// Calls `each` with every row `sql` returns, as they arrive.
    pub(crate) fn each_row(
        &mut self,
        sql: &str,
        mut each: impl FnMut(&Row) -> StoreResult<()>,
    ) -> StoreResult<()> {
        use futures_util::TryStreamExt;
        let ahead = std::mem::take(&mut self.ahead);
        let client = &self.client;
        self.runtime.block_on(async move {
            if !ahead.is_empty() {
                client.batch_execute(&ahead).await.map_err(backend)?;
            }
            let rows = client.query_raw(sql, std::iter::empty::<i64>()).await.map_err(backend)?;
            futures_util::pin_mut!(rows);
            while let Some(row) = rows.try_next().await.map_err(backend)? {
                each(&row)?;
            }
            Ok(())
        })
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.client.is_closed()
    }
}

/// Opens connections for the pool.
pub(crate) struct Manager {
    pub(crate) config: tokio_postgres::Config,
}

impl r2d2::ManageConnection for Manager {
    type Connection = PgConn;
    type Error = StoreError;

    fn connect(&self) -> StoreResult<PgConn> {
        PgConn::connect(&self.config)
    }

    fn is_valid(&self, conn: &mut PgConn) -> StoreResult<()> {
        conn.batch("").map_err(backend)
    }

    fn has_broken(&self, conn: &mut PgConn) -> bool {
        conn.broken || conn.is_closed()
    }
}

/// A value bound to a statement built at run time.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Sql {
    Int(i64),
    Text(String),
}

impl ToSql for Sql {
    fn to_sql(&self, ty: &Type, out: &mut bytes::BytesMut) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        match self {
            Sql::Int(i) => i.to_sql(ty, out),
            Sql::Text(s) => s.to_sql(ty, out),
        }
    }

    fn accepts(ty: &Type) -> bool {
        <i64 as ToSql>::accepts(ty) || <String as ToSql>::accepts(ty)
    }

    to_sql_checked!();
}

/// Parameters as the driver takes them.
pub(crate) fn refs(params: &[Sql]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}
