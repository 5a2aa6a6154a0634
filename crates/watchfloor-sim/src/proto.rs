//! Just enough Kubernetes protobuf to read what kubectl ≥ 1.32 sends as
//! `application/vnd.kubernetes.protobuf`: a SelfSubjectAccessReview (`auth can-i`), and the
//! bodies of `kubectl create namespace`, `kubectl create secret` and `kubectl create job`
//! (`--from=cronjob/...` included). A Job's pod template is read for what those commands and
//! the simulator use (containers' name, image, command, args, env, resources, pull policy; the
//! restart policy); other fields are dropped. Other kinds are refused with 415.

use serde_json::{Map, Value, json};

/// Protobuf fields of one message: (field number, wire value).
enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
}

fn varint(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *buf.get(*pos)?;
        *pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

fn fields(buf: &[u8]) -> Option<Vec<(u64, Field<'_>)>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        let key = varint(buf, &mut pos)?;
        let (num, wire) = (key >> 3, key & 7);
        match wire {
            0 => {
                let v = varint(buf, &mut pos)?;
                out.push((num, Field::Varint(v)));
            }
            2 => {
                let len = usize::try_from(varint(buf, &mut pos)?).ok()?;
                let end = pos.checked_add(len)?;
                out.push((num, Field::Bytes(buf.get(pos..end)?)));
                pos = end;
            }
            1 => pos = pos.checked_add(8)?,
            5 => pos = pos.checked_add(4)?,
            _ => return None,
        }
    }
    Some(out)
}

fn bytes_field<'a>(fs: &[(u64, Field<'a>)], n: u64) -> Option<&'a [u8]> {
    fs.iter().find_map(|(k, f)| match f {
        Field::Bytes(b) if *k == n => Some(*b),
        _ => None,
    })
}

fn strings(buf: &[u8], names: &[(u64, &str)]) -> Option<Value> {
    let fs = fields(buf)?;
    let mut m = Map::new();
    for (n, name) in names {
        if let Some(b) = bytes_field(&fs, *n) {
            m.insert((*name).to_string(), json!(String::from_utf8_lossy(b)));
        }
    }
    Some(Value::Object(m))
}

/// Decode a protobuf-encoded SelfSubjectAccessReview into its JSON shape (spec only).
pub fn decode_ssar(body: &[u8]) -> Option<Value> {
    let envelope = body.strip_prefix(b"k8s\0")?;
    let unknown = fields(envelope)?;
    let raw = bytes_field(&unknown, 2)?;
    let obj = fields(raw)?;
    let spec = fields(bytes_field(&obj, 2)?)?;
    let mut out = json!({"spec": {}});
    if let Some(ra) = bytes_field(&spec, 1) {
        out["spec"]["resourceAttributes"] = strings(
            ra,
            &[
                (1, "namespace"),
                (2, "verb"),
                (3, "group"),
                (4, "version"),
                (5, "resource"),
                (6, "subresource"),
                (7, "name"),
            ],
        )?;
    }
    if let Some(nra) = bytes_field(&spec, 2) {
        out["spec"]["nonResourceAttributes"] = strings(nra, &[(1, "path"), (2, "verb")])?;
    }
    Some(out)
}

/// `map<string, string|bytes>` entries (field `n`): each entry is a message {1: key, 2: value}.
fn map_field(fs: &[(u64, Field<'_>)], n: u64, bytes_as_base64: bool) -> Option<Value> {
    let mut m = Map::new();
    for (k, f) in fs {
        let Field::Bytes(entry) = f else { continue };
        if *k != n {
            continue;
        }
        let e = fields(entry)?;
        let key = String::from_utf8_lossy(bytes_field(&e, 1).unwrap_or_default()).into_owned();
        let val = bytes_field(&e, 2).unwrap_or_default();
        let val = if bytes_as_base64 {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.encode(val)
        } else {
            String::from_utf8_lossy(val).into_owned()
        };
        m.insert(key, json!(val));
    }
    (!m.is_empty()).then_some(Value::Object(m))
}

fn varint_field(fs: &[(u64, Field<'_>)], n: u64) -> Option<u64> {
    fs.iter().find_map(|(k, f)| match f {
        Field::Varint(v) if *k == n => Some(*v),
        _ => None,
    })
}

/// Every occurrence of a length-delimited field (a repeated message or string).
fn repeated<'a>(fs: &[(u64, Field<'a>)], n: u64) -> impl Iterator<Item = &'a [u8]> {
    fs.iter()
        .filter_map(move |(k, f)| match f {
            Field::Bytes(b) if *k == n => Some(*b),
            _ => None,
        })
        .collect::<Vec<_>>()
        .into_iter()
}

fn text(b: &[u8]) -> Value {
    json!(String::from_utf8_lossy(b))
}

/// ObjectMeta's client-settable fields: name, generateName, namespace, labels, annotations,
/// ownerReferences.
fn object_meta(buf: &[u8]) -> Option<Value> {
    let fs = fields(buf)?;
    let mut meta = strings(buf, &[(1, "name"), (2, "generateName"), (3, "namespace")])?;
    if let Some(l) = map_field(&fs, 11, false) {
        meta["labels"] = l;
    }
    if let Some(a) = map_field(&fs, 12, false) {
        meta["annotations"] = a;
    }
    let mut owners = Vec::new();
    for o in repeated(&fs, 13) {
        let of = fields(o)?;
        let mut r = strings(
            o,
            &[(1, "kind"), (3, "name"), (4, "uid"), (5, "apiVersion")],
        )?;
        for (n, k) in [(6, "controller"), (7, "blockOwnerDeletion")] {
            if let Some(v) = varint_field(&of, n) {
                r[k] = json!(v != 0);
            }
        }
        owners.push(r);
    }
    if !owners.is_empty() {
        meta["ownerReferences"] = json!(owners);
    }
    Some(meta)
}

/// `map<string, Quantity>` (Quantity is a message {1: string}).
fn quantities(fs: &[(u64, Field<'_>)], n: u64) -> Option<Value> {
    let mut m = Map::new();
    for entry in repeated(fs, n) {
        let e = fields(entry)?;
        let key = String::from_utf8_lossy(bytes_field(&e, 1).unwrap_or_default()).into_owned();
        let q = fields(bytes_field(&e, 2).unwrap_or_default())?;
        m.insert(key, text(bytes_field(&q, 1).unwrap_or_default()));
    }
    (!m.is_empty()).then_some(Value::Object(m))
}

/// A Container: name 1, image 2, command 3, args 4, env 7 ({name 1, value 2}), resources 8
/// ({limits 1, requests 2}), imagePullPolicy 14.
fn container(buf: &[u8]) -> Option<Value> {
    let fs = fields(buf)?;
    let mut c = strings(buf, &[(1, "name"), (2, "image"), (14, "imagePullPolicy")])?;
    for (n, k) in [(3, "command"), (4, "args")] {
        let items: Vec<Value> = repeated(&fs, n).map(text).collect();
        if !items.is_empty() {
            c[k] = json!(items);
        }
    }
    let env: Option<Vec<Value>> = repeated(&fs, 7)
        .map(|e| strings(e, &[(1, "name"), (2, "value")]))
        .collect();
    if let Some(env) = env.filter(|e| !e.is_empty()) {
        c["env"] = json!(env);
    }
    if let Some(r) = bytes_field(&fs, 8) {
        let rf = fields(r)?;
        let mut res = json!({});
        if let Some(l) = quantities(&rf, 1) {
            res["limits"] = l;
        }
        if let Some(q) = quantities(&rf, 2) {
            res["requests"] = q;
        }
        c["resources"] = res;
    }
    Some(c)
}

/// A PodTemplateSpec: metadata 1, spec 2 (containers 2, restartPolicy 3).
fn pod_template(buf: &[u8]) -> Option<Value> {
    let fs = fields(buf)?;
    let meta = object_meta(bytes_field(&fs, 1).unwrap_or_default())?;
    let spec_buf = bytes_field(&fs, 2).unwrap_or_default();
    let spec = fields(spec_buf)?;
    let containers: Option<Vec<Value>> = repeated(&spec, 2).map(container).collect();
    let mut out = json!({"metadata": meta, "spec": {"containers": containers?}});
    if let Some(p) = bytes_field(&spec, 3) {
        out["spec"]["restartPolicy"] = text(p);
    }
    Some(out)
}

/// A JobSpec: parallelism 1, completions 2, activeDeadlineSeconds 3, template 6,
/// backoffLimit 7, ttlSecondsAfterFinished 8, suspend 10.
fn job_spec(buf: &[u8]) -> Option<Value> {
    let fs = fields(buf)?;
    let mut spec = json!({"template": pod_template(bytes_field(&fs, 6)?)?});
    for (n, k) in [
        (1, "parallelism"),
        (2, "completions"),
        (3, "activeDeadlineSeconds"),
        (7, "backoffLimit"),
        (8, "ttlSecondsAfterFinished"),
    ] {
        if let Some(v) = varint_field(&fs, n) {
            spec[k] = json!(v);
        }
    }
    if let Some(v) = varint_field(&fs, 10) {
        spec["suspend"] = json!(v != 0);
    }
    Some(spec)
}

/// Decode a protobuf-encoded Namespace, Secret or Job into its JSON shape; `None` for
/// anything else (or a malformed body).
pub fn decode_object(body: &[u8]) -> Option<Value> {
    let envelope = body.strip_prefix(b"k8s\0")?;
    let unknown = fields(envelope)?;
    let type_meta = strings(bytes_field(&unknown, 1)?, &[(1, "apiVersion"), (2, "kind")])?;
    let obj = fields(bytes_field(&unknown, 2)?)?;
    let meta = object_meta(bytes_field(&obj, 1).unwrap_or_default())?;
    let mut out =
        json!({"apiVersion": type_meta["apiVersion"], "kind": type_meta["kind"], "metadata": meta});
    match (
        type_meta["apiVersion"].as_str()?,
        type_meta["kind"].as_str()?,
    ) {
        ("v1", "Namespace") => {}
        ("v1", "Secret") => {
            if let Some(d) = map_field(&obj, 2, true) {
                out["data"] = d;
            }
            if let Some(t) = bytes_field(&obj, 3) {
                out["type"] = json!(String::from_utf8_lossy(t));
            }
            if let Some(d) = map_field(&obj, 4, false) {
                out["stringData"] = d;
            }
        }
        ("batch/v1", "Job") => out["spec"] = job_spec(bytes_field(&obj, 2)?)?,
        _ => return None,
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ld(n: u64, b: &[u8]) -> Vec<u8> {
        let mut v = vec![((n << 3) | 2) as u8, b.len() as u8];
        v.extend_from_slice(b);
        v
    }

    #[test]
    fn decodes_resource_attributes() {
        let ra = [ld(2, b"patch"), ld(3, b"apps"), ld(5, b"deployments")].concat();
        let spec = ld(1, &ra);
        let obj = [ld(1, b""), ld(2, &spec)].concat();
        let unknown = [ld(1, b""), ld(2, &obj)].concat();
        let body = [b"k8s\0".to_vec(), unknown].concat();
        let v = decode_ssar(&body).unwrap();
        assert_eq!(v["spec"]["resourceAttributes"]["verb"], "patch");
        assert_eq!(v["spec"]["resourceAttributes"]["resource"], "deployments");
    }

    fn envelope(api_version: &[u8], kind: &[u8], raw: &[u8]) -> Vec<u8> {
        let tm = [ld(1, api_version), ld(2, kind)].concat();
        [b"k8s\0".to_vec(), ld(1, &tm), ld(2, raw)].concat()
    }

    #[test]
    fn decodes_a_namespace_and_a_secret() {
        let label = [ld(1, b"team"), ld(2, b"ops")].concat();
        let meta = [ld(1, b"foo"), ld(11, &label)].concat();
        let v = decode_object(&envelope(b"v1", b"Namespace", &ld(1, &meta))).unwrap();
        assert_eq!(v["metadata"]["name"], "foo");
        assert_eq!(v["metadata"]["labels"]["team"], "ops");
        let entry = [ld(1, b"k"), ld(2, b"v")].concat();
        let raw = [ld(1, &ld(1, b"s")), ld(2, &entry), ld(3, b"Opaque")].concat();
        let v = decode_object(&envelope(b"v1", b"Secret", &raw)).unwrap();
        assert_eq!(v["data"]["k"], "dg==");
        assert_eq!(v["type"], "Opaque");
        assert!(decode_object(&envelope(b"apps/v1", b"Deployment", &ld(1, &meta))).is_none());
        let quantity = |k: &[u8], v: &[u8]| ld(1, &[ld(1, k), ld(2, &ld(1, v))].concat());
        let resources = [
            quantity(b"memory", b"1Gi"),
            ld(2, &[ld(1, b"cpu"), ld(2, &ld(1, b"250m"))].concat()),
        ]
        .concat();
        let c = [
            ld(1, b"backup"),
            ld(2, b"img:1"),
            ld(3, b"pg_dump"),
            ld(8, &resources),
        ]
        .concat();
        let pod_spec = [ld(2, &c), ld(3, b"Never")].concat();
        let template = [ld(1, b""), ld(2, &pod_spec)].concat();
        let job_spec = [vec![7 << 3, 0], ld(6, &template)].concat();
        let raw = [ld(1, &ld(1, b"rerun")), ld(2, &job_spec)].concat();
        let v = decode_object(&envelope(b"batch/v1", b"Job", &raw)).unwrap();
        let c = &v["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(c["image"], "img:1");
        assert_eq!(c["command"], json!(["pg_dump"]));
        assert_eq!(c["resources"]["limits"]["memory"], "1Gi");
        assert_eq!(c["resources"]["requests"]["cpu"], "250m");
        assert_eq!(v["spec"]["backoffLimit"], 0);
        assert_eq!(v["spec"]["template"]["spec"]["restartPolicy"], "Never");
        assert!(decode_object(b"k8s\0\xff").is_none());
    }
}
