//! Custom fields' definitions, options and values, as the SQLite store keeps them.

use profile_core::ids::{AccountId, UserId};
use profile_core::model::custom::{
    CustomField, CustomKind, CustomScalar, CustomTest, CustomValue, CustomValues, EnumOption,
};
use profile_core::ports::{CustomFieldStore, StoreResult};
use profile_core::StoreError;
use tokio_postgres::Row;

use crate::codec::get;
use crate::users::uid;
use crate::PgTx;

const FIELD_COLUMNS: &str = "id, name, kind, multiple, mandatory, show_filter, show_in_list, edit_in_list, \
     searchable, sort, xml_id, settings, labels";

fn flag(r: &Row, i: usize) -> StoreResult<bool> {
    Ok(get::<i64>(r, i)? != 0)
}

fn field(account: AccountId, r: &Row) -> StoreResult<CustomField> {
    let kind: String = get(r, 2)?;
    Ok(CustomField {
        account,
        id: u32::try_from(get::<i64>(r, 0)?).unwrap_or_default(),
        name: get(r, 1)?,
        kind: CustomKind::from_code(&kind).unwrap_or(CustomKind::String),
        multiple: flag(r, 3)?,
        mandatory: flag(r, 4)?,
        show_filter: get(r, 5)?,
        show_in_list: flag(r, 6)?,
        edit_in_list: flag(r, 7)?,
        searchable: flag(r, 8)?,
        sort: get(r, 9)?,
        xml_id: get(r, 10)?,
        settings: get(r, 11)?,
        labels: get(r, 12)?,
        options: Vec::new(),
    })
}

impl PgTx<'_> {
    fn write_field(&mut self, f: &CustomField, insert: bool) -> StoreResult<()> {
        let no = self.no_for_write(f.account)?;
        let (id, m, mand) = (i64::from(f.id), i64::from(f.multiple), i64::from(f.mandatory));
        let (sil, eil, srch) =
            (i64::from(f.show_in_list), i64::from(f.edit_in_list), i64::from(f.searchable));
        self.in_savepoint(|tx| {
            if insert {
                tx.execute(
                    &format!(
                        "INSERT INTO custom_fields (account_no, {FIELD_COLUMNS}) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
                    ),
                    &[&no, &id, &f.name, &f.kind.code(), &m, &mand, &f.show_filter, &sil, &eil, &srch, &f.sort, &f.xml_id, &f.settings, &f.labels],
                )?;
            } else {
                tx.execute(
                    "UPDATE custom_fields SET mandatory = $3, show_filter = $4, show_in_list = $5, edit_in_list = $6, \
                     searchable = $7, sort = $8, xml_id = $9, settings = $10, labels = $11 WHERE account_no = $1 AND id = $2",
                    &[&no, &id, &mand, &f.show_filter, &sil, &eil, &srch, &f.sort, &f.xml_id, &f.settings, &f.labels],
                )?;
            }
            tx.execute("DELETE FROM custom_field_options WHERE account_no = $1 AND field = $2", &[&no, &id])?;
            for o in &f.options {
                tx.execute(
                    "INSERT INTO custom_field_options (account_no, field, id, value, def, sort, xml_id) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    &[&no, &id, &i64::from(o.id), &o.value, &i64::from(o.default), &o.sort, &o.xml_id],
                )?;
            }
            Ok(())
        })
    }
}

impl CustomFieldStore for PgTx<'_> {
    fn custom_fields(&self, account: AccountId) -> StoreResult<Vec<CustomField>> {
        let Some(no) = self.no(account)? else { return Ok(Vec::new()) };
        let mut fields = self
            .query(
                &format!("SELECT {FIELD_COLUMNS} FROM custom_fields WHERE account_no = $1 ORDER BY id"),
                &[&no],
            )?
            .iter()
            .map(|r| field(account, r))
            .collect::<StoreResult<Vec<_>>>()?;
        if fields.iter().any(|f| f.kind == CustomKind::Enumeration) {
            let rows = self.query(
                "SELECT field, id, value, def, sort, xml_id FROM custom_field_options WHERE account_no = $1 \
                 ORDER BY field, sort, id",
                &[&no],
            )?;
            for r in rows {
                let f = u32::try_from(get::<i64>(&r, 0)?).unwrap_or_default();
                let o = EnumOption {
                    id: u32::try_from(get::<i64>(&r, 1)?).unwrap_or_default(),
                    value: get(&r, 2)?,
                    default: flag(&r, 3)?,
                    sort: get(&r, 4)?,
                    xml_id: get(&r, 5)?,
                };
                if let Some(field) = fields.iter_mut().find(|x| x.id == f) {
                    field.options.push(o);
                }
            }
        }
        Ok(fields)
    }

    fn insert_custom_field(&mut self, field: &CustomField) -> StoreResult<()> {
        self.write_field(field, true).map_err(|e| match e {
            StoreError::UniqueViolation { .. } => StoreError::UniqueViolation { what: "FIELD_NAME".into() },
            e => e,
        })
    }

    fn update_custom_field(&mut self, field: &CustomField) -> StoreResult<()> {
        self.write_field(field, false)
    }

    fn delete_custom_field(&mut self, account: AccountId, id: u32) -> StoreResult<()> {
        let no = self.no_for_write(account)?;
        let id = i64::from(id);
        self.in_savepoint(|tx| {
            tx.execute("DELETE FROM custom_field_options WHERE account_no = $1 AND field = $2", &[&no, &id])?;
            tx.execute("DELETE FROM custom_fields WHERE account_no = $1 AND id = $2", &[&no, &id])?;
            Ok(())
        })
    }

    fn custom_values(&self, account: AccountId, users: &[UserId]) -> StoreResult<Vec<CustomValues>> {
        let Some(no) = self.no(account)? else { return Ok(Vec::new()) };
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<i64> = users.iter().map(|&u| uid(no, u)).collect();
        let rows = self.query(
            "SELECT v.uid, v.field, v.num, v.real, v.txt FROM custom_values v \
             JOIN custom_fields f ON f.account_no = $1 AND f.id = v.field \
             WHERE v.uid = ANY($2) ORDER BY v.uid, v.field, v.pos",
            &[&no, &keys],
        )?;
        let mut out: Vec<CustomValues> = Vec::new();
        for r in rows {
            let user = crate::users::id_of(get(&r, 0)?);
            let field = u32::try_from(get::<i64>(&r, 1)?).unwrap_or_default();
            let value =
                match (get::<Option<i64>>(&r, 2)?, get::<Option<f64>>(&r, 3)?, get::<Option<String>>(&r, 4)?)
                {
                    (Some(i), _, _) => CustomValue::Number(CustomScalar::Int(i)),
                    (_, Some(x), _) => CustomValue::Number(CustomScalar::Real(x)),
                    (_, _, t) => CustomValue::Text(t.unwrap_or_default()),
                };
            match out.last_mut() {
                Some(v) if v.user == user && v.field == field => v.values.push(value),
                _ => out.push(CustomValues { user, field, values: vec![value] }),
            }
        }
        // In the order the users were asked for, as the SQLite store answers.
        out.sort_by_key(|v| (users.iter().position(|u| *u == v.user), v.field));
        Ok(out)
    }

    fn set_custom_values(&mut self, account: AccountId, values: &CustomValues) -> StoreResult<()> {
        let no = self.no_for_write(account)?;
        let key = uid(no, values.user);
        let field = i64::from(values.field);
        // Values are filtered, sorted and (a string field's) searched by.
        self.changed(no);
        let string = self
            .query_opt(
                "SELECT kind = 'string' FROM custom_fields WHERE account_no = $1 AND id = $2",
                &[&no, &field],
            )?
            .map(|r| get::<bool>(&r, 0))
            .transpose()?
            .unwrap_or(false);
        self.in_savepoint(|tx| {
            tx.execute("DELETE FROM custom_values WHERE uid = $1 AND field = $2", &[&key, &field])?;
            for (pos, v) in values.values.iter().enumerate() {
                let (num, real, txt): (Option<i64>, Option<f64>, Option<&str>) = match v {
                    CustomValue::Number(CustomScalar::Int(i)) => (Some(*i), None, None),
                    CustomValue::Number(CustomScalar::Real(r)) => (None, Some(*r), None),
                    CustomValue::Text(t) => (None, None, Some(t.as_str())),
                };
                tx.execute(
                    "INSERT INTO custom_values (uid, field, pos, num, real, txt) VALUES ($1, $2, $3, $4, $5, $6)",
                    &[&key, &field, &(pos as i64), &num, &real, &txt],
                )?;
            }
            Ok(())
        })?;
        if string {
            crate::search::rewrite(self, account, no, &[values.user])?;
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
        use tokio_postgres::types::ToSql;
        let Some(no) = self.no(account)? else { return Ok(Vec::new()) };
        let (lo, hi) = crate::users::bounds(no);
        let mut args: Vec<Box<dyn ToSql + Sync + Send>> =
            vec![Box::new(i64::from(field)), Box::new(lo), Box::new(hi)];
        let mark = |args: &mut Vec<Box<dyn ToSql + Sync + Send>>, v: Box<dyn ToSql + Sync + Send>| {
            args.push(v);
            format!("${}", args.len())
        };
        let clause = match test {
            CustomTest::Any => "true".to_string(),
            CustomTest::AnyOf(values) => {
                let mut parts = Vec::new();
                let ints: Vec<i64> = values
                    .iter()
                    .filter_map(|v| {
                        if let CustomValue::Number(CustomScalar::Int(i)) = v {
                            Some(*i)
                        } else {
                            None
                        }
                    })
                    .collect();
                let reals: Vec<f64> = values
                    .iter()
                    .filter_map(|v| {
                        if let CustomValue::Number(CustomScalar::Real(r)) = v {
                            Some(*r)
                        } else {
                            None
                        }
                    })
                    .collect();
                let texts: Vec<String> = values
                    .iter()
                    .filter_map(|v| if let CustomValue::Text(t) = v { Some(t.clone()) } else { None })
                    .collect();
                if !ints.is_empty() {
                    parts.push(format!("num = ANY({})", mark(&mut args, Box::new(ints))));
                }
                if !reals.is_empty() {
                    parts.push(format!("real = ANY({})", mark(&mut args, Box::new(reals))));
                }
                if !texts.is_empty() {
                    parts.push(format!("txt = ANY({})", mark(&mut args, Box::new(texts))));
                }
                if parts.is_empty() {
                    "false".to_string()
                } else {
                    format!("({})", parts.join(" OR "))
                }
            }
            CustomTest::Compare(ord, or_equal, bound) => {
                let sym = store_common::query::comparison(*ord, *or_equal);
                match bound {
                    CustomValue::Number(CustomScalar::Int(i)) => {
                        format!("num {sym} {}", mark(&mut args, Box::new(*i)))
                    }
                    CustomValue::Number(CustomScalar::Real(r)) => {
                        format!("real {sym} {}", mark(&mut args, Box::new(*r)))
                    }
                    // Bytes, as SQLite compares text.
                    CustomValue::Text(t) => {
                        format!("txt COLLATE \"C\" {sym} {}", mark(&mut args, Box::new(t.clone())))
                    }
                }
            }
            CustomTest::Contains(part) => {
                format!(
                    "strpos(ascii_lower(txt), ascii_lower({})) > 0",
                    mark(&mut args, Box::new(part.clone()))
                )
            }
        };
        let sql = format!(
            "SELECT DISTINCT uid FROM custom_values WHERE field = $1 AND uid BETWEEN $2 AND $3 AND {clause} ORDER BY uid LIMIT {limit}"
        );
        let refs: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| &**a as &(dyn ToSql + Sync)).collect();
        self.query(&sql, &refs)?.iter().map(|r| get::<i64>(r, 0).map(crate::users::id_of)).collect()
    }

    fn purge_custom_values(&mut self, limit: usize) -> StoreResult<u64> {
        self.execute(
            "DELETE FROM custom_values WHERE (uid, field, pos) IN (SELECT v.uid, v.field, v.pos FROM custom_values v \
             WHERE NOT EXISTS (SELECT 1 FROM custom_fields f WHERE f.account_no = v.uid >> 32 AND f.id = v.field) \
             LIMIT $1)",
            &[&(limit as i64)],
        )
    }
}
