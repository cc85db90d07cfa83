//! Quick search: every user's search words as a tsvector (`users.words`), searched by prefix.

use std::collections::HashMap;

use profile_core::ids::{DepartmentId, UserId};
use profile_core::model::user::User;
use profile_core::ports::StoreResult;
use profile_core::query::{
    add_custom_words, custom_word, interest_word, user_search_words, FindTerm, ADDRESS_MARK, EMAIL_WORD_MARK,
    PHONE_MARK,
};

use crate::codec::{get, id32};
use crate::users::uid;
use crate::PgTx;

pub(crate) fn department_name(tx: &PgTx<'_>, no: i64, id: DepartmentId) -> StoreResult<String> {
    Ok(tx
        .query_opt(
            "SELECT name FROM departments WHERE account_no = $1 AND id = $2",
            &[&no, &i64::from(id.0)],
        )?
        .map(|r| get::<String>(&r, 0))
        .transpose()?
        .unwrap_or_default())
}

/// The words `user` is found by, with the current names of their departments and the values
/// of the account's string custom fields.
pub(crate) fn words_of(tx: &PgTx<'_>, no: i64, user: &User) -> StoreResult<Vec<String>> {
    let names =
        user.departments.iter().map(|d| department_name(tx, no, *d)).collect::<StoreResult<Vec<_>>>()?;
    let mut words = user_search_words(user, names.iter().map(String::as_str));
    let custom = custom_texts(tx, no, uid(no, user.id))?;
    add_custom_words(&mut words, custom.iter().map(|(f, t)| (*f, t.as_str())));
    Ok(words)
}

/// The values of a user's string custom fields (of fields not deleted), by field.
pub(crate) fn custom_texts(tx: &PgTx<'_>, no: i64, uid: i64) -> StoreResult<Vec<(u32, String)>> {
    tx.query(
        "SELECT v.field, v.txt FROM custom_values v JOIN custom_fields f ON f.account_no = $1 AND f.id = v.field \
         WHERE v.uid = $2 AND f.kind = 'string' AND v.txt IS NOT NULL",
        &[&no, &uid],
    )?
    .iter()
    .map(|r| Ok((id32(r, 0)?, get(r, 1)?)))
    .collect()
}

/// Writes the search words of the users of every account who hold values of string custom
/// fields again (after a copy wrote the users' words before their values).
pub(crate) fn rewrite_custom_holders(tx: &PgTx<'_>) -> StoreResult<()> {
    let holders: Vec<(i64, uuid::Uuid, i64)> = tx
        .query(
            "SELECT DISTINCT a.no, a.id, v.uid FROM custom_values v \
             JOIN accounts a ON a.no = v.uid >> 32 \
             JOIN custom_fields f ON f.account_no = a.no AND f.id = v.field AND f.kind = 'string' \
             ORDER BY v.uid",
            &[],
        )?
        .iter()
        .map(|r| Ok((get(r, 0)?, crate::codec::uuid(r, 1)?, get(r, 2)?)))
        .collect::<StoreResult<_>>()?;
    for (no, account, u) in holders {
        rewrite(tx, profile_core::ids::AccountId(account), no, &[crate::users::id_of(u)])?;
    }
    Ok(())
}

/// Writes the search words of the users `uids` of account `no` again (their departments'
/// names changed).
pub(crate) fn rewrite(
    tx: &PgTx<'_>,
    account: profile_core::ids::AccountId,
    no: i64,
    ids: &[UserId],
) -> StoreResult<()> {
    use profile_core::ports::UserStore;
    for &id in ids {
        let Some(user) = tx.user(account, id)? else { continue };
        let words = document(&words_of(tx, no, &user)?);
        tx.execute(
            "UPDATE users SET words = array_to_tsvector(string_to_array($2, ' ')) WHERE uid = $1",
            &[&uid(no, id), &words],
        )?;
    }
    Ok(())
}

/// The longest word a tsvector or tsquery holds, in bytes (PostgreSQL's limit).
const LEXEME_MAX: usize = 2047;

/// `word` cut to what a tsvector holds, at a character boundary: a search of up to that many
/// bytes, as a prefix, still finds it. (A position's 255 Hangul syllables fold to ~2,300
/// bytes.)
pub(crate) fn storable(word: &str) -> &str {
    if word.len() <= LEXEME_MAX {
        return word;
    }
    let mut end = LEXEME_MAX;
    while !word.is_char_boundary(end) {
        end -= 1;
    }
    &word[..end]
}

/// A user's search words as the text `array_to_tsvector(string_to_array(…, ' '))` takes.
pub(crate) fn document(words: &[String]) -> String {
    words.iter().map(|w| storable(w)).collect::<Vec<_>>().join(" ")
}

/// One lexeme of a tsquery, matched whole; a word longer than any stored word matches
/// nothing.
fn lexeme(word: &str) -> String {
    if word.len() > LEXEME_MAX {
        return format!("'{NOTHING}'");
    }
    format!("'{}'", word.replace('\\', "\\\\").replace('\'', "''"))
}

/// One lexeme of a tsquery, matched as a prefix; a word longer than any stored word matches
/// nothing (PostgreSQL refuses it).
fn prefix(word: &str) -> String {
    if word.len() > LEXEME_MAX {
        return format!("'{NOTHING}'");
    }
    format!("'{}':*", word.replace('\\', "\\\\").replace('\'', "''"))
}

/// The tsquery for quick-search terms (the reference is `profile_core::query::FindTerm`):
/// every term required; a word as a prefix, of an email word too with `contacts`; an address
/// as a prefix of the address word (with `contacts`, else nothing); a phone number as a
/// prefix of a phone word (with `contacts`) or as its words; a word also as a prefix of a word
/// of the `custom` fields.
pub(crate) fn tsquery(terms: &[FindTerm], contacts: bool, custom: &[u32]) -> String {
    let word = |w: &str| {
        let mut any = vec![prefix(w)];
        if contacts {
            any.push(prefix(&format!("{EMAIL_WORD_MARK}{w}")));
        }
        any.extend(custom.iter().map(|&f| prefix(&custom_word(f, w))));
        if any.len() == 1 {
            any.remove(0)
        } else {
            format!("({})", any.join(" | "))
        }
    };
    let words = |ws: &[String]| ws.iter().map(|w| word(w)).collect::<Vec<_>>().join(" & ");
    terms
        .iter()
        .map(|t| match t {
            FindTerm::Word(w) => word(w),
            FindTerm::Email(a) if contacts => prefix(&format!("{ADDRESS_MARK}{a}")),
            // A word no user has.
            FindTerm::Email(_) => format!("'{NOTHING}'"),
            FindTerm::Phone { digits, words: ws } if contacts => {
                format!("({} | ({}))", prefix(&format!("{PHONE_MARK}{digits}")), words(ws))
            }
            FindTerm::Phone { words: ws, .. } => format!("({})", words(ws)),
            // Whole lexemes: a tag is held exactly.
            FindTerm::Interest(tags) => format!(
                "({})",
                tags.iter().map(|t| lexeme(&interest_word(t))).collect::<Vec<_>>().join(" | ")
            ),
        })
        .collect::<Vec<_>>()
        .join(" & ")
}

/// A private-use character no search word starts with.
const NOTHING: char = '\u{E0FF}';

/// Writes every user's search words again from the users and departments tables; returns how
/// many users were indexed. Runs inside the caller's write transaction.
pub(crate) fn rebuild(tx: &PgTx<'_>) -> StoreResult<u64> {
    let accounts: Vec<(i64, uuid::Uuid)> = tx
        .query("SELECT no, id FROM accounts ORDER BY no", &[])?
        .iter()
        .map(|r| Ok((get(r, 0)?, crate::codec::uuid(r, 1)?)))
        .collect::<StoreResult<_>>()?;
    let mut indexed = 0;
    for (no, id) in accounts {
        let account = profile_core::ids::AccountId(id);
        let names: HashMap<u32, String> = tx
            .query("SELECT id, name FROM departments WHERE account_no = $1", &[&no])?
            .iter()
            .map(|r| Ok((id32(r, 0)?, get(r, 1)?)))
            .collect::<StoreResult<_>>()?;
        let mut after = UserId(0);
        // Bounded: each round reads the next 1,000 users of a range of 2^32.
        loop {
            let users = crate::users::read_after(tx, account, no, after, 1000)?;
            let Some(tail) = users.last() else { break };
            after = tail.id;
            let uids: Vec<i64> = users.iter().map(|u| uid(no, u.id)).collect();
            let words: Vec<String> = users
                .iter()
                .map(|u| {
                    let mut words = user_search_words(
                        u,
                        u.departments.iter().filter_map(|d| names.get(&d.0)).map(String::as_str),
                    );
                    let custom = custom_texts(tx, no, uid(no, u.id))?;
                    add_custom_words(&mut words, custom.iter().map(|(f, t)| (*f, t.as_str())));
                    Ok(document(&words))
                })
                .collect::<StoreResult<_>>()?;
            tx.execute(
                "UPDATE users SET words = array_to_tsvector(string_to_array(t.w, ' ')) \
                 FROM unnest($1::bigint[], $2::text[]) AS t(u, w) WHERE users.uid = t.u",
                &[&uids, &words],
            )?;
            indexed += users.len() as u64;
        }
        tx.changed(no);
    }
    Ok(indexed)
}
