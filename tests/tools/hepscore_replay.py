#!/usr/bin/env python3
"""hep-score's arithmetic, re-implemented from hepscore.py (hep-score v1.5:
HEPscore._proc_results, weighted_geometric_mean, median_tuple, gen_score), run on
gpubench's two outputs: the --format hepscore summary and the --hepscore-config
YAML. It must give gpubench's own device score to 1e-6.

Usage: hepscore_replay.py GPUBENCH   (python3 standard library only)
"""
import json
import math
import os
import subprocess
import sys
import tempfile


def parse_yaml(text):
    """The block-mapping subset gpubench writes: 'key: scalar' and 'key:' + indented block."""
    root = {}
    stack = [(-1, root)]
    for raw in text.splitlines():
        line = raw.split(" #")[0].rstrip() if not raw.lstrip().startswith("#") else ""
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        key, _, value = line.strip().partition(":")
        while stack[-1][0] >= indent:
            stack.pop()
        parent = stack[-1][1]
        value = value.strip()
        if value == "":
            parent[key] = {}
            stack.append((indent, parent[key]))
            continue
        for convert in (int, float):
            try:
                value = convert(value)
                break
            except ValueError:
                pass
        else:
            value = {"true": True, "false": False}.get(value, value)
        parent[key] = value
    return root


# --- hepscore.py, followed line by line ---------------------------------------
def weighted_geometric_mean(vals, weights=None):
    if weights is None:
        weights = [1.0 for _ in vals]
    if len(vals) != len(weights):
        return 0
    vals = [float(x) for x in vals]
    weights = [float(x) for x in weights]
    total_weight = sum(weights)
    if total_weight == 0:
        return 0
    total_val = 1
    for v, w in zip(vals, weights):
        total_val *= v ** w
    return total_val ** (1.0 / total_weight)


def median_of_runs(results):
    vals = sorted(results.values())
    mid = len(vals) // 2
    return vals[mid] if len(vals) % 2 == 1 else (vals[mid - 1] + vals[mid]) / 2.0


def proc_results(bench_conf, runs):
    """_proc_results: per run, round(value/ref, 4) per sub-score, round(geomean, 4)."""
    results = {}
    for i, jscore in enumerate(runs):
        sub_results = []
        for sub_bmk, ref in bench_conf["ref_scores"].items():
            sub_score = float(jscore["report"]["wl-scores"][sub_bmk]) / ref
            sub_results.append(round(sub_score, 4))
        results[i] = round(weighted_geometric_mean(sub_results), 4)
    return median_of_runs(results)


def hepscore(config, summary):
    settings = config["hepscore"]["settings"]
    assert settings["method"] == "geometric_mean"
    runs = [summary] * int(settings["repetitions"])
    results, weights = [], []
    for name, bench_conf in config["hepscore"]["benchmarks"].items():
        results.append(proc_results(bench_conf, runs))
        weights.append(bench_conf.get("weight", 1.0))
    fres = weighted_geometric_mean(results, weights)
    if "scaling" in settings:
        fres = fres * settings["scaling"]
    return fres, round(fres, 4)  # gen_score reports round(fres, 4)
# ------------------------------------------------------------------------------


def main():
    gpubench = sys.argv[1]
    source = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(source, "..", "..", "share", "gpukit", "reference", "provisional-cpu-vm.json")) as f:
        reference = json.load(f)
    # Unequal weights and a scaling, so that both reach hep-score's arithmetic.
    reference["scaling"] = 3.0
    for name, weight in {"me_eemumu": 2.0, "em_shower": 1.5, "track_fit": 1.0, "mlp_infer": 0.5}.items():
        if name in reference["workloads"]:
            reference["workloads"][name]["weight"] = weight
    with tempfile.TemporaryDirectory() as tmp:
        doc_path = os.path.join(tmp, "doc.json")
        cfg_path = os.path.join(tmp, "hepscore.yaml")
        ref_path = os.path.join(tmp, "reference.json")
        with open(ref_path, "w") as f:
            json.dump(reference, f)
        # me_eemumu (2 keys) and mlp_infer (3 keys): one flat benchmark would weight them differently.
        run = subprocess.run([gpubench, "--device", "cpu", "--quick", "--warmup", "0", "--workload", "me_eemumu,mlp_infer",
                              "--reference", ref_path, "--seed", "7", "-q", "-o", doc_path, "--hepscore-config", cfg_path],
                             capture_output=True, text=True, timeout=300)
        if run.returncode != 0:
            print("gpubench failed:", run.returncode, run.stderr)
            return 1
        failures = check(gpubench, doc_path, cfg_path, ref_path, "measured")
        # The same document with every HEP row complete (synthetic repetitions around the
        # reference values): all four workloads, nine keys, unequal weights.
        with open(doc_path) as f:
            doc = json.load(f)
        for device in doc["bench"]["devices"]:
            for i, r in enumerate(device["results"]):
                if r["family"] != "hep" or r["workload"].startswith("mlp_infer_blas"):
                    continue
                name, _, key = r["workload"].rpartition("_")
                ref = reference["workloads"][name]["values"][key]
                values = [ref * (0.4 + 0.1 * ((7 * i + 3 * k) % 5)) for k in range(3)]
                r.update({"status": "ok", "reason": None, "value": sorted(values)[1],
                          "stats": {"median": sorted(values)[1], "min": min(values), "max": max(values),
                                    "mean": sum(values) / 3, "cv": 0.1, "repetitions": 3, "values": values}})
        synthetic_path = os.path.join(tmp, "synthetic.json")
        synthetic_cfg = os.path.join(tmp, "synthetic.yaml")
        with open(synthetic_path, "w") as f:
            json.dump(doc, f)
        scored = subprocess.run([gpubench, "--rescore", "--reference", ref_path, "-i", synthetic_path, "-o",
                                 synthetic_path + ".scored", "--hepscore-config", synthetic_cfg, "-q"],
                                capture_output=True, text=True, timeout=60)
        if scored.returncode != 0:
            print("gpubench --rescore of the synthetic document failed:", scored.stderr)
            return 1
        failures += check(gpubench, synthetic_path + ".scored", synthetic_cfg, ref_path, "synthetic, all workloads")
    return 1 if failures else 0


def check(gpubench, doc_path, cfg_path, ref_path, label):
    """1 when hep-score's arithmetic on gpubench's two outputs misses gpubench's score."""
    print(f"--- {label}")
    summary_run = subprocess.run([gpubench, "--rescore", "--reference", ref_path, "-i", doc_path, "-f", "hepscore", "-q"],
                                 capture_output=True, text=True, timeout=60)
    if summary_run.returncode != 0:
        print("gpubench --rescore -f hepscore failed:", summary_run.stderr)
        return 1
    summary = json.loads(summary_run.stdout)
    with open(cfg_path) as f:
        config = parse_yaml(f.read())
    with open(doc_path) as f:
        bench = json.load(f)["bench"]
    cpu = [d for d in bench["devices"] if d["kind"] == "cpu"][0]
    expected = cpu["score"]
    if expected is None:
        print("gpubench scored nothing:", bench["scores"])
        return 1
    benchmarks = config["hepscore"]["benchmarks"]
    scored = sorted(cpu["workload_scores"].keys())
    listed = sorted(b[len("gpubench-"):] for b in benchmarks)
    if scored != listed:
        print("the configuration lists", listed, "but gpubench scored", scored)
        return 1
    unrounded, reported = hepscore(config, summary)
    # The README's old configuration: one benchmark, all nine sub-scores weighted alike.
    flat = {"ref_scores": {k: v for b in benchmarks.values() for k, v in b["ref_scores"].items()}}
    flat_score = proc_results(flat, [summary]) * config["hepscore"]["settings"]["scaling"]
    print("workloads scored:", ", ".join(f"{w} (weight {benchmarks['gpubench-' + w]['weight']})" for w in scored))
    print(f"gpubench device score      {expected:.9f}")
    print(f"hep-score arithmetic       {unrounded:.9f} (reported rounded: {reported}; difference {unrounded - expected:.2g})")
    print(f"one flat benchmark (old)   {flat_score:.9f}")
    print("arithmetic: score = prod_w S_w^(weight_w / sum weights) x scaling, "
          "S_w = round(geomean_k round(value_k / ref_k, 4), 4)")
    if not abs(unrounded - expected) <= 1e-6 * max(1.0, abs(expected)):
        print(f"FAIL: differs by {unrounded - expected:.3g}")
        return 1
    near_boundary = abs(expected * 1e4 - math.floor(expected * 1e4) - 0.5) < 1e-2
    if not near_boundary and reported != round(expected, 4):
        print("FAIL: the rounded score hep-score reports is not gpubench's score rounded to 4 decimals")
        return 1
    print("ok: hep-score's arithmetic reproduces gpubench's score to 1e-6")
    return 0


if __name__ == "__main__":
    sys.exit(main())
