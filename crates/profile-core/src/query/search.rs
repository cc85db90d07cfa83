//! The quick search's reference semantics: how typed text becomes [`FindTerm`]s, how words are
//! folded, and the words a user is found by ([`user_search_words`]), marked by kind so that
//! contact details are found only by readers who may see them.

use crate::field::UserField;
use crate::model::user::User;
use unicode_normalization::UnicodeNormalization;

/// One term of a quick search, as [`UserFilter::with_find`](super::UserFilter::with_find)(super::UserFilter::with_find) reads typed text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FindTerm {
    /// A word (letters and digits, folded): it prefixes one of the user's words — names,
    /// position, department names and, with contacts, the words of the email's local part.
    Word(String),
    /// Text with an `@`: with contacts, it prefixes the user's email address, folded (so a
    /// whole address finds its owner). Without contacts it matches nobody.
    Email(String),
    /// Text that reads as a phone number (digits with spaces, `-`, `.`, parentheses and a
    /// leading `+`), four digits or more: with contacts, `digits` prefix the digits of one of
    /// the user's phones, or of what follows its country code (see [`phone_words`]); or else
    /// all of `words` match as [`FindTerm::Word`]s do.
    Phone {
        /// The digits typed.
        digits: String,
        /// The same text as words.
        words: Vec<String>,
    },
    /// Not typed text but `UF_INTERESTS=#tag` (a list: any of them): the user holds one of
    /// these interest tags, exactly (see [`crate::model::interest`]). The index answers it as
    /// it answers the quick search.
    Interest(Vec<String>),
}

pub(super) fn term_matches(term: &FindTerm, words: &[String], contacts: bool, custom: &[u32]) -> bool {
    let word = |q: &str| {
        words.iter().any(|w| match w.chars().next() {
            Some(EMAIL_WORD_MARK) => contacts && w[EMAIL_WORD_MARK.len_utf8()..].starts_with(q),
            Some(PHONE_MARK | ADDRESS_MARK) => false,
            Some(CUSTOM_MARK) => custom.iter().any(|&f| w.starts_with(&custom_word(f, q))),
            _ => w.starts_with(q),
        })
    };
    let marked = |mark: char, q: &str| {
        contacts && words.iter().any(|w| w.strip_prefix(mark).is_some_and(|w| w.starts_with(q)))
    };
    match term {
        FindTerm::Word(q) => word(q),
        FindTerm::Email(q) => marked(ADDRESS_MARK, q),
        FindTerm::Phone { digits, words: qs } => marked(PHONE_MARK, digits) || qs.iter().all(|q| word(q)),
        FindTerm::Interest(tags) => words.iter().any(|w| tags.iter().any(|t| *w == interest_word(t))),
    }
}

/// Reads typed text as quick-search terms: the whole text as a phone number when it reads as
/// one, else each space-separated part as an email (it has an `@`), a phone number, or words.
pub fn find_terms(text: &str) -> Vec<FindTerm> {
    if let Some(digits) = phone_digits(text) {
        return vec![FindTerm::Phone { digits, words: search_words(text) }];
    }
    let mut terms = Vec::new();
    for part in text.split_whitespace() {
        if part.contains('@') {
            let address = address_key(
                part.trim_matches(|c: char| matches!(c, '<' | '>' | ',' | ';' | '"' | '\'' | '(' | ')')),
            );
            if !address.is_empty() {
                terms.push(FindTerm::Email(address));
            }
        } else if let Some(digits) = phone_digits(part) {
            terms.push(FindTerm::Phone { digits, words: search_words(part) });
        } else {
            terms.extend(search_words(part).into_iter().map(FindTerm::Word));
        }
    }
    terms
}

/// The digits of text that reads as a phone number (digits, spaces, `-`, `.`, parentheses, a
/// leading `+`) with at least [`PHONE_DIGITS_MIN`] digits.
fn phone_digits(text: &str) -> Option<String> {
    let text = text.trim();
    let body = text.strip_prefix('+').unwrap_or(text);
    if !body.chars().all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')')) {
        return None;
    }
    let digits: String = body.chars().filter(char::is_ascii_digit).collect();
    (digits.len() >= PHONE_DIGITS_MIN).then_some(digits)
}

/// The fewest digits a search takes as a phone number.
pub const PHONE_DIGITS_MIN: usize = 4;

/// An email address as one search word: folded, with every character that is not a letter or
/// digit written as a private-use character, so that the address stays one word.
fn address_key(address: &str) -> String {
    fold(address)
        .chars()
        .map(|c| {
            if c.is_alphanumeric() {
                c
            } else {
                // Private use: typed text never holds these, and each stands for one character.
                char::from_u32(0xE100 + (u32::from(c) & 0xFF)).unwrap_or(ADDRESS_MARK)
            }
        })
        .collect()
}

/// Splits text into search words: letters and digits (everything else separates), lower-cased
/// and folded (`José` → `jose`, `Straße` → `strasse`, `Ørsted` → `orsted`).
pub fn search_words(text: &str) -> Vec<String> {
    // Composed first, so that a letter typed as a base and a combining mark (`u` + `¨`) is one
    // letter, as it is stored; words that fold to nothing (a lone mark) are no words.
    let composed: String = if text.is_ascii() { text.to_string() } else { text.nfc().collect() };
    composed.split(|c: char| !c.is_alphanumeric()).map(fold).filter(|w| !w.is_empty()).collect()
}

/// The longest prefix a store keeps a match count for; longer quick-search words are counted
/// from the index itself (they match few users).
pub const COUNTED_PREFIX_MAX: usize = 4;

/// The first character of every word taken from an email's local part, in
/// [`user_search_words`]. A private-use character: typed text never contains it (search words
/// are letters and digits), so only a search that asks for contacts finds them.
pub const EMAIL_WORD_MARK: char = '\u{E000}';

/// The first character of a phone's digits (and of what follows its possible country codes),
/// in [`user_search_words`].
pub const PHONE_MARK: char = '\u{E001}';

/// The first character of the whole email address as one word, in [`user_search_words`].
pub const ADDRESS_MARK: char = '\u{E002}';

/// The first character of a custom string field's word, in [`custom_search_words`]; the
/// field's ID and [`CUSTOM_END`] follow, then the word.
pub const CUSTOM_MARK: char = '\u{E003}';

/// Ends the field's ID in a custom field's word (see [`CUSTOM_MARK`]).
pub const CUSTOM_END: char = '\u{E004}';

/// The first character of an interest tag as a search word, in [`user_search_words`]: only
/// [`FindTerm::Interest`] matches it, whole.
pub const INTEREST_MARK: char = '\u{E005}';

/// An interest tag as the search word [`FindTerm::Interest`] matches: its `_` and `-` written
/// as private-use characters, so that a store's tokenizer keeps the tag one word.
pub fn interest_word(tag: &str) -> String {
    std::iter::once(INTEREST_MARK)
        .chain(tag.chars().map(|c| match c {
            '_' => TAG_UNDERSCORE,
            '-' => TAG_HYPHEN,
            c => c,
        }))
        .collect()
}

/// The tag an [`interest_word`] stands for.
pub fn interest_tag(word: &str) -> Option<String> {
    let rest = word.strip_prefix(INTEREST_MARK)?;
    Some(
        rest.chars()
            .map(|c| match c {
                TAG_UNDERSCORE => '_',
                TAG_HYPHEN => '-',
                c => c,
            })
            .collect(),
    )
}

const TAG_UNDERSCORE: char = '\u{E006}';
const TAG_HYPHEN: char = '\u{E007}';

/// A word of custom field `field`'s value as a search word (or, for a typed word, as the
/// prefix that finds it): marked with the field, so that a store keeps the words of every
/// string field and a search asks only for those of the fields that are searchable
/// (`IS_SEARCHABLE`) — a field that becomes searchable, or stops being, needs no rewrite.
pub fn custom_word(field: u32, word: &str) -> String {
    format!("{CUSTOM_MARK}{field}{CUSTOM_END}{word}")
}

/// The search words of a value of custom string field `field` (see [`custom_word`]).
pub fn custom_search_words(field: u32, text: &str) -> impl Iterator<Item = String> + '_ {
    search_words(text).into_iter().map(move |w| custom_word(field, &w))
}

/// Adds custom fields' words (`(field, value)`, see [`custom_search_words`]) to the words of
/// [`user_search_words`], keeping them sorted and distinct.
pub fn add_custom_words<'a>(words: &mut Vec<String>, values: impl IntoIterator<Item = (u32, &'a str)>) {
    let before = words.len();
    for (field, text) in values {
        words.extend(custom_search_words(field, text));
    }
    if words.len() > before {
        words.sort();
        words.dedup();
    }
}

/// The distinct prefixes of 1 to [`COUNTED_PREFIX_MAX`] characters that a one-word quick
/// search can match in `words`: those of ordinary words, and (apart, unmarked) those that only
/// email words have. Both sorted. Phone and address words are never counted: a word cannot
/// match them; nor are custom fields' words (a search that looks at them counts its matches).
/// An interest tag's word counts whole (with its mark): how many hold the tag.
pub fn search_prefixes(words: &[String]) -> (Vec<&str>, Vec<&str>) {
    let mut plain = Vec::with_capacity(words.len() * COUNTED_PREFIX_MAX);
    let mut email = Vec::new();
    for w in words {
        let (into, w) = match w.chars().next() {
            Some(EMAIL_WORD_MARK) => (&mut email, &w[EMAIL_WORD_MARK.len_utf8()..]),
            Some(PHONE_MARK | ADDRESS_MARK | CUSTOM_MARK) => continue,
            // An interest tag is counted whole, so that its holders are counted.
            Some(INTEREST_MARK) => {
                plain.push(w.as_str());
                continue;
            }
            _ => (&mut plain, w.as_str()),
        };
        for (i, c) in w.char_indices().take(COUNTED_PREFIX_MAX) {
            into.push(&w[..i + c.len_utf8()]);
        }
    }
    plain.sort_unstable();
    plain.dedup();
    email.sort_unstable();
    email.dedup();
    email.retain(|p| plain.binary_search(p).is_err());
    (plain, email)
}

/// The phone fields a quick search looks at.
pub const SEARCHED_PHONES: [UserField; 3] =
    [UserField::WorkPhone, UserField::PersonalMobile, UserField::PersonalPhone];

/// The words a user is found by: names, position, the names of their departments; the words
/// of the email's local part (a shared domain would make every user match `co` or `ex`),
/// marked with [`EMAIL_WORD_MARK`]; the whole address, marked with [`ADDRESS_MARK`]; each
/// phone's [`phone_words`], marked with [`PHONE_MARK`]; and each interest tag, marked with
/// [`INTEREST_MARK`].
pub fn user_search_words<'a>(
    user: &User,
    department_names: impl IntoIterator<Item = &'a str>,
) -> Vec<String> {
    let email = user.text(UserField::Email);
    let local = email.split('@').next().unwrap_or_default();
    let mut words: Vec<String> = [
        user.text(UserField::Name),
        user.text(UserField::LastName),
        user.text(UserField::SecondName),
        user.text(UserField::WorkPosition),
    ]
    .iter()
    .flat_map(|t| search_words(t))
    .collect();
    words.extend(search_words(local).into_iter().map(|w| format!("{EMAIL_WORD_MARK}{w}")));
    if !email.is_empty() {
        words.push(format!("{ADDRESS_MARK}{}", address_key(email)));
    }
    for field in SEARCHED_PHONES {
        for digits in phone_words(user.text(field)) {
            words.push(format!("{PHONE_MARK}{digits}"));
        }
    }
    for name in department_names {
        words.extend(search_words(name));
    }
    words.extend(
        crate::model::interest::stored_tags(user.text(UserField::UfInterests))
            .iter()
            .map(|t| interest_word(t)),
    );
    words.sort();
    words.dedup();
    words
}

/// The digit strings a phone is found by: all its digits, and, for a number written
/// internationally (`+` or `00` first), those after its country code (E.164 codes are 1–3
/// digits and no code begins another, so the first digits tell its length). Those shorter
/// than [`PHONE_DIGITS_MIN`] are left out: no search reaches them.
pub fn phone_words(phone: &str) -> Vec<String> {
    let phone = phone.trim();
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    let mut out = Vec::with_capacity(2);
    if digits.len() >= PHONE_DIGITS_MIN {
        out.push(digits.clone());
    }
    let international = if phone.starts_with('+') {
        Some(digits.as_str())
    } else {
        digits.strip_prefix("00").filter(|_| phone.starts_with("00"))
    };
    if let Some(number) = international {
        let national = &number[country_code_len(number).min(number.len())..];
        if national.len() >= PHONE_DIGITS_MIN && national != digits {
            out.push(national.to_string());
        }
    }
    out
}

/// The length of the E.164 country code `number` starts with: 1 for the North American plan
/// (1) and Russia/Kazakhstan (7), 2 for the two-digit codes, else 3.
fn country_code_len(number: &str) -> usize {
    const TWO: [&str; 40] = [
        "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46", "47", "48",
        "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63", "64", "65", "66", "81",
        "82", "84", "86", "90", "91", "92",
    ];
    const TWO_MORE: [&str; 4] = ["93", "94", "95", "98"];
    if number.starts_with(['1', '7']) {
        1
    } else if TWO.iter().chain(TWO_MORE.iter()).any(|c| number.starts_with(c)) {
        2
    } else {
        3
    }
}

/// Whether the words of `name` (a department's) are each prefixed by one of `query`'s words,
/// every query word used: the reference of `UF_DEPARTMENT_NAME`.
pub fn name_matches(query: &[String], name: &str) -> bool {
    let words = search_words(name);
    !query.is_empty() && query.iter().all(|q| words.iter().any(|w| w.starts_with(q.as_str())))
}

/// Lower-cases and folds a word: diacritics dropped (`ü` → `u`, `ё` → `е`, but `й` stays),
/// and the letters that do not decompose written out (`ß` → `ss`, `æ` → `ae`, `ø` → `o`,
/// `ł` → `l`, `đ`/`ð` → `d`, `þ` → `th`, `ı` → `i`).
fn fold(word: &str) -> String {
    use unicode_normalization::char::{decompose_canonical, is_combining_mark};
    // Most words are ASCII: the same result as below, without a walk through `char`s.
    if word.is_ascii() {
        return word.to_ascii_lowercase();
    }
    let mut out = String::with_capacity(word.len());
    for c in word.chars().flat_map(char::to_lowercase) {
        match c {
            'ß' => out.push_str("ss"),
            'æ' => out.push_str("ae"),
            'œ' => out.push_str("oe"),
            'ø' => out.push('o'),
            'ł' => out.push('l'),
            'đ' | 'ð' => out.push('d'),
            'þ' => out.push_str("th"),
            'ı' => out.push('i'),
            // Russian and Ukrainian keep й apart from и.
            'й' => out.push('й'),
            c if c.is_ascii() => out.push(c),
            c => decompose_canonical(c, |d| {
                if !is_combining_mark(d) {
                    out.push(d);
                }
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::UserFilter;

    #[test]
    fn search_words_fold_and_prefix() {
        assert_eq!(search_words("José Ñúñez-Straße"), vec!["jose", "nunez", "strasse"]);
        assert_eq!(search_words("Müller Ørsted Æbelø Łukasz"), vec!["muller", "orsted", "aebelo", "lukasz"]);
        assert_eq!(search_words("Фёдор Йосиф Ἀθῆναι Nguyễn"), vec!["федор", "йосиф", "αθηναι", "nguyen"]);
        assert_eq!(search_words("Mu\u{308}ller И\u{306}осиф"), vec!["muller", "йосиф"], "decomposed input");
        assert_eq!(search_words("\u{e31} jane"), vec!["jane"], "a lone mark is no word");
        assert!(UserFilter::default().with_find("1 2 3 4 5 6 7 8 9").is_err(), "a phone's words count");
        let words = vec![
            "anna".to_string(),
            "an".to_string(),
            format!("{EMAIL_WORD_MARK}ann"),
            format!("{EMAIL_WORD_MARK}bo"),
        ];
        let (plain, email) = search_prefixes(&words);
        assert_eq!(plain, vec!["a", "an", "ann", "anna"]);
        assert_eq!(email, vec!["b", "bo"]);
    }

    #[test]
    fn typed_text_reads_as_terms() {
        use FindTerm::{Email, Phone, Word};
        let w = |s: &str| Word(s.into());
        assert_eq!(find_terms("Jane Doe"), vec![w("jane"), w("doe")]);
        assert_eq!(
            find_terms("+1 (555) 012-3456"),
            vec![Phone {
                digits: "15550123456".into(),
                words: vec!["1".into(), "555".into(), "012".into(), "3456".into()]
            }]
        );
        assert_eq!(find_terms("555"), vec![w("555")], "too few digits for a phone");
        assert_eq!(find_terms("Jane.Doe@Example.com"), vec![Email(address_key("jane.doe@example.com"))]);
        assert_eq!(
            find_terms("jane 5550 <j@x.y>"),
            vec![
                w("jane"),
                Phone { digits: "5550".into(), words: vec!["5550".into()] },
                Email(address_key("j@x.y"))
            ]
        );
    }

    #[test]
    fn contacts_are_found_only_with_contacts() {
        let mut u = User::new(
            crate::ids::AccountId(uuid::Uuid::nil()),
            crate::ids::UserId(2),
            crate::model::user::Role::Employee,
            chrono::DateTime::default(),
        );
        u.text.insert(UserField::Name, "Jane".into());
        u.text.insert(UserField::Email, "Jane.Doe@Example.com".into());
        u.text.insert(UserField::WorkPhone, "+1 555-012-3456".into());
        let words = user_search_words(&u, ["Sales Europe"]);
        let finds = |text: &str, contacts: bool| {
            let mut f = UserFilter::default().with_find(text).unwrap();
            f.find_contacts = contacts;
            f.find_matches(&words)
        };
        for text in [
            "jane.doe@example.com",
            "JANE.DOE@EX",
            "5550123456",
            "+1 555 012",
            "15550123",
            "doe",
            "jane sales",
        ] {
            assert!(finds(text, true), "{text}");
        }
        for text in ["jane.doe@example.com", "5550123456", "doe"] {
            assert!(!finds(text, false), "{text} without contacts");
        }
        assert!(finds("jane eur", false));
        assert!(!finds("550123456", true), "only the country code is dropped");
        assert_eq!(phone_words("+1 555-012-3456"), vec!["15550123456", "5550123456"]);
        assert_eq!(phone_words("+44 7700 900123"), vec!["447700900123", "7700900123"]);
        assert_eq!(phone_words("+352 621 123 456"), vec!["352621123456", "621123456"]);
        assert_eq!(phone_words("0049 30 1234567"), vec!["0049301234567", "301234567"]);
        assert_eq!(phone_words("030 1234567"), vec!["0301234567"], "a national number has no country code");
        assert_eq!(phone_words("12"), Vec::<String>::new());
        assert!(!finds("example", true), "the domain is no word of its own");
        assert!(
            name_matches(&search_words("sal eu"), "Sales Europe")
                && !name_matches(&search_words("asia"), "Sales Europe")
        );
    }
}
