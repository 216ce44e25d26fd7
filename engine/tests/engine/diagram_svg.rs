//! The SVG drawing of a process's flow: every shipped process draws as well-formed SVG with one
//! node per step and nothing on top of anything else; an instance's marks show; loops are drawn
//! as back edges; users' text is escaped.

use crate::drawing;

use drawing::{Drawing, one, read, shipped};
use tramite_engine::diagram::{self, Format, Marks};

#[test]
fn every_shipped_process_draws_one_node_per_step_and_nothing_overlaps() {
    let catalog = shipped();
    for p in catalog.processes.values() {
        let svg = diagram::svg(p, &Marks::default());
        let d = read(&svg);
        let ids: Vec<&str> = p.steps.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(d.steps, ids, "{}", p.id);
        assert!(d.classes.values().all(|c| !c.contains("current") && !c.contains("visited")), "{}", p.id);
        assert_eq!(svg, diagram::svg(p, &Marks::default()), "{}: the same input gives other bytes", p.id);
        assert_eq!(svg, diagram::render(p, Format::Svg, &[]), "{}", p.id);
    }
}

#[test]
fn an_instance_shows_where_it_is_and_where_it_went_round() {
    let catalog = shipped();
    let p = &catalog.processes["conocer.c42-campanas"];
    let entered =
        ["elaborar_plan", "preparar_presentacion", "autorizar_plan", "elaborar_plan", "preparar_presentacion"];
    let entered: Vec<&str> = entered.iter().chain(&["autorizar_plan", "elaborar_plan"]).copied().collect();
    let d = read(&diagram::svg(p, &Marks::new(&["elaborar_plan"], &entered)));
    assert_eq!(d.classes["elaborar_plan"], "step task current");
    assert_eq!(d.classes["preparar_presentacion"], "step task visited");
    assert_eq!(d.classes["autorizar_plan"], "step approval visited");
    assert_eq!(d.classes["disenar_campana"], "step task");
    assert_eq!(d.badges.get("elaborar_plan").map(String::as_str), Some("×3"));
    assert_eq!(d.badges.get("autorizar_plan").map(String::as_str), Some("×2"));
    assert_eq!(d.badges.get("disenar_campana"), None);

    let highlighted = diagram::render(p, Format::Svg, &["aprobar_diseno".to_string()]);
    assert_eq!(read(&highlighted).classes["aprobar_diseno"], "step approval current");
}

fn edge<'a>(d: &'a Drawing, from: &str, to: &str) -> &'a (String, String, String, String) {
    d.edges
        .iter()
        .find(|e| e.0 == from && e.1 == to)
        .unwrap_or_else(|| panic!("no edge {from} → {to} in {:#?}", d.edges))
}

#[test]
fn approval_returns_and_loops_are_drawn_as_back_edges() {
    let catalog = shipped();
    let d = read(&diagram::svg(&catalog.processes["conocer.c42-campanas"], &Marks::default()));
    for (from, to) in [("autorizar_plan", "elaborar_plan"), ("aprobar_diseno", "disenar_campana")] {
        assert_eq!(edge(&d, from, to).2, "edge back rejection");
        assert_eq!(edge(&d, from, to).3, "rechazado");
    }
    // The rejection goes forward to the correction, which goes back to the tests.
    assert_eq!(edge(&d, "revisar_pruebas", "corregir_correos").2, "edge rejection");
    assert_eq!(edge(&d, "corregir_correos", "enviar_pruebas").2, "edge back");
    assert_eq!(edge(&d, "elaborar_plan", "preparar_presentacion").2, "edge");
    assert_eq!(edge(&d, "autorizar_plan", "disenar_campana").3, "aprobado");
    assert_eq!(edge(&d, "ejecutar_campana:join", "esperar_fin").2, "edge");
    assert_eq!(d.edges.iter().filter(|e| e.2.contains("back")).count(), 3, "{:#?}", d.edges);

    let d = read(&diagram::svg(&catalog.processes["conocer.c44-portal"], &Marks::default()));
    for (from, to) in [
        ("aprobar_solucion", "disenar_contenido"),
        ("validar_solucion", "disenar_contenido"),
        ("ajustar_solucion", "revisar_contra_diseno"),
        ("recibir_solicitud", "validar_iniciativa"),
    ] {
        assert!(edge(&d, from, to).2.starts_with("edge back"), "{from} → {to}");
    }
}

#[test]
fn users_text_is_escaped() {
    let p = one(r#"
process: prueba.escape
title: "Título <b>&amp;</b> \"x\""
calendar: mx
roles:
  r: "Rol <&\">"
steps:
  a:
    task: "Paso <&\"> 'uno'"
    role: r
    next:
      - when: data.x == "<&>"
        goto: b
      - goto: end
  b:
    end: fin_b
    title: "</svg><script>alert(1)</script>"
"#);
    let svg = diagram::svg(&p, &Marks::new(&["a"], &["a"]));
    let d = read(&svg);
    assert!(!svg.contains("<script") && !svg.contains("<b>"), "{svg}");
    let doc = roxmltree::Document::parse(&svg).unwrap_or_else(|e| panic!("{e}"));
    let texts: Vec<&str> = doc.descendants().filter_map(|n| n.text()).collect();
    for wanted in ["Paso <&\"> 'uno'", "Rol <&\">", "data.x == \"<&>\"", "Flujo del proceso: Título <b>&amp;</b> \"x\""]
    {
        assert!(texts.iter().any(|t| t.contains(wanted)), "`{wanted}` not among {texts:?}");
    }
    assert_eq!(d.steps, ["a", "b"]);
}
