"""Assembles the SPA in dist/ from the wasm-bindgen output and the sources.

    bundle-spa.py BINDGEN_DIR DIST_DIR

BINDGEN_DIR holds wasm-bindgen's `--target web` output for the `app` binary
(app.js, app_bg.wasm already through wasm-opt, and snippets/ if any) and for
the `admin` binary (admin.js, admin_bg.wasm): two pages, the sign-in page
(index.html, from the root template) and the admin console (admin/index.html,
from app/admin.html), each loading only its own wasm. Writes:

- the glue, the wasm, app/style.css and app/boot.js under content-hashed names
  (`app-<hash>.js`, `app-<hash>_bg.wasm`, `style-<hash>.css`, `boot-<hash>.js`),
  so they can be cached for ever and a deploy never mixes two builds;
- index.html from the root template: its stylesheet and boot script point at
  the hashed files with Subresource Integrity, and the glue and the wasm are
  preloaded;
- _headers: app/_headers plus a Content-Security-Policy. There is no inline
  script (boot.js is a file), so scripts come from 'self' only, and
  'wasm-unsafe-eval' lets boot.js compile the wasm.

Every page and file sits under the login's prefix (LOGIN_PREFIX, `/_login` by
default, the same the Rust build reads): dist/_login/index.html is served at
/_login/, and the pages name their files by absolute paths under it. The
paths outside the prefix are the app's.

Fails, naming what is missing, when the template or boot.js no longer has the
references it rewrites, or when any inline script is left.
"""

import base64
import os
import hashlib
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PREFIX = os.environ.get("LOGIN_PREFIX") or "/_login"

CSP = "; ".join([
    "default-src 'none'",
    "script-src 'self' 'wasm-unsafe-eval'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "object-src 'none'",
    "frame-ancestors 'none'",
])


class BundleError(Exception):
    pass


def hashed_name(stem: str, suffix: str, data: bytes) -> str:
    return f"{stem}-{hashlib.sha256(data).hexdigest()[:16]}{suffix}"


def integrity(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


def replace_once(text: str, old: str, new: str, where: str) -> str:
    if text.count(old) != 1:
        raise BundleError(f"expected `{old}` exactly once in {where}")
    return text.replace(old, new)


def page(bindgen: Path, binary: str, boot_path: str, template: str, style_name: str,
         style: bytes) -> tuple[bytes, list[tuple[str, bytes]]]:
    """One page: its HTML and its hashed files (glue, wasm, boot script)."""
    glue = (bindgen / f"{binary}.js").read_bytes()
    wasm = (bindgen / f"{binary}_bg.wasm").read_bytes()
    glue_name = hashed_name(binary, ".js", glue)
    wasm_name = hashed_name(binary, "_bg.wasm", wasm)

    boot_text = (ROOT / boot_path).read_text(encoding="utf-8")
    boot_text = replace_once(boot_text, f'"./{binary}.js"', f'"./{glue_name}"', boot_path)
    boot_text = replace_once(boot_text, f'"./{binary}_bg.wasm"', f'"./{wasm_name}"', boot_path)
    boot = boot_text.encode("utf-8")
    boot_name = hashed_name(Path(boot_path).stem, ".js", boot)

    html = (ROOT / template).read_text(encoding="utf-8")
    html = replace_once(
        html,
        '<link rel="stylesheet" href="app/style.css" />',
        f'<link rel="stylesheet" href="{PREFIX}/{style_name}" integrity="{integrity(style)}" />',
        template,
    )
    html = replace_once(
        html,
        f'<script type="module" src="{boot_path}"></script>',
        "\n    ".join([
            f'<link rel="modulepreload" href="{PREFIX}/{glue_name}" integrity="{integrity(glue)}" />',
            f'<link rel="preload" href="{PREFIX}/{wasm_name}" as="fetch" type="application/wasm"'
            ' crossorigin="anonymous" />',
            f'<script type="module" src="{PREFIX}/{boot_name}" integrity="{integrity(boot)}"></script>',
        ]),
        template,
    )
    # The template's comments are notes for this file, not for browsers.
    html = re.sub(r"\s*<!--.*?-->", "", html, flags=re.S)
    for attributes, body in re.findall(r"<script(\s[^>]*)?>(.*?)</script>", html, flags=re.S):
        if body.strip() or "src=" not in (attributes or ""):
            raise BundleError(f"{template} has an inline script: the CSP allows none")
    return html.encode("utf-8"), [(glue_name, glue), (wasm_name, wasm), (boot_name, boot)]


def bundle(bindgen: Path, dist: Path) -> None:
    if not re.fullmatch(r"/[A-Za-z0-9._~-]+", PREFIX) or PREFIX in ("/.", "/.."):
        raise BundleError("LOGIN_PREFIX must be one path segment, like /_login")
    style = (ROOT / "app/style.css").read_bytes()
    style_name = hashed_name("style", ".css", style)
    html, files = page(bindgen, "app", "app/boot.js", "index.html", style_name, style)
    admin_html, admin_files = page(
        bindgen, "admin", "app/admin-boot.js", "app/admin.html", style_name, style)

    headers = (ROOT / "app/_headers").read_text(encoding="utf-8").rstrip("\n")
    headers += f"\n  Content-Security-Policy: {CSP}\n"

    # Written beside dist/ and swapped in whole: never half a bundle.
    staging = dist.with_name(dist.name + ".new")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    (staging / "_headers").write_bytes(headers.encode("utf-8"))
    pages = staging / PREFIX.lstrip("/")
    pages.mkdir()
    for name, data in [*files, *admin_files, (style_name, style), ("index.html", html)]:
        (pages / name).write_bytes(data)
    (pages / "admin").mkdir()
    (pages / "admin" / "index.html").write_bytes(admin_html)
    if (bindgen / "snippets").is_dir():
        # The glue imports its snippets by relative path: keep the tree.
        shutil.copytree(bindgen / "snippets", pages / "snippets")
    shutil.rmtree(dist, ignore_errors=True)
    staging.rename(dist)


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        bundle(Path(sys.argv[1]), Path(sys.argv[2]))
    except (BundleError, OSError) as error:
        print(f"bundle-spa: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
