//! The crate's module graph, read from its sources: no module imports
//! another that imports it back (directly or around a longer cycle), and
//! the sign-in and the console sit side by side over a common layer,
//! neither importing the other.
//!
//! Each `use` (braces included) and each `crate::`/`super::` path in the
//! code is an edge to the deepest module it names; a `mod.rs`'s own
//! re-exports (`pub use audit::Refusal`) are edges to its children.
//! Comments and test modules are left out (tests may reach anything).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The sign-in's steps.
const SIGN_IN: &[&str] = &[
    "flow::login",
    "flow::login_outcome",
    "flow::duo_start",
    "flow::duo_callback",
    "flow::inline",
    "flow::health",
    "flow::remember",
    "flow::fraud",
];

/// The console's functions (and the user's own password change).
const CONSOLE: &[&str] = &[
    "flow::admin",
    "flow::accounts",
    "flow::audit_log",
    "flow::overview",
    "flow::policy_admin",
    "flow::provider",
    "flow::remembered",
    "flow::own_password",
    "flow::own_sessions",
    "flow::webhooks",
];

type Graph = BTreeMap<String, BTreeSet<String>>;

fn sources(dir: &Path, found: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).expect("the source folder");
    for entry in entries.map(|e| e.expect("an entry").path()) {
        if entry.is_dir() {
            if entry.file_name().is_some_and(|n| n != "tests") {
                sources(&entry, found);
            }
        } else if entry.extension().is_some_and(|e| e == "rs")
            && entry.file_name().is_some_and(|n| n != "testing.rs")
        {
            found.push(entry);
        }
    }
}

/// `flow::login` for `src/flow/login.rs`, `flow` for `src/flow/mod.rs`,
/// and the empty name for `src/lib.rs`.
fn module_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).expect("under src").with_extension("");
    let parts: Vec<String> = relative.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    let parts: Vec<&str> =
        parts.iter().map(String::as_str).filter(|p| *p != "mod" && *p != "lib").collect();
    parts.join("::")
}

/// The code without comments, string literals' contents or test modules.
fn code_of(text: &str) -> String {
    let mut kept = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("#[cfg(test)]") || trimmed.starts_with("#[cfg(all(test,") {
            match lines.peek().map(|l| l.trim_start()) {
                // A test module in its own file: only its declaration.
                Some(next) if next.starts_with("mod ") && next.ends_with(';') => {
                    lines.next();
                    continue;
                }
                // An inline test module: it runs to the end of the file.
                _ => break,
            }
        }
        let code = line.find("//").map_or(line, |at| &line[..at]);
        kept.push(code.to_owned());
    }
    let joined = kept.join("\n");
    // Blank string literals' contents (a path in a message is no import).
    let mut out = String::with_capacity(joined.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in joined.chars() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
                out.push(c);
            }
        } else {
            if c == '"' {
                in_string = true;
            }
            out.push(c);
        }
    }
    out
}

/// The paths of one `use` tree (`a::{b, c::{d, e}}`), each as segments.
fn expand(tree: &str) -> Vec<Vec<String>> {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        let path = tree.split(" as ").next().unwrap_or(tree);
        return vec![path.split("::").map(|s| s.trim().to_owned()).collect()];
    };
    let prefix: Vec<String> = tree[..open]
        .trim_end_matches("::")
        .split("::")
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().to_owned())
        .collect();
    let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let (mut items, mut depth, mut start) = (Vec::new(), 0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&inner[start..]);
    items
        .into_iter()
        .filter(|item| !item.trim().is_empty())
        .flat_map(|item| {
            expand(item).into_iter().map(|rest| {
                let mut path = prefix.clone();
                path.extend(rest.into_iter().filter(|s| s != "self"));
                path
            })
        })
        .collect()
}

/// The module a path from module `from` names: the deepest known module
/// along it; `None` for another crate's path.
fn resolve(from: &str, path: &[String], modules: &BTreeSet<String>) -> Option<String> {
    let mut at: Vec<String> =
        from.split("::").filter(|s| !s.is_empty()).map(str::to_owned).collect();
    let rest = match path.first().map(String::as_str) {
        Some("crate") => {
            at.clear();
            &path[1..]
        }
        Some("super") => {
            let ups = path.iter().take_while(|s| *s == "super").count();
            for _ in 0..ups {
                at.pop();
            }
            &path[ups..]
        }
        Some("self") => &path[1..],
        Some(first) => {
            // A child module of `from` (2018 paths), else another crate.
            let mut child = at.clone();
            child.push(first.to_owned());
            if !modules.contains(&child.join("::")) {
                return None;
            }
            path
        }
        None => return None,
    };
    for segment in rest {
        let mut deeper = at.clone();
        deeper.push(segment.clone());
        if !modules.contains(&deeper.join("::")) {
            break;
        }
        at = deeper;
    }
    Some(at.join("::"))
}

/// This crate's graph.
fn graph() -> Graph {
    graph_of(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"))
}

/// The graph of the crate whose sources are in `src`.
fn graph_of(src: &Path) -> Graph {
    let src = src.to_path_buf();
    let mut files = Vec::new();
    sources(&src, &mut files);
    let modules: BTreeSet<String> = files.iter().map(|f| module_of(&src, f)).collect();
    let mut graph = Graph::new();
    for file in &files {
        let from = module_of(&src, file);
        let code = code_of(&std::fs::read_to_string(file).expect("a source file"));
        let mut paths = Vec::new();
        // `use` statements (a tree may span lines).
        for statement in code.split(';') {
            let statement = statement.trim();
            let body = statement
                .strip_prefix("pub use ")
                .or_else(|| statement.strip_prefix("pub(crate) use "))
                .or_else(|| statement.strip_prefix("pub(super) use "))
                .or_else(|| statement.strip_prefix("use "));
            if let Some(body) = body.or_else(|| {
                statement
                    .rfind("\nuse ")
                    .map(|at| &statement[at + 5..])
                    .or_else(|| statement.rfind("\npub use ").map(|at| &statement[at + 9..]))
            }) {
                paths.extend(expand(body));
            }
        }
        // Paths in the code itself (`crate::cookie::set(...)`).
        for start in ["crate::", "super::"] {
            for (at, _) in code.match_indices(start) {
                // Only where a path starts (`super::super::x` is one path).
                let before = code[..at].chars().next_back();
                if before.is_some_and(|c| c == ':' || c == '_' || c.is_alphanumeric()) {
                    continue;
                }
                let rest: String = code[at..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                    .collect();
                paths.push(rest.split("::").filter(|s| !s.is_empty()).map(str::to_owned).collect());
            }
        }
        // Paths from a child module (`factors::auth(...)` in `mod.rs`).
        let mut at = 0;
        while let Some(found) = code[at..].find("::") {
            let end = at + found;
            let start = code[..end]
                .rfind(|c: char| !(c == '_' || c.is_alphanumeric()))
                .map_or(0, |i| i + 1);
            let word = &code[start..end];
            let before = code[..start].chars().next_back();
            let keyword = matches!(word, "crate" | "super" | "self" | "Self");
            if !word.is_empty() && !keyword && before.is_none_or(|c| c != ':') {
                paths.push(vec![word.to_owned(), String::new()]);
            }
            at = end + 2;
        }
        let edges = graph.entry(from.clone()).or_default();
        for path in paths {
            if let Some(to) = resolve(&from, &path, &modules)
                && to != from
                && !to.is_empty()
            {
                edges.insert(to);
            }
        }
    }
    graph
}

/// A cycle of the graph, if it has one.
fn cycle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &Graph,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut found = path[at..].to_vec();
            found.push(node.to_owned());
            return Some(found);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(found) = visit(next, graph, path, done) {
                return Some(found);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph.keys().find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let graph = graph();
    assert!(graph.len() > 20, "every module read: {:?}", graph.keys());
    if let Some(found) = cycle(&graph) {
        panic!("an import cycle: {}", found.join(" -> "));
    }
}

/// The other crates of the workspace, by their `src` folders.
const WORKSPACE: &[&str] = &[
    "edge/src",
    "shared/src",
    "crates/credentials/src",
    "crates/admin/src",
    "app/src",
    "tests/duo-emulator/src",
    "tests/e2e/src",
    "tests/store-conformance/src",
];

#[test]
fn no_crate_of_the_workspace_has_an_import_cycle() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    for crate_src in WORKSPACE {
        let graph = graph_of(&root.join(crate_src));
        assert!(!graph.is_empty(), "{crate_src} read");
        if let Some(found) = cycle(&graph) {
            panic!("an import cycle in {crate_src}: {}", found.join(" -> "));
        }
    }
}

#[test]
fn the_sign_in_and_the_console_do_not_import_each_other() {
    let graph = graph();
    for (from, to, sides) in
        [(SIGN_IN, CONSOLE, "sign-in -> console"), (CONSOLE, SIGN_IN, "console -> sign-in")]
    {
        for module in from {
            let edges = graph.get(*module).unwrap_or_else(|| panic!("{module} is read"));
            let crossing: Vec<&String> =
                edges.iter().filter(|e| to.contains(&e.as_str())).collect();
            assert!(crossing.is_empty(), "{sides}: {module} imports {crossing:?}");
        }
    }
}

/// The common layer (every other module of the flow: context, audit,
/// trail, store, limits, admission, session, policy, maintenance) imports
/// neither side: both stand on it.
#[test]
fn the_common_layer_imports_neither_side() {
    let graph = graph();
    let common: Vec<&String> = graph
        .keys()
        .filter(|m| m.starts_with("flow::"))
        .filter(|m| !SIGN_IN.contains(&m.as_str()) && !CONSOLE.contains(&m.as_str()))
        .collect();
    assert!(common.len() >= 8, "the common layer is read: {common:?}");
    for module in common {
        let crossing: Vec<&String> = graph[module]
            .iter()
            .filter(|e| SIGN_IN.contains(&e.as_str()) || CONSOLE.contains(&e.as_str()))
            .collect();
        assert!(crossing.is_empty(), "common -> a side: {module} imports {crossing:?}");
    }
}

/// The sign-in reaches the store only through its ports (sessions and the
/// sign-in's own), never the console's.
#[test]
fn the_sign_in_never_asks_for_the_consoles_store() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for module in SIGN_IN {
        let file = src.join(format!("{}.rs", module.replace("::", "/")));
        let code = code_of(&std::fs::read_to_string(&file).expect("a source file"));
        for forbidden in ["ConsoleStore", "MaintenanceStore", "S: Store"] {
            assert!(!code.contains(forbidden), "{module} names {forbidden}");
        }
    }
}

/// The check itself: a cycle and a crossing written here are found.
#[test]
fn the_checks_find_what_they_look_for() {
    let mut graph = Graph::new();
    graph.entry("a".into()).or_default().insert("b".into());
    graph.entry("b".into()).or_default().insert("c".into());
    assert_eq!(cycle(&graph), None);
    graph.entry("c".into()).or_default().insert("a".into());
    assert_eq!(cycle(&graph).map(|c| c.len()), Some(4), "a -> b -> c -> a");
    let paths = expand("super::{audit::{Reason, Refusal}, context::Ctx, session}");
    let flat: Vec<String> = paths.iter().map(|p| p.join("::")).collect();
    assert_eq!(
        flat,
        ["super::audit::Reason", "super::audit::Refusal", "super::context::Ctx", "super::session"]
    );
    let code = code_of("use x; // use y;\n#[cfg(test)]\nmod tests {\n use z;\n}");
    assert!(code.contains("use x") && !code.contains("use y") && !code.contains("use z"));
    let modules: BTreeSet<String> =
        ["flow", "flow::audit", "flow::login", "cookie"].into_iter().map(String::from).collect();
    let path = |p: &str| p.split("::").map(String::from).collect::<Vec<_>>();
    assert_eq!(
        resolve("flow::login", &path("super::audit::Reason"), &modules).as_deref(),
        Some("flow::audit")
    );
    assert_eq!(
        resolve("flow::login", &path("crate::cookie::set"), &modules).as_deref(),
        Some("cookie")
    );
    assert_eq!(resolve("flow", &path("audit::Refusal"), &modules).as_deref(), Some("flow::audit"));
    assert_eq!(resolve("flow::login", &path("shared::api::Role"), &modules), None);
}
