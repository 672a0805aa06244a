//! Rule files: JSON text to a [`Rule`], with every error at its `file:line:column`.
//!
//! serde_json checks the syntax first (its errors carry a line and a column). A small
//! parser of our own then reads the same text again into a tree that remembers where each
//! value and key starts, so that a semantic error (an unknown key, an impossible range, a
//! negative count, later an unknown class) points at the place in the file too.

use super::rule::{Area, Class, ClassRef, Count, Origin, Rule, Select};

/// A 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

#[derive(Debug, Clone)]
enum Json {
    Null,
    Bool(bool),
    /// The number as written, so that `2.0` and `-1` are told apart from counts.
    Num(String),
    Str(String),
    Arr(Vec<Node>),
    Obj(Vec<(String, Pos, Node)>),
}

#[derive(Debug, Clone)]
struct Node {
    pos: Pos,
    v: Json,
}

/// A rule-file error: where, and what.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleError {
    pub pos: Pos,
    pub message: String,
}

type Res<T> = Result<T, RuleError>;

fn err<T>(pos: Pos, message: impl Into<String>) -> Res<T> {
    Err(RuleError {
        pos,
        message: message.into(),
    })
}

struct Lexer<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
    pos: Pos,
}

impl Lexer<'_> {
    fn bump(&mut self) -> Option<char> {
        let c = self.chars.next()?;
        if c == '\n' {
            self.pos.line += 1;
            self.pos.col = 1;
        } else {
            self.pos.col += 1;
        }
        Some(c)
    }

    fn skip_ws(&mut self) {
        while self.chars.peek().is_some_and(|c| c.is_whitespace()) {
            self.bump();
        }
    }

    fn expect(&mut self, want: char) -> Res<()> {
        self.skip_ws();
        let at = self.pos;
        match self.bump() {
            Some(c) if c == want => Ok(()),
            _ => err(at, format!("expected '{want}'")),
        }
    }

    fn value(&mut self, depth: usize) -> Res<Node> {
        self.skip_ws();
        let pos = self.pos;
        if depth > 128 {
            return err(pos, "rules nested more than 128 deep");
        }
        let v = match self.chars.peek().copied() {
            Some('{') => self.object(depth)?,
            Some('[') => self.array(depth)?,
            Some('"') => self.string(pos)?,
            Some(c) if c == '-' || c.is_ascii_digit() => self.number(),
            Some(_) => self.word(pos)?,
            None => return err(pos, "unexpected end of the file"),
        };
        Ok(Node { pos, v })
    }

    /// `{ "key": value, ... }`, from its `{`.
    fn object(&mut self, depth: usize) -> Res<Json> {
        self.bump();
        let mut fields = Vec::new();
        self.skip_ws();
        if self.chars.peek() == Some(&'}') {
            self.bump();
            return Ok(Json::Obj(fields));
        }
        loop {
            self.skip_ws();
            let kpos = self.pos;
            let key = match self.value(depth + 1)?.v {
                Json::Str(s) => s,
                _ => return err(kpos, "expected a key"),
            };
            self.expect(':')?;
            let val = self.value(depth + 1)?;
            fields.push((key, kpos, val));
            self.skip_ws();
            let at = self.pos;
            match self.bump() {
                Some(',') => continue,
                Some('}') => break,
                _ => return err(at, "expected ',' or '}'"),
            }
        }
        Ok(Json::Obj(fields))
    }

    /// `[ value, ... ]`, from its `[`.
    fn array(&mut self, depth: usize) -> Res<Json> {
        self.bump();
        let mut items = Vec::new();
        self.skip_ws();
        if self.chars.peek() == Some(&']') {
            self.bump();
            return Ok(Json::Arr(items));
        }
        loop {
            items.push(self.value(depth + 1)?);
            self.skip_ws();
            let at = self.pos;
            match self.bump() {
                Some(',') => continue,
                Some(']') => break,
                _ => return err(at, "expected ',' or ']'"),
            }
        }
        Ok(Json::Arr(items))
    }

    /// A string from its opening quote at `pos`.
    fn string(&mut self, pos: Pos) -> Res<Json> {
        self.bump();
        // The text is valid JSON (serde_json said so): let it decode the escapes.
        let mut raw = String::from("\"");
        loop {
            match self.bump() {
                Some('\\') => {
                    raw.push('\\');
                    raw.extend(self.bump());
                }
                Some('"') => break,
                Some(c) => raw.push(c),
                None => return err(pos, "unterminated string"),
            }
        }
        raw.push('"');
        Ok(Json::Str(serde_json::from_str(&raw).map_err(|e| {
            RuleError {
                pos,
                message: e.to_string(),
            }
        })?))
    }

    /// A number, kept as written.
    fn number(&mut self) -> Json {
        let mut s = String::new();
        while self
            .chars
            .peek()
            .is_some_and(|c| c.is_ascii_digit() || "+-.eE".contains(*c))
        {
            s.extend(self.bump());
        }
        Json::Num(s)
    }

    /// `true`, `false` or `null`, starting at `pos`.
    fn word(&mut self, pos: Pos) -> Res<Json> {
        let mut s = String::new();
        while self.chars.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
            s.extend(self.bump());
        }
        match s.as_str() {
            "true" => Ok(Json::Bool(true)),
            "false" => Ok(Json::Bool(false)),
            "null" => Ok(Json::Null),
            _ => err(pos, "expected a value"),
        }
    }
}

fn kind(n: &Node) -> &'static str {
    match n.v {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Num(_) => "a number",
        Json::Str(_) => "a string",
        Json::Arr(_) => "a list",
        Json::Obj(_) => "an object",
    }
}

/// Parses a rule file's text. `file` names it in class references (for later errors).
pub fn parse_rule(text: &str, file: &str) -> Res<Rule> {
    if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(text) {
        // "expected value at line 3 column 14": keep the message, move the place to the front.
        let message = e.to_string();
        let message = message
            .rsplit_once(" at line ")
            .map_or(message.as_str(), |(m, _)| m)
            .to_string();
        return err(
            Pos {
                line: e.line(),
                // serde_json says column 0 at the start of a line (the end of a file that
                // ends with a newline); ours are 1-based.
                col: e.column().max(1),
            },
            format!("not valid JSON: {message}"),
        );
    }
    let mut lexer = Lexer {
        chars: text.chars().peekable(),
        pos: Pos { line: 1, col: 1 },
    };
    let root = lexer.value(0)?;
    RuleParser { file }.rule(&root)
}

struct RuleParser<'a> {
    file: &'a str,
}

const RULE_KEYS: &str = "and, or, not, count, class, conf, area";
const COUNT_KEYS: &str = "class, per_class, conf, area, at_least, at_most, exactly";

impl RuleParser<'_> {
    fn rule(&self, n: &Node) -> Res<Rule> {
        let Json::Obj(fields) = &n.v else {
            return err(
                n.pos,
                format!(
                    "a rule is an object with one key ({RULE_KEYS}), not {}",
                    kind(n)
                ),
            );
        };
        let [(key, kpos, val)] = fields.as_slice() else {
            return err(
                n.pos,
                format!(
                    "a rule is an object with exactly one key ({RULE_KEYS}); this one has {}: combine several with \"and\"",
                    fields.len()
                ),
            );
        };
        match key.as_str() {
            "and" | "or" => {
                let Json::Arr(items) = &val.v else {
                    return err(
                        val.pos,
                        format!("\"{key}\" takes a list of rules, not {}", kind(val)),
                    );
                };
                let rules = items
                    .iter()
                    .map(|i| self.rule(i))
                    .collect::<Res<Vec<_>>>()?;
                Ok(if key == "and" {
                    Rule::And(rules)
                } else {
                    Rule::Or(rules)
                })
            }
            "not" => Ok(Rule::Not(Box::new(self.rule(val)?))),
            "count" => self.count(val),
            "class" => self.class_shorthand(val),
            "conf" => {
                let mut select = Select::default();
                self.conf(val, &mut select)?;
                Ok(at_least_one(select))
            }
            "area" => {
                let mut select = Select::default();
                self.area(val, &mut select)?;
                Ok(at_least_one(select))
            }
            _ => err(
                *kpos,
                format!("unknown rule \"{key}\"; a rule is one of: {RULE_KEYS}"),
            ),
        }
    }

    fn fields<'n>(&self, n: &'n Node, what: &str, keys: &str) -> Res<&'n [(String, Pos, Node)]> {
        let Json::Obj(fields) = &n.v else {
            return err(
                n.pos,
                format!("{what} is an object with keys {keys}, not {}", kind(n)),
            );
        };
        let allowed: Vec<&str> = keys.split(", ").collect();
        for (i, (k, kpos, _)) in fields.iter().enumerate() {
            if !allowed.contains(&k.as_str()) {
                return err(
                    *kpos,
                    format!("unknown key \"{k}\" in {what}; expected one of: {keys}"),
                );
            }
            if fields[..i].iter().any(|(other, _, _)| other == k) {
                return err(*kpos, format!("\"{k}\" is given twice in {what}"));
            }
        }
        Ok(fields)
    }

    fn class_shorthand(&self, n: &Node) -> Res<Rule> {
        let fields = self.fields(n, "\"class\"", "any, all, none")?;
        let [(key, _, val)] = fields else {
            return err(
                n.pos,
                "\"class\" takes exactly one of any, all, none; combine several with \"and\"",
            );
        };
        let classes = self.classes(val)?;
        let count = Count {
            select: Select {
                classes: Some(classes),
                ..Select::default()
            },
            per_class: key == "all",
            at_least: 1,
            at_most: None,
        };
        Ok(if key == "none" {
            Rule::Not(Box::new(Rule::Count(count)))
        } else {
            Rule::Count(count)
        })
    }

    fn classes(&self, n: &Node) -> Res<Vec<ClassRef>> {
        let one = |n: &Node| -> Res<ClassRef> {
            let class = match &n.v {
                Json::Str(s) if !s.trim().is_empty() => Class::parse(s.trim()),
                Json::Num(s) => match s.parse::<u32>() {
                    Ok(id) => Class::Id(id),
                    Err(_) => {
                        return err(
                            n.pos,
                            format!("a class id is a whole number from 0, not {s}"),
                        );
                    }
                },
                _ => {
                    return err(
                        n.pos,
                        format!("a class is a name or an id, not {}", kind(n)),
                    );
                }
            };
            Ok(ClassRef {
                class,
                at: Origin::File {
                    file: self.file.to_string(),
                    line: n.pos.line,
                    col: n.pos.col,
                },
            })
        };
        match &n.v {
            Json::Arr(items) if items.is_empty() => {
                err(n.pos, "an empty list of classes matches nothing")
            }
            Json::Arr(items) => items.iter().map(one).collect(),
            _ => Ok(vec![one(n)?]),
        }
    }

    fn number(&self, n: &Node, what: &str) -> Res<f64> {
        match &n.v {
            Json::Num(s) => s.parse::<f64>().map_err(|_| RuleError {
                pos: n.pos,
                message: format!("{what}: {s} is not a number"),
            }),
            _ => err(n.pos, format!("{what} is a number, not {}", kind(n))),
        }
    }

    fn conf(&self, n: &Node, select: &mut Select) -> Res<()> {
        let fields = self.fields(n, "\"conf\"", "min, max")?;
        for (k, _, v) in fields {
            let x = self.number(v, &format!("conf {k}"))?;
            if !(0.0..=1.0).contains(&x) {
                return err(v.pos, format!("conf {k} {x} is outside 0..1"));
            }
            if k == "min" {
                select.min_conf = Some(x as f32);
            } else {
                select.max_conf = Some(x as f32);
            }
        }
        if let (Some(lo), Some(hi)) = (select.min_conf, select.max_conf)
            && lo > hi
        {
            return err(
                n.pos,
                format!("impossible range: conf min {lo} is above max {hi}"),
            );
        }
        Ok(())
    }

    fn area(&self, n: &Node, select: &mut Select) -> Res<()> {
        let fields = self.fields(n, "\"area\"", "min, max")?;
        for (k, _, v) in fields {
            let area = match &v.v {
                Json::Num(s) => Area::parse(s),
                Json::Str(s) => Area::parse(s),
                _ => return err(v.pos, format!("area {k} is a fraction (0.1), a percentage (\"10%\") or pixels (\"5000px\"), not {}", kind(v))),
            }
            .map_err(|m| RuleError {
                pos: v.pos,
                message: format!("area {k}: {m}"),
            })?;
            if k == "min" {
                select.min_area = Some(area);
            } else {
                select.max_area = Some(area);
            }
        }
        if let (Some(Area::Fraction(lo)), Some(Area::Fraction(hi)))
        | (Some(Area::Pixels(lo)), Some(Area::Pixels(hi))) = (select.min_area, select.max_area)
            && lo > hi
        {
            return err(n.pos, "impossible range: area min is above max");
        }
        Ok(())
    }

    fn count_value(&self, n: &Node, key: &str) -> Res<u32> {
        match &n.v {
            Json::Num(s) if s.starts_with('-') => {
                err(n.pos, format!("{key} is a count, and {s} is negative"))
            }
            Json::Num(s) => s.parse::<u32>().map_err(|_| RuleError {
                pos: n.pos,
                message: format!("{key} is a whole number of detections, not {s}"),
            }),
            _ => err(n.pos, format!("{key} is a number, not {}", kind(n))),
        }
    }

    fn count(&self, n: &Node) -> Res<Rule> {
        let fields = self.fields(n, "\"count\"", COUNT_KEYS)?;
        let mut c = Count {
            select: Select::default(),
            per_class: false,
            at_least: 1,
            at_most: None,
        };
        let (mut at_least, mut at_most, mut exactly) = (None, None, None);
        for (k, kpos, v) in fields {
            match k.as_str() {
                "class" => c.select.classes = Some(self.classes(v)?),
                "per_class" => match v.v {
                    Json::Bool(b) => c.per_class = b,
                    _ => {
                        return err(
                            v.pos,
                            format!("per_class is true or false, not {}", kind(v)),
                        );
                    }
                },
                "conf" => self.conf(v, &mut c.select)?,
                "area" => self.area(v, &mut c.select)?,
                "at_least" => at_least = Some((self.count_value(v, k)?, *kpos)),
                "at_most" => at_most = Some((self.count_value(v, k)?, *kpos)),
                "exactly" => exactly = Some((self.count_value(v, k)?, *kpos)),
                _ => unreachable!("checked by fields()"),
            }
        }
        if let Some((n, kpos)) = exactly {
            if at_least.is_some() || at_most.is_some() {
                return err(
                    kpos,
                    "\"exactly\" cannot be given with \"at_least\" or \"at_most\"",
                );
            }
            c.at_least = n;
            c.at_most = Some(n);
        } else {
            if let (Some((lo, kpos)), Some((hi, _))) = (at_least, at_most)
                && lo > hi
            {
                return err(
                    kpos,
                    format!("impossible range: at_least {lo} is above at_most {hi}"),
                );
            }
            c.at_least = at_least.map_or(1, |(n, _)| n);
            // "at most 2" alone means 0 to 2.
            if at_least.is_none() && at_most.is_some() {
                c.at_least = 0;
            }
            c.at_most = at_most.map(|(n, _)| n);
        }
        if c.per_class && c.select.classes.is_none() {
            return err(n.pos, "per_class needs a \"class\" list to count each of");
        }
        Ok(Rule::Count(c))
    }
}

fn at_least_one(select: Select) -> Rule {
    Rule::Count(Count {
        select,
        per_class: false,
        at_least: 1,
        at_most: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_at(text: &str) -> (usize, usize, String) {
        let e = parse_rule(text, "p.json").unwrap_err();
        (e.pos.line, e.pos.col, e.message)
    }

    #[test]
    fn parses_the_rule_language() {
        let text = r#"{"and": [{"class": {"any": ["person", 3]}},
                               {"not": {"count": {"at_least": 3, "class": "car"}}},
                               {"or": [{"conf": {"min": 0.5}}, {"area": {"max": "5000px"}}]}]}"#;
        let rule = parse_rule(text, "p.json").unwrap();
        let Rule::And(parts) = &rule else {
            panic!("{rule:?}")
        };
        assert_eq!(parts.len(), 3);
        let classes: Vec<String> = rule.classes().iter().map(|c| c.at.to_string()).collect();
        assert_eq!(classes, ["p.json:1:29", "p.json:1:39", "p.json:2:75"]);
        // The canonical JSON reads back as the same rule.
        let again = parse_rule(&rule.to_json().to_string(), "q.json").unwrap();
        assert_eq!(again, rule);
    }

    #[test]
    fn errors_point_at_the_place() {
        assert_eq!(error_at("{\"and\": [\n  {\"class\": }\n]}").0, 2);
        let (l, c, m) = error_at("{\"count\": {\n  \"at_leest\": 2}}");
        assert_eq!((l, c), (2, 3));
        assert!(m.contains("unknown key \"at_leest\""), "{m}");
        let (l, c, m) = error_at("{\"count\": {\"at_least\": -1}}");
        assert_eq!((l, c), (1, 24));
        assert!(m.contains("negative"), "{m}");
        let (l, c, m) = error_at("{\"count\": {\"at_least\": 5, \"at_most\": 2}}");
        assert_eq!((l, c), (1, 12));
        assert!(m.contains("impossible range"), "{m}");
        let (l, c, m) = error_at("{\"area\": {\"max\": 1.5}}");
        assert_eq!((l, c), (1, 18));
        assert!(m.contains("above 1"), "{m}");
        let (_, _, m) = error_at("{\"class\": {\"any\": []}}");
        assert!(m.contains("empty"), "{m}");
        let (l, c, m) = error_at("[1]");
        assert_eq!((l, c), (1, 1));
        assert!(m.contains("not a list"), "{m}");
        let (_, _, m) = error_at("{\"conf\": {\"min\": 0.9, \"max\": 0.1}}");
        assert!(m.contains("impossible range"), "{m}");
    }
}
