#!/usr/bin/env python3
"""Every ClassAd output gpukit writes parses under the ClassAd grammar.

Runs the built gpuprobe and gpumatch of BUILD_DIR on the fixture documents and
example jobs of SOURCE_DIR: gpuprobe --format classad (a machine ad),
gpumatch --emit condor (submit commands) and gpumatch --plan --format condor
(startd configuration, also under --condor-share), and checks each with
tests/support/classad_check.py. Usage: classad_outputs.py BUILD_DIR SOURCE_DIR
"""
import glob
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
import classad_check  # noqa: E402


def run(argv):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    return p.returncode, p.stdout.decode("utf-8"), p.stderr.decode("utf-8")


def main(build, source):
    gpuprobe = os.path.join(build, "bin", "gpuprobe")
    gpumatch = os.path.join(build, "bin", "gpumatch")
    fixtures = os.path.join(source, "tests", "fixtures")
    examples = sorted(glob.glob(os.path.join(source, "share", "gpukit", "examples", "*.json")))
    cases = []  # (kind, label, argv, accepted exit codes)
    for doc in sorted(glob.glob(os.path.join(fixtures, "documents", "*.json"))):
        cases.append(("--ad", os.path.basename(doc), [gpuprobe, "--from-input", "--input", doc, "--format", "classad"], (0,)))
    for job in examples:
        if os.path.basename(job) == "two-jobs.json":
            continue
        cases.append(("--submit", os.path.basename(job), [gpumatch, "--require", job, "--emit", "condor"], (0,)))
    # Every requirement key that turns into require_gpus, with characters a profile name could carry.
    cases.append(("--submit", "mig flags", [gpumatch, "--gpus", "2", "--vendor", "nvidia", "--mig", "require",
                                            "--mig-profile", "3g.20gb", "--mig-profile", "1g.10gb+me", "--mig-min-slice", "2", "--gpu-memory", "10GiB",
                                            "--min-cc", "8.0", "--max-cc", "9.0", "--emit", "condor"], (0,)))
    cases.append(("--submit", "forbid flags", [gpumatch, "--gpus", "1", "--vendor", "amd", "--mig", "forbid",
                                               "--emit", "condor"], (0,)))
    for node in sorted(glob.glob(os.path.join(fixtures, "match", "*.json"))):
        if os.path.basename(node).startswith("bench_"):
            continue  # a bench section alone, not a node document
        for job in ("adept.json", "mig-inference.json", "cpu-job.json"):
            path = os.path.join(source, "share", "gpukit", "examples", job)
            base = [gpumatch, "--input", node, "--require", path, "--plan", "--format", "condor"]
            label = os.path.basename(node) + " " + job
            cases.append(("--config", label, base, (0, 1)))
            cases.append(("--config", label + " divide:2", base + ["--condor-share", "divide:2"], (0, 1)))
            cases.append(("--config", label + " repeat:3", base + ["--condor-share", "repeat:3"], (0, 1)))
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        for n, (kind, label, argv, ok_codes) in enumerate(cases):
            code, out, err = run(argv)
            if code not in ok_codes or not out.strip():
                print("FAIL %s (%s): exit %d, %d bytes out: %s" % (label, kind, code, len(out), err.strip()), file=sys.stderr)
                failures += 1
                continue
            path = os.path.join(tmp, "out%d" % n)
            with open(path, "w", encoding="utf-8") as f:
                f.write(out)
            try:
                classad_check.CHECKS[kind](out)
            except classad_check.ParseError as e:
                print("FAIL %s (%s): %s\n%s" % (label, kind, e, out), file=sys.stderr)
                failures += 1
    print("%d ClassAd outputs checked, %d failed" % (len(cases), failures))
    return 1 if failures or not cases else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2]))
