//! `multipart/form-data` bodies (RFC 7578), as browsers and PHP clients upload a file with
//! `user.update`. The body is already received whole (within the body limit), so it is split
//! in place. A text part is a parameter like a form's; a file part `NAME` becomes the pair
//! `NAME[0]` = its file name and `NAME[1]` = its content in base64, the `[name, base64]` shape
//! Bitrix24 takes files in, so every method reads one shape.

use base64::Engine as _;

/// The parts of a multipart body as decoded `key=value` pairs (see the module's doc).
///
/// # Errors
/// A description when the content type has no boundary, or the body is not well formed.
pub fn pairs(content_type: &str, body: &[u8]) -> Result<Vec<(String, String)>, String> {
    let boundary = boundary(content_type).ok_or("a multipart body needs a boundary in its Content-Type")?;
    let delimiter = [b"--", boundary.as_bytes()].concat();
    let malformed = || "the multipart body is malformed".to_string();
    let first = find(body, &delimiter).ok_or_else(malformed)?;
    let mut rest = &body[first + delimiter.len()..];
    let mut out = Vec::new();
    loop {
        if rest.starts_with(b"--") {
            return Ok(out);
        }
        rest = rest.strip_prefix(b"\r\n").ok_or_else(malformed)?;
        let head_end = find(rest, b"\r\n\r\n").ok_or_else(malformed)?;
        let head = std::str::from_utf8(&rest[..head_end]).map_err(|_| malformed())?;
        let after_head = &rest[head_end + 4..];
        let next = [b"\r\n", delimiter.as_slice()].concat();
        let end = find(after_head, &next).ok_or_else(malformed)?;
        let content = &after_head[..end];
        rest = &after_head[end + next.len()..];
        let Some((name, filename)) = disposition(head) else { continue };
        match filename {
            Some(file) => {
                out.push((format!("{name}[0]"), file));
                out.push((format!("{name}[1]"), base64::engine::general_purpose::STANDARD.encode(content)));
            }
            None => {
                let text =
                    std::str::from_utf8(content).map_err(|_| format!("the part {name:?} is not UTF-8"))?;
                out.push((name, text.to_string()));
            }
        }
    }
}

/// The `boundary` parameter of a `multipart/form-data` content type (quoted or not).
fn boundary(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        let v = v.trim().trim_matches('"');
        (k.trim().eq_ignore_ascii_case("boundary") && !v.is_empty() && v.len() <= 70).then(|| v.to_string())
    })
}

/// The `name` and `filename` of a part's `Content-Disposition: form-data` header.
fn disposition(head: &str) -> Option<(String, Option<String>)> {
    let line = head.split("\r\n").find(|l| {
        l.split_once(':').is_some_and(|(k, _)| k.trim().eq_ignore_ascii_case("content-disposition"))
    })?;
    let (_, value) = line.split_once(':')?;
    let mut name = None;
    let mut filename = None;
    for p in value.split(';').skip(1) {
        let Some((k, v)) = p.split_once('=') else { continue };
        let v = v.trim().trim_matches('"').to_string();
        match k.trim().to_ascii_lowercase().as_str() {
            "name" => name = Some(v),
            "filename" => filename = Some(v),
            _ => {}
        }
    }
    name.filter(|n| !n.is_empty()).map(|n| (n, filename))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(haystack, needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_file_parts_become_pairs() {
        let body = b"preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"ID\"\r\n\r\n7\r\n\
--XyZ\r\ncontent-disposition: form-data; name=\"PERSONAL_PHOTO\"; filename=\"me.png\"\r\n\
Content-Type: image/png\r\n\r\n\x89PNG\r\n--X\r\n--XyZ--\r\n";
        let got = pairs("multipart/form-data; boundary=\"XyZ\"", body).unwrap();
        assert_eq!(
            got,
            vec![
                ("ID".to_string(), "7".to_string()),
                ("PERSONAL_PHOTO[0]".to_string(), "me.png".to_string()),
                (
                    "PERSONAL_PHOTO[1]".to_string(),
                    base64::engine::general_purpose::STANDARD.encode(b"\x89PNG\r\n--X")
                ),
            ]
        );
    }

    #[test]
    fn malformed_bodies_are_refused() {
        for (ct, body) in [
            ("multipart/form-data", &b"--a\r\n\r\n--a--"[..]),
            ("multipart/form-data; boundary=a", b"no delimiter"),
            (
                "multipart/form-data; boundary=a",
                b"--a\r\nContent-Disposition: form-data; name=x\r\n\r\nunterminated",
            ),
            (
                "multipart/form-data; boundary=a",
                b"--a\r\nContent-Disposition: form-data; name=x\r\n\r\n\xff\r\n--a--",
            ),
        ] {
            assert!(pairs(ct, body).is_err(), "{ct} {body:?}");
        }
    }
}
