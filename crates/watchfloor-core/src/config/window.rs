//! The `{{window}}` placeholder of SLO query templates: the loader checks that every template
//! has one, and the burn-rate queries substitute each window into it.

/// Substitutes the window into a template (`{{window}}`, also written `{{ window }}`).
pub fn substitute(template: &str, window: &str) -> String {
    template
        .replace("{{window}}", window)
        .replace("{{ window }}", window)
}

/// True when a template mentions the window.
pub fn has_window(template: &str) -> bool {
    template.contains("{{window}}") || template.contains("{{ window }}")
}
