//! Every text Cardfile sends, in one catalogue: subjects, paragraphs and SMS of each message
//! kind, keyed and filled with named `{placeholders}`, so that a translation is one more table
//! of the same keys (the web pages will share it). A message is composed of blocks (paragraphs,
//! a link, a code, a quoted note) and rendered to a plain-text part and an HTML part from the
//! same blocks; every value placed into HTML is escaped.

mod english;
pub mod kinds;
mod render;

pub use render::{escape, Block, Composed, Rendered};

/// A table of texts by key.
#[derive(Debug, Clone, Copy)]
pub struct Catalogue {
    entries: &'static [(&'static str, &'static str)],
}

/// The English texts by key (the first entry of a key wins, as a scan would find it): a page
/// looks up hundreds of texts (the structure page three a department), each otherwise a scan
/// of the whole catalogue.
static ENGLISH_INDEX: std::sync::LazyLock<std::collections::HashMap<&'static str, &'static str>> =
    std::sync::LazyLock::new(|| english::ENTRIES.iter().rev().copied().collect());

/// The English catalogue, the default and the fallback of every other.
pub const ENGLISH: Catalogue = Catalogue { entries: english::ENTRIES };

impl Catalogue {
    /// The text under `key`: this catalogue's, else English, else the key itself (so a missing
    /// entry shows, rather than sending an empty line).
    pub fn text(&self, key: &'static str) -> &'static str {
        let english = || ENGLISH_INDEX.get(key).copied();
        if std::ptr::eq(self.entries, english::ENTRIES) {
            return english().unwrap_or(key);
        }
        self.entries.iter().find(|(k, _)| *k == key).map(|e| e.1).or_else(english).unwrap_or(key)
    }

    /// The text under `key` with each `{name}` replaced by its value in `args` (unknown names
    /// stay as written). Values are inserted as given: escaping is the renderer's job.
    pub fn fill(&self, key: &'static str, args: &[(&str, &str)]) -> String {
        fill(self.text(key), args)
    }

    /// Every key, for tests that check a translation is complete.
    pub fn keys(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.entries.iter().map(|e| e.0)
    }
}

fn fill(template: &str, args: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}').map(|close| (&after[..close], close)) {
            Some((name, close)) if args.iter().any(|(n, _)| *n == name) => {
                out.push_str(args.iter().find(|(n, _)| *n == name).map_or("", |a| a.1));
                rest = &after[close + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_named_placeholders_once_each() {
        assert_eq!(fill("{a} and {b}, {c}", &[("a", "1"), ("b", "{a}")]), "1 and {a}, {c}");
        assert_eq!(fill("no braces", &[]), "no braces");
        assert_eq!(fill("open { only", &[("x", "y")]), "open { only");
    }

    #[test]
    fn missing_keys_show_themselves() {
        assert_eq!(ENGLISH.text("no.such.key"), "no.such.key");
        assert!(ENGLISH.keys().all(|k| !ENGLISH.text(k).is_empty()));
    }
}
