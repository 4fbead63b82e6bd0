// Starts the admin console: instantiates its own wasm (the `admin` binary)
// through wasm-bindgen's glue. scripts/bundle-spa.py rewrites the two file
// names below to the content-hashed ones in dist/.
import init from "./admin.js";

await init({ module_or_path: new URL("./admin_bg.wasm", import.meta.url) });
