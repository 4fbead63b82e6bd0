//! Times as the console shows them.

/// A time as the console shows it: the browser's date and time with its
/// zone, and how long ago or ahead ("3 min ago", "in 7 h").
pub(super) fn when(unix_seconds: i64) -> String {
    #[allow(clippy::cast_possible_truncation, reason = "now in Unix seconds fits an i64")]
    let now = (js_sys::Date::now() / 1000.0) as i64;
    format!("{} ({})", crate::components::zoned_time(unix_seconds), relative(unix_seconds - now))
}

/// `seconds` from now, in the largest whole unit.
pub(super) fn relative(seconds: i64) -> String {
    let size = seconds.unsigned_abs();
    let amount = match size {
        0..60 => return "now".to_owned(),
        60..3600 => format!("{} min", size / 60),
        3600..86_400 => format!("{} h", size / 3600),
        _ => format!("{} d", size / 86_400),
    };
    if seconds < 0 { format!("{amount} ago") } else { format!("in {amount}") }
}
