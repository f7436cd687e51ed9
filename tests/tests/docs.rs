//! The documentation's links hold: every relative link in README.md, docs/ and the other Markdown
//! pages of the repository points to a file that exists, every `#anchor` names a heading of the
//! page it points to (GitHub's anchor rules), and every page under docs/ can be reached from
//! README.md by following links. Reads files only: no broker, no services.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Component, Path, PathBuf};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives in the repository root")
        .to_path_buf()
}

/// Every `.md` file under `dir`, skipping build output, hidden directories and installed npm
/// packages (`tests/tools/node_modules`).
fn markdown_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if path.is_dir() {
            if name.starts_with('.')
                || ["target", "corpus", "artifacts", "node_modules"].contains(&name.as_str())
            {
                continue;
            }
            markdown_files(&path, out);
        } else if name.ends_with(".md") {
            out.push(path);
        }
    }
}

/// The lines of a page that are not inside a fenced code block.
fn prose_lines(text: &str) -> Vec<&str> {
    let mut fenced = false;
    let mut out = Vec::new();
    for line in text.lines() {
        let t = line.trim_start();
        if t.starts_with("```") || t.starts_with("~~~") {
            fenced = !fenced;
            continue;
        }
        if !fenced {
            out.push(line);
        }
    }
    out
}

/// The line with its inline code spans replaced by `x`, so that brackets in code are not links.
fn without_code_spans(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '`' {
            let mut n = 0;
            while i + n < chars.len() && chars[i + n] == '`' {
                n += 1;
            }
            // Find the closing run of exactly n backticks.
            let mut j = i + n;
            let mut close = None;
            while j < chars.len() {
                if chars[j] == '`' {
                    let mut m = 0;
                    while j + m < chars.len() && chars[j + m] == '`' {
                        m += 1;
                    }
                    if m == n {
                        close = Some(j);
                        break;
                    }
                    j += m;
                } else {
                    j += 1;
                }
            }
            match close {
                Some(j) => {
                    out.push('x');
                    i = j + n;
                }
                None => {
                    out.extend(&chars[i..i + n]);
                    i += n;
                }
            }
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// GitHub's anchor for a heading: markdown links reduced to their text, lowercase, every
/// character dropped but letters, digits, spaces, `-` and `_`, spaces turned into `-`.
fn slug(heading: &str) -> String {
    let mut text = String::new();
    let mut rest = heading;
    // `[text](url)` -> `text`
    while let Some(open) = rest.find('[') {
        let Some(mid) = rest[open..].find("](") else {
            break;
        };
        let Some(close) = rest[open + mid..].find(')') else {
            break;
        };
        text.push_str(&rest[..open]);
        text.push_str(&rest[open + 1..open + mid]);
        rest = &rest[open + mid + close + 1..];
    }
    text.push_str(rest);
    text.chars()
        .flat_map(char::to_lowercase)
        .filter_map(|c| match c {
            ' ' => Some('-'),
            '-' | '_' => Some(c),
            c if c.is_alphanumeric() => Some(c),
            _ => None,
        })
        .collect()
}

/// The anchors of a page's headings, with GitHub's `-1`, `-2` … for repeated ones.
fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = BTreeSet::new();
    for line in prose_lines(text) {
        let hashes = line.chars().take_while(|c| *c == '#').count();
        if !(1..=6).contains(&hashes) || !line[hashes..].starts_with(' ') {
            continue;
        }
        let title = line[hashes..].trim().trim_end_matches('#').trim();
        let base = slug(title);
        let n = seen.entry(base.clone()).or_insert(0);
        out.insert(if *n == 0 {
            base.clone()
        } else {
            format!("{base}-{n}")
        });
        *n += 1;
    }
    out
}

/// Every link destination on a page: inline links and images `[text](dest)`, and reference
/// definitions `[label]: dest`.
fn links(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut fenced = false;
    for (n, raw) in text.lines().enumerate() {
        let t = raw.trim_start();
        if t.starts_with("```") || t.starts_with("~~~") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        let line = without_code_spans(raw);
        let trimmed = line.trim_start();
        if trimmed.starts_with('[') {
            if let Some(end) = trimmed.find("]:") {
                if !trimmed[..end].contains("](") {
                    if let Some(dest) = trimmed[end + 2..].split_whitespace().next() {
                        out.push((n + 1, dest.trim_matches(['<', '>']).to_string()));
                    }
                    continue;
                }
            }
        }
        let mut rest = line.as_str();
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            // The destination ends at the matching `)` (balanced parentheses allowed).
            let mut depth = 0usize;
            let mut end = after.len();
            for (i, c) in after.char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' if depth == 0 => {
                        end = i;
                        break;
                    }
                    ')' => depth -= 1,
                    _ => {}
                }
            }
            let dest = after[..end].split_whitespace().next().unwrap_or("");
            out.push((n + 1, dest.trim_matches(['<', '>']).to_string()));
            rest = &after[end.min(after.len())..];
        }
    }
    out
}

fn is_external(dest: &str) -> bool {
    dest.contains("://") || dest.starts_with("mailto:") || dest.starts_with("tel:")
}

/// `base/rel` with `.` and `..` resolved, without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// The Markdown page a link leads to, if any: the file itself, or a directory's README.md.
fn page_of(target: &Path) -> Option<PathBuf> {
    if target.is_dir() {
        let readme = target.join("README.md");
        readme.is_file().then_some(readme)
    } else {
        (target.extension().is_some_and(|e| e == "md") && target.is_file())
            .then(|| target.to_path_buf())
    }
}

#[test]
fn slugs_follow_githubs_rules() {
    assert_eq!(
        slug("HR input: `hr.terminations`"),
        "hr-input-hrterminations"
    );
    assert_eq!(
        slug("Target adapters: `[targets.<kind>]`"),
        "target-adapters-targetskind"
    );
    assert_eq!(
        slug("The fleet's own signature"),
        "the-fleets-own-signature"
    );
    assert_eq!(slug("max_in_flight — a limit"), "max_in_flight--a-limit");
    assert_eq!(slug("See [the guard](x.md#y)"), "see-the-guard");
    let a = anchors("# A\n\n```\n# not a heading\n```\n\n## A\n### B ###\n");
    assert_eq!(a, ["a", "a-1", "b"].map(String::from).into_iter().collect());
    let l = links("[a](x.md#y) `[b](not-a-link.md)` ![i](img.png \"t\")\n[ref]: docs/r.md\n");
    let l: Vec<&str> = l.iter().map(|(_, d)| d.as_str()).collect();
    assert_eq!(l, ["x.md#y", "img.png", "docs/r.md"]);
}

#[test]
fn links_resolve_and_every_docs_page_is_reachable() {
    let root = repo_root();
    let mut pages = Vec::new();
    markdown_files(&root, &mut pages);
    let readme = root.join("README.md");
    assert!(pages.contains(&readme), "README.md is missing");
    assert!(
        pages.iter().any(|p| p.starts_with(root.join("docs"))),
        "docs/ holds no page"
    );

    let rel = |p: &Path| p.strip_prefix(&root).unwrap_or(p).display().to_string();
    let mut anchor_cache: BTreeMap<PathBuf, BTreeSet<String>> = BTreeMap::new();
    let mut anchors_of = |page: &Path| -> BTreeSet<String> {
        anchor_cache
            .entry(page.to_path_buf())
            .or_insert_with(|| anchors(&std::fs::read_to_string(page).unwrap()))
            .clone()
    };

    let mut problems = Vec::new();
    // page -> the pages it links to
    let mut graph: BTreeMap<PathBuf, Vec<PathBuf>> = BTreeMap::new();
    for page in &pages {
        let text = std::fs::read_to_string(page).unwrap();
        let dir = page.parent().unwrap();
        let mut targets = Vec::new();
        for (line, dest) in links(&text) {
            if dest.is_empty() {
                problems.push(format!(
                    "{}:{line}: a link without a destination",
                    rel(page)
                ));
                continue;
            }
            if is_external(&dest) {
                continue;
            }
            let (path_part, anchor) = match dest.split_once('#') {
                Some((p, a)) => (p, Some(a)),
                None => (dest.as_str(), None),
            };
            let target = if path_part.is_empty() {
                page.clone()
            } else if let Some(from_root) = path_part.strip_prefix('/') {
                normalize(&root.join(from_root))
            } else {
                normalize(&dir.join(path_part))
            };
            if !target.starts_with(&root) || !target.exists() {
                problems.push(format!(
                    "{}:{line}: link ({dest}) points to {}, which does not exist",
                    rel(page),
                    rel(&target)
                ));
                continue;
            }
            let linked_page = page_of(&target);
            if let Some(p) = &linked_page {
                targets.push(p.clone());
            }
            if let Some(anchor) = anchor {
                match &linked_page {
                    Some(p) => {
                        if !anchors_of(p).contains(anchor) {
                            problems.push(format!(
                                "{}:{line}: link ({dest}): {} has no heading with the anchor #{anchor}",
                                rel(page),
                                rel(p)
                            ));
                        }
                    }
                    None if target.is_dir() => problems.push(format!(
                        "{}:{line}: link ({dest}): the directory {} has no README.md for #{anchor}",
                        rel(page),
                        rel(&target)
                    )),
                    None => {} // an anchor into a non-Markdown file (a line number, say)
                }
            }
        }
        graph.insert(page.clone(), targets);
    }

    // Every page under docs/ is reachable from README.md.
    let mut seen = BTreeSet::from([readme.clone()]);
    let mut queue = VecDeque::from([readme]);
    while let Some(p) = queue.pop_front() {
        for next in graph.get(&p).into_iter().flatten() {
            if seen.insert(next.clone()) {
                queue.push_back(next.clone());
            }
        }
    }
    for page in &pages {
        if page.starts_with(root.join("docs")) && !seen.contains(page) {
            problems.push(format!(
                "{}: no chain of links leads here from README.md",
                rel(page)
            ));
        }
    }

    assert!(
        problems.is_empty(),
        "{} documentation link problem(s):\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
}
