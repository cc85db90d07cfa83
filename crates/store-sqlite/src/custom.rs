//! Custom fields' definitions, options and values.

use profile_core::ids::{AccountId, UserId};
use profile_core::model::custom::{
    CustomField, CustomKind, CustomScalar, CustomTest, CustomValue, CustomValues, EnumOption,
};
use profile_core::ports::UserStore;
use profile_core::ports::{CustomFieldStore, StoreResult};
use profile_core::StoreError;
use rusqlite::{params, OptionalExtension, Row};

use crate::error::backend;
use crate::tx::Held;
use crate::users::{bounds, id_of, uid};
use crate::{search, SqliteTx};

/// A stored value row: its field and one of `num`, `real`, `txt`.
type ValueRow = (u32, Option<i64>, Option<f64>, Option<String>);

const FIELD_COLUMNS: &str = "id, name, kind, multiple, mandatory, show_filter, show_in_list, edit_in_list, \
     searchable, sort, xml_id, settings, labels";

fn field(account: AccountId, r: &Row<'_>) -> rusqlite::Result<CustomField> {
    let kind: String = r.get(2)?;
    Ok(CustomField {
        account,
        id: r.get(0)?,
        name: r.get(1)?,
        kind: CustomKind::from_code(&kind).unwrap_or(CustomKind::String),
        multiple: r.get(3)?,
        mandatory: r.get(4)?,
        show_filter: r.get(5)?,
        show_in_list: r.get(6)?,
        edit_in_list: r.get(7)?,
        searchable: r.get(8)?,
        sort: r.get(9)?,
        xml_id: r.get(10)?,
        settings: r.get(11)?,
        labels: r.get(12)?,
        options: Vec::new(),
    })
}

impl SqliteTx<'_> {
    fn write_field(&mut self, f: &CustomField, insert: bool) -> StoreResult<()> {
        let no = self.no_for_write(f.account)?;
        self.in_savepoint(|tx| {
            let conn = tx.conn();
            let run = || -> rusqlite::Result<()> {
                if insert {
                    conn.prepare_cached(&format!(
                        "INSERT INTO custom_fields (account_no, {FIELD_COLUMNS}) \
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
                    ))?
                    .execute(params![
                        no, f.id, f.name, f.kind.code(), f.multiple, f.mandatory, f.show_filter, f.show_in_list,
                        f.edit_in_list, f.searchable, f.sort, f.xml_id, f.settings, f.labels
                    ])?;
                } else {
                    conn.prepare_cached(
                        "UPDATE custom_fields SET mandatory = ?3, show_filter = ?4, show_in_list = ?5, \
                         edit_in_list = ?6, searchable = ?7, sort = ?8, xml_id = ?9, settings = ?10, labels = ?11 \
                         WHERE account_no = ?1 AND id = ?2",
                    )?
                    .execute(params![
                        no, f.id, f.mandatory, f.show_filter, f.show_in_list, f.edit_in_list, f.searchable, f.sort,
                        f.xml_id, f.settings, f.labels
                    ])?;
                }
                conn.prepare_cached("DELETE FROM custom_field_options WHERE account_no = ?1 AND field = ?2")?
                    .execute(params![no, f.id])?;
                let mut add = conn.prepare_cached(
                    "INSERT INTO custom_field_options (account_no, field, id, value, def, sort, xml_id) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?;
                for o in &f.options {
                    add.execute(params![no, f.id, o.id, o.value, o.default, o.sort, o.xml_id])?;
                }
                Ok(())
            };
            run().map_err(|e| match e {
                rusqlite::Error::SqliteFailure(err, _) if err.code == rusqlite::ErrorCode::ConstraintViolation => {
                    StoreError::UniqueViolation { what: "FIELD_NAME".into() }
                }
                e => backend(e),
            })
        })
    }
}

impl SqliteTx<'_> {
    /// Replaces one user's values of one field.
    fn write_values(&mut self, key: i64, values: &CustomValues) -> StoreResult<()> {
        self.in_savepoint(|tx| {
            let conn = tx.conn();
            let run = || -> rusqlite::Result<()> {
                conn.prepare_cached("DELETE FROM custom_values WHERE uid = ?1 AND field = ?2")?
                    .execute(params![key, values.field])?;
                let mut add = conn.prepare_cached(
                    "INSERT INTO custom_values (uid, field, pos, num, real, txt) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?;
                for (pos, v) in values.values.iter().enumerate() {
                    let (num, real, txt) = match v {
                        CustomValue::Number(CustomScalar::Int(i)) => (Some(*i), None, None),
                        CustomValue::Number(CustomScalar::Real(r)) => (None, Some(*r), None),
                        CustomValue::Text(t) => (None, None, Some(t.as_str())),
                    };
                    add.execute(params![key, values.field, pos as i64, num, real, txt])?;
                }
                Ok(())
            };
            run().map_err(backend)
        })
    }
}

/// Whether field `id` of account `no` is a string field (its values are searched by).
fn is_string_field(conn: &rusqlite::Connection, no: i64, id: u32) -> StoreResult<bool> {
    conn.prepare_cached("SELECT kind = 'string' FROM custom_fields WHERE account_no = ?1 AND id = ?2")
        .and_then(|mut s| s.query_row(params![no, id], |r| r.get::<_, bool>(0)).optional())
        .map(|k| k.unwrap_or(false))
        .map_err(backend)
}

/// A value as the column `pick` (0 `num`, 1 `real`, 2 `txt`) holds it, if it is of that kind.
fn sql_value(v: &CustomValue, pick: u8) -> Option<rusqlite::types::Value> {
    match (v, pick) {
        (CustomValue::Number(CustomScalar::Int(i)), 0) => Some((*i).into()),
        (CustomValue::Number(CustomScalar::Real(r)), 1) => Some((*r).into()),
        (CustomValue::Text(t), 2) => Some(t.clone().into()),
        _ => None,
    }
}

impl CustomFieldStore for SqliteTx<'_> {
    fn custom_fields(&self, account: AccountId) -> StoreResult<Vec<CustomField>> {
        // A read session reads them once (one snapshot).
        let session = match &self.held {
            Held::Shared(s) => Some(&s.custom_fields),
            _ => None,
        };
        if let Some(known) = session.and_then(|c| c.borrow().get(&account).cloned()) {
            return Ok(known);
        }
        let fields = self.read_custom_fields(account)?;
        if let Some(c) = session {
            c.borrow_mut().insert(account, fields.clone());
        }
        Ok(fields)
    }

    fn insert_custom_field(&mut self, field: &CustomField) -> StoreResult<()> {
        self.write_field(field, true)
    }

    fn update_custom_field(&mut self, field: &CustomField) -> StoreResult<()> {
        self.write_field(field, false)
    }

    fn delete_custom_field(&mut self, account: AccountId, id: u32) -> StoreResult<()> {
        let no = self.no_for_write(account)?;
        self.in_savepoint(|tx| {
            let conn = tx.conn();
            let run = || -> rusqlite::Result<()> {
                conn.prepare_cached("DELETE FROM custom_field_options WHERE account_no = ?1 AND field = ?2")?
                    .execute(params![no, id])?;
                conn.prepare_cached("DELETE FROM custom_fields WHERE account_no = ?1 AND id = ?2")?
                    .execute(params![no, id])?;
                Ok(())
            };
            run().map_err(backend)
        })
    }

    fn custom_values(&self, account: AccountId, users: &[UserId]) -> StoreResult<Vec<CustomValues>> {
        let Some(no) = self.no(account)? else { return Ok(Vec::new()) };
        let conn = self.conn();
        let live: Vec<u32> = conn
            .prepare_cached("SELECT id FROM custom_fields WHERE account_no = ?1")
            .and_then(|mut s| s.query_map([no], |r| r.get(0))?.collect())
            .map_err(backend)?;
        let mut out: Vec<CustomValues> = Vec::new();
        let mut read = conn
            .prepare_cached(
                "SELECT field, num, real, txt FROM custom_values WHERE uid = ?1 ORDER BY field, pos",
            )
            .map_err(backend)?;
        for &user in users {
            let rows: Vec<ValueRow> = read
                .query_map([uid(no, user)], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                .and_then(Iterator::collect)
                .map_err(backend)?;
            for (field, num, real, txt) in rows {
                if !live.contains(&field) {
                    continue;
                }
                let value = match (num, real, txt) {
                    (Some(i), _, _) => CustomValue::Number(CustomScalar::Int(i)),
                    (_, Some(r), _) => CustomValue::Number(CustomScalar::Real(r)),
                    (_, _, t) => CustomValue::Text(t.unwrap_or_default()),
                };
                match out.last_mut() {
                    Some(v) if v.user == user && v.field == field => v.values.push(value),
                    _ => out.push(CustomValues { user, field, values: vec![value] }),
                }
            }
        }
        Ok(out)
    }

    fn set_custom_values(&mut self, account: AccountId, values: &CustomValues) -> StoreResult<()> {
        let no = self.no_for_write(account)?;
        let key = uid(no, values.user);
        // Values are filtered, sorted and (a string field's) searched by.
        self.changed(no);
        let indexed = if is_string_field(self.conn(), no, values.field)? {
            self.user(account, values.user)?
        } else {
            None
        };
        let before = indexed.as_ref().map(|u| search::words_of(self, no, u)).transpose()?;
        self.write_values(key, values)?;
        if let (Some(user), Some(before)) = (indexed, before) {
            let class = search::class(user.role);
            search::replace(
                self,
                no,
                user.id,
                (class, &before),
                (class, &search::words_of(self, no, &user)?),
            )?;
        }
        Ok(())
    }

    fn custom_matches(
        &self,
        account: AccountId,
        field: u32,
        test: &CustomTest,
        limit: usize,
    ) -> StoreResult<Vec<UserId>> {
        let Some(no) = self.no(account)? else { return Ok(Vec::new()) };
        let (lo, hi) = bounds(no);
        let mut args: Vec<rusqlite::types::Value> = vec![i64::from(field).into(), lo.into(), hi.into()];
        let clause = match test {
            CustomTest::Any => "1".to_string(),
            CustomTest::AnyOf(values) => {
                let mut parts = Vec::new();
                for (column, pick) in [("num", 0), ("real", 1), ("txt", 2)] {
                    let of_kind: Vec<rusqlite::types::Value> =
                        values.iter().filter_map(|v| sql_value(v, pick)).collect();
                    if !of_kind.is_empty() {
                        parts.push(format!("{column} IN ({})", vec!["?"; of_kind.len()].join(", ")));
                        args.extend(of_kind);
                    }
                }
                if parts.is_empty() {
                    "0".to_string()
                } else {
                    format!("({})", parts.join(" OR "))
                }
            }
            CustomTest::Compare(ord, or_equal, bound) => {
                let sym = store_common::query::comparison(*ord, *or_equal);
                let (column, value) = match bound {
                    CustomValue::Number(CustomScalar::Int(i)) => ("num", (*i).into()),
                    CustomValue::Number(CustomScalar::Real(r)) => ("real", (*r).into()),
                    CustomValue::Text(t) => ("txt", t.clone().into()),
                };
                args.push(value);
                format!("{column} {sym} ?")
            }
            CustomTest::Contains(part) => {
                // LIKE ignores the case of ASCII letters, as the reference does.
                args.push(crate::user_query::contains_pattern(part).into());
                "txt LIKE ? ESCAPE '\\'".to_string()
            }
        };
        let sql = format!(
            "SELECT DISTINCT uid FROM custom_values WHERE field = ?1 AND uid BETWEEN ?2 AND ?3 AND {clause} ORDER BY uid LIMIT {limit}"
        );
        self.conn()
            .prepare(&sql)
            .and_then(|mut s| {
                s.query_map(rusqlite::params_from_iter(args), |r| r.get::<_, i64>(0))?
                    .collect::<Result<Vec<_>, _>>()
            })
            .map(|uids| uids.into_iter().map(id_of).collect())
            .map_err(backend)
    }

    fn purge_custom_values(&mut self, limit: usize) -> StoreResult<u64> {
        self.writable()?;
        let n = self
            .conn()
            .prepare_cached(
                "DELETE FROM custom_values WHERE (uid, field, pos) IN (SELECT v.uid, v.field, v.pos FROM custom_values v \
                 WHERE NOT EXISTS (SELECT 1 FROM custom_fields f WHERE f.account_no = v.uid >> 32 AND f.id = v.field) \
                 LIMIT ?1)",
            )
            .and_then(|mut s| s.execute([limit as i64]))
            .map_err(backend)?;
        Ok(n as u64)
    }
}

impl SqliteTx<'_> {
    /// The account's custom fields with their options, by ID.
    fn read_custom_fields(&self, account: AccountId) -> StoreResult<Vec<CustomField>> {
        let Some(no) = self.no(account)? else { return Ok(Vec::new()) };
        let conn = self.conn();
        let mut fields: Vec<CustomField> = conn
            .prepare_cached(&format!(
                "SELECT {FIELD_COLUMNS} FROM custom_fields WHERE account_no = ?1 ORDER BY id"
            ))
            .and_then(|mut s| s.query_map([no], |r| field(account, r))?.collect())
            .map_err(backend)?;
        if fields.iter().any(|f| f.kind == CustomKind::Enumeration) {
            let options: Vec<(u32, EnumOption)> = conn
                .prepare_cached(
                    "SELECT field, id, value, def, sort, xml_id FROM custom_field_options WHERE account_no = ?1 \
                     ORDER BY field, sort, id",
                )
                .and_then(|mut s| {
                    s.query_map([no], |r| {
                        Ok((
                            r.get(0)?,
                            EnumOption { id: r.get(1)?, value: r.get(2)?, default: r.get(3)?, sort: r.get(4)?, xml_id: r.get(5)? },
                        ))
                    })?
                    .collect()
                })
                .map_err(backend)?;
            for (f, o) in options {
                if let Some(field) = fields.iter_mut().find(|x| x.id == f) {
                    field.options.push(o);
                }
            }
        }
        Ok(fields)
    }
}
