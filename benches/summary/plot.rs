//! The routing-cost plot (`--svg PATH`), written by hand: a log-log chart
//! of nanoseconds per decision against the number of rules. Plain SVG text
//! needs no plotting crate (no extra compile time, no font files) and is
//! diffable in review.

use std::fmt::Write as _;

const W: f64 = 640.0;
const H: f64 = 400.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 170.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 50.0;

/// `curve`: `(rules, compiled ns, interpreted ns)`; `hand`: the
/// hand-written figure at 1,000 rules.
pub(crate) fn svg(
    curve: &[(usize, Option<f64>, Option<f64>)],
    hand: Option<f64>,
    quick: bool,
) -> String {
    let compiled: Vec<(f64, f64)> =
        curve.iter().filter_map(|&(n, c, _)| c.map(|c| (n as f64, c))).collect();
    let interp: Vec<(f64, f64)> =
        curve.iter().filter_map(|&(n, _, i)| i.map(|i| (n as f64, i))).collect();
    let hand: Vec<(f64, f64)> = hand.map(|h| (1000.0, h)).into_iter().collect();
    let all = compiled.iter().chain(&interp).chain(&hand).map(|&(_, y)| y.max(1e-3));
    let (lo, hi) = all.fold((f64::MAX, f64::MIN), |(lo, hi), y| (lo.min(y), hi.max(y)));
    let (y0, y1) = if lo <= hi {
        (lo.log10().floor(), hi.log10().ceil().max(lo.log10().floor() + 1.0))
    } else {
        (0.0, 1.0)
    };
    let (x0, x1) = (1.0, 4.0); // 10 .. 10,000 rules
    let px = |x: f64| LEFT + (x.log10() - x0) / (x1 - x0) * (W - LEFT - RIGHT);
    let py = |y: f64| TOP + (y1 - y.max(1e-3).log10()) / (y1 - y0) * (H - TOP - BOTTOM);
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(out, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
    let title = format!(
        "Routing cost per decision (cargo bench --bench summary{})",
        if quick { " -- --quick" } else { "" }
    );
    let _ = writeln!(out, r#"<text x="{LEFT}" y="22" font-size="14">{title}</text>"#);
    // Axes, grid and tick labels.
    for e in 1..=4 {
        let x = px(10f64.powi(e));
        let _ = writeln!(
            out,
            r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{:.1}" stroke="#ddd"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
            H - BOTTOM,
            H - BOTTOM + 16.0,
            10u64.pow(e as u32)
        );
    }
    let mut e = y0;
    while e <= y1 {
        let y = py(10f64.powf(e));
        let _ = writeln!(
            out,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            W - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            10f64.powf(e)
        );
        e += 1.0;
    }
    let _ = writeln!(
        out,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">rules in the table (log)</text>"#,
        (LEFT + W - RIGHT) / 2.0,
        H - 12.0
    );
    let _ = writeln!(
        out,
        r#"<text x="16" y="{:.1}" transform="rotate(-90 16 {:.1})" text-anchor="middle">ns per decision (log)</text>"#,
        (TOP + H - BOTTOM) / 2.0,
        (TOP + H - BOTTOM) / 2.0
    );
    // The series, with a legend on the right.
    let series = [
        ("compiled (include_routes!)", "#1f77b4", &compiled),
        ("interpreted", "#d62728", &interp),
        ("hand-written (1,000 only)", "#2ca02c", &hand),
    ];
    for (i, (name, colour, points)) in series.iter().enumerate() {
        let path: Vec<String> =
            points.iter().map(|&(x, y)| format!("{:.1},{:.1}", px(x), py(y))).collect();
        if path.len() > 1 {
            let _ = writeln!(
                out,
                r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"/>"#,
                path.join(" ")
            );
        }
        for &(x, y) in points.iter() {
            let _ = writeln!(
                out,
                r#"<circle cx="{:.1}" cy="{:.1}" r="4" fill="{colour}"><title>{name}: {x} rules, {y:.1} ns</title></circle>"#,
                px(x),
                py(y)
            );
        }
        let ly = TOP + 10.0 + 20.0 * i as f64;
        let lx = W - RIGHT + 12.0;
        let _ = writeln!(
            out,
            r#"<rect x="{lx}" y="{:.1}" width="12" height="12" fill="{colour}"/><text x="{:.1}" y="{:.1}">{name}</text>"#,
            ly - 10.0,
            lx + 18.0,
            ly
        );
    }
    out.push_str("</svg>\n");
    out
}
