use toml::de::{DeTable, DeValue};
use toml::Spanned;

fn walk(text: &str, prefix: &str, v: &Spanned<DeValue>) {
    let s = v.span();
    println!("{prefix}: {:?} -> {:?}", s, &text[s.clone()].chars().take(40).collect::<String>());
    match v.get_ref() {
        DeValue::Table(t) => for (k, v) in t.iter() { println!("  key {:?} span {:?}", k.get_ref(), k.span()); walk(text, &format!("{prefix}.{}", k.get_ref()), v) },
        DeValue::Array(a) => for (i, v) in a.iter().enumerate() { walk(text, &format!("{prefix}[{i}]"), v) },
        _ => {}
    }
}

#[test]
fn dump() {
    let text = "a = 1\n[ui]\nmax_fps = 3\n\n[[targets]]\nname = \"a\"\n\n[targets.kubernetes]\ncontext = \"c\"\n[[targets.slo]]\nname = \"s\"\n[[targets]]\nname = \"b\"\nx.y = { e = 1 }\n";
    let doc = DeTable::parse(text).unwrap();
    let s = doc.span();
    let v = Spanned::new(s, DeValue::Table(doc.into_inner()));
    walk(text, "", &v);
    for t in ["[ui]\nmax_fps = 30\nmax_fps = 31\n", "[ui]\n[ui]\n", "ui = 1\n[ui]\n", "[[targets]]\nname=\"a\"\n[targets]\n", "x = { a = 1, a = 2 }\n"] {
        let e = DeTable::parse(t).unwrap_err();
        println!("{:?} => {:?} span {:?} text {:?}", t, e.message(), e.span(), e.span().map(|s| &t[s]));
    }
}
