// Starts the SPA: instantiates the app's wasm through wasm-bindgen's glue.
// An external module, so the page's Content-Security-Policy allows scripts
// from 'self' only, with no inline script and no hash. scripts/bundle-spa.py
// rewrites the two file names below to the content-hashed ones in dist/.
import init from "./app.js";

await init({ module_or_path: new URL("./app_bg.wasm", import.meta.url) });
