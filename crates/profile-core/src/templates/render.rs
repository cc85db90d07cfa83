//! Composed messages and their text and HTML renderings.

use super::Catalogue;

/// One piece of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// A paragraph of the server's own text.
    Para(String),
    /// A link, on a line of its own (a button in HTML).
    Link(String),
    /// A code or password, set apart.
    Code(String),
    /// Text written by a person (an inviter's note), quoted so that it never reads as the
    /// server's own.
    Quote(String),
}

/// A message before rendering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Composed {
    /// The e-mail subject.
    pub subject: String,
    /// The e-mail's blocks, in order.
    pub blocks: Vec<Block>,
    /// The SMS: short and plain.
    pub sms: String,
}

/// A rendered e-mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The subject.
    pub subject: String,
    /// The `text/plain` part.
    pub text: String,
    /// The `text/html` part.
    pub html: String,
}

impl Composed {
    /// Renders the e-mail, with the catalogue's footer naming `base_url`.
    pub fn render(&self, catalogue: &Catalogue, base_url: &str) -> Rendered {
        let footer = catalogue.fill("footer", &[("base_url", base_url)]);
        let mut text = String::new();
        let mut html = String::from(
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head>\
             <body style=\"font-family:sans-serif;line-height:1.5\">\n",
        );
        for block in &self.blocks {
            match block {
                Block::Para(p) => {
                    text.push_str(p);
                    html.push_str(&format!("<p>{}</p>\n", escape(p).replace('\n', "<br>")));
                }
                Block::Link(url) => {
                    text.push_str(url);
                    let url = escape(url);
                    html.push_str(&format!("<p><a href=\"{url}\">{url}</a></p>\n"));
                }
                Block::Code(code) => {
                    text.push_str("    ");
                    text.push_str(code);
                    html.push_str(&format!(
                        "<p style=\"font-size:1.4em;letter-spacing:0.1em\"><code>{}</code></p>\n",
                        escape(code)
                    ));
                }
                Block::Quote(note) => {
                    let quoted: Vec<String> =
                        note.lines().map(|l| format!("> {l}").trim_end().to_string()).collect();
                    text.push_str(&quoted.join("\n"));
                    html.push_str(&format!(
                        "<blockquote style=\"border-left:3px solid #ccc;margin-left:0;padding-left:1em\">{}</blockquote>\n",
                        escape(note).replace('\n', "<br>")
                    ));
                }
            }
            text.push_str("\n\n");
        }
        text.push_str("-- \n");
        text.push_str(&footer);
        text.push('\n');
        html.push_str(&format!(
            "<p style=\"color:#666;font-size:0.9em\">{}</p>\n</body></html>\n",
            escape(&footer)
        ));
        Rendered { subject: self.subject.clone(), text, html }
    }
}

/// Escapes text for HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::templates::ENGLISH;

    #[test]
    fn a_note_is_quoted_and_escaped() {
        let c = Composed {
            subject: "s".into(),
            blocks: vec![
                Block::Para("Hello & welcome".into()),
                Block::Link("https://x/invite/abc".into()),
                Block::Quote("<script>alert(1)</script>\nsecond".into()),
            ],
            sms: String::new(),
        };
        let r = c.render(&ENGLISH, "https://x");
        assert!(r
            .text
            .contains("Hello & welcome\n\nhttps://x/invite/abc\n\n> <script>alert(1)</script>\n> second\n"));
        assert!(r.html.contains("<p>Hello &amp; welcome</p>"));
        assert!(r.html.contains("&lt;script&gt;alert(1)&lt;/script&gt;<br>second"));
        assert!(!r.html.contains("<script>"));
        assert!(r.text.ends_with("-- \nThis message was sent by Cardfile at https://x.\n"));
    }
}
