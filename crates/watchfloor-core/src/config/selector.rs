//! A strict check of Kubernetes label selector syntax, so a typo is a config error rather than
//! an API error (or, worse, a selector that quietly matches something else) at run time.
//!
//! The grammar, as `kubectl -l` and the API server take it:
//!
//! ```text
//! selector    = requirement { "," requirement }
//! requirement = key | "!" key
//!             | key ( "=" | "==" | "!=" ) value
//!             | key ( "in" | "notin" ) "(" value { "," value } ")"
//!             | key ( "<" | ">" ) integer
//! key         = [ prefix "/" ] name
//! prefix      = DNS subdomain: at most 253 characters of [a-z0-9.-], alphanumeric at both ends
//! name        = at most 63 characters of [A-Za-z0-9._-], alphanumeric at both ends
//! value       = empty, or like name
//! ```
//!
//! Blanks between tokens are allowed; an empty selector selects everything.

/// Checks a label selector's syntax. The error says what is wrong and where.
pub fn check_label_selector(selector: &str) -> Result<(), String> {
    let tokens = lex(selector);
    let mut parser = Parser { tokens, at: 0 };
    if parser.peek().is_none() {
        return Ok(());
    }
    loop {
        parser.requirement()?;
        match parser.next() {
            None => return Ok(()),
            Some(Token::Comma) => {
                if parser.peek().is_none() {
                    return Err("a `,` must be followed by another requirement".into());
                }
            }
            Some(other) => {
                return Err(format!(
                    "expected `,` or the end after a requirement, found {}",
                    other.describe()
                ));
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Comma,
    Open,
    Close,
    Not,
    Equals,
    DoubleEquals,
    NotEquals,
    Less,
    Greater,
}

impl Token {
    fn describe(&self) -> String {
        match self {
            Self::Word(word) => format!("{word:?}"),
            Self::Comma => "`,`".into(),
            Self::Open => "`(`".into(),
            Self::Close => "`)`".into(),
            Self::Not => "`!`".into(),
            Self::Equals => "`=`".into(),
            Self::DoubleEquals => "`==`".into(),
            Self::NotEquals => "`!=`".into(),
            Self::Less => "`<`".into(),
            Self::Greater => "`>`".into(),
        }
    }
}

fn is_special(c: char) -> bool {
    c.is_whitespace() || matches!(c, ',' | '(' | ')' | '!' | '=' | '<' | '>')
}

fn lex(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        let token = match c {
            c if c.is_whitespace() => continue,
            ',' => Token::Comma,
            '(' => Token::Open,
            ')' => Token::Close,
            '<' => Token::Less,
            '>' => Token::Greater,
            '!' if chars.peek().is_some_and(|(_, c)| *c == '=') => {
                chars.next();
                Token::NotEquals
            }
            '!' => Token::Not,
            '=' if chars.peek().is_some_and(|(_, c)| *c == '=') => {
                chars.next();
                Token::DoubleEquals
            }
            '=' => Token::Equals,
            _ => {
                let mut end = start + c.len_utf8();
                while let Some((i, c)) = chars.peek().copied() {
                    if is_special(c) {
                        break;
                    }
                    end = i + c.len_utf8();
                    chars.next();
                }
                Token::Word(text[start..end].to_string())
            }
        };
        tokens.push(token);
    }
    tokens
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.at).cloned();
        if token.is_some() {
            self.at += 1;
        }
        token
    }

    fn requirement(&mut self) -> Result<(), String> {
        match self.next() {
            Some(Token::Not) => match self.next() {
                Some(Token::Word(key)) => check_key(&key),
                Some(other) => Err(format!(
                    "expected a key after `!`, found {}",
                    other.describe()
                )),
                None => Err("expected a key after `!`".into()),
            },
            Some(Token::Word(key)) => {
                check_key(&key)?;
                self.operator(&key)
            }
            Some(other) => Err(format!("expected a key, found {}", other.describe())),
            None => Err("expected a key".into()),
        }
    }

    /// What follows a key: nothing (the key exists), or an operator and its value(s).
    fn operator(&mut self, key: &str) -> Result<(), String> {
        match self.peek().cloned() {
            None | Some(Token::Comma) => Ok(()),
            Some(Token::Equals | Token::DoubleEquals | Token::NotEquals) => {
                self.next();
                match self.peek().cloned() {
                    // `key=` selects an empty value.
                    None | Some(Token::Comma) => Ok(()),
                    Some(Token::Word(value)) => {
                        self.next();
                        check_value(&value)
                    }
                    Some(other) => Err(format!(
                        "expected a value after `{key}` and its operator, found {}",
                        other.describe()
                    )),
                }
            }
            Some(Token::Less | Token::Greater) => {
                self.next();
                match self.next() {
                    Some(Token::Word(value)) if value.parse::<i64>().is_ok() => Ok(()),
                    Some(other) => Err(format!(
                        "`<` and `>` compare with an integer, found {}",
                        other.describe()
                    )),
                    None => Err(format!("expected an integer after `{key}` and `<` or `>`")),
                }
            }
            Some(Token::Word(word)) if word == "in" || word == "notin" => {
                self.next();
                self.set(&word)
            }
            Some(Token::Word(word)) => Err(format!(
                "expected an operator (=, ==, !=, in, notin) after key {key:?}, found {word:?}"
            )),
            Some(other) => Err(format!(
                "expected an operator (=, ==, !=, in, notin) after key {key:?}, found {}",
                other.describe()
            )),
        }
    }

    /// `( value, value, ... )` after `in` or `notin`.
    fn set(&mut self, operator: &str) -> Result<(), String> {
        match self.next() {
            Some(Token::Open) => {}
            Some(other) => {
                return Err(format!(
                    "expected `(` after `{operator}`, found {}",
                    other.describe()
                ));
            }
            None => return Err(format!("expected `(` after `{operator}`")),
        }
        let mut values = 0;
        loop {
            match self.next() {
                Some(Token::Word(value)) => {
                    check_value(&value)?;
                    values += 1;
                }
                Some(Token::Close) if values == 0 => {
                    return Err(format!("`{operator}` needs at least one value"));
                }
                Some(other) => {
                    return Err(format!(
                        "expected a value in the `{operator}` list, found {}",
                        other.describe()
                    ));
                }
                None => return Err(format!("the `{operator}` list is not closed with `)`")),
            }
            match self.next() {
                Some(Token::Comma) => {}
                Some(Token::Close) => return Ok(()),
                Some(other) => {
                    return Err(format!(
                        "expected `,` or `)` in the `{operator}` list, found {}",
                        other.describe()
                    ));
                }
                None => return Err(format!("the `{operator}` list is not closed with `)`")),
            }
        }
    }
}

/// `[prefix/]name`.
fn check_key(key: &str) -> Result<(), String> {
    let (prefix, name) = match key.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    if let Some(prefix) = prefix {
        let ok = !prefix.is_empty()
            && prefix.len() <= 253
            && prefix
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.'))
            && prefix.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label.starts_with(|c: char| c.is_ascii_alphanumeric())
                    && label.ends_with(|c: char| c.is_ascii_alphanumeric())
            });
        if !ok {
            return Err(format!(
                "key {key:?}: the prefix before `/` must be a DNS subdomain (lowercase letters, digits, `-` and `.`, at most 253 characters)"
            ));
        }
    }
    if name.is_empty() {
        return Err(format!("key {key:?} has no name"));
    }
    check_name(name).map_err(|why| format!("key {key:?}: {why}"))
}

fn check_value(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Ok(());
    }
    check_name(value).map_err(|why| format!("value {value:?}: {why}"))
}

/// A label name or value: at most 63 of `[A-Za-z0-9._-]`, alphanumeric at both ends.
fn check_name(name: &str) -> Result<(), String> {
    if name.len() > 63 {
        return Err(format!("{} characters, at most 63 allowed", name.len()));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(format!(
            "{bad:?} is not allowed (letters, digits, `-`, `_` and `.` only)"
        ));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric())
        || !name.ends_with(|c: char| c.is_ascii_alphanumeric())
    {
        return Err("must begin and end with a letter or digit".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_selectors_pass() {
        for selector in [
            "",
            "  ",
            "app",
            "!app",
            "app=x",
            "app==x",
            "app!=x",
            "app=",
            "app.kubernetes.io/name=poolboy",
            "app.kubernetes.io/name = poolboy , tier notin (cache, db),!legacy",
            "env in (prod)",
            "env in (prod,staging)",
            "replicas>1",
            "replicas < 10",
            "a-b_c.d=E-f_g.H",
        ] {
            assert_eq!(check_label_selector(selector), Ok(()), "{selector:?}");
        }
    }

    #[test]
    fn invalid_selectors_say_why() {
        for (selector, says) in [
            ("app=x=y", "expected `,` or the end"),
            ("app=x,", "followed by another requirement"),
            (",app", "expected a key"),
            ("app x", "expected an operator"),
            ("app in prod", "expected `(`"),
            ("app in ()", "at least one value"),
            ("app in (a,", "not closed"),
            ("app in (a b)", "expected `,` or `)`"),
            ("app=-x", "begin and end"),
            ("app=x y", "expected `,` or the end"),
            ("ap p=x", "expected an operator"),
            ("app=x*", "'*' is not allowed"),
            ("Example.com/app=x", "DNS subdomain"),
            ("/app=x", "DNS subdomain"),
            ("example.com/=x", "has no name"),
            ("!", "expected a key after `!`"),
            ("!=x", "expected a key"),
            ("replicas>many", "integer"),
            ("app=(x)", "expected a value"),
        ] {
            let error = check_label_selector(selector).expect_err(selector);
            assert!(error.contains(says), "{selector:?}: {error}");
        }
        let long = format!("app={}", "x".repeat(64));
        assert!(
            check_label_selector(&long)
                .unwrap_err()
                .contains("at most 63")
        );
    }
}
