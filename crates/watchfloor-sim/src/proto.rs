//! Just enough Kubernetes protobuf to read a SelfSubjectAccessReview (kubectl ≥ 1.32 sends
//! `auth can-i` bodies as `application/vnd.kubernetes.protobuf`).

use serde_json::{Map, Value, json};

/// Protobuf fields of one message: (field number, wire value).
enum Field<'a> {
    Varint,
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
                varint(buf, &mut pos)?;
                out.push((num, Field::Varint));
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
}
