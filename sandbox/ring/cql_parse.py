"""A tokenizer and recursive-descent parser for the CQL subset the sandbox serves (and cqlsh commands)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<str>'(?:[^']|'')*')
    | (?P<qid>"(?:[^"]|"")*")
    | (?P<uuid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})(?![\w-])
    | (?P<num>-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)(?![\w])
    | (?P<id>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<op>[(),;=*.{}:<>\[\]])
    )""",
    re.VERBOSE,
)


class CqlSyntaxError(Exception):
    """Rendered by cqlsh as a SyntaxException (code 2000)."""


@dataclass(frozen=True)
class Tok:
    kind: str  # str, qid, uuid, num, id, op
    text: str

    @property
    def value(self) -> str:
        if self.kind == "str":
            return self.text[1:-1].replace("''", "'")
        if self.kind == "qid":
            return self.text[1:-1].replace('""', '"')
        return self.text


def tokenize(text: str) -> list[Tok]:
    toks: list[Tok] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            bad = text[pos:].strip()[:20]
            raise CqlSyntaxError(f"line 1:{pos} no viable alternative at character '{bad[:1]}'")
        kind = m.lastgroup
        assert kind is not None
        toks.append(Tok(kind, m.group(kind)))
        pos = m.end()
    return toks


def split_statements(text: str) -> list[list[Tok]]:
    """Split `-e` text on top-level semicolons (quotes already taken care of by the tokenizer)."""
    out: list[list[Tok]] = [[]]
    for t in tokenize(text):
        if t.kind == "op" and t.text == ";":
            out.append([])
        else:
            out[-1].append(t)
    return [s for s in out if s]


@dataclass(frozen=True)
class Func:
    name: str
    args: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Lit:
    kind: str  # str, num, uuid, bool, null, map
    value: Any


@dataclass
class Stmt:
    kind: str  # consistency, use, create_keyspace, alter_keyspace, drop_keyspace, create_table, ...
    keyspace: str | None = None
    name: str | None = None
    if_flag: bool = False  # IF NOT EXISTS / IF EXISTS
    options: dict[str, Any] = field(default_factory=dict)
    columns: list[str] = field(default_factory=list)
    values: list[Any] = field(default_factory=list)
    where: list[tuple[str, Any]] = field(default_factory=list)
    types: dict[str, str] = field(default_factory=dict)
    key: str | None = None
    ttl: int | None = None
    limit: int | None = None
    count: bool = False


class Parser:
    def __init__(self, toks: list[Tok]) -> None:
        self.toks, self.i = toks, 0

    def peek(self, k: int = 0) -> Tok | None:
        return self.toks[self.i + k] if self.i + k < len(self.toks) else None

    def at(self, *words: str) -> bool:
        for k, w in enumerate(words):
            t = self.peek(k)
            if t is None or t.kind not in ("id", "op") or t.text.lower() != w.lower():
                return False
        return True

    def accept(self, *words: str) -> bool:
        if self.at(*words):
            self.i += len(words)
            return True
        return False

    def fail(self, what: str) -> CqlSyntaxError:
        t = self.peek()
        near = t.text if t else "<EOF>"
        return CqlSyntaxError(f"line 1:{self.i} {what} at input '{near}'")

    def expect(self, *words: str) -> None:
        if not self.accept(*words):
            raise self.fail(f"mismatched input, expected '{' '.join(words)}'")

    def ident(self) -> str:
        t = self.peek()
        if t is None or t.kind not in ("id", "qid"):
            raise self.fail("no viable alternative")
        self.i += 1
        return t.value.lower() if t.kind == "id" else t.value  # unquoted names fold to lower case

    def qualified(self) -> tuple[str | None, str]:
        first = self.ident()
        if self.accept("."):
            return first, self.ident()
        return None, first

    def end(self) -> None:
        if self.peek() is not None:
            raise self.fail("extraneous input")

    def term(self) -> Any:
        t = self.peek()
        if t is None:
            raise self.fail("no viable alternative")
        if t.kind in ("str", "num", "uuid"):
            self.i += 1
            return Lit(t.kind, t.value)
        if self.accept("{"):
            items: dict[str, Any] = {}
            while not self.accept("}"):
                k = self.term()
                self.expect(":")
                items[str(k.value)] = self.term()
                self.accept(",")
            return Lit("map", items)
        if t.kind == "id":
            low = t.text.lower()
            if low in ("true", "false"):
                self.i += 1
                return Lit("bool", low == "true")
            if low == "null":
                self.i += 1
                return Lit("null", None)
            if self.peek(1) is not None and self.peek(1) == Tok("op", "("):
                self.i += 2
                args: list[Any] = []
                while not self.accept(")"):
                    args.append(self.term())
                    self.accept(",")
                return Func(low, tuple(args))
        raise self.fail("no viable alternative")

    def properties(self) -> dict[str, Any]:
        """`name = value [AND name = value ...]` after WITH."""
        props: dict[str, Any] = {}
        while True:
            name = self.ident()
            self.expect("=")
            props[name] = self.term()
            if not self.accept("and"):
                return props

    def where(self) -> list[tuple[str, Any]]:
        conds = []
        while True:
            col = self.ident()
            self.expect("=")
            conds.append((col, self.term()))
            if not self.accept("and"):
                return conds


def parse_statement(toks: list[Tok]) -> Stmt:
    p = Parser(toks)
    ks: str | None
    if p.accept("consistency"):
        level = p.ident().upper() if p.peek() else None
        p.end()
        return Stmt("consistency", name=level)
    if p.accept("use"):
        ks = p.ident()
        p.end()
        return Stmt("use", keyspace=ks)
    if p.accept("create", "keyspace") or p.accept("alter", "keyspace"):
        kind = "create_keyspace" if p.toks[0].text.lower() == "create" else "alter_keyspace"
        if_flag = kind == "create_keyspace" and p.accept("if", "not", "exists")
        ks = p.ident()
        p.expect("with")
        st = Stmt(kind, keyspace=ks, if_flag=if_flag, options=p.properties())
        p.end()
        return st
    if p.accept("drop", "keyspace"):
        if_flag = p.accept("if", "exists")
        st = Stmt("drop_keyspace", keyspace=p.ident(), if_flag=if_flag)
        p.end()
        return st
    if p.accept("create", "table") or p.accept("create", "columnfamily"):
        return _create_table(p)
    if p.accept("drop", "table"):
        if_flag = p.accept("if", "exists")
        ks, name = p.qualified()
        p.end()
        return Stmt("drop_table", keyspace=ks, name=name, if_flag=if_flag)
    if p.accept("insert", "into"):
        return _insert(p)
    if p.accept("select"):
        return _select(p)
    if p.accept("delete"):
        p.expect("from")
        ks, name = p.qualified()
        p.expect("where")
        st = Stmt("delete", keyspace=ks, name=name, where=p.where())
        p.end()
        return st
    if p.accept("truncate"):
        p.accept("table")
        ks, name = p.qualified()
        p.end()
        return Stmt("truncate", keyspace=ks, name=name)
    for verb in ("create", "alter", "drop"):
        if p.accept(verb, "role") or p.accept(verb, "user"):
            if_flag = (verb == "create" and p.accept("if", "not", "exists")) or (
                verb == "drop" and p.accept("if", "exists")
            )
            nxt = p.peek()
            role = p.term().value if nxt is not None and nxt.kind == "str" else p.ident()
            options = p.properties() if verb != "drop" and p.accept("with") else {}
            p.end()
            return Stmt(f"{verb}_role", name=role, if_flag=if_flag, options=options)
    t = p.peek()
    raise CqlSyntaxError(f"line 1:0 no viable alternative at input '{t.text if t else ''}'")


def _create_table(p: Parser) -> Stmt:
    if_flag = p.accept("if", "not", "exists")
    ks, name = p.qualified()
    p.expect("(")
    types: dict[str, str] = {}
    key: str | None = None
    while not p.accept(")"):
        if p.accept("primary", "key"):
            p.expect("(")
            nested = p.accept("(")
            key = p.ident()
            if nested:
                p.expect(")")
            if not p.accept(")"):
                # Clustering columns / composite keys are outside the subset: say so like a server would.
                raise CqlSyntaxError("line 1:0 the sandbox supports only a single-column PRIMARY KEY")
        else:
            col = p.ident()
            types[col] = _type(p)
            if p.accept("primary", "key"):
                if key is not None:
                    raise CqlSyntaxError("line 1:0 Multiple PRIMARY KEYs specified (exactly one required)")
                key = col
        p.accept(",")
    options = p.properties() if p.accept("with") else {}
    p.end()
    return Stmt("create_table", keyspace=ks, name=name, if_flag=if_flag, types=types, key=key, options=options)


def _type(p: Parser) -> str:
    base = p.ident()
    if p.accept("<"):
        inner = [_type(p)]
        while p.accept(","):
            inner.append(_type(p))
        p.expect(">")
        return f"{base}<{', '.join(inner)}>"
    return base


def _insert(p: Parser) -> Stmt:
    ks, name = p.qualified()
    p.expect("(")
    cols = [p.ident()]
    while p.accept(","):
        cols.append(p.ident())
    p.expect(")")
    p.expect("values")
    p.expect("(")
    values = [p.term()]
    while p.accept(","):
        values.append(p.term())
    p.expect(")")
    ttl = None
    if p.accept("using", "ttl"):
        t = p.term()
        if not isinstance(t, Lit) or t.kind != "num":
            raise p.fail("mismatched input")
        ttl = int(t.value)
    p.end()
    return Stmt("insert", keyspace=ks, name=name, columns=cols, values=values, ttl=ttl)


def _select(p: Parser) -> Stmt:
    st = Stmt("select")
    if p.accept("*"):
        st.columns = []
    elif p.at("count", "(", "*", ")") or p.at("count", "(", "1", ")"):
        p.i += 4
        st.count = True
    else:
        st.columns = [p.ident()]
        while p.accept(","):
            st.columns.append(p.ident())
    p.expect("from")
    st.keyspace, st.name = p.qualified()
    if p.accept("where"):
        st.where = p.where()
    if p.accept("limit"):
        t = p.term()
        st.limit = int(t.value)
    p.accept("allow", "filtering")
    p.end()
    return st
