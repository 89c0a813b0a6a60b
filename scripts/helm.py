#!/usr/bin/env python3
"""`helm template` and `helm version` on Helm's own Go SDK, for machines without a helm binary.

The SDK comes from PyPI as the `helm-python-sdk` wheel (import name `helm_python`; it bundles
libhelm_c, a C ABI over helm.sh/helm/v4), pinned in Tests/EndToEndTests/clients/requirements.txt
and installed into .venv by `make venv`. `template` does what `helm template` does: a
client-only dry-run install (no cluster is contacted: the kubeconfig handed to the SDK points
at nothing), printing the release's manifest, sorted in install order with `# Source:`
headers, and then its hooks.

Usage (from the repository root):
    .venv/bin/python scripts/helm.py template RELEASE CHART [-n NAMESPACE] [-f VALUES.yaml]...
        [--set KEY=VALUE]... [--set-json KEY=JSON]...
    .venv/bin/python scripts/helm.py lint [--strict] CHART [-f VALUES.yaml]... [--set KEY=VALUE]...
    .venv/bin/python scripts/helm.py version

Values compose as the helm CLI composes them: the -f files in order, each merged over the
last (maps key by key, anything else replaced), then the --set values; the chart's defaults
come under all of them, and a null removes a default key.
"""
import argparse
import sys

import yaml

# A kubeconfig that reaches no cluster: a client-only render never needs one, and this way the
# user's own ~/.kube/config (or an in-cluster account) is never read.
_NO_CLUSTER = """\
apiVersion: v1
kind: Config
clusters: [{name: none, cluster: {server: "https://127.0.0.1:1"}}]
contexts: [{name: none, context: {cluster: none, user: none}}]
current-context: none
users: [{name: none, user: {}}]
"""


def merge(base, override):
    """Helm's mergeMaps: override merged over base, maps key by key."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def compose_values(files, sets, set_jsons):
    import helm_python as helm

    values = {}
    for path in files:
        with open(path, encoding="utf-8") as f:
            loaded = yaml.safe_load(f) or {}
        if not isinstance(loaded, dict):
            raise SystemExit(f"helm: {path}: values must be a mapping")
        values = merge(values, loaded)
    for item in set_jsons:
        values = merge(values, helm.parse_set_json(item))
    for item in sets:
        values = merge(values, helm.parse_set_string(item))
    return values


def template(args):
    import helm_python as helm

    values = compose_values(args.values, args.set, args.set_json)
    with helm.Chart.load(args.chart) as chart, helm.Config(
        kubeconfig_content=_NO_CLUSTER, namespace=args.namespace, storage_driver="memory"
    ) as cfg:
        release = cfg.install(chart, args.release, values, namespace=args.namespace, dry_run="client")
    out = release.get("manifest", "")
    for hook in release.get("hooks") or []:
        out += f"---\n# Source: {hook.get('path', '')}\n{hook.get('manifest', '')}\n"
    sys.stdout.write(out)
    return 0


def lint(args):
    """`helm lint`: prints the findings; exits 1 on an error (or, with --strict, a warning)."""
    import helm_python as helm

    values = compose_values(args.values, args.set, args.set_json)
    report = helm.lint(args.chart, values, strict=args.strict)
    names = {1: "INFO", 2: "WARNING", 3: "ERROR"}
    for message in report.get("messages") or []:
        print(f"[{names.get(message['severity'], 'UNKNOWN')}] {message['path']}: {message['error']}")
    for error in report.get("errors") or []:
        print(f"Error: {error}", file=sys.stderr)
    worst = max([m["severity"] for m in report.get("messages") or []], default=0)
    failed = bool(report.get("errors")) or worst >= (2 if args.strict else 3)
    print(f"{report.get('total_charts_linted', 0)} chart(s) linted, {1 if failed else 0} chart(s) failed")
    return 1 if failed else 0


def version(_args):
    import helm_python as helm

    print(f"helm sdk {helm.helm_sdk_version()} (helm-python-sdk, libhelm_c {helm.helm_c_version()})")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="helm.py", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    t = commands.add_parser("template", help="render a chart locally, as `helm template`")
    t.add_argument("release")
    t.add_argument("chart")
    t.add_argument("-n", "--namespace", default="default")
    t.add_argument("-f", "--values", action="append", default=[])
    t.add_argument("--set", action="append", default=[])
    t.add_argument("--set-json", action="append", default=[])
    t.set_defaults(run=template)
    lt = commands.add_parser("lint", help="examine a chart for possible issues, as `helm lint`")
    lt.add_argument("chart")
    lt.add_argument("--strict", action="store_true", help="fail on lint warnings")
    lt.add_argument("-f", "--values", action="append", default=[])
    lt.add_argument("--set", action="append", default=[])
    lt.add_argument("--set-json", action="append", default=[])
    lt.set_defaults(run=lint)
    v = commands.add_parser("version", help="the Helm SDK's version")
    v.set_defaults(run=version)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except Exception as exc:  # the SDK's errors (HelmRenderError ...) name the template and line
        if type(exc).__module__.startswith("helm_python"):
            print(f"Error: {exc}", file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
