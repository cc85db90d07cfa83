//! Server-wide settings shared by every process on the database.

use crate::error::CoreError;
use crate::usecase::Ctx;

/// The key of the public base URL.
const BASE_URL: &str = "base_url";

/// The public base URL that `serve` or `init` stored, which links in messages start with.
///
/// # Errors
/// [`CoreError::Storage`].
pub fn base_url(ctx: Ctx<'_>) -> Result<Option<String>, CoreError> {
    Ok(ctx.db.read()?.setting(BASE_URL)?)
}

/// Stores the public base URL (without a trailing `/`), when it differs from the stored one:
/// starting `serve` again with the same URL writes nothing.
///
/// # Errors
/// [`CoreError::Validation`] on `base_url` unless it is an absolute `http` or `https` URL
/// without query, fragment or control characters; [`CoreError::Storage`].
pub fn set_base_url(ctx: Ctx<'_>, url: &str) -> Result<String, CoreError> {
    let url = check_base_url(url)?;
    if base_url(ctx)?.as_deref() == Some(url.as_str()) {
        return Ok(url);
    }
    let mut tx = ctx.db.write()?;
    tx.set_setting(BASE_URL, &url)?;
    tx.commit()?;
    Ok(url)
}

/// The URL as it is stored: trimmed, without a trailing `/`.
///
/// # Errors
/// As [`set_base_url`].
pub fn check_base_url(url: &str) -> Result<String, CoreError> {
    let url = url.trim().trim_end_matches('/');
    let bad = |why: &str| CoreError::invalid("base_url", format!("{url:?} {why}"));
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| bad("must start with http:// or https://"))?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err(bad("has no host"));
    }
    if url.contains(['?', '#']) || url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(bad("must be a plain address without query, fragment or spaces"));
    }
    Ok(url.to_string())
}

#[cfg(test)]
mod tests {
    use super::check_base_url;

    #[test]
    fn base_urls_are_checked_and_trimmed() {
        assert_eq!(check_base_url(" https://people.example.com/ ").unwrap(), "https://people.example.com");
        assert_eq!(
            check_base_url("http://127.0.0.1:8080/cardfile").unwrap(),
            "http://127.0.0.1:8080/cardfile"
        );
        for bad in
            ["people.example.com", "ftp://x", "https://", "https://x/?a=1", "https://x y", "https:///x"]
        {
            assert!(check_base_url(bad).is_err(), "{bad}");
        }
    }
}
