#!/usr/bin/env python3
"""gpumatch --emit k8s-dra: every claim parses as YAML with the shape of a
resource.k8s.io/v1 ResourceClaimTemplate, and every CEL expression parses by
the CEL grammar (github.com/google/cel-spec doc/langdef.md, "Syntax") and names
only attributes and capacities the DRA drivers publish.

Usage: check_k8s_dra.py GPUMATCH SOURCE_DIR. Exit 0 passed, 1 failed, 77 skipped."""
import json
import os
import re
import subprocess
import sys
import tempfile

try:
    import yaml
except ImportError:
    print("skipped: python3-yaml is not installed (scripts/setup installs it)")
    sys.exit(77)

# NVIDIA/k8s-dra-driver-gpu cmd/gpu-kubelet-plugin/deviceinfo.go; ROCm/k8s-gpu-dra-driver docs/driver-attributes.md
ATTRIBUTES = {
    "gpu.nvidia.com": {"type", "uuid", "parentUUID", "profile", "productName", "brand", "architecture",
                       "cudaComputeCapability", "driverVersion", "cudaDriverVersion", "pcieBusID", "addressingMode"},
    "gpu.amd.com": {"type", "deviceID", "productName", "driverVersion", "partitionProfile", "numaNode"},
}
CAPACITIES = {
    "gpu.nvidia.com": {"memory", "multiprocessors", "copyEngines", "decoders", "encoders", "jpegEngines", "ofaEngines"},
    "gpu.amd.com": {"memory", "computeUnits", "simdUnits"},
}
CLASS_DOMAIN = {"gpu.nvidia.com": "gpu.nvidia.com", "mig.nvidia.com": "gpu.nvidia.com", "gpu.amd.com": "gpu.amd.com"}
VERSION_ATTRIBUTES = {"cudaComputeCapability", "driverVersion", "cudaDriverVersion"}

failures = []


def fail(message):
    failures.append(message)


# --- CEL syntax: a recursive-descent parser of the CEL grammar -------------
TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<string>[rR]?("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'))
  | (?P<number>\d+\.\d+([eE][+-]?\d+)?|0x[0-9a-fA-F]+u?|\d+u?)
  | (?P<op>&&|\|\||==|!=|<=|>=|[<>!+\-*/%?:.,\[\](){}])
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
""", re.VERBOSE)
RESERVED = {"as", "break", "const", "continue", "else", "for", "function", "if", "import", "let", "loop",
            "package", "namespace", "return", "var", "void", "while"}


class CelError(Exception):
    pass


def tokenize(text):
    out, pos = [], 0
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if not m:
            raise CelError("unexpected character %r at %d" % (text[pos], pos))
        pos = m.end()
        kind = m.lastgroup
        if kind == "ws":
            continue
        if kind == "ident" and m.group() in ("in",):
            kind = "op"
        out.append((kind, m.group()))
    return out


class Parser:
    """Expr = ConditionalOr ["?" ConditionalOr ":" Expr]; ConditionalOr = [ConditionalOr "||"] ConditionalAnd;
    ConditionalAnd = [ConditionalAnd "&&"] Relation; Relation = [Relation Relop] Addition;
    Addition = [Addition ("+"|"-")] Multiplication; Multiplication = [Multiplication ("*"|"/"|"%")] Unary;
    Unary = Member | "!" {"!"} Member | "-" {"-"} Member;
    Member = Primary | Member "." IDENT ["(" [ExprList] ")"] | Member "[" Expr "]";
    Primary = ["."] IDENT ["(" [ExprList] ")"] | "(" Expr ")" | "[" [ExprList] [","] "]" | "{" [MapInits] [","] "}" | LITERAL"""

    def __init__(self, tokens):
        self.t, self.i, self.calls = tokens, 0, []

    def peek(self, value=None):
        if self.i >= len(self.t):
            return None
        tok = self.t[self.i]
        return tok if value is None or tok[1] == value else None

    def take(self, value=None):
        tok = self.peek(value)
        if tok is None:
            raise CelError("expected %s at token %d" % (value or "a token", self.i))
        self.i += 1
        return tok

    def parse(self):
        node = self.expr()
        if self.i != len(self.t):
            raise CelError("trailing %r" % (self.t[self.i][1],))
        return node

    def expr(self):
        node = self.binary(0)
        if self.peek("?"):
            self.take("?")
            self.binary(0)
            self.take(":")
            self.expr()
        return node

    LEVELS = [["||"], ["&&"], ["<", "<=", ">=", ">", "==", "!=", "in"], ["+", "-"], ["*", "/", "%"]]

    def binary(self, level):
        if level == len(self.LEVELS):
            return self.unary()
        node = self.binary(level + 1)
        while self.peek() and self.peek()[0] == "op" and self.peek()[1] in self.LEVELS[level]:
            self.take()
            node = ("binop", node, self.binary(level + 1))
        return node

    def unary(self):
        if self.peek("!") or self.peek("-"):
            self.take()
            return ("unary", self.unary())
        return self.member()

    def args(self):
        self.take("(")
        out = []
        if not self.peek(")"):
            out.append(self.expr())
            while self.peek(","):
                self.take(",")
                out.append(self.expr())
        self.take(")")
        return out

    def member(self):
        node = self.primary()
        while True:
            if self.peek("."):
                self.take(".")
                kind, name = self.take()
                if kind != "ident" or name in RESERVED:
                    raise CelError("member name expected after '.', not %r" % name)
                if self.peek("("):
                    args = self.args()
                    self.calls.append((name, args, node))
                    node = ("call", name, node, args)
                else:
                    node = ("select", node, name)
            elif self.peek("["):
                self.take("[")
                index = self.expr()
                self.take("]")
                node = ("index", node, index)
            else:
                return node

    def primary(self):
        tok = self.peek()
        if tok is None:
            raise CelError("unexpected end")
        kind, value = tok
        if kind in ("string", "number"):
            self.take()
            return (kind, value)
        if kind == "ident":
            self.take()
            if value in RESERVED:
                raise CelError("reserved word %r" % value)
            if value in ("true", "false", "null"):
                return ("literal", value)
            if self.peek("("):
                args = self.args()
                self.calls.append((value, args, None))
                return ("call", value, None, args)
            return ("ident", value)
        if value == "(":
            self.take()
            node = self.expr()
            self.take(")")
            return node
        if value == "[":
            self.take()
            items = []
            while not self.peek("]"):
                items.append(self.expr())
                if not self.peek("]"):
                    self.take(",")
            self.take("]")
            return ("list", items)
        if value == "{":
            self.take()
            while not self.peek("}"):
                self.expr()
                self.take(":")
                self.expr()
                if not self.peek("}"):
                    self.take(",")
            self.take("}")
            return ("map",)
        raise CelError("unexpected %r" % value)


def cel_string_value(node):
    if node[0] != "string":
        return None
    return json.loads(node[1]) if node[1].startswith('"') else None


SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?([KMGTPE]i|[kMGTPE]|m)?$")


def check_expression(expr, domain):
    try:
        parser = Parser(tokenize(expr))
        parser.parse()
    except CelError as e:
        fail("CEL syntax: %s: %s" % (expr, e))
        return
    for name, args, _ in parser.calls:
        if name == "semver":
            v = cel_string_value(args[0]) if len(args) == 1 else None
            if v is None or not SEMVER.match(v):
                fail("semver() needs one semantic version string: %s" % expr)
        if name == "quantity":
            v = cel_string_value(args[0]) if len(args) == 1 else None
            if v is None or not QUANTITY.match(v):
                fail("quantity() needs one quantity string: %s" % expr)
    for kind, d, name in re.findall(r'device\.(attributes|capacity)\["([^"]+)"\]\.(\w+)', expr):
        known = (ATTRIBUTES if kind == "attributes" else CAPACITIES).get(d)
        if d != domain:
            fail("%s of %s in a request for %s devices: %s" % (kind, d, domain, expr))
        elif name not in known:
            fail("%s has no %s %s: %s" % (d, kind, name, expr))
        if kind == "attributes" and name in VERSION_ATTRIBUTES and ".compareTo(semver(" not in expr:
            fail("%s is a version: compare it with compareTo(semver(...)): %s" % (name, expr))
    for d, name in re.findall(r'device\.capacity\["([^"]+)"\]\)?\.?(\w*)', expr):
        pass  # the cel.bind form is covered by the syntax and the attributes above


# --- the claim's shape ------------------------------------------------------
def check_body(body, count, where):
    cls = body.get("deviceClassName")
    if cls not in CLASS_DOMAIN:
        fail("%s: deviceClassName %r" % (where, cls))
        return []
    if body.get("allocationMode") != "ExactCount" or body.get("count") != count:
        fail("%s: allocationMode/count %r/%r, expected ExactCount/%d" % (where, body.get("allocationMode"), body.get("count"), count))
    allowed = {"name", "deviceClassName", "allocationMode", "count", "selectors"}
    if set(body) - allowed:
        fail("%s: unexpected keys %s" % (where, sorted(set(body) - allowed)))
    expressions = []
    for s in body.get("selectors", []):
        if set(s) != {"cel"} or set(s["cel"]) != {"expression"} or not isinstance(s["cel"]["expression"], str):
            fail("%s: a selector is not {cel: {expression: string}}: %r" % (where, s))
            continue
        check_expression(s["cel"]["expression"], CLASS_DOMAIN[cls])
        expressions.append(s["cel"]["expression"])
    return [(cls, expressions)]


def check_claim(doc, count):
    if doc.get("apiVersion") != "resource.k8s.io/v1" or doc.get("kind") != "ResourceClaimTemplate":
        fail("apiVersion/kind: %r %r" % (doc.get("apiVersion"), doc.get("kind")))
        return []
    name = doc.get("metadata", {}).get("name", "")
    if not re.match(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$", name) or len(name) > 253:
        fail("metadata.name %r is not an RFC 1123 subdomain" % name)
    requests = doc.get("spec", {}).get("spec", {}).get("devices", {}).get("requests")
    if not isinstance(requests, list) or len(requests) != 1:
        fail("spec.spec.devices.requests: one request expected, got %r" % (requests,))
        return []
    r = requests[0]
    if r.get("name") != "gpus" or (("exactly" in r) == ("firstAvailable" in r)):
        fail("request: a name and exactly one of exactly/firstAvailable: %r" % r)
        return []
    if "exactly" in r:
        return check_body(r["exactly"], count, "exactly")
    out = []
    for sub in r["firstAvailable"]:
        if not re.match(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", sub.get("name", "")):
            fail("firstAvailable: subrequest name %r" % sub.get("name"))
        out += check_body(sub, count, "firstAvailable/" + sub.get("name", "?"))
    return out


def run(gpumatch, requirement):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(requirement, f)
    try:
        return subprocess.run([gpumatch, "--require", f.name, "--emit", "k8s-dra"], capture_output=True, text=True, timeout=60)
    finally:
        os.unlink(f.name)


def expect(claim_classes, cls, fragment, case):
    for c, exprs in claim_classes:
        if c == cls and any(fragment in e for e in exprs):
            return
    fail("%s: no %s selector contains %s" % (case, cls, fragment))


def main():
    gpumatch, source = sys.argv[1], sys.argv[2]
    # The checker itself must be able to fail.
    for bad in ['device.attributes["gpu.nvidia.com"].type == "gpu', 'a && (b', 'a.b(', 'x == ', 'a..b', '1 +* 2']:
        before = len(failures)
        check_expression(bad, "gpu.nvidia.com")
        if len(failures) == before:
            fail("the CEL checker accepted %r" % bad)
    del failures[:]
    for good in ['cel.bind(c, device.capacity["gpu.amd.com"], has(c.memory) && c.memory.compareTo(quantity("1Gi")) >= 0)',
                 'device.attributes["gpu.nvidia.com"].profile.matches("(^|[.])[3-8]g[.]")', "a ? b : !c || [1, 2.5, 3u][0] in {'k': 1}"]:
        check_expression(good, "gpu.amd.com" if "amd" in good else "gpu.nvidia.com")
    if failures:
        print("\n".join(failures))
        return 1

    examples = os.path.join(source, "share", "gpukit", "examples")
    cases = {name: json.load(open(os.path.join(examples, name + ".json"))) for name in ("adept", "mig-inference", "amd-fp64")}
    cases["any-vendor"] = {"gpus": 2, "min_compute_capability": "7.0", "max_compute_capability": "9.0",
                           "gpu_memory_bytes": "16GiB", "cuda_runtime": "12.4", "minor_version_compatibility": False,
                           "amd_targets": ["gfx942"], "mig_min_slice": 3, "min_fp64_tflops": 9}
    cases["odd-name"] = {"name": "Lattice QCD 'x' \"y\"", "gpus": 1, "vendor": "nvidia"}
    for case, requirement in cases.items():
        r = run(gpumatch, requirement)
        if r.returncode != 0:
            fail("%s: exit %d: %s" % (case, r.returncode, r.stderr.strip()))
            continue
        try:
            doc = yaml.safe_load(r.stdout)
        except yaml.YAMLError as e:
            fail("%s: not YAML: %s" % (case, e))
            continue
        classes = check_claim(doc, requirement["gpus"])
        if case == "adept":
            expect(classes, "gpu.nvidia.com", 'cudaComputeCapability.compareTo(semver("8.0.0")) >= 0', case)
            expect(classes, "gpu.nvidia.com", 'device.capacity["gpu.nvidia.com"].memory.compareTo(quantity("21474836480")) >= 0', case)
            expect(classes, "gpu.nvidia.com", 'cudaDriverVersion.compareTo(semver("12.0.0")) >= 0', case)
            expect(classes, "gpu.nvidia.com", 'driverVersion.compareTo(semver(', case)
            if [c for c, _ in classes] != ["gpu.nvidia.com"]:
                fail("adept is exclusive: whole GPUs only, got %r" % [c for c, _ in classes])
        if case == "mig-inference":
            expect(classes, "mig.nvidia.com", 'device.attributes["gpu.nvidia.com"].profile in ["1g.10gb", "2g.20gb"]', case)
            if [c for c, _ in classes] != ["mig.nvidia.com"]:
                fail("mig-inference requires MIG: got %r" % [c for c, _ in classes])
        if case == "amd-fp64":
            expect(classes, "gpu.amd.com", 'device.attributes["gpu.amd.com"].deviceID in [', case)
            for device_id in ("0x740c", "0x740f", "0x74a1"):
                expect(classes, "gpu.amd.com", '"%s"' % device_id, case)
            expect(classes, "gpu.amd.com", 'device.attributes["gpu.amd.com"].productName in [', case)
            if "xnack" not in r.stdout.split("apiVersion")[0]:
                fail("amd-fp64: the comment must say xnack cannot be expressed")
        if case == "any-vendor":
            names = [c for c, _ in classes]
            if names != ["gpu.nvidia.com", "mig.nvidia.com", "gpu.amd.com"]:
                fail("any-vendor: firstAvailable classes %r" % names)
            expect(classes, "gpu.nvidia.com", 'cudaComputeCapability.compareTo(semver("9.0.0")) <= 0', case)
            expect(classes, "gpu.nvidia.com", 'cudaDriverVersion.compareTo(semver("12.4.0")) >= 0', case)
            expect(classes, "mig.nvidia.com", '.profile.matches(', case)
            expect(classes, "gpu.amd.com", 'has(cap.memory)', case)
    for case, requirement, message in [
        ("cpu-only", {"cores": 4}, "claims no device"),
        ("unknown AMD target", {"gpus": 1, "vendor": "amd", "amd_targets": ["gfx1201"]}, "no catalogue row gives a PCI device id"),
    ]:
        r = run(gpumatch, requirement)
        if r.returncode != 2 or r.stdout or message not in r.stderr or r.stderr.count("\n") != 1:
            fail("%s: expected exit 2, one line naming %r and no output; got %d, %r, %r" % (case, message, r.returncode, r.stderr, r.stdout[:80]))
    if failures:
        print("\n".join(failures))
        return 1
    print("k8s-dra claims: %d cases, shapes and CEL expressions valid" % len(cases))
    return 0


if __name__ == "__main__":
    sys.exit(main())
