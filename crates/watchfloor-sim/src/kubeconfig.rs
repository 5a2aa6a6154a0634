//! A kubeconfig pointing at the simulator.

use std::net::SocketAddr;

pub const TOKEN: &str = "watchfloor-sim-token";

/// Kubeconfig YAML with one cluster, one bearer-token user and `context` as current-context.
pub fn yaml(addr: SocketAddr, context: &str) -> String {
    let ctx = quote(context);
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: watchfloor-sim\n  cluster:\n    server: http://{addr}\nusers:\n- name: watchfloor-sim\n  user:\n    token: {TOKEN}\ncontexts:\n- name: {ctx}\n  context:\n    cluster: watchfloor-sim\n    user: watchfloor-sim\ncurrent-context: {ctx}\npreferences: {{}}\n"
    )
}

/// Double-quoted YAML scalar.
fn quote(s: &str) -> String {
    let escaped: String = s
        .chars()
        .flat_map(|c| match c {
            '"' => vec!['\\', '"'],
            '\\' => vec!['\\', '\\'],
            c if c.is_control() => vec![' '],
            c => vec![c],
        })
        .collect();
    format!("\"{escaped}\"")
}
