//! The pager under every console list: Previous, "Page N of M", Next.

use leptos::prelude::*;

/// How many pages `total` rows make at `page_size` a page (at least one).
pub(super) fn page_count(total: u32, page_size: u32) -> u32 {
    total.div_ceil(page_size.max(1)).max(1)
}

/// The pager: `turn` moves the page by -1 or +1 (and loads it).
#[component]
pub(super) fn Pager(
    #[prop(into)] page: Signal<u32>,
    #[prop(into)] pages: Signal<u32>,
    turn: Callback<i32>,
    id: &'static str,
    label: &'static str,
) -> impl IntoView {
    // (Comparisons stay out of `view!`, whose parser reads `<` and `>` as tags.)
    let first = move || page.get() <= 1;
    let last = move || page.get() >= pages.get();
    view! {
        <nav class="pager" aria-label=label id=id>
            <button type="button" class="secondary" data-page="previous" disabled=first on:click=move |_| turn.run(-1)>"Previous"</button>
            <span>{move || format!("Page {} of {}", page.get(), pages.get())}</span>
            <button type="button" class="secondary" data-page="next" disabled=last on:click=move |_| turn.run(1)>"Next"</button>
        </nav>
    }
}
