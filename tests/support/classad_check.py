#!/usr/bin/env python3
"""Checks that gpukit's HTCondor outputs parse under the ClassAd grammar.

Written from the HTCondor manual ("ClassAd Syntax" of the ClassAd mechanism
chapter, the condor_submit and configuration chapters), not from HTCondor's
parser, so a mistake here and one in gpukit do not share a cause:

  expr     := cond
  cond     := or [ '?' expr ':' expr ]
  or       := and { '||' and }          and := bitor { '&&' bitor }
  bitor    := bitxor { '|' bitxor }     bitxor := bitand { '^' bitand }
  bitand   := eq { '&' eq }
  eq       := rel { ('==' | '!=' | '=?=' | '=!=' | 'is' | 'isnt') rel }
  rel      := shift { ('<' | '<=' | '>' | '>=') shift }
  shift    := add { ('<<' | '>>' | '>>>') add }
  add      := mul { ('+' | '-') mul }    mul := unary { ('*' | '/' | '%') unary }
  unary    := ('-' | '+' | '!' | '~') unary | postfix
  postfix  := primary { '.' ident | '[' expr ']' }
  primary  := int | real | string | true | false | undefined | error
            | ident [ '(' [ expr { ',' expr } ] ')' ]
            | '(' expr ')' | '{' [ expr { ',' expr } ] '}'
            | '[' { ident '=' expr ';' } [ ident '=' expr ] ']'
  string   := '"' { char | '\\' ( 'b' | 't' | 'n' | 'f' | 'r' | '\\' | '"' | "'" | octal{1,3} ) } '"'

Three kinds of file:
  --ad FILE      a machine ad in the old line form: one `Name = expr` per line
                 (what condor_gpu_discovery prints and the startd reads)
  --submit FILE  submit commands: require_gpus / requirements / rank are
                 expressions, gpus_m*_capability and gpus_minimum_runtime
                 numbers, request_memory and gpus_minimum_memory quantities
                 with an optional K/M/G/T[B] unit, request_cpus / request_gpus
                 integers
  --config FILE  configuration: `NAME = value` and `use CATEGORY : NAME`;
                 START and GPUKIT_* are expressions after $(NAME) expansion,
                 SLOT_TYPE_<N> a resource list, NUM_SLOTS_TYPE_<N> an integer,
                 SLOT_TYPE_<N>_PARTITIONABLE a boolean

--self-test checks that broken inputs are refused. Exit 0: every file parses;
1: one does not (the file, line and reason on stderr); 2: usage.
"""
import re
import sys

KEYWORDS = {"true", "false", "undefined", "error", "is", "isnt"}


class ParseError(Exception):
    pass


TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<real>(?:\d+\.\d*|\.\d+)(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+)
  | (?P<int>0[xX][0-9a-fA-F]+|\d+)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<qident>'(?:[^'\\]|\\.)+')
  | (?P<string>")
  | (?P<op>>>>|=\?=|=!=|\|\||&&|==|!=|<=|>=|<<|>>|[-+*/%!~<>?:.,;()\[\]{}|^&=])
""", re.VERBOSE)


def tokenize(text):
    tokens, at = [], 0
    while at < len(text):
        m = TOKEN.match(text, at)
        if not m:
            raise ParseError("unexpected character %r at column %d" % (text[at], at + 1))
        kind = m.lastgroup
        if kind == "string":
            at = m.end()
            value = []
            while True:
                if at >= len(text):
                    raise ParseError("unterminated string")
                c = text[at]
                if c == '"':
                    at += 1
                    break
                if c == "\\":
                    nxt = text[at + 1:at + 2]
                    if nxt in ("b", "t", "n", "f", "r", "\\", '"', "'"):
                        at += 2
                    elif nxt and nxt in "01234567":
                        octal = re.match(r"[0-7]{1,3}", text[at + 1:]).group(0)
                        at += 1 + len(octal)
                    else:
                        raise ParseError("invalid escape \\%s in a string" % nxt)
                    value.append("\\")
                    continue
                if ord(c) < 0x20:
                    raise ParseError("control character in a string")
                value.append(c)
                at += 1
            tokens.append(("string", "".join(value)))
            continue
        if kind != "space":
            tokens.append((kind, m.group(0)))
        at = m.end()
    tokens.append(("end", ""))
    return tokens


class Parser:
    def __init__(self, text):
        self.tokens = tokenize(text)
        self.pos = 0

    def peek(self):
        return self.tokens[self.pos]

    def take(self):
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def accept(self, *ops):
        kind, value = self.peek()
        if (kind == "op" and value in ops) or (kind == "ident" and value.lower() in ops):
            self.pos += 1
            return value
        return None

    def expect(self, op):
        if not self.accept(op):
            raise ParseError("expected %r, found %r" % (op, self.peek()[1] or "end of expression"))

    def whole(self):
        self.expr()
        if self.peek()[0] != "end":
            raise ParseError("trailing %r after the expression" % self.peek()[1])

    def expr(self):
        self.binary(0)
        if self.accept("?"):
            self.expr()
            self.expect(":")
            self.expr()

    LEVELS = [("||",), ("&&",), ("|",), ("^",), ("&",), ("==", "!=", "=?=", "=!=", "is", "isnt"),
              ("<", "<=", ">", ">="), ("<<", ">>", ">>>"), ("+", "-"), ("*", "/", "%")]

    def binary(self, level):
        if level == len(self.LEVELS):
            return self.unary()
        self.binary(level + 1)
        while self.accept(*self.LEVELS[level]):
            self.binary(level + 1)

    def unary(self):
        if self.accept("-", "+", "!", "~"):
            return self.unary()
        self.primary()
        while True:
            if self.accept("."):
                if self.take()[0] != "ident":
                    raise ParseError("expected an attribute name after '.'")
            elif self.accept("["):
                self.expr()
                self.expect("]")
            else:
                return

    def primary(self):
        kind, value = self.take()
        if kind in ("int", "real", "string", "qident"):
            return
        if kind == "ident":
            if value.lower() in ("is", "isnt"):
                raise ParseError("operator %r where a value belongs" % value)
            if value.lower() not in KEYWORDS and self.accept("("):
                if not self.accept(")"):
                    self.expr()
                    while self.accept(","):
                        self.expr()
                    self.expect(")")
            return
        if kind == "op" and value == "(":
            self.expr()
            self.expect(")")
            return
        if kind == "op" and value == "{":
            if not self.accept("}"):
                self.expr()
                while self.accept(","):
                    self.expr()
                self.expect("}")
            return
        if kind == "op" and value == "[":
            while not self.accept("]"):
                if self.take()[0] not in ("ident", "qident"):
                    raise ParseError("expected an attribute name in a nested ad")
                self.expect("=")
                self.expr()
                if not self.accept(";"):
                    self.expect("]")
                    return
            return
        raise ParseError("expected a value, found %r" % (value or "end of expression"))


def parse_expression(text):
    Parser(text).whole()


ASSIGN = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*?)\s*$")
QUANTITY = re.compile(r"^\d+(\.\d+)?\s*([KMGT]B?)?$", re.IGNORECASE)


def lines_of(text):
    for n, line in enumerate(text.split("\n"), 1):
        if line.strip() and not line.lstrip().startswith("#"):
            yield n, line


def check_ad(text):
    names = set()
    for n, line in lines_of(text):
        m = ASSIGN.match(line)
        if not m or "." in m.group(1):
            raise ParseError("line %d: not `Name = expression`" % n)
        if m.group(1).lower() in names:
            raise ParseError("line %d: %s is defined twice" % (n, m.group(1)))
        names.add(m.group(1).lower())
        try:
            parse_expression(m.group(2))
        except ParseError as e:
            raise ParseError("line %d: %s" % (n, e))


def check_submit(text):
    for n, line in lines_of(text):
        m = ASSIGN.match(line)
        if not m:
            raise ParseError("line %d: not `command = value`" % n)
        key, value = m.group(1).lower(), m.group(2)
        try:
            if key in ("require_gpus", "requirements", "rank"):
                parse_expression(value)
            elif key in ("gpus_minimum_capability", "gpus_maximum_capability", "gpus_minimum_runtime"):
                if not re.match(r"^\d+(\.\d+)?$", value):
                    raise ParseError("%s is not a number" % value)
            elif key in ("request_memory", "gpus_minimum_memory", "request_disk"):
                if not QUANTITY.match(value):
                    raise ParseError("%s is not a quantity with an optional unit" % value)
            elif key in ("request_cpus", "request_gpus"):
                if not re.match(r"^\d+$", value):
                    raise ParseError("%s is not an integer" % value)
            elif key.startswith("+") or key.startswith("my."):
                parse_expression(value)
        except ParseError as e:
            raise ParseError("line %d (%s): %s" % (n, key, e))


def expand(value, macros, depth=0):
    if depth > 20:
        raise ParseError("macro expansion does not end")
    out = re.sub(r"\$\(([A-Za-z0-9_.]+)\)", lambda m: macros.get(m.group(1).upper(), ""), value)
    return expand(out, macros, depth + 1) if "$(" in out else out


def check_config(text):
    macros = {}
    checks = []
    for n, line in lines_of(text):
        if re.match(r"^\s*use\s+[A-Za-z]+\s*:\s*[A-Za-z0-9_, ]+$", line, re.IGNORECASE):
            continue
        m = ASSIGN.match(line)
        if not m:
            raise ParseError("line %d: not `NAME = value` or `use CATEGORY : NAME`" % n)
        name, value = m.group(1).upper(), m.group(2)
        # A self-reference appends to the earlier value, as HTCondor's config does.
        macros[name] = value.replace("$(%s)" % name, macros.get(name, ""))
        checks.append((n, name))
    for n, name in checks:
        value = expand(macros[name], macros)
        try:
            if name == "START" or name.startswith("GPUKIT_"):
                parse_expression(value)
            elif re.match(r"^SLOT_TYPE_\d+_PARTITIONABLE$", name):
                if value.lower() not in ("true", "false"):
                    raise ParseError("%s is not a boolean" % value)
            elif re.match(r"^SLOT_TYPE_\d+$", name):
                for item in value.split(","):
                    if not re.match(r"^\s*[A-Za-z_]+\s*=\s*(\d+(\.\d+)?\s*([KMGT]B?|%)?|auto)\s*$", item, re.IGNORECASE):
                        raise ParseError("%r is not resource=amount" % item.strip())
            elif re.match(r"^NUM_SLOTS_TYPE_\d+$", name):
                if not re.match(r"^\d+$", value):
                    raise ParseError("%s is not an integer" % value)
        except ParseError as e:
            raise ParseError("line %d (%s): %s" % (n, name, e))


CHECKS = {"--ad": check_ad, "--submit": check_submit, "--config": check_config}

# Each must be refused: a checker that accepts these would prove nothing.
BROKEN = [
    ("--ad", 'DetectedGPUs="GPU-1, GPU-2\n'),
    ("--ad", 'Common=[ Capability=8.0; DeviceName="A100"\n'),
    ("--ad", "GPU_1=[ id=\"GPU-1\"; DeviceUuid=GPU-3f9a1c2e-5b7d; ]\n"),
    ("--ad", "GPU-1=[ id=\"GPU-1\"; ]\n"),
    ("--ad", 'X=[ a=1; b="x" ]\nX=2\n'),
    ("--ad", 'Name="a\\q"\n'),
    ("--ad", "Capability=8.0.1\n"),
    ("--ad", "L={ 1, 2,  }\n"),
    ("--submit", 'require_gpus = regexp("^MIG-", DeviceUuid) &&\n'),
    ("--submit", "require_gpus = (Capability >= 8.0\n"),
    ("--submit", "request_memory = 16 GiB\n"),
    ("--submit", "gpus_minimum_capability = 8.x\n"),
    ("--config", "START = ($(GPUKIT_ON_GPU_SLOT)) == \n"),
    ("--config", "SLOT_TYPE_1 = cpus 8\n"),
    ("--config", "SLOT_TYPE_1_PARTITIONABLE = maybe\n"),
]

GOOD = [
    ("--ad", 'DetectedGPUs="GPU-1"\nCommon=[ Capability=8.0; ECCEnabled=true; ]\n'
             'GPU_1=[ id="GPU-1"; DeviceName="A \\"x\\"\\011"; L={ 1, "a" }; ]\n'),
    ("--submit", 'request_memory = 16384MB\nrequire_gpus = !(DeviceUuid =!= undefined && regexp("^MIG-", DeviceUuid)) '
                 '&& (Capability >= 8.0 ? true : MY.x[0] isnt error)\n'),
    ("--config", "use feature : GPUs\nA = (SlotTypeID == 1)\nGPUKIT_X = $(A) || -1 < 2\nSTART = $(GPUKIT_X)\n"
                 "SLOT_TYPE_1 = cpus=8, memory=1024, gpus=auto\nSLOT_TYPE_1_PARTITIONABLE = True\n"),
]


def self_test():
    failed = 0
    for kind, text in BROKEN:
        try:
            CHECKS[kind](text)
            print("self-test: accepted broken %s input %r" % (kind, text), file=sys.stderr)
            failed += 1
        except ParseError:
            pass
    for kind, text in GOOD:
        try:
            CHECKS[kind](text)
        except ParseError as e:
            print("self-test: refused good %s input %r: %s" % (kind, text, e), file=sys.stderr)
            failed += 1
    print("self-test: %d broken inputs refused, %d good ones accepted, %d failures" % (len(BROKEN), len(GOOD), failed))
    return 1 if failed else 0


def main(argv):
    if argv == ["--self-test"]:
        return self_test()
    if len(argv) < 2 or len(argv) % 2:
        print(__doc__, file=sys.stderr)
        return 2
    status = 0
    for kind, path in zip(argv[0::2], argv[1::2]):
        if kind not in CHECKS:
            print("unknown kind %s" % kind, file=sys.stderr)
            return 2
        with open(path, encoding="utf-8") as f:
            text = f.read()
        try:
            CHECKS[kind](text)
        except ParseError as e:
            print("%s: %s" % (path, e), file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
