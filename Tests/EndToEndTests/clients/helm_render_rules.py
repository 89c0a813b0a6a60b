"""Checks of the chart's PrometheusRule (used by helm_render_check.py).

The rule groups are written out as a Prometheus rule file and handed to Debian's promtool
(package prometheus): `promtool check rules` parses every expression and template, and
`promtool test rules` feeds the alerts series shaped as collectord exposes them (the labels its
registry gives, plus the ones the ServiceMonitor's scrape adds: job, namespace, pod) and
expects each alert to fire for the pod in trouble and not for the healthy one. Every metric an
expression reads must be one collectord registers (read from Sources/), Prometheus' `up`, or
kube-state-metrics' restart counter.
"""
import glob
import os
import re
import subprocess
import tempfile

import yaml

PROMTOOL = os.environ.get("PROMTOOL", "/usr/bin/promtool")
ALERTS = {"CollectordRefusingSpans", "CollectordSpanExportsFailing", "CollectordLogExportsFailing",
          "CollectordExporterQueueNearlyFull", "CollectordDroppingLogLines", "CollectordLogFilesUnreadable",
          "CollectordFilelogCheckpointHeldBack", "CollectordPodRestarting", "CollectordDown"}
K8S_ALERTS = {"CollectordKubernetesAPIFailing", "CollectordPodTableEmpty"}  # with presets.kubernetesAttributes
NOT_COLLECTORD = {"up", "kube_pod_container_status_restarts_total"}


def registered_metrics(root):
    """The metric names collectord's sources register (`\\(item)` is spans or log_records)."""
    names = set()
    for path in glob.glob(os.path.join(root, "Sources", "**", "*.swift"), recursive=True):
        with open(path, encoding="utf-8") as f:
            for name in re.findall(r'"((?:otelcol|collectord)_[a-z0-9_]*(?:\\\(item\)[a-z0-9_]*)*)"', f.read()):
                names |= {name.replace("\\(item)", item) for item in ("spans", "log_records")}
    return names


def _series(name, values, **labels):
    labels = {"job": "collectord", "namespace": "observability", **labels}
    return {"series": name + "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}", "values": values}


A, B = "collectord-a", "collectord-b"  # the pod in trouble, the healthy one


def _tests(summaries):
    """promtool's unit tests: `summaries` are the rules' summary annotations, by alert."""
    s = _series
    series = [
        s("otelcol_receiver_accepted_spans_total", "0+100x40", pod=A, receiver="otlp", transport="grpc"),
        s("otelcol_receiver_refused_spans_total", "0+20x40", pod=A, receiver="otlp", transport="grpc"),
        s("otelcol_receiver_accepted_spans_total", "0+100x40", pod=B, receiver="otlp", transport="grpc"),
        s("otelcol_receiver_refused_spans_total", "0x40", pod=B, receiver="otlp", transport="grpc"),
        s("otelcol_exporter_sent_spans_total", "0+100x40", pod=A, exporter="debug"),
        s("otelcol_exporter_send_failed_spans_total", "0+50x40", pod=A, exporter="debug"),
        s("otelcol_exporter_sent_spans_total", "0+100x40", pod=B, exporter="debug"),
        s("otelcol_exporter_send_failed_spans_total", "0x40", pod=B, exporter="debug"),
        s("otelcol_exporter_sent_log_records_total", "0+100x40", pod=A, exporter="loki"),
        s("otelcol_exporter_send_failed_log_records_total", "0x40", pod=A, exporter="loki"),
        # The exporter ring (size and capacity in batches) and the Loki disk queue (no capacity).
        s("otelcol_exporter_queue_size", "90x40", pod=A, exporter="loki", data_type="logs"),
        s("otelcol_exporter_queue_capacity", "100x40", pod=A, exporter="loki", data_type="logs"),
        s("otelcol_exporter_queue_size", "5000x40", pod=A, exporter="loki"),
        s("otelcol_exporter_queue_size", "10x40", pod=B, exporter="loki", data_type="logs"),
        s("otelcol_exporter_queue_capacity", "100x40", pod=B, exporter="loki", data_type="logs"),
        s("collectord_loki_dropped_entries_total", "0+60x40", pod=A, exporter="loki"),
        s("collectord_loki_dropped_entries_total", "0x40", pod=B, exporter="loki"),
        s("collectord_filelog_read_errors_total", "0+1x40", pod=A, receiver="filelog"),
        s("collectord_filelog_read_errors_total", "0x40", pod=B, receiver="filelog"),
        s("collectord_filelog_ack_failures_total", "0+6x40", pod=A, receiver="filelog"),
        s("collectord_filelog_ack_failures_total", "0x40", pod=B, receiver="filelog"),
        s("kube_pod_container_status_restarts_total", "0+1x40", job="kube-state-metrics", pod=A, container="collectord"),
        s("kube_pod_container_status_restarts_total", "3x40", job="kube-state-metrics", pod=B, container="collectord"),
        s("collectord_k8s_watch_failures_total", "0+2x40", pod=A, resource="pods"),
        s("collectord_k8s_watch_failures_total", "0x40", pod=A, resource="namespaces"),
        s("collectord_k8s_watch_failures_total", "0x40", pod=B, resource="pods"),
        s("otelcol_otelsvc_k8s_pod_table_size", "0x40", pod=A),
        s("otelcol_otelsvc_k8s_pod_table_size", "12x40", pod=B),
        s("up", "0x40", pod=A, instance="10.0.0.1:8888"),
        s("up", "1x40", pod=B, instance="10.0.0.2:8888"),
    ]
    at = "35m"
    expect = {
        "CollectordRefusingSpans": [dict(pod=A, receiver="otlp", severity="warning",
                                         _d="collectord-a: receiver otlp refuses 16.67% of the spans it is sent.")],
        "CollectordSpanExportsFailing": [dict(pod=A, exporter="debug", severity="critical",
                                              _d="collectord-a: exporter debug fails to send 33.33% of its spans.")],
        "CollectordLogExportsFailing": [],
        "CollectordExporterQueueNearlyFull": [dict(pod=A, exporter="loki", data_type="logs", severity="warning",
                                                   _d="collectord-a: the logs queue of exporter loki is 90% full.")],
        "CollectordDroppingLogLines": [dict(pod=A, exporter="loki", severity="critical",
                                            _d="collectord-a: exporter loki drops 1.00 log lines a second.")],
        "CollectordLogFilesUnreadable": [dict(pod=A, receiver="filelog", severity="warning",
                                              _d="collectord-a: receiver filelog failed to read 10 log files in 10 minutes.")],
        "CollectordFilelogCheckpointHeldBack": [dict(
            pod=A, receiver="filelog", severity="warning",
            _d="collectord-a: deliveries of receiver filelog have been failing for 10 minutes; "
               "its checkpoint does not advance past them.")],
        "CollectordPodRestarting": [dict(pod=A, container="collectord", job="kube-state-metrics", severity="warning",
                                         _d="collectord-a restarted 30 times in 30 minutes.")],
        "CollectordKubernetesAPIFailing": [dict(
            pod=A, resource="pods", severity="warning",
            _d="collectord-a: k8sattributes has been failing to list or watch pods for 10 minutes.")],
        "CollectordPodTableEmpty": [dict(
            pod=A, severity="warning",
            _d="collectord-a: the k8sattributes pod table has been empty for 15 minutes; nothing gets Kubernetes attributes.")],
        "CollectordDown": [dict(pod=A, job="collectord", instance="10.0.0.1:8888", severity="critical",
                                _d="collectord-a has not answered a scrape for 5 minutes.")],
    }
    tests = []
    for alert, alerts in expect.items():
        if alert not in summaries:
            continue
        exp = []
        for labels in alerts:
            description = labels.pop("_d")
            exp.append({"exp_labels": {"namespace": "observability", **labels},
                        "exp_annotations": {"summary": summaries[alert], "description": description}})
        tests.append({"eval_time": at, "alertname": alert, "exp_alerts": exp})
    return {"rule_files": ["rules.yaml"], "evaluation_interval": "1m",
            "tests": [{"interval": "1m", "input_series": series, "alert_rule_test": tests}]}


def _promtool(*args, cwd):
    result = subprocess.run([PROMTOOL, *args], capture_output=True, text=True, cwd=cwd, timeout=120)
    assert result.returncode == 0, f"promtool {' '.join(args)}: exit {result.returncode}\n{result.stdout}{result.stderr}"
    return result.stdout


def check_rules(rule, root, kubernetes_attributes):
    groups = rule["spec"]["groups"]
    rules = [r for g in groups for r in g["rules"]]
    alerts = {r["alert"] for r in rules if "alert" in r}
    expected = ALERTS | (K8S_ALERTS if kubernetes_attributes else set())
    assert alerts == expected, f"alerts {sorted(alerts)} != {sorted(expected)}"
    known = registered_metrics(root)
    assert "otelcol_exporter_send_failed_spans_total" in known, "no metric names found in Sources/"
    for r in rules:
        assert r["labels"]["severity"] in ("warning", "critical") and r.get("for"), r
        assert set(r["annotations"]) >= {"summary", "description"}, r
        used = set(re.findall(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{", r["expr"]))
        assert used, f"{r['alert']}: no metric found in {r['expr']}"
        unknown = used - known - NOT_COLLECTORD
        assert not unknown, f"{r['alert']} reads {sorted(unknown)}, which collectord does not register"
    summaries = {r["alert"]: r["annotations"]["summary"] for r in rules if "alert" in r}
    with tempfile.TemporaryDirectory(prefix="helm-render-rules-") as tmp:
        with open(os.path.join(tmp, "rules.yaml"), "w") as f:
            yaml.safe_dump({"groups": groups}, f, sort_keys=False)
        with open(os.path.join(tmp, "tests.yaml"), "w") as f:
            yaml.safe_dump(_tests(summaries), f, sort_keys=False)
        out = _promtool("check", "rules", "rules.yaml", cwd=tmp)
        assert f"SUCCESS: {len(rules)} rules found" in out, out
        _promtool("test", "rules", "tests.yaml", cwd=tmp)
