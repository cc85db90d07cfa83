//! Connections: a PostgreSQL client with its prepared statements, pooled by r2d2, and the
//! parameter type of statements built at run time.

use std::collections::HashMap;
use std::error::Error;

use postgres::types::{to_sql_checked, IsNull, ToSql, Type};
use postgres::{Client, NoTls, Statement};

/// Statements a connection keeps prepared at most; past that, it forgets them all (queries
/// built from filters vary in shape, the port's own statements do not).
const KEPT_STATEMENTS: usize = 512;

/// A pooled connection and the statements prepared on it: a statement named by its text is
/// parsed and planned once per connection, so each later use is one round trip.
pub(crate) struct PgConn {
    pub(crate) client: Client,
    statements: HashMap<String, Statement>,
    /// Set when the connection's state is unknown (a rollback failed): the pool drops it.
    pub(crate) broken: bool,
}

impl PgConn {
    /// The prepared statement for `sql`.
    pub(crate) fn statement(&mut self, sql: &str) -> Result<Statement, postgres::Error> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql)?;
        if self.statements.len() >= KEPT_STATEMENTS {
            self.statements.clear();
        }
        self.statements.insert(sql.to_string(), s.clone());
        Ok(s)
    }
}

/// Opens connections for the pool.
pub(crate) struct Manager {
    pub(crate) config: postgres::Config,
}

impl r2d2::ManageConnection for Manager {
    type Connection = PgConn;
    type Error = postgres::Error;

    fn connect(&self) -> Result<PgConn, postgres::Error> {
        let mut client = self.config.connect(NoTls)?;
        // A commit is acknowledged only once it is durable, whatever the server's default;
        // times are Unix seconds, so the session's time zone never matters.
        client.batch_execute(
            "SET synchronous_commit = on; SET default_transaction_isolation = 'read committed'",
        )?;
        Ok(PgConn { client, statements: HashMap::new(), broken: false })
    }

    fn is_valid(&self, conn: &mut PgConn) -> Result<(), postgres::Error> {
        conn.client.batch_execute("")
    }

    fn has_broken(&self, conn: &mut PgConn) -> bool {
        conn.broken || conn.client.is_closed()
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
