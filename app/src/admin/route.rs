//! The console's pages as URLs under `/_login/admin/`: a link opens a page
//! without reloading (the History API), back and forward move between
//! pages, and every page can be bookmarked or shared (the Worker answers
//! any path under the console with the console).

use leptos::prelude::*;
use shared::api::routes;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

/// A console page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Page {
    /// Sign-ins, refusals and methods at a glance (the console's home).
    Overview,
    Users,
    /// One user's page.
    User(String),
    Sessions,
    Audit,
    Policies,
    Duo,
    /// The webhooks sent alerts, and their deliveries.
    Alerts,
    /// A path under the console that names no page.
    Unknown,
}

impl Page {
    /// The page a path names (the browser's `location.pathname`).
    pub(super) fn of_path(path: &str) -> Self {
        let base = routes::at(routes::ADMIN_PAGE);
        let Some(rest) =
            path.strip_prefix(&base).or_else(|| path.strip_prefix(base.trim_end_matches('/')))
        else {
            return Self::Unknown;
        };
        let rest = rest.trim_end_matches('/');
        match rest.split_once('/') {
            None => match rest {
                "" | "index.html" => Self::Overview,
                "users" => Self::Users,
                "sessions" => Self::Sessions,
                "audit" => Self::Audit,
                "policies" => Self::Policies,
                "duo" => Self::Duo,
                "alerts" => Self::Alerts,
                _ => Self::Unknown,
            },
            Some(("users", name)) if !name.is_empty() && !name.contains('/') => {
                js_sys::decode_uri_component(name)
                    .ok()
                    .and_then(|n| n.as_string())
                    .map_or(Self::Unknown, Self::User)
            }
            Some(_) => Self::Unknown,
        }
    }

    /// The page's URL (path only).
    pub(super) fn href(&self) -> String {
        let base = routes::at(routes::ADMIN_PAGE);
        match self {
            Self::Overview | Self::Unknown => base,
            Self::Users => format!("{base}users"),
            Self::User(name) => {
                format!("{base}users/{}", String::from(js_sys::encode_uri_component(name)))
            }
            Self::Sessions => format!("{base}sessions"),
            Self::Audit => format!("{base}audit"),
            Self::Policies => format!("{base}policies"),
            Self::Duo => format!("{base}duo"),
            Self::Alerts => format!("{base}alerts"),
        }
    }

    /// The tab that stays lit on this page.
    pub(super) fn section(&self) -> Self {
        match self {
            Self::User(_) => Self::Users,
            other => other.clone(),
        }
    }

    /// The browser tab's title.
    pub(super) fn title(&self) -> String {
        let what = match self {
            Self::Overview => "Overview",
            Self::Users => "Users",
            Self::User(name) => return format!("{name} · Users · Admin console"),
            Self::Sessions => "Sessions",
            Self::Audit => "Audit log",
            Self::Policies => "Policies",
            Self::Duo => "Duo",
            Self::Alerts => "Alerts",
            Self::Unknown => "No such page",
        };
        format!("{what} · Admin console")
    }
}

/// The page shown, kept in step with the address bar.
#[derive(Debug, Clone, Copy)]
pub(super) struct Router {
    page: RwSignal<Page>,
}

impl Router {
    /// Starts at the address bar's page; back and forward follow it.
    pub(super) fn new() -> Self {
        let page = RwSignal::new(Page::of_path(&current_path()));
        if let Some(window) = web_sys::window() {
            let moved =
                Closure::<dyn FnMut()>::new(move || page.set(Page::of_path(&current_path())));
            let _ =
                window.add_event_listener_with_callback("popstate", moved.as_ref().unchecked_ref());
            // One listener for the page's life.
            moved.forget();
        }
        let router = Self { page };
        Effect::new(move |_| {
            if let Some(document) = web_sys::window().and_then(|w| w.document()) {
                document.set_title(&router.page.get().title());
            }
        });
        router
    }

    /// The page shown.
    pub(super) fn page(self) -> Page {
        self.page.get()
    }

    /// Opens `to` as a new history entry.
    pub(super) fn go(self, to: Page) {
        if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
            let _ = history.push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&to.href()));
        }
        self.page.set(to);
        if let Some(window) = web_sys::window() {
            window.scroll_to_with_x_and_y(0.0, 0.0);
        }
    }
}

fn current_path() -> String {
    web_sys::window().and_then(|w| w.location().pathname().ok()).unwrap_or_default()
}

/// A link to a console page: a plain click opens it in place, a click with
/// a modifier (new tab, new window) is the browser's.
#[component]
pub(super) fn PageLink(
    to: Page,
    #[prop(optional, into)] class: Option<&'static str>,
    #[prop(optional, into)] id: Option<&'static str>,
    children: Children,
) -> impl IntoView {
    let router = expect_context::<Router>();
    let href = to.href();
    let lit = to.clone();
    let on_click = move |ev: leptos::ev::MouseEvent| {
        if ev.button() == 0 && !(ev.ctrl_key() || ev.meta_key() || ev.shift_key() || ev.alt_key()) {
            ev.prevent_default();
            router.go(to.clone());
        }
    };
    view! {
        <a href=href class=class id=id on:click=on_click
            aria-current=move || (router.page().section() == lit).then_some("page")>
            {children()}
        </a>
    }
}
