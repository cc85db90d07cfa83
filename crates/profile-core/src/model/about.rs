//! "About me" (seed 000): what a person tells colleagues, written in BBCode as Bitrix stores
//! it and rendered here to HTML that is safe to put in a page: every character of the text is
//! escaped, only the tags below become markup, links only go to `http`, `https` and `mailto`
//! addresses, and there are no images (a remote image would tell its server who reads the card).
//!
//! Tags: `[b]`, `[i]`, `[u]`, `[s]`, `[url]address[/url]`, `[url=address]text[/url]`,
//! `[list]` / `[list=1]` with `[*]` items, `[quote]`. Names are read in any case; an unknown
//! or unmatched tag stays as the text it is; tags left open are closed at the end.

use crate::error::CoreError;

/// The longest text, in characters.
pub const ABOUT_MAX: usize = 4_000;

/// Checks an "about me" text: at most [`ABOUT_MAX`] characters, no control characters other
/// than line breaks and tabs. Line breaks are kept as `\n`.
///
/// # Errors
/// [`CoreError::Validation`] on `ABOUT`.
pub fn check_about(text: &str) -> Result<String, CoreError> {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let text = text.trim_end();
    if text.chars().count() > ABOUT_MAX {
        return Err(CoreError::invalid("ABOUT", format!("longer than {ABOUT_MAX} characters")));
    }
    if text.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(CoreError::invalid("ABOUT", "holds control characters"));
    }
    Ok(text.to_string())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tag {
    B,
    I,
    U,
    S,
    Url,
    List,
    Item,
    Quote,
}

impl Tag {
    fn named(name: &str) -> Option<Tag> {
        Some(match name.to_ascii_lowercase().as_str() {
            "b" => Tag::B,
            "i" => Tag::I,
            "u" => Tag::U,
            "s" => Tag::S,
            "url" => Tag::Url,
            "list" => Tag::List,
            "*" => Tag::Item,
            "quote" => Tag::Quote,
            _ => return None,
        })
    }

    fn simple(self) -> Option<(&'static str, &'static str)> {
        match self {
            Tag::B => Some(("<b>", "</b>")),
            Tag::I => Some(("<i>", "</i>")),
            Tag::U => Some(("<u>", "</u>")),
            Tag::S => Some(("<s>", "</s>")),
            Tag::Quote => Some(("<blockquote>", "</blockquote>")),
            _ => None,
        }
    }
}

/// A tag as written: `[name]`, `[name=arg]` or `[/name]`, and how many bytes it takes.
struct Written<'a> {
    tag: Tag,
    closing: bool,
    arg: Option<&'a str>,
    len: usize,
}

fn read_tag(s: &str) -> Option<Written<'_>> {
    let end = s.find(']')?;
    let inner = &s[1..end];
    if inner.len() > 2_048 || inner.contains('[') {
        return None;
    }
    let (closing, inner) = match inner.strip_prefix('/') {
        Some(rest) => (true, rest),
        None => (false, inner),
    };
    let (name, arg) = match inner.split_once('=') {
        Some((n, a)) if !closing => (n, Some(a.trim_matches(|c| c == '"' || c == '\''))),
        Some(_) => return None,
        None => (inner, None),
    };
    let tag = Tag::named(name.trim())?;
    Some(Written { tag, closing, arg, len: end + 1 })
}

/// `address` as a link target, if it may be one: `http`, `https` or `mailto`, no spaces or
/// quotes.
fn link_target(address: &str) -> Option<String> {
    let a = address.trim();
    let lower = a.to_ascii_lowercase();
    let allowed =
        ["http://", "https://", "mailto:"].iter().any(|p| lower.starts_with(p) && lower.len() > p.len());
    let clean =
        !a.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '\'' | '<' | '>' | '`'));
    (allowed && clean).then(|| escape(a))
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    push_escaped(&mut out, text);
    out
}

fn push_escaped(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' => out.push_str("<br>"),
            c => out.push(c),
        }
    }
}

/// What an open tag is closed with.
struct Open {
    tag: Tag,
    close: &'static str,
}

/// Renders BBCode as safe HTML (see the module's documentation).
pub fn render_about(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 32);
    let mut open: Vec<Open> = Vec::new();
    let mut rest = text;
    let close_to = |out: &mut String, open: &mut Vec<Open>, at: usize| {
        while open.len() > at {
            if let Some(o) = open.pop() {
                out.push_str(o.close);
            }
        }
    };
    // Bounded: every round consumes at least one character.
    while let Some(c) = rest.chars().next() {
        let written = if c == '[' { read_tag(rest) } else { None };
        let Some(w) = written else {
            let first = c.len_utf8();
            let next = rest[first..].find('[').map_or(rest.len(), |i| i + first);
            let mut chunk = &rest[..next];
            // Line breaks between a list's items are layout, not text.
            let in_list = open.last().is_some_and(|o| o.tag == Tag::List);
            if in_list && chunk.trim().is_empty() {
                rest = &rest[next..];
                continue;
            }
            let in_item = open.last().is_some_and(|o| o.tag == Tag::Item);
            let after: String = rest[next..].chars().take(7).collect::<String>().to_ascii_lowercase();
            if in_item && (after.starts_with("[*]") || after.starts_with("[/list]")) {
                chunk = chunk.strip_suffix('\n').unwrap_or(chunk);
            }
            push_escaped(&mut out, chunk);
            rest = &rest[next..];
            continue;
        };
        rest = &rest[w.len..];
        if w.closing {
            match open.iter().rposition(|o| o.tag == w.tag) {
                Some(at) => {
                    close_to(&mut out, &mut open, at);
                    if w.tag == Tag::List || w.tag == Tag::Quote {
                        rest = rest.strip_prefix('\n').unwrap_or(rest);
                    }
                }
                None => push_escaped(&mut out, &format!("[/{}]", tag_name(w.tag))),
            }
            continue;
        }
        match w.tag {
            Tag::Url => {
                if open.iter().any(|o| o.tag == Tag::Url) {
                    push_escaped(&mut out, "[url]");
                    continue;
                }
                match w.arg {
                    Some(address) => match link_target(address) {
                        Some(href) => {
                            out.push_str(&format!(
                                "<a href=\"{href}\" rel=\"nofollow noopener noreferrer\">"
                            ));
                            open.push(Open { tag: Tag::Url, close: "</a>" });
                        }
                        None => open.push(Open { tag: Tag::Url, close: "" }),
                    },
                    None => {
                        // The address is the text up to [/url].
                        let end = find_close(rest, "url");
                        let (inner, after) = match end {
                            Some((at, len)) => (&rest[..at], &rest[at + len..]),
                            None => (rest, ""),
                        };
                        match link_target(inner) {
                            Some(href) => out.push_str(&format!(
                                "<a href=\"{href}\" rel=\"nofollow noopener noreferrer\">{}</a>",
                                escape(inner.trim())
                            )),
                            None => push_escaped(&mut out, inner),
                        }
                        rest = after;
                    }
                }
            }
            Tag::List => {
                let ordered = w.arg.is_some_and(|a| a == "1");
                out.push_str(if ordered { "<ol>" } else { "<ul>" });
                open.push(Open { tag: Tag::List, close: if ordered { "</ol>" } else { "</ul>" } });
                rest = rest.strip_prefix('\n').unwrap_or(rest);
            }
            Tag::Item => match open.iter().rposition(|o| o.tag == Tag::List) {
                Some(list) => {
                    close_to(&mut out, &mut open, list + 1);
                    out.push_str("<li>");
                    open.push(Open { tag: Tag::Item, close: "</li>" });
                }
                None => push_escaped(&mut out, "[*]"),
            },
            tag => {
                if let Some((start, close)) = tag.simple() {
                    out.push_str(start);
                    open.push(Open { tag, close });
                    if tag == Tag::Quote {
                        rest = rest.strip_prefix('\n').unwrap_or(rest);
                    }
                }
            }
        }
    }
    close_to(&mut out, &mut open, 0);
    out
}

fn tag_name(tag: Tag) -> &'static str {
    match tag {
        Tag::B => "b",
        Tag::I => "i",
        Tag::U => "u",
        Tag::S => "s",
        Tag::Url => "url",
        Tag::List => "list",
        Tag::Item => "*",
        Tag::Quote => "quote",
    }
}

/// Where `[/name]` (any case) begins in `s`, and its length.
fn find_close(s: &str, name: &str) -> Option<(usize, usize)> {
    let closing = format!("[/{name}]");
    let lower = s.to_ascii_lowercase();
    lower.find(&closing).map(|at| (at, closing.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_become_markup_and_everything_else_is_escaped() {
        assert_eq!(render_about("[b]bold[/b] & [I]it[/i]"), "<b>bold</b> &amp; <i>it</i>");
        assert_eq!(render_about("<script>alert(1)</script>"), "&lt;script&gt;alert(1)&lt;/script&gt;");
        assert_eq!(render_about("a\nb"), "a<br>b");
        assert_eq!(render_about("[b]open"), "<b>open</b>");
        assert_eq!(
            render_about("stray [/b] [img]http://x/y.png[/img]"),
            "stray [/b] [img]http://x/y.png[/img]"
        );
        assert_eq!(render_about("[b][i]x[/b]"), "<b><i>x</i></b>");
    }

    #[test]
    fn links_go_only_to_web_and_mail_addresses() {
        assert_eq!(
            render_about("[url]https://example.com/a?b=1&c=2[/url]"),
            "<a href=\"https://example.com/a?b=1&amp;c=2\" rel=\"nofollow noopener noreferrer\">https://example.com/a?b=1&amp;c=2</a>"
        );
        assert_eq!(
            render_about("[url=https://example.com]my [b]site[/b][/url]"),
            "<a href=\"https://example.com\" rel=\"nofollow noopener noreferrer\">my <b>site</b></a>"
        );
        assert_eq!(render_about("[url=javascript:alert(1)]x[/url]"), "x");
        assert_eq!(render_about("[url]javascript:alert(1)[/url]"), "javascript:alert(1)");
        assert_eq!(render_about("[url=\"https://a.b/\" onclick=\"x\"]y[/url]"), "y");
    }

    #[test]
    fn lists_and_quotes() {
        assert_eq!(
            render_about("[list]\n[*]one\n[*]two\n[/list]\nafter"),
            "<ul><li>one</li><li>two</li></ul>after"
        );
        assert_eq!(render_about("[list=1][*]a[*]b[/list]"), "<ol><li>a</li><li>b</li></ol>");
        assert_eq!(render_about("[*] no list"), "[*] no list");
        assert_eq!(render_about("[quote]\nwise[/quote]"), "<blockquote>wise</blockquote>");
    }

    #[test]
    fn any_script_is_text() {
        assert_eq!(render_about("é"), "é");
        assert_eq!(render_about("Привет [b]Ж[/b] 🙂"), "Привет <b>Ж</b> 🙂");
        assert_eq!(render_about("[i]日本[/i]語"), "<i>日本</i>語");
    }

    #[test]
    fn long_and_controlled_texts_are_refused() {
        assert!(check_about(&"x".repeat(ABOUT_MAX + 1)).is_err());
        assert!(check_about("bell\u{7}").is_err());
        assert_eq!(check_about("a\r\nb  \n").unwrap(), "a\nb");
    }
}
