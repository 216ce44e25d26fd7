//! Bar charts drawn on the server as SVG (no script, no CDN): one bar per value with its number
//! above it, the target as a dashed line, each bar a link to the cases behind it. The SVG scales
//! to its container (a phone's 390 px included); the page shows the same numbers in a table
//! beside it for screen readers.

/// One bar: its label, its value, where it links to, and whether it meets the target.
#[derive(Debug, Clone)]
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub href: String,
    pub meets_target: Option<bool>,
}

/// Markup-safe text.
fn esc(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A value as the chart labels it: a share as a percentage, else a number with at most one
/// decimal.
pub fn number(v: f64, share: bool) -> String {
    if share {
        format!("{:.0} %", v * 100.0)
    } else if (v - v.round()).abs() < 1e-9 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// The SVG of `bars` titled `title` (its accessible name), with the target line when given.
pub fn bars(title: &str, bars: &[Bar], target: Option<f64>, share: bool) -> String {
    const H: f64 = 180.0;
    const TOP: f64 = 18.0;
    const BOTTOM: f64 = 42.0;
    let slot = 56.0;
    let width = (bars.len() as f64 * slot).max(240.0);
    let max = bars.iter().map(|b| b.value).chain(target).fold(0.0_f64, f64::max);
    let max = if share {
        max.max(1.0)
    } else if max <= 0.0 {
        1.0
    } else {
        max * 1.1
    };
    let y = |v: f64| TOP + (H - TOP - BOTTOM) * (1.0 - v / max);
    let mut out = format!(
        r#"<svg class="chart" role="img" aria-label="{}" viewBox="0 0 {width:.0} {H:.0}" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">"#,
        esc(title)
    );
    out.push_str(&format!(r#"<line class="axis" x1="0" y1="{0:.1}" x2="{width:.0}" y2="{0:.1}"/>"#, y(0.0)));
    for (i, b) in bars.iter().enumerate() {
        let x = i as f64 * slot + 8.0;
        let (top, base) = (y(b.value.max(0.0)), y(0.0));
        let class = match b.meets_target {
            Some(true) => "bar good",
            Some(false) => "bar bad",
            None => "bar",
        };
        let shown = number(b.value, share);
        out.push_str(&format!(
            r#"<a href="{href}"><title>{label}: {shown}</title><rect class="{class}" x="{x:.1}" y="{top:.1}" width="40" height="{h:.1}"/><text class="value" x="{cx:.1}" y="{ty:.1}" text-anchor="middle">{shown}</text><text class="label" x="{cx:.1}" y="{ly:.1}" text-anchor="middle">{short}</text></a>"#,
            href = esc(&b.href),
            label = esc(&b.label),
            h = (base - top).max(0.5),
            cx = x + 20.0,
            ty = (top - 4.0).max(10.0),
            ly = H - BOTTOM + 16.0,
            short = esc(&b.label.chars().take(10).collect::<String>()),
        ));
    }
    if let Some(t) = target {
        out.push_str(&format!(
            r#"<line class="target" x1="0" y1="{0:.1}" x2="{width:.0}" y2="{0:.1}"/><text class="target-label" x="{1:.0}" y="{2:.1}" text-anchor="end">{3}</text>"#,
            y(t),
            width - 2.0,
            (y(t) - 3.0).max(10.0),
            esc(&number(t, share)),
        ));
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_link_to_their_cases_and_escape_labels() {
        let svg = bars(
            "Correos <recibidos>",
            &[
                Bar { label: "2026-03".into(), value: 4.0, href: "/x?a=1&b=2".into(), meets_target: Some(true) },
                Bar { label: "<b>".into(), value: 0.5, href: "/y".into(), meets_target: None },
            ],
            Some(3.0),
            false,
        );
        assert!(svg.starts_with("<svg class=\"chart\" role=\"img\" aria-label=\"Correos &lt;recibidos&gt;\""), "{svg}");
        assert!(svg.contains("href=\"/x?a=1&amp;b=2\"") && svg.contains("&lt;b&gt;") && !svg.contains("<b>"), "{svg}");
        assert!(svg.contains("class=\"bar good\"") && svg.contains("class=\"target\""), "{svg}");
        assert_eq!(number(0.756, true), "76 %");
        assert_eq!(number(2.25, false), "2.2");
        assert_eq!(number(3.0, false), "3");
    }
}
