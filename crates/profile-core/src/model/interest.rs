//! Interests (decisions.md "Profile content"): `UF_INTERESTS` holds `#tag` words, normalised
//! — lower case, diacritics folded — so that `FILTER[UF_INTERESTS]=#tag` finds exactly the
//! people with that tag ("find colleagues").

use crate::error::CoreError;

/// The most tags a person may have.
pub const INTERESTS_MAX: usize = 50;

/// The longest tag, in characters (without the `#`).
pub const TAG_MAX: usize = 32;

/// Normalises one tag: `#` optional, folded as search words are; letters, digits, `_` and `-`
/// only.
///
/// # Errors
/// [`CoreError::Validation`] on `field` naming the tag.
pub fn normalise_tag(field: &str, tag: &str) -> Result<String, CoreError> {
    let raw = tag.trim().trim_start_matches('#');
    let bad = || CoreError::invalid(field, format!("#{raw}: a tag is 1–{TAG_MAX} letters, digits, _ or -"));
    if !raw.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-') {
        return Err(bad());
    }
    let mut out = String::new();
    let mut part = String::new();
    for c in raw.chars().map(Some).chain([None]) {
        match c {
            Some(c) if c != '_' && c != '-' => part.push(c),
            sep => {
                let words = crate::query::search_words(&part);
                if words.len() > 1 || (words.is_empty() && !part.is_empty()) {
                    return Err(bad());
                }
                out.push_str(words.first().map_or("", String::as_str));
                out.extend(sep);
                part.clear();
            }
        }
    }
    let len = out.chars().count();
    if len == 0 || len > TAG_MAX || !out.chars().any(char::is_alphanumeric) {
        return Err(bad());
    }
    Ok(out)
}

/// Reads `UF_INTERESTS` as written (tags separated by spaces or commas, each with or without
/// `#`), normalised, duplicates dropped, in the order given; stored and read back as
/// `#a #b`.
///
/// # Errors
/// [`CoreError::Validation`] on `UF_INTERESTS` for a malformed tag or more than
/// [`INTERESTS_MAX`].
pub fn parse_interests(text: &str) -> Result<Vec<String>, CoreError> {
    let mut tags: Vec<String> = Vec::new();
    for raw in text.split(|c: char| c.is_whitespace() || c == ',' || c == ';').filter(|t| !t.is_empty()) {
        if raw == "#" {
            continue;
        }
        let tag = normalise_tag("UF_INTERESTS", raw)?;
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    if tags.len() > INTERESTS_MAX {
        return Err(CoreError::invalid("UF_INTERESTS", format!("at most {INTERESTS_MAX} tags")));
    }
    Ok(tags)
}

/// Tags as `UF_INTERESTS` holds them: `#a #b`.
pub fn interests_text(tags: &[String]) -> String {
    tags.iter().map(|t| format!("#{t}")).collect::<Vec<_>>().join(" ")
}

/// The tags of a stored `UF_INTERESTS`, normalised and each once: a value written before tags
/// were normalised reads as its tags would be written now, and what is no tag is left out.
pub fn stored_tags(text: &str) -> Vec<String> {
    let mut tags: Vec<String> = Vec::new();
    for raw in text.split(|c: char| c.is_whitespace() || c == ',' || c == ';') {
        if let Ok(tag) = normalise_tag("UF_INTERESTS", raw) {
            if !tags.contains(&tag) {
                tags.push(tag);
            }
        }
    }
    tags
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_normalised_and_deduplicated() {
        let tags = parse_interests("#Movies, travel #Straße  #movies #sci-fi #deep_work").unwrap();
        assert_eq!(tags, ["movies", "travel", "strasse", "sci-fi", "deep_work"]);
        assert_eq!(interests_text(&tags), "#movies #travel #strasse #sci-fi #deep_work");
        assert_eq!(stored_tags("#a #b"), ["a", "b"]);
        assert_eq!(
            stored_tags("#Movies, #movies #c++ travel"),
            ["movies", "travel"],
            "an older value reads as tags"
        );
        assert_eq!(normalise_tag("T", "#Café").unwrap(), "cafe");
    }

    #[test]
    fn bad_tags_and_too_many_are_refused() {
        assert!(parse_interests("#a.b").is_err());
        assert!(parse_interests("#c++").is_err(), "a tag is not cut short");
        assert!(parse_interests("#x").is_ok());
        assert!(parse_interests(&format!("#{}", "a".repeat(TAG_MAX + 1))).is_err());
        let many: Vec<String> = (0..=INTERESTS_MAX).map(|i| format!("#t{i}")).collect();
        assert!(parse_interests(&many.join(" ")).is_err());
        assert!(parse_interests("#-").is_err());
    }
}
