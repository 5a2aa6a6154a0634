//! Burn-rate maths (see `shared/reference/slo-prometheus.md`). Pure functions.
