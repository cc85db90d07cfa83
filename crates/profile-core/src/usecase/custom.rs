//! Custom fields (`user.userfield.*`, spec §4.1): administrators define them (scope
//! `user.userfield`); users' values are written with the user (`users::update_user_with`,
//! `invitations`) and read beside the standard fields under decisions.md's scope rule.
//!
//! Adding or deleting a field writes one definition, never the users: a deleted field's values
//! are no longer read and are purged by housekeeping in chunks.

use std::collections::BTreeMap;

use crate::access::{Actor, Scope, Tier};
use crate::error::{CoreError, StoreError};
use crate::ids::{Sequence, UserId};
use crate::model::custom::{CustomField, CustomKind, CustomValues, EnumOption, CUSTOM_FIELDS_MAX};
use crate::ports::Tx;
use crate::usecase::Ctx;
use crate::value::Value;

/// An option as `add`/`update` take it: without `id` a new one; with `delete` it goes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OptionSpec {
    /// An existing option's ID.
    pub id: Option<u32>,
    /// What it says.
    pub value: String,
    /// Whether it is the default.
    pub default: bool,
    /// Its place.
    pub sort: i64,
    /// An external ID.
    pub xml_id: String,
    /// Delete it (`DEL: Y`).
    pub delete: bool,
}

/// The fields of `user.userfield.add`/`update`; `None` keeps (or, on add, defaults) a value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSpec {
    /// `FIELD_NAME` (add only).
    pub field_name: Option<String>,
    /// `USER_TYPE_ID` (add only).
    pub kind: Option<CustomKind>,
    /// `MULTIPLE` (add only).
    pub multiple: Option<bool>,
    /// `MANDATORY`.
    pub mandatory: Option<bool>,
    /// `SHOW_FILTER` (`N`, `I`, `E`, `S`).
    pub show_filter: Option<String>,
    /// `SHOW_IN_LIST`.
    pub show_in_list: Option<bool>,
    /// `EDIT_IN_LIST`.
    pub edit_in_list: Option<bool>,
    /// `IS_SEARCHABLE`.
    pub searchable: Option<bool>,
    /// `SORT`.
    pub sort: Option<i64>,
    /// `XML_ID`.
    pub xml_id: Option<String>,
    /// `SETTINGS`, a JSON object.
    pub settings: Option<String>,
    /// The labels, a JSON object.
    pub labels: Option<String>,
    /// An enumeration's options (`LIST`).
    pub options: Option<Vec<OptionSpec>>,
}

fn require_admin(actor: &Actor) -> Result<(), CoreError> {
    actor.require(Scope::UserUserfield)?;
    actor.require_admin()
}

/// Whether a reader with `actor`'s scopes reads custom values (decisions.md): under `user` like
/// any field; under `user_basic` or `user_brief` only with `user.userfield` too.
pub fn reads_values(actor: &Actor) -> bool {
    match actor.scopes.user_tier() {
        Some(Tier::Full) => true,
        Some(_) => actor.scopes.has(Scope::UserUserfield),
        None => false,
    }
}

/// Adds a field (administrators, scope `user.userfield`).
///
/// # Errors
/// [`CoreError::Validation`] on `FIELD_NAME`, `USER_TYPE_ID` or an option; [`CoreError::Conflict`]
/// on `FIELD_NAME` when the account has it; [`CoreError::Conflict`] on `fields` past
/// [`CUSTOM_FIELDS_MAX`].
pub fn add_field(ctx: Ctx<'_>, actor: &Actor, spec: FieldSpec) -> Result<CustomField, CoreError> {
    require_admin(actor)?;
    let name = CustomField::name_for(spec.field_name.as_deref().unwrap_or_default())?;
    let kind = spec.kind.ok_or_else(|| CoreError::invalid("USER_TYPE_ID", "is null or empty"))?;
    let mut tx = ctx.db.write()?;
    let existing = tx.custom_fields(actor.account)?;
    if existing.len() >= CUSTOM_FIELDS_MAX {
        return Err(CoreError::conflict(
            "fields",
            format!("an account has at most {CUSTOM_FIELDS_MAX} custom fields"),
        ));
    }
    let id = tx.next_id(actor.account, Sequence::CustomField)?;
    let mut field = CustomField {
        account: actor.account,
        id,
        name,
        kind,
        multiple: spec.multiple.unwrap_or(false),
        mandatory: false,
        show_filter: "N".into(),
        show_in_list: true,
        edit_in_list: true,
        searchable: false,
        sort: 100,
        xml_id: String::new(),
        settings: "{}".into(),
        labels: "{}".into(),
        options: Vec::new(),
    };
    apply(&mut *tx, actor, &mut field, spec)?;
    tx.insert_custom_field(&field).map_err(|e| match e {
        StoreError::UniqueViolation { .. } => {
            CoreError::conflict("FIELD_NAME", "a field of this name exists")
        }
        e => e.into(),
    })?;
    tx.commit()?;
    Ok(field)
}

/// The account's fields, by ID (administrators, scope `user.userfield`).
///
/// # Errors
/// [`CoreError::Forbidden`]/[`CoreError::InsufficientScope`].
pub fn list_fields(ctx: Ctx<'_>, actor: &Actor) -> Result<Vec<CustomField>, CoreError> {
    require_admin(actor)?;
    Ok(ctx.db.read()?.custom_fields(actor.account)?)
}

/// Changes a field; its name, type and `MULTIPLE` stay as created.
///
/// # Errors
/// [`CoreError::NotFound`] for an unknown ID; [`CoreError::Validation`] on a field of the spec
/// that cannot change, or a bad option.
pub fn update_field(ctx: Ctx<'_>, actor: &Actor, id: u32, spec: FieldSpec) -> Result<CustomField, CoreError> {
    require_admin(actor)?;
    let mut tx = ctx.db.write()?;
    let mut field = load(&*tx, actor, id)?;
    if let Some(name) = &spec.field_name {
        if CustomField::name_for(name).ok().as_deref() != Some(field.name.as_str()) {
            return Err(CoreError::invalid("FIELD_NAME", "cannot be changed"));
        }
    }
    if spec.kind.is_some_and(|k| k != field.kind) {
        return Err(CoreError::invalid("USER_TYPE_ID", "cannot be changed: the type is fixed at creation"));
    }
    if spec.multiple.is_some_and(|m| m != field.multiple) {
        return Err(CoreError::invalid("MULTIPLE", "cannot be changed"));
    }
    apply(&mut *tx, actor, &mut field, spec)?;
    tx.update_custom_field(&field)?;
    tx.commit()?;
    Ok(field)
}

/// Deletes a field: its definition at once, its values later (housekeeping).
///
/// # Errors
/// [`CoreError::NotFound`] for an unknown ID.
pub fn delete_field(ctx: Ctx<'_>, actor: &Actor, id: u32) -> Result<(), CoreError> {
    require_admin(actor)?;
    let mut tx = ctx.db.write()?;
    load(&*tx, actor, id)?;
    tx.delete_custom_field(actor.account, id)?;
    tx.commit()?;
    Ok(())
}

fn load(tx: &dyn Tx, actor: &Actor, id: u32) -> Result<CustomField, CoreError> {
    tx.custom_fields(actor.account)?
        .into_iter()
        .find(|f| f.id == id)
        .ok_or_else(|| CoreError::not_found("custom field", id))
}

fn apply(tx: &mut dyn Tx, actor: &Actor, field: &mut CustomField, spec: FieldSpec) -> Result<(), CoreError> {
    if let Some(m) = spec.mandatory {
        field.mandatory = m;
    }
    if let Some(f) = spec.show_filter {
        let f = f.trim().to_ascii_uppercase();
        if !["N", "I", "E", "S"].contains(&f.as_str()) {
            return Err(CoreError::invalid("SHOW_FILTER", "expected N, I, E or S"));
        }
        field.show_filter = f;
    }
    for (target, value) in [
        (&mut field.show_in_list, spec.show_in_list),
        (&mut field.edit_in_list, spec.edit_in_list),
        (&mut field.searchable, spec.searchable),
    ] {
        if let Some(v) = value {
            *target = v;
        }
    }
    if let Some(s) = spec.sort {
        field.sort = s;
    }
    if let Some(x) = spec.xml_id {
        let x = x.trim().to_string();
        if x.chars().count() > 255 {
            return Err(CoreError::invalid("XML_ID", "longer than 255 characters"));
        }
        field.xml_id = x;
    }
    if let Some(s) = spec.settings {
        field.settings = s;
    }
    if let Some(l) = spec.labels {
        field.labels = l;
    }
    if let Some(options) = spec.options {
        if field.kind != CustomKind::Enumeration {
            return Err(CoreError::invalid("LIST", "only an enumeration field has options"));
        }
        let mut kept: BTreeMap<u32, EnumOption> = field.options.drain(..).map(|o| (o.id, o)).collect();
        for o in options {
            let value = o.value.trim().to_string();
            match o.id {
                Some(id) if !kept.contains_key(&id) => {
                    return Err(CoreError::invalid("LIST", format!("the field has no option {id}")));
                }
                Some(id) if o.delete => {
                    kept.remove(&id);
                }
                _ if value.is_empty() || value.chars().count() > 255 => {
                    return Err(CoreError::invalid("LIST", "an option's VALUE takes 1 to 255 characters"));
                }
                Some(id) => {
                    kept.insert(
                        id,
                        EnumOption { id, value, default: o.default, sort: o.sort, xml_id: o.xml_id },
                    );
                }
                None if o.delete => {}
                None => {
                    let id = tx.next_id(actor.account, Sequence::CustomField)?;
                    kept.insert(
                        id,
                        EnumOption { id, value, default: o.default, sort: o.sort, xml_id: o.xml_id },
                    );
                }
            }
        }
        field.options = kept.into_values().collect();
        field.options.sort_by_key(|o| (o.sort, o.id));
    }
    Ok(())
}

/// Validates the custom values of a user write (`UF_USR_*` keys): each names a field of the
/// account and holds what its type takes; for a new user (`creating`), every mandatory field
/// needs a value.
///
/// # Errors
/// [`CoreError::Validation`] naming the key.
pub(crate) fn parse_values(
    tx: &dyn Tx,
    actor: &Actor,
    user: UserId,
    raw: &[(String, Value)],
    creating: bool,
) -> Result<Vec<CustomValues>, CoreError> {
    if raw.is_empty() && !creating {
        return Ok(Vec::new());
    }
    let fields = tx.custom_fields(actor.account)?;
    let exists = |id: UserId| tx.user(actor.account, id).ok().flatten().is_some();
    let mut out = Vec::new();
    for (name, value) in raw {
        let upper = name.to_ascii_uppercase();
        let field = fields
            .iter()
            .find(|f| f.name == upper)
            .ok_or_else(|| CoreError::invalid(name, "the account has no custom field of this name"))?;
        // EDIT_IN_LIST: whether users change it themselves (administrators always may).
        if !field.edit_in_list && !actor.is_admin() {
            return Err(CoreError::forbidden(format!("{upper} can be changed by administrators only")));
        }
        out.push(CustomValues { user, field: field.id, values: field.parse(value, &exists)? });
    }
    if creating {
        if let Some(missing) = fields.iter().find(|f| f.mandatory && !out.iter().any(|v| v.field == f.id)) {
            return Err(CoreError::invalid(&missing.name, "is required"));
        }
    }
    Ok(out)
}

/// Whether `actor`'s quick searches look at custom fields' words (the account has searchable
/// string fields and the actor may read custom values): then their totals are counted, not
/// read from the index's prefix counts, so a transport that runs short reads apart must take
/// such a search for a possibly long one.
///
/// # Errors
/// [`CoreError::Storage`].
pub fn quick_search_reads_custom(ctx: Ctx<'_>, actor: &Actor) -> Result<bool, CoreError> {
    if !reads_values(actor) {
        return Ok(false);
    }
    let tx = ctx.db.read()?;
    Ok(!searchable_fields(&*tx, actor)?.is_empty())
}

/// The IDs of the account's string fields that the quick search looks at (`IS_SEARCHABLE`).
pub(crate) fn searchable_fields(tx: &dyn Tx, actor: &Actor) -> Result<Vec<u32>, CoreError> {
    Ok(tx
        .custom_fields(actor.account)?
        .into_iter()
        .filter(|f| f.searchable && f.kind == CustomKind::String)
        .map(|f| f.id)
        .collect())
}

/// The custom values of `users` as readers get them: `(user, [(name, value)])`, every field of
/// the account per user (empty ones too), in the fields' order.
pub(crate) fn read_values(
    tx: &dyn Tx,
    actor: &Actor,
    users: &[UserId],
    only: &CustomSelect,
) -> Result<BTreeMap<UserId, Vec<(String, Value)>>, CoreError> {
    let mut out = BTreeMap::new();
    if matches!(only, CustomSelect::None) || users.is_empty() || !reads_values(actor) {
        return Ok(out);
    }
    let fields: Vec<CustomField> =
        tx.custom_fields(actor.account)?.into_iter().filter(|f| only.includes(&f.name)).collect();
    if fields.is_empty() {
        return Ok(out);
    }
    let mut held: BTreeMap<(UserId, u32), Vec<crate::model::custom::CustomValue>> = BTreeMap::new();
    for v in tx.custom_values(actor.account, users)? {
        held.insert((v.user, v.field), v.values);
    }
    for &u in users {
        let row = fields
            .iter()
            .map(|f| (f.name.clone(), f.read(held.get(&(u, f.id)).map_or(&[][..], Vec::as_slice))))
            .collect();
        out.insert(u, row);
    }
    Ok(out)
}

/// Which custom fields a read returns (`select`): none by default and for `*` (Bitrix24's
/// `select: ["*", "UF_*"]` asks for both), all for `UF_*`, or those named.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum CustomSelect {
    /// None.
    #[default]
    None,
    /// Every field.
    All,
    /// These names (upper case).
    Names(Vec<String>),
}

impl CustomSelect {
    /// From a `select` list.
    pub fn parse<'a>(names: impl IntoIterator<Item = &'a str>) -> CustomSelect {
        let mut named = Vec::new();
        for n in names {
            let n = n.trim().to_ascii_uppercase();
            if n == "UF_*" {
                return CustomSelect::All;
            }
            if n.starts_with(crate::model::custom::PREFIX) {
                named.push(n);
            }
        }
        if named.is_empty() {
            CustomSelect::None
        } else {
            CustomSelect::Names(named)
        }
    }

    fn includes(&self, name: &str) -> bool {
        match self {
            CustomSelect::None => false,
            CustomSelect::All => true,
            CustomSelect::Names(n) => n.iter().any(|x| x == name),
        }
    }
}

/// The most users the conditions on custom fields of one filter may match together: the
/// stores take the matches as `ID` lists of bound values, which both bound (SQLite at 32,766,
/// with the filter's own lists of at most `query::FILTER_VALUES_MAX` beside them).
pub const CUSTOM_MATCHES_MAX: usize = 25_000;

/// Turns the filter's conditions on custom fields into `ID` conditions on the users whose
/// values pass them (the stores see plain conditions): `=` and lists match any value equal,
/// `!` the rest (users without a value included), `>`/`>=`/`<`/`<=` compare, `%` and `!%`
/// look for text; `=` with no value matches users without one.
///
/// # Errors
/// [`CoreError::Validation`] naming the key: an unknown field, a value its type does not take,
/// an operator it does not take, or a reader who may not read custom values.
pub(crate) fn resolve_conditions(
    tx: &dyn Tx,
    actor: &Actor,
    filter: &mut crate::query::UserFilter,
) -> Result<(), CoreError> {
    use crate::model::custom::CustomTest;
    use crate::query::{Condition, Op};
    use std::cmp::Ordering;
    let conditions = std::mem::take(&mut filter.custom);
    if conditions.is_empty() {
        return Ok(());
    }
    let fields = tx.custom_fields(actor.account)?;
    let mut matched = 0;
    for c in conditions {
        let key = format!("{}{}", c.op.prefix(), c.name);
        if !reads_values(actor) {
            return Err(CoreError::invalid(
                &key,
                "reading custom fields needs the user scope, or user.userfield too",
            ));
        }
        let field = fields
            .iter()
            .find(|f| f.name == c.name)
            .ok_or_else(|| CoreError::invalid(&key, "the account has no custom field of this name"))?;
        // Filter values are typed as the field's values are, a list allowed whatever MULTIPLE.
        let as_list = CustomField { multiple: true, mandatory: false, ..field.clone() };
        let typed = |raw: &Value| {
            as_list.parse(raw, &|_| true).map_err(|e| match e {
                CoreError::Validation { reason, .. } => CoreError::invalid(&key, reason),
                e => e,
            })
        };
        let text_kind = matches!(field.kind, CustomKind::String | CustomKind::Url);
        let (test, negative) = match c.op {
            Op::Eq | Op::In | Op::Ne | Op::NotIn => {
                let values = typed(&c.value)?;
                let negative = matches!(c.op, Op::Ne | Op::NotIn);
                if values.is_empty() {
                    // "= nothing": the users without a value; "! nothing": those with one.
                    (CustomTest::Any, !negative)
                } else {
                    (CustomTest::AnyOf(values), negative)
                }
            }
            Op::Gt | Op::Ge | Op::Lt | Op::Le => {
                let mut values = typed(&c.value)?;
                if values.len() != 1 {
                    return Err(CoreError::invalid(&key, "expected one value"));
                }
                let (ord, or_equal) = match c.op {
                    Op::Gt => (Ordering::Greater, false),
                    Op::Ge => (Ordering::Greater, true),
                    Op::Lt => (Ordering::Less, false),
                    _ => (Ordering::Less, true),
                };
                (CustomTest::Compare(ord, or_equal, values.remove(0)), false)
            }
            Op::Contains | Op::NotContains if text_kind => {
                let part = match &c.value {
                    Value::Text(t) if !t.trim().is_empty() => t.trim().to_string(),
                    _ => return Err(CoreError::invalid(&key, "expected text")),
                };
                if part.chars().count() > crate::query::FILTER_VALUE_MAX {
                    let max = crate::query::FILTER_VALUE_MAX;
                    return Err(CoreError::invalid(&key, format!("a value is longer than {max} characters")));
                }
                (CustomTest::Contains(part), c.op == Op::NotContains)
            }
            _ => return Err(CoreError::invalid(&key, "this operator does not apply to the field")),
        };
        let ids = tx.custom_matches(actor.account, field.id, &test, CUSTOM_MATCHES_MAX + 1)?;
        matched += ids.len();
        if matched > CUSTOM_MATCHES_MAX {
            return Err(CoreError::invalid(
                &key,
                format!("the conditions on custom fields match more than {CUSTOM_MATCHES_MAX} users together; narrow them"),
            ));
        }
        let ids = ids.into_iter().map(|u| i64::from(u.0)).collect();
        filter.conditions.push(Condition::ids(if negative { Op::NotIn } else { Op::In }, ids));
    }
    Ok(())
}

/// The sort key of a custom field by its name (`sort=UF_USR_X`), for a reader who may read its
/// values.
///
/// # Errors
/// [`CoreError::Validation`] on `sort` for an unknown field or a reader who may not read
/// custom values.
pub fn sort_key(
    ctx: Ctx<'_>,
    actor: &Actor,
    name: &str,
    descending: bool,
) -> Result<crate::query::SortKey, CoreError> {
    use crate::query::{CustomColumn, CustomSortKey, SortKey};
    if !reads_values(actor) {
        return Err(CoreError::invalid(
            "sort",
            "reading custom fields needs the user scope, or user.userfield too",
        ));
    }
    let upper = name.trim().to_ascii_uppercase();
    let fields = ctx.db.read()?.custom_fields(actor.account)?;
    let field = fields
        .iter()
        .find(|f| f.name == upper)
        .ok_or_else(|| CoreError::invalid("sort", format!("the account has no custom field {upper}")))?;
    let column = match field.kind {
        CustomKind::Double => CustomColumn::Real,
        CustomKind::String | CustomKind::Url | CustomKind::Date | CustomKind::DateTime => CustomColumn::Txt,
        _ => CustomColumn::Num,
    };
    Ok(SortKey {
        field: crate::field::UserField::Id,
        descending,
        custom: Some(CustomSortKey { field: field.id, column }),
    })
}

/// Every custom field's values of `users`, for an administrator (an export reads them a chunk
/// of users at a time): `user → [(name, value)]` in the fields' order.
///
/// # Errors
/// [`CoreError::Forbidden`] for anybody else.
pub fn values_for(
    ctx: Ctx<'_>,
    actor: &Actor,
    users: &[UserId],
) -> Result<BTreeMap<UserId, Vec<(String, Value)>>, CoreError> {
    actor.require_admin()?;
    let tx = ctx.db.read()?;
    read_values(&*tx, actor, users, &CustomSelect::All)
}
