"""Writes the SPA's _headers: app/_headers plus a Content-Security-Policy.

Trunk's index.html starts the app with one inline module script; the policy
allows it by its SHA-256 and nothing else inline. 'wasm-unsafe-eval' lets that
script compile the app's wasm. Usage: spa-headers.py dist/index.html app/_headers
"""

import base64
import hashlib
import re
import sys


def main() -> int:
    index_path, template_path = sys.argv[1], sys.argv[2]
    with open(index_path, encoding="utf-8") as f:
        html = f.read()
    scripts = re.findall(r"<script(?:\s[^>]*)?>(.*?)</script>", html, flags=re.S)
    if len(scripts) != 1:
        print(f"spa-headers: expected one inline script in {index_path}, found {len(scripts)}",
              file=sys.stderr)
        return 1
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode("utf-8")).digest()).decode()
    policy = "; ".join([
        "default-src 'none'",
        f"script-src 'self' 'wasm-unsafe-eval' 'sha256-{digest}'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "object-src 'none'",
        "frame-ancestors 'none'",
    ])
    with open(template_path, encoding="utf-8") as f:
        template = f.read().rstrip("\n")
    sys.stdout.write(f"{template}\n  Content-Security-Policy: {policy}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
