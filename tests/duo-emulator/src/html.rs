//! HTML: escaping and the page shell. Every value that came from a request or a config file goes
//! through [`escape`].

use std::fmt::Write as _;

/// Escapes text for an HTML text node or a double-quoted attribute.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            _ => out.push(c),
        }
    }
    out
}

const STYLE: &str = "
*{box-sizing:border-box}
body{margin:0;font:16px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;background:#eef1f4;color:#1d2733}
main{max-width:30rem;margin:3rem auto;padding:0 1rem}
.card{background:#fff;border-radius:12px;box-shadow:0 2px 12px rgba(20,40,60,.12);padding:1.75rem}
.brand{display:flex;align-items:center;gap:.6rem;margin-bottom:1.25rem;color:#55606e;font-size:.85rem}
.logo{background:#6bbf4e;color:#fff;font-weight:700;border-radius:6px;padding:.15rem .45rem;letter-spacing:.04em}
h1{font-size:1.35rem;margin:0 0 .35rem}
p{margin:.4rem 0 1rem}
.muted{color:#5d6875;font-size:.9rem}
.notice{background:#fff6e0;border:1px solid #f0d48a;border-radius:8px;padding:.6rem .8rem;margin:0 0 1rem}
.error{background:#fdeaea;border-color:#efb1b1}
.ok{background:#e9f7e6;border-color:#a9d99c}
.device{border:1px solid #dde3e9;border-radius:10px;padding:.85rem 1rem;margin:.75rem 0}
.device h2{font-size:1rem;margin:0 0 .5rem}
form{margin:0}
.row{display:flex;flex-wrap:wrap;gap:.5rem;margin-top:.5rem}
button{font:inherit;border:0;border-radius:8px;padding:.55rem 1rem;cursor:pointer;background:#2b6fd6;color:#fff}
button.secondary{background:#e6ebf1;color:#1d2733}
button.danger{background:#c93b3b}
button.good{background:#2f9e44}
input,select{font:inherit;padding:.5rem .6rem;border:1px solid #c4ccd5;border-radius:8px;width:100%}
label{display:block;margin:.6rem 0 .25rem;font-weight:600;font-size:.9rem}
code{background:#f1f3f6;padding:.05rem .3rem;border-radius:4px}
footer{margin-top:1.25rem;font-size:.8rem;color:#7a8491;text-align:center}
";

/// A full page: `title` is escaped here, `body_html` must already be safe HTML.
pub(crate) fn page(title: &str, body_html: &str) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<meta name=\"referrer\" content=\"no-referrer\">\
<title>{title}</title><style>{STYLE}</style></head>\
<body><main><div class=\"card\"><div class=\"brand\"><span class=\"logo\">DUO</span>\
<span>Duo Emulator &middot; not the real Duo</span></div>{body_html}</div>\
<footer>Local stand-in for Duo's Universal Prompt, for development and tests.</footer>\
</main></body></html>\n",
        title = escape(title),
    );
    out
}

/// The page shown when a request cannot be trusted (it never redirects).
pub(crate) fn error_page(heading: &str, detail: &str) -> String {
    page(
        heading,
        &format!(
            "<h1>{}</h1><div class=\"notice error\">{}</div>\
<p class=\"muted\">Duo could not process this request, so it will not send you back to the \
application. Contact the application's administrator.</p>",
            escape(heading),
            escape(detail)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#x27;&amp;&#x27;&lt;/a&gt;"
        );
    }

    #[test]
    fn error_page_escapes_detail() {
        let html = error_page("Invalid request", "<script>alert(1)</script>");
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;"));
    }
}
