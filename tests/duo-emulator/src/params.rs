//! Request parameters merged from the query string and the body, as Duo reads them: Python's SDK
//! puts token parameters in the query of an empty POST, PHP sends multipart/form-data, everyone
//! else an urlencoded body.

/// Parameters in arrival order (query first, then body); later values win on lookup.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(Vec<(String, String)>);

/// A body that claims a form encoding but cannot be parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MalformedBody;

impl Params {
    /// Query parameters only.
    pub fn from_query(query: Option<&str>) -> Self {
        let mut params = Self::default();
        if let Some(q) = query {
            params.extend_urlencoded(q.as_bytes());
        }
        params
    }

    /// Query plus body (urlencoded or multipart; other body types are ignored).
    ///
    /// # Errors
    /// [`MalformedBody`] for an unparseable multipart body.
    pub fn from_request(
        query: Option<&str>,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<Self, MalformedBody> {
        let mut params = Self::from_query(query);
        let content_type = content_type.unwrap_or("");
        let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        if essence == "application/x-www-form-urlencoded" {
            params.extend_urlencoded(body);
        } else if essence == "multipart/form-data" {
            let boundary = boundary(content_type).ok_or(MalformedBody)?;
            params.0.extend(parse_multipart(body, &boundary)?);
        }
        Ok(params)
    }

    fn extend_urlencoded(&mut self, bytes: &[u8]) {
        self.0.extend(form_urlencoded::parse(bytes).map(|(k, v)| (k.into_owned(), v.into_owned())));
    }

    /// The last value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The last value of `name`, if not empty.
    pub fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }

    /// All pairs.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }
}

fn boundary(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|part| {
        let (key, value) = part.split_once('=')?;
        if !key.trim().eq_ignore_ascii_case("boundary") {
            return None;
        }
        let value = value.trim().trim_matches('"');
        (!value.is_empty()).then(|| value.to_owned())
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Text fields of a multipart/form-data body (RFC 7578). File parts are read as text too.
fn parse_multipart(body: &[u8], boundary: &str) -> Result<Vec<(String, String)>, MalformedBody> {
    let first = format!("--{boundary}");
    let next = format!("\r\n--{boundary}");
    let start = find(body, first.as_bytes()).ok_or(MalformedBody)?;
    let mut rest = body.get(start + first.len()..).ok_or(MalformedBody)?;
    let mut fields = Vec::new();
    loop {
        if rest.starts_with(b"--") {
            return Ok(fields);
        }
        // Transport padding after the delimiter is allowed, then CRLF.
        while rest.first().is_some_and(|b| *b == b' ' || *b == b'\t') {
            rest = rest.get(1..).ok_or(MalformedBody)?;
        }
        rest = rest.strip_prefix(b"\r\n").ok_or(MalformedBody)?;
        let header_end = find(rest, b"\r\n\r\n").ok_or(MalformedBody)?;
        let headers = std::str::from_utf8(rest.get(..header_end).ok_or(MalformedBody)?)
            .map_err(|_| MalformedBody)?;
        let content = rest.get(header_end + 4..).ok_or(MalformedBody)?;
        let end = find(content, next.as_bytes()).ok_or(MalformedBody)?;
        let value = content.get(..end).ok_or(MalformedBody)?;
        let name = field_name(headers).ok_or(MalformedBody)?;
        fields.push((name, String::from_utf8_lossy(value).into_owned()));
        rest = content.get(end + next.len()..).ok_or(MalformedBody)?;
    }
}

fn field_name(headers: &str) -> Option<String> {
    let disposition = headers.split("\r\n").find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim().eq_ignore_ascii_case("content-disposition").then_some(value)
    })?;
    disposition.split(';').skip(1).find_map(|param| {
        let (key, value) = param.split_once('=')?;
        key.trim().eq_ignore_ascii_case("name").then(|| value.trim().trim_matches('"').to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_query_and_urlencoded_body_later_wins() {
        let p = Params::from_request(
            Some("a=1&b=x%20y"),
            Some("application/x-www-form-urlencoded; charset=utf-8"),
            b"a=2&c=%2B+",
        )
        .unwrap();
        assert_eq!(p.get("a"), Some("2"));
        assert_eq!(p.get("b"), Some("x y"));
        assert_eq!(p.get("c"), Some("+ "));
        assert_eq!(p.get("d"), None);
    }

    #[test]
    fn parses_multipart_like_php_curl() {
        let body = b"--------------------------abc123\r\n\
Content-Disposition: form-data; name=\"grant_type\"\r\n\r\n\
authorization_code\r\n\
--------------------------abc123\r\n\
Content-Disposition: form-data; name=\"code\"\r\n\r\n\
xyz\r\nwith newline\r\n\
--------------------------abc123--\r\n";
        let p = Params::from_request(
            None,
            Some("multipart/form-data; boundary=------------------------abc123"),
            body,
        )
        .unwrap();
        assert_eq!(p.get("grant_type"), Some("authorization_code"));
        assert_eq!(p.get("code"), Some("xyz\r\nwith newline"));
    }

    #[test]
    fn quoted_boundary_and_bad_multipart() {
        let body = b"--b\r\nContent-Disposition: form-data; name=\"k\"\r\n\r\nv\r\n--b--";
        let p = Params::from_request(None, Some("multipart/form-data; boundary=\"b\""), body);
        assert_eq!(p.unwrap().get("k"), Some("v"));
        assert_eq!(
            Params::from_request(None, Some("multipart/form-data"), body),
            Err(MalformedBody)
        );
        assert_eq!(
            Params::from_request(None, Some("multipart/form-data; boundary=zz"), body),
            Err(MalformedBody)
        );
    }

    #[test]
    fn ignores_other_bodies() {
        let p = Params::from_request(Some("x=1"), Some("application/json"), b"{\"x\":2}").unwrap();
        assert_eq!(p.get("x"), Some("1"));
    }
}
