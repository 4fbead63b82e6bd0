//! The admin console's own wasm (`/admin/`): loaded only by admins' pages,
//! so the sign-in page never downloads it.

fn main() {
    app::admin::mount();
}
