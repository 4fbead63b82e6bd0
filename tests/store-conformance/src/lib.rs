//! A test-only Worker: `GET /run` runs the store ports' conformance suites
//! (`edge_core::conformance`) over the Worker's own D1 store
//! (`edge::d1::D1Store`) and answers the verdicts as JSON; `GET
//! /api/health` answers 200 so the test bed knows it is up. The
//! end-to-end test `store_conformance` drives it; the same suites run over
//! the in-memory store in `edge-core`'s native tests.

#[cfg(target_arch = "wasm32")]
mod entry {
    use edge::d1::D1Store;
    use edge_core::conformance;
    use worker::{Context, Date, Env, Request, Response, Result, event};

    #[event(fetch)]
    async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
        match req.path().as_str() {
            "/run" => {
                let store = D1Store::from_env(&env)?;
                let now = Date::now().as_millis() / 1000;
                Response::from_json(&conformance::run(&store, now).await)
            }
            "/api/health" => Response::ok("up"),
            _ => Response::error("Not found", 404),
        }
    }
}
