//! Dependencies point one way (issue #18): in every crate of the workspace, no module uses a
//! module that uses it back, directly or through others. Checked on the source: each
//! `crate::a::b` or `super::b` path outside `#[cfg(test)]` code is an edge from the module
//! whose file holds it; modules are compared with their siblings (the children of the same
//! parent), so a module and its own submodules count as one unit. A cycle fails the test
//! with the edges that make it, each with the file it is written in.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type ModulePath = Vec<String>;

/// One use of another module: from the module of `file` to `target` (a module or an item).
struct Edge {
    from: ModulePath,
    target: ModulePath,
    file: PathBuf,
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .to_path_buf()
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a source directory") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// `src/a/b.rs` is `a::b`; `src/a/mod.rs` is `a`; `lib.rs` and `main.rs` are the root.
fn module_of(src: &Path, file: &Path) -> ModulePath {
    let relative = file.strip_prefix(src).expect("a file under src");
    let mut parts: ModulePath = relative
        .with_extension("")
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The identifiers of `text` from its start joined by `::` (`a::b::C` gives a, b, C); for a
/// `{...}` group, the first identifier of each of its items (`{a::X, b}` gives a and b).
fn path_heads(text: &str) -> Vec<ModulePath> {
    let mut path = ModulePath::new();
    let mut rest = text;
    loop {
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            return group[..end]
                .split(',')
                .map(|item| {
                    let ident: String = item.trim().chars().take_while(|&c| is_ident(c)).collect();
                    let mut full = path.clone();
                    if !ident.is_empty() && ident != "self" {
                        full.push(ident);
                    }
                    full
                })
                .collect();
        }
        let ident: String = rest.chars().take_while(|&c| is_ident(c)).collect();
        if ident.is_empty() {
            return vec![path];
        }
        rest = &rest[ident.len()..];
        path.push(ident);
        match rest.strip_prefix("::") {
            Some(next) => rest = next,
            None => return vec![path],
        }
    }
}

/// The code of a file that ships: up to its first `#[cfg(test)]`, comments cut off.
fn shipped_code(text: &str) -> String {
    let code = text.split("#[cfg(test)]").next().unwrap_or_default();
    code.lines()
        .map(|line| line.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

fn edges_of(src: &Path) -> Vec<Edge> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut edges = Vec::new();
    for file in files {
        let name = file.file_name().unwrap_or_default().to_string_lossy();
        if name == "tests.rs" || name.ends_with("_tests.rs") {
            continue;
        }
        let module = module_of(src, &file);
        let code = shipped_code(&std::fs::read_to_string(&file).expect("a source file"));
        for (at, _) in code
            .match_indices("crate::")
            .chain(code.match_indices("super::"))
        {
            // Inside a longer path (`x::crate::`, the second `super::` of `super::super::`).
            let before = &code[..at];
            if before.chars().next_back().is_some_and(is_ident) || before.ends_with("::") {
                continue;
            }
            let (mut base, mut rest) = if code[at..].starts_with("crate::") {
                (ModulePath::new(), &code[at + "crate::".len()..])
            } else {
                let mut base = module.clone();
                base.pop();
                (base, &code[at + "super::".len()..])
            };
            while let Some(next) = rest.strip_prefix("super::") {
                base.pop();
                rest = next;
            }
            for head in path_heads(rest) {
                let mut target = base.clone();
                target.extend(head);
                edges.push(Edge {
                    from: module.clone(),
                    target,
                    file: file.clone(),
                });
            }
        }
    }
    edges
}

/// Sibling graphs: for each parent module, edges between its children.
fn sibling_graphs(edges: &[Edge]) -> BTreeMap<ModulePath, BTreeMap<String, BTreeSet<String>>> {
    let mut graphs: BTreeMap<ModulePath, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for edge in edges {
        let common = edge
            .from
            .iter()
            .zip(&edge.target)
            .take_while(|(a, b)| a == b)
            .count();
        if let (Some(from), Some(to)) = (edge.from.get(common), edge.target.get(common)) {
            graphs
                .entry(edge.from[..common].to_vec())
                .or_default()
                .entry(from.clone())
                .or_default()
                .insert(to.clone());
        }
    }
    graphs
}

/// Strongly connected components of more than one node (Tarjan).
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<BTreeSet<String>> {
    struct Walk<'g> {
        graph: &'g BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        found: Vec<BTreeSet<String>>,
    }
    impl<'g> Walk<'g> {
        fn visit(&mut self, node: &'g str) {
            let n = self.index.len();
            self.index.insert(node, n);
            self.low.insert(node, n);
            self.stack.push(node);
            for next in self.graph.get(node).into_iter().flatten() {
                let next = next.as_str();
                if !self.index.contains_key(next) {
                    self.visit(next);
                    let low = self.low[node].min(self.low[next]);
                    self.low.insert(node, low);
                } else if self.stack.contains(&next) {
                    let low = self.low[node].min(self.index[next]);
                    self.low.insert(node, low);
                }
            }
            if self.low[node] == self.index[node] {
                let mut component = BTreeSet::new();
                while let Some(member) = self.stack.pop() {
                    component.insert(member.to_owned());
                    if member == node {
                        break;
                    }
                }
                if component.len() > 1 {
                    self.found.push(component);
                }
            }
        }
    }
    let mut walk = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        found: Vec::new(),
    };
    for node in graph.keys() {
        if !walk.index.contains_key(node.as_str()) {
            walk.visit(node);
        }
    }
    walk.found
}

/// Every cycle of the crate at `src`, with the edges inside it.
fn module_cycles(src: &Path) -> Vec<String> {
    let edges = edges_of(src);
    let mut report = Vec::new();
    for (parent, graph) in sibling_graphs(&edges) {
        for cycle in cycles(&graph) {
            let inside: BTreeSet<String> = edges
                .iter()
                .filter(|e| {
                    let n = parent.len();
                    e.from.len() > n
                        && e.target.len() > n
                        && e.from[..n] == parent[..]
                        && e.target[..n] == parent[..]
                        && e.from[n] != e.target[n]
                        && cycle.contains(&e.from[n])
                        && cycle.contains(&e.target[n])
                })
                .map(|e| {
                    format!(
                        "  {} -> {} ({})",
                        e.from.join("::"),
                        e.target.join("::"),
                        e.file.display()
                    )
                })
                .collect();
            report.push(format!(
                "cycle among {:?} under `{}`:\n{}",
                cycle,
                parent.join("::"),
                inside.into_iter().collect::<Vec<_>>().join("\n")
            ));
        }
    }
    report
}

fn crate_sources() -> Vec<PathBuf> {
    let root = workspace();
    let mut sources = vec![
        root.join("shared/src"),
        root.join("infra/cli/src"),
        root.join("infra/local/src"),
        root.join("tests/e2e/src"),
    ];
    for function in std::fs::read_dir(root.join("functions")).expect("functions/") {
        sources.push(function.expect("a function").path().join("src"));
    }
    sources
}

#[test]
fn no_module_uses_a_module_that_uses_it_back() {
    let mut problems = Vec::new();
    for src in crate_sources() {
        assert!(src.is_dir(), "{} is a crate's source", src.display());
        problems.extend(module_cycles(&src));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

#[test]
fn the_check_finds_a_cycle_through_three_modules_and_a_use_group() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::create_dir_all(src.join("a")).unwrap();
    std::fs::write(src.join("lib.rs"), "pub mod a; pub mod b; pub mod c;").unwrap();
    std::fs::write(src.join("a/mod.rs"), "use crate::b::Thing;\npub mod inner;").unwrap();
    std::fs::write(src.join("a/inner.rs"), "use super::super::c;").unwrap();
    std::fs::write(src.join("b.rs"), "use crate::{c::X, domain};").unwrap();
    std::fs::write(
        src.join("c.rs"),
        "// crate::b in a comment is no edge\nuse crate::a::inner::f;\n#[cfg(test)]\nuse crate::b;",
    )
    .unwrap();
    let found = module_cycles(src);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains(r#"{"a", "b", "c"}"#), "{}", found[0]);
    assert!(found[0].contains("b -> c ("), "{}", found[0]);
    assert!(
        !found[0].contains("c -> b"),
        "test code is no edge: {}",
        found[0]
    );

    // Without the edge back from c, nothing is reported.
    std::fs::write(src.join("c.rs"), "pub fn f() {}").unwrap();
    assert!(module_cycles(src).is_empty());
}
