//! The console's home (`/admin/`): sign-ins per hour by outcome over 24
//! hours or 7 days, how sessions were made (methods, Duo factors), the
//! refusals by reason, the addresses and countries refused most, and the
//! live sessions (fail-open ones apart). Figures come from one endpoint
//! (aggregated in D1); the charts are SVG drawn here (the page's CSP
//! allows no inline style, and no chart library is needed for bars).

use gloo_net::http::Request;
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::admin::{HourCounts, Overview, Tally, routes};

use super::api::reply;
use super::route::{Page, PageLink};
use super::time::when;
use super::words;
use crate::messages::Problem;

/// `GET /api/admin/overview`.
async fn fetch_overview() -> Result<Overview, Problem> {
    reply(Request::get(&shared::api::routes::at(routes::OVERVIEW)).send().await).await
}

/// The sum of the last `hours` hours.
fn total(figures: &Overview, hours: usize) -> HourCounts {
    let start = figures.hours.len().saturating_sub(hours);
    figures.hours[start..].iter().fold(HourCounts::default(), |sum, h| HourCounts {
        signed_in: sum.signed_in + h.signed_in,
        refused: sum.refused + h.refused,
        rate_limited: sum.rate_limited + h.rate_limited,
        errors: sum.errors + h.errors,
    })
}

/// The page.
#[component]
pub(super) fn OverviewPage(set_problem: WriteSignal<Option<Problem>>) -> impl IntoView {
    let (figures, set_figures) = signal(None::<Overview>);
    let span = RwSignal::new(24_usize);
    spawn_local(async move {
        match fetch_overview().await {
            Ok(found) => set_figures.set(Some(found)),
            Err(p) => set_problem.set(Some(p)),
        }
    });
    view! {
        <h2 class="visually-hidden">"Overview"</h2>
        {move || match figures.get() {
            None => view! { <p class="muted" aria-busy="true">"Loading the figures…"</p> }.into_any(),
            Some(o) => {
                let day = total(&o, 24);
                let (methods, factors, refusals) = (o.methods.clone(), o.factors.clone(), o.refusals.clone());
                let (addresses, countries) = (o.refused_addresses.clone(), o.refused_countries.clone());
                let chart = o.clone();
                let fail_open = o.live_fail_open > 0;
                view! {
                    <p class="muted" id="overview-at">"As of " {when(o.at)} ", from the audit log."</p>
                    <div class="stats" id="overview-stats">
                        <Stat id="stat-signed-in" label="Sign-ins, 24 h" value=day.signed_in />
                        <Stat id="stat-refused" label="Refused, 24 h" value=day.refused />
                        <Stat id="stat-rate-limited" label="Rate limited, 24 h" value=day.rate_limited />
                        <Stat id="stat-errors" label="Errors, 24 h" value=day.errors />
                        <Stat id="stat-live" label="Live sessions" value=o.live_sessions />
                        <Stat id="stat-fail-open" label="Live without Duo (fail-open)" value=o.live_fail_open
                            alarm=fail_open />
                    </div>
                    <section class="chart" aria-labelledby="hours-title">
                        <div class="chart-head">
                            <h3 id="hours-title">"Sign-ins per hour"</h3>
                            <div class="toggle" role="group" aria-label="Period">
                                <button type="button" class="secondary small" id="span-day"
                                    aria-pressed=move || (span.get() == 24).to_string() on:click=move |_| span.set(24)>"24 hours"</button>
                                <button type="button" class="secondary small" id="span-week"
                                    aria-pressed=move || (span.get() == 168).to_string() on:click=move |_| span.set(168)>"7 days"</button>
                            </div>
                        </div>
                        {move || view! { <HourChart figures=chart.clone() hours=span.get() /> }}
                        <ul class="legend">
                            <li><svg viewBox="0 0 10 10" aria-hidden="true"><rect class="signed-in" width="10" height="10" /></svg>"signed in"</li>
                            <li><svg viewBox="0 0 10 10" aria-hidden="true"><rect class="refused" width="10" height="10" /></svg>"refused"</li>
                            <li><svg viewBox="0 0 10 10" aria-hidden="true"><rect class="rate-limited" width="10" height="10" /></svg>"rate limited"</li>
                            <li><svg viewBox="0 0 10 10" aria-hidden="true"><rect class="errors" width="10" height="10" /></svg>"errors"</li>
                        </ul>
                    </section>
                    <div class="charts-grid">
                        <BarList id="methods" title="How sessions were made, 7 days" items=methods label=words::method
                            empty="No sign-in in 7 days." />
                        <BarList id="factors" title="Duo factors, 7 days" items=factors label=crate::messages::factor_label
                            empty="No Duo sign-in in 7 days." />
                        <BarList id="refusals" title="Refusals by reason, 7 days" items=refusals label=words::reason
                            empty="Nothing refused in 7 days." />
                        <BarList id="addresses" title="Addresses refused most, 7 days" items=addresses label=str::to_owned
                            empty="Nothing refused in 7 days." />
                        <BarList id="countries" title="Countries refused most, 7 days" items=countries label=str::to_owned
                            empty="No country known for a refusal in 7 days." />
                    </div>
                    <p><PageLink to=Page::Audit class="button secondary inline">"Open the audit log"</PageLink></p>
                }.into_any()
            }
        }}
    }
}

/// One figure.
#[component]
fn Stat(
    id: &'static str,
    label: &'static str,
    value: u32,
    #[prop(optional)] alarm: bool,
) -> impl IntoView {
    view! {
        <div class="stat" class:alarm=alarm id=id>
            <span class="stat-value">{value}</span>
            <span class="stat-label">{label}</span>
        </div>
    }
}

/// The last `hours` hours as stacked bars (signed in, refused, rate
/// limited, errors), with the hour (24 h) or the day (7 days) below.
#[allow(clippy::needless_pass_by_value, reason = "a Leptos component's props are taken by value")]
#[component]
fn HourChart(figures: Overview, hours: usize) -> impl IntoView {
    const HEIGHT: f64 = 120.0;
    let start = figures.hours.len().saturating_sub(hours);
    let shown = &figures.hours[start..];
    let peak = shown
        .iter()
        .map(|h| h.signed_in + h.refused + h.rate_limited + h.errors)
        .max()
        .unwrap_or(0)
        .max(1);
    let step = if hours > 24 { 4.0 } else { 20.0 };
    let width = step * f64::from(u32::try_from(shown.len()).unwrap_or(0));
    let scale = HEIGHT / f64::from(peak);
    let sums = total(&figures, hours);
    let summary = format!(
        "{} signed in, {} refused, {} rate limited, {} errors in the last {}.",
        sums.signed_in,
        sums.refused,
        sums.rate_limited,
        sums.errors,
        if hours > 24 { "7 days" } else { "24 hours" }
    );
    let first = figures.hours_from + i64::try_from(start).unwrap_or(0) * 3600;
    let bars = shown
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let x = step * f64::from(u32::try_from(i).unwrap_or(0));
            let at = first + i64::try_from(i).unwrap_or(0) * 3600;
            let mut y = HEIGHT;
            let parts = [
                ("signed-in", h.signed_in),
                ("refused", h.refused),
                ("rate-limited", h.rate_limited),
                ("errors", h.errors),
            ]
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .map(|(class, n)| {
                let tall = f64::from(n) * scale;
                y -= tall;
                view! { <rect class=class x=x + 0.5 y=y width=step - 1.0 height=tall /> }
            })
            .collect_view();
            let said = format!(
                "{}: {} signed in, {} refused, {} rate limited, {} errors",
                hour_label(at),
                h.signed_in,
                h.refused,
                h.rate_limited,
                h.errors
            );
            // Marks: every 6 hours over a day, each midnight over a week.
            let hour = local_hour(at);
            let mark = if hours > 24 { hour == 0 } else { hour.is_multiple_of(6) };
            let label = mark.then(|| {
                let text = if hours > 24 { day_label(at) } else { hour_label(at) };
                // Centred under its hour, and never cut at either end.
                let at_x = (x + step / 2.0).clamp(12.0, (width - 12.0).max(12.0));
                view! { <text class="tick" x=at_x y=HEIGHT + 12.0 text-anchor="middle">{text}</text> }
            });
            view! {
                <g class="hour" data-at=at.to_string()><title>{said}</title>
                    <rect class="hit" x=x y="0" width=step height=HEIGHT />
                    {parts}{label}
                </g>
            }
        })
        .collect_view();
    view! {
        <figure class="hours">
            <svg id="hours-chart" viewBox=format!("0 0 {width} {}", HEIGHT + 16.0) role="img"
                aria-label=summary.clone() data-hours=hours.to_string()
                data-signed-in=sums.signed_in.to_string() data-refused=sums.refused.to_string()
                data-rate-limited=sums.rate_limited.to_string() data-errors=sums.errors.to_string()>
                <line class="axis" x1="0" y1=HEIGHT x2=width y2=HEIGHT />
                {bars}
            </svg>
            <figcaption class="muted">{summary} " The busiest hour had " {peak} " events."</figcaption>
        </figure>
    }
}

/// The browser's hour of `unix` (0..23).
fn local_hour(unix: i64) -> u32 {
    crate::components::js_date(unix).get_hours()
}

fn hour_label(unix: i64) -> String {
    format!("{:02}:00", local_hour(unix))
}

fn day_label(unix: i64) -> String {
    let date = crate::components::js_date(unix);
    let options = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&options, &"weekday".into(), &"short".into());
    String::from(date.to_locale_date_string("default", &options))
}

/// Named counts as horizontal bars, most first.
#[allow(clippy::needless_pass_by_value, reason = "a Leptos component's props are taken by value")]
#[component]
fn BarList(
    id: &'static str,
    title: &'static str,
    items: Vec<Tally>,
    label: fn(&str) -> String,
    empty: &'static str,
) -> impl IntoView {
    let most = items.iter().map(|t| t.count).max().unwrap_or(0).max(1);
    let (heading, labelled) = (format!("{id}-title"), format!("{id}-title"));
    view! {
        <section class="bars" id=id aria-labelledby=labelled>
            <h3 id=heading>{title}</h3>
            {if items.is_empty() {
                view! { <p class="muted empty">{empty}</p> }.into_any()
            } else {
                view! {
                    <ul>
                        {items.into_iter().map(|t| {
                            let share = f64::from(t.count) * 100.0 / f64::from(most);
                            view! {
                                <li data-key=t.key.clone() data-count=t.count.to_string()>
                                    <span class="bar-label">{label(&t.key)}</span>
                                    <span class="bar-count">{t.count}</span>
                                    <svg class="bar" viewBox="0 0 100 4" preserveAspectRatio="none" aria-hidden="true">
                                        <rect width=share height="4" />
                                    </svg>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
    }
}
